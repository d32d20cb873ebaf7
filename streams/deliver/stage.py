"""The ``deliver`` stage: ``l1-products`` in, deliveries out (``deliveries`` records).

For every product record :class:`~streams.deliver.service.DeliveryService` finds the
matching subscriptions, delivers (webhook, object-store copy, pull queue) and records
every outcome in the ledger before the record's offset is committed by the stage runtime
(:class:`~streams._infra.runtime.StageRuntime`): the input is at-least-once, the effect
exactly-once (a replayed product is found in the ledger and not sent again). Each attempt
is also published on ``deliveries`` (key: subscription id) for the timeline and
dashboards. Failed deliveries are retried when due (the ledger knows when) from
:meth:`Deliverer.drain`, which the runtime calls after every poll.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from streams._infra.records import OutgoingRecord, Record
from streams._infra.runtime import StageBase
from streams._infra.topics import DELIVERIES
from streams.deliver.ledger import DeliveryAttempt
from streams.deliver.service import DeliveryService
from streams.messages.products import ProductRecord


def product_of(record: Record) -> ProductRecord:
    """The product record of an ``l1-products`` record, stamped with its Kafka append time.

    Raises
    ------
    SchemaError
        If the value is not a product record.
    """
    product = ProductRecord.from_bytes(record.value)
    stamp = record.timestamp
    if stamp is not None and "kafka_append" not in product.timeline:
        product = product.with_timestamp("kafka_append", stamp)
    return product


class Deliverer(StageBase):
    """The ``deliver`` stage (a :class:`streams._infra.runtime.Stage`).

    Parameters
    ----------
    service
        The delivery core (subscriptions, ledger, senders, retry policy). Its
        ``on_attempt`` callback is taken over by the stage.
    deliveries_topic
        Where every attempt is published.
    """

    name = "deliver"

    def __init__(self, service: DeliveryService, *, deliveries_topic: str = DELIVERIES) -> None:
        self.service = service
        self.deliveries_topic = deliveries_topic
        self.attempts = 0
        self._lock = threading.Lock()
        self._pending: list[OutgoingRecord] = []
        previous = service.on_attempt

        def collect(attempt: DeliveryAttempt) -> None:
            # called from the service's delivery threads
            with self._lock:
                self._pending.append(
                    attempt.record(self.deliveries_topic, attempt.subscription_id)
                )  # fmt: skip
            if previous is not None:
                previous(attempt)

        service.on_attempt = collect

    def close(self) -> None:
        """Stop the delivery threads and release the HTTP client the service owns."""
        self.service.close()

    def _take(self) -> list[OutgoingRecord]:
        with self._lock:
            out, self._pending = self._pending, []
        return out

    def handle(self, record: Record, now: float) -> Sequence[OutgoingRecord]:
        """Deliver one product to every matching subscription not served yet.

        Raises
        ------
        SchemaError
            Not a product record (dead-lettered).
        """
        self.attempts += len(self.service.handle(product_of(record)))
        return self._take()

    def drain(self, now: float) -> Sequence[OutgoingRecord]:
        """Attempt every delivery whose retry time has come."""
        self.attempts += len(self.service.retry_due())
        return self._take()
