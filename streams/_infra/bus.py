"""The message bus every stage talks to: a producer with delivery confirmation and a
consumer with explicit commits, on confluent-kafka (librdkafka).

One implementation, a real Kafka-protocol broker everywhere: the embedded mode runs a
local Tansu (:class:`streams.broker.LocalBroker`) instead of an in-process imitation, so
the code paths tested on one machine are the ones that run on a Kafka cluster.

Delivery contract (at-least-once, exactly-once *effects* by deterministic keys):

- :meth:`KafkaProducer.send` queues a record; :meth:`KafkaProducer.flush` returns only
  when every queued record is acknowledged by all in-sync replicas (``acks=all``,
  idempotent producer: the broker drops retried duplicates of one producer session), and
  otherwise raises :class:`streams.errors.DeliveryError` listing the records to send again.
- :meth:`KafkaConsumer.commit` (:mod:`streams.consumer`, re-exported here) commits a
  record's offset synchronously; call it only once the effect of that record (and of
  every earlier record of the partition) is durable.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from confluent_kafka import Consumer as _RdConsumer
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import Producer as _RdProducer
from confluent_kafka.admin import AdminClient

from streams._infra.consumer import KafkaConsumer, to_record
from streams._infra.errors import (
    BrokerUnavailableError,
    DeliveryError,
    PermanentError,
    RetryableError,
)
from streams._infra.records import OutgoingRecord, Record

__all__ = [
    "MAX_RECORD_BYTES", "Consumer", "DeliveryCallback", "KafkaBus", "KafkaConsumer",
    "KafkaProducer", "Producer", "records_by_partition",
]  # fmt: skip

log = logging.getLogger(__name__)

DEFAULT_FETCH_WAIT_MAX_MS = 200
"""Default ``fetch.wait.max.ms`` of every consumer (see :class:`KafkaBus`)."""

MAX_RECORD_BYTES = 1_000_000
"""Largest record value the producer sends (librdkafka ``message.max.bytes`` default)."""

DeliveryCallback = Callable[[OutgoingRecord, Record | None, Exception | None], None]
"""Called once per record: ``(record, acknowledged_record_or_None, error_or_None)``."""


class Producer(Protocol):
    """What a stage needs to publish records."""

    def send(
        self,
        topic: str,
        key: str,
        value: bytes,
        headers: Mapping[str, bytes] | None = None,
        on_delivery: DeliveryCallback | None = None,
    ) -> None:
        """Queue one record (asynchronous)."""

    def poll(self, timeout_s: float = 0.0) -> None:
        """Serve delivery callbacks."""

    def flush(self, timeout_s: float = 30.0) -> None:
        """Wait until every queued record is acknowledged; raise DeliveryError if not."""

    def close(self) -> None:
        """Release the client (flushes nothing: call :meth:`flush` first)."""


class Consumer(Protocol):
    """What a stage needs to read records with explicit, after-effect commits."""

    def poll(self, timeout_s: float = 1.0, max_records: int = 500) -> list[Record]:
        """Return the next records (possibly none)."""

    def commit(self, record: Record) -> None:
        """Commit ``record`` (and everything before it in its partition) synchronously."""

    def close(self) -> None:
        """Leave the group and release the client."""


def _rd_headers(headers: Mapping[str, bytes] | None) -> list[tuple[str, bytes]] | None:
    return list(headers.items()) if headers else None


_REPLACE_PRODUCER_ON = frozenset(
    {
        KafkaError.PRODUCER_FENCED,
        KafkaError.INVALID_PRODUCER_EPOCH,
        KafkaError.UNKNOWN_PRODUCER_ID,
        KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER,
    }
)
"""Delivery errors after which the idempotent producer session is unusable: a restarted
broker that lost or re-fenced the producer id answers every retry with one of these
(Tansu 0.6 answers PRODUCER_FENCED after its epoch bump). A fresh client gets a new id."""


class KafkaProducer:
    """Idempotent, ``acks=all`` producer tracking which records are still unacknowledged.

    Parameters
    ----------
    config
        librdkafka configuration (``bootstrap.servers`` at least).

    Notes
    -----
    librdkafka retries a record internally until ``message.timeout.ms`` expires (the
    broker may be down for that long without any error reaching the caller). After a
    fatal idempotence error (e.g. ``UNKNOWN_PRODUCER_ID`` from a broker that restarted
    without its producer state) the client is replaced by a fresh one and every record
    the old client had not confirmed is reported as undelivered.
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        self._config = dict(config)
        self._pending: dict[int, tuple[OutgoingRecord, DeliveryCallback | None]] = {}
        self._next_token = 0
        self._failed: list[OutgoingRecord] = []
        self._errors: list[str] = []
        self._fatal: str | None = None
        self._done: list[tuple[int, Any, Any]] = []
        self.replacements = 0
        self._producer: Any = self._new_client()

    def _new_client(self) -> Any:
        config = dict(self._config)
        config["error_cb"] = self._on_error
        return _RdProducer(config)

    def _on_error(self, err: Any) -> None:
        if err.fatal():
            self._fatal = str(err)
            log.error("producer fatal error: %s", err)
        else:
            log.debug("producer error: %s", err)

    @property
    def in_flight(self) -> int:
        """Records queued and not yet acknowledged or failed."""
        return len(self._pending)

    def send(
        self,
        topic: str,
        key: str,
        value: bytes,
        headers: Mapping[str, bytes] | None = None,
        on_delivery: DeliveryCallback | None = None,
    ) -> None:
        """Queue one record; blocks (serving callbacks) while the local queue is full.

        Raises
        ------
        PermanentError
            If the record can never be sent (too large, unknown configuration).
        """
        if len(value) > MAX_RECORD_BYTES:
            raise PermanentError(
                f"record of {len(value)} bytes for {topic} exceeds {MAX_RECORD_BYTES} bytes"
            )
        out = OutgoingRecord(topic, key, value, dict(headers or {}))
        token = self._next_token
        self._next_token += 1

        done = self._done

        def callback(err: Any, msg: Any) -> None:
            # One append and nothing else: after a fatal error confluent-kafka may call
            # this with a Python exception already set, failing any further C call.
            done.append((token, err, msg))

        while True:
            self._replace_if_fatal()
            try:
                self._producer.produce(
                    topic,
                    value=value,
                    key=key.encode("utf-8"),
                    headers=_rd_headers(headers),
                    on_delivery=callback,
                )
                self._pending[token] = (out, on_delivery)
                return
            except BufferError:
                self.poll(0.1)
            except KafkaException as exc:
                if self._check_fatal(exc):
                    continue
                raise PermanentError(f"cannot produce to {topic}: {exc}") from exc

    def _settle(self) -> None:
        """Apply the delivery reports collected by the callbacks."""
        done = self._done[:]
        self._done.clear()
        for token, err, msg in done:
            entry = self._pending.pop(token, None)
            if entry is None:  # already reported as failed when the client was replaced
                continue
            out, on_delivery = entry
            if err is not None:
                if err.code() in _REPLACE_PRODUCER_ON:
                    self._fatal = self._fatal or str(err)
                self._fail(out, on_delivery, str(err))
            elif on_delivery is not None:
                on_delivery(out, to_record(msg), None)

    def _fail(self, out: OutgoingRecord, on_delivery: DeliveryCallback | None, why: str) -> None:
        self._failed.append(out)
        self._errors.append(why)
        if on_delivery is not None:
            on_delivery(out, None, RetryableError(why))

    def _check_fatal(self, exc: Exception) -> bool:
        """Whether ``exc`` (raised by the client) means the client is unusable.

        confluent-kafka raises the fatal error from ``flush``/``poll`` and, when it does
        so while serving a delivery callback, surfaces it as a ``SystemError``.
        """
        err = exc.args[0] if exc.args else None
        if isinstance(err, KafkaError) and err.fatal():
            self._fatal = str(err)
        elif isinstance(exc, SystemError) and self._fatal is None:
            self._fatal = f"client error while serving callbacks: {exc}"
        return self._fatal is not None

    def poll(self, timeout_s: float = 0.0) -> None:
        """Serve delivery callbacks for up to ``timeout_s`` seconds."""
        try:
            self._producer.poll(timeout_s)
        except (KafkaException, SystemError) as exc:
            if not self._check_fatal(exc):
                raise RetryableError(f"producer poll failed: {exc}") from exc
        finally:
            self._settle()
        self._replace_if_fatal()

    def _replace_if_fatal(self) -> None:
        if self._fatal is None:
            return
        reason = self._fatal
        old = self._producer
        self._settle()
        pending, self._pending = self._pending, {}
        for out, on_delivery in pending.values():
            self._fail(out, on_delivery, f"producer replaced after fatal error: {reason}")
        with contextlib.suppress(KafkaException, SystemError):
            old.purge()
        self._done = []  # late reports of the old client must not touch the new one
        self._fatal = None
        self._producer = self._new_client()
        self.replacements += 1
        log.warning("producer replaced after fatal error (%s)", reason)

    def take_failed(self) -> list[OutgoingRecord]:
        """Return and forget the records whose delivery failed so far."""
        failed, self._failed, self._errors = self._failed, [], []
        return failed

    def flush(self, timeout_s: float = 30.0) -> None:
        """Wait until every queued record is acknowledged.

        Raises
        ------
        DeliveryError
            If a record failed (``undelivered`` lists them: send them again) or records
            are still unacknowledged after ``timeout_s`` (flush again later).
        """
        try:
            self._producer.flush(timeout_s)
        except (KafkaException, SystemError) as exc:
            if not self._check_fatal(exc):
                raise RetryableError(f"producer flush failed: {exc}") from exc
        finally:
            self._settle()
        self._replace_if_fatal()
        if self._failed or self._pending:
            reasons = sorted(set(self._errors))[:3]
            in_flight = len(self._pending)
            failed = self.take_failed()
            raise DeliveryError(
                f"{len(failed)} records failed, {in_flight} still unacknowledged "
                f"after {timeout_s:.1f} s: {'; '.join(reasons) or 'timeout'}",
                failed,
            )

    def close(self) -> None:
        """Drop the client (records still queued are abandoned)."""
        self._pending.clear()
        self._producer = None


class KafkaBus:
    """Factory for producers, consumers and admin calls against one Kafka cluster.

    Parameters
    ----------
    bootstrap_servers
        ``host:port[,host:port...]``.
    client_id
        Client name shown in broker logs and metrics.
    session_timeout_ms
        Consumer-group session timeout. Tansu delays a group join by about half of it,
        so tests use a few seconds; production keeps Kafka's defaults (45 s).
    producer_config, consumer_config
        Extra librdkafka settings merged over the defaults.
    fetch_wait_max_ms
        How long the broker may hold a fetch that finds no data, ms (librdkafka
        ``fetch.wait.max.ms``, every consumer of this bus). Tansu 0.6 on S3 storage lists a
        partition's stored batches on every fetch and answers *empty* when that takes
        longer than this wait, for ever: a short wait silently stalls a consumer of a
        partition holding some tens of batch objects; 200 ms was stall-free in every run
        with up to 300 objects (``benchmarks/broker_stall.py``). An in-memory Tansu answers
        a waiting fetch soon after a record arrives (produce -> consume p50 0.033 s at
        200 ms, 0.014 s at 100 ms, 0.011 s at 10 ms), but every idle consumer fetches
        1,000 / wait times a second: 10 ms kept the broker 78 % busy with the chain idle
        (``eoport.pipeline.MEMORY_BROKER_FETCH_WAIT_MS``). Apache Kafka answers as soon as
        data is there.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str = "eoport",
        session_timeout_ms: int = 6000,
        message_timeout_ms: int = 120_000,
        producer_config: Mapping[str, Any] | None = None,
        consumer_config: Mapping[str, Any] | None = None,
        fetch_wait_max_ms: int = DEFAULT_FETCH_WAIT_MAX_MS,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.client_id = client_id
        self.session_timeout_ms = session_timeout_ms
        self.message_timeout_ms = message_timeout_ms
        self.fetch_wait_max_ms = fetch_wait_max_ms
        self._producer_config = dict(producer_config or {})
        self._consumer_config = dict(consumer_config or {})
        self._admin: Any = None

    def _base(self) -> dict[str, Any]:
        return {
            "bootstrap.servers": self.bootstrap_servers,
            "client.id": self.client_id,
            "logger": log,
            "reconnect.backoff.ms": 100,
            "reconnect.backoff.max.ms": 2000,
        }

    def producer(self, config: Mapping[str, Any] | None = None) -> KafkaProducer:
        """A new idempotent ``acks=all`` producer; ``config`` overrides librdkafka settings."""
        merged = self._base() | {
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "message.timeout.ms": self.message_timeout_ms,
            "message.max.bytes": MAX_RECORD_BYTES + 64 * 1024,
        }
        merged |= self._producer_config
        merged |= dict(config or {})
        return KafkaProducer(merged)

    def consumer(
        self,
        group_id: str,
        topics: Sequence[str],
        *,
        on_assign: Callable[[list[tuple[str, int]]], None] | None = None,
        on_revoke: Callable[[list[tuple[str, int]]], None] | None = None,
        from_beginning: bool = True,
        config: Mapping[str, Any] | None = None,
    ) -> KafkaConsumer:
        """A new group member subscribed to ``topics``, auto-commit off; ``config``
        overrides librdkafka settings."""
        merged = self._base() | {
            "group.id": group_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest" if from_beginning else "latest",
            "session.timeout.ms": self.session_timeout_ms,
            "heartbeat.interval.ms": max(100, self.session_timeout_ms // 3),
            "fetch.max.bytes": 8 * MAX_RECORD_BYTES,
            "max.partition.fetch.bytes": 2 * MAX_RECORD_BYTES,
            "fetch.wait.max.ms": self.fetch_wait_max_ms,
        }
        merged |= self._consumer_config
        merged |= dict(config or {})
        return KafkaConsumer(merged, topics, on_assign=on_assign, on_revoke=on_revoke)

    def raw_consumer(self, group_id: str | None = None) -> Any:
        """A bare confluent-kafka consumer (no subscription) for manual assignment:
        offset probes, committed-offset look-ups, tools."""
        return _RdConsumer(
            self._base()
            | {
                "group.id": group_id or f"{self.client_id}-probe",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": self.fetch_wait_max_ms,
            }
        )

    @property
    def admin(self) -> Any:
        """A shared confluent-kafka AdminClient."""
        if self._admin is None:
            self._admin = AdminClient(self._base())
        return self._admin

    def partitions(self, topic: str, timeout_s: float = 10.0) -> list[int]:
        """Partition ids of ``topic`` (empty if it does not exist).

        Raises
        ------
        BrokerUnavailableError
            If the metadata request fails.
        """
        try:
            # all topics: a Metadata request naming the topic auto-creates it on Tansu
            metadata = self.admin.list_topics(timeout=timeout_s)
        except KafkaException as exc:
            raise BrokerUnavailableError(f"metadata for {topic} failed: {exc}") from exc
        info = metadata.topics.get(topic)
        if info is None or info.error is not None:
            return []
        return sorted(info.partitions)

    def topics(self, timeout_s: float = 10.0) -> set[str]:
        """Names of existing topics."""
        try:
            return set(self.admin.list_topics(timeout=timeout_s).topics)
        except KafkaException as exc:
            raise BrokerUnavailableError(f"metadata request failed: {exc}") from exc


def records_by_partition(records: Iterable[Record]) -> dict[tuple[str, int], list[Record]]:
    """Group records by ``(topic, partition)``, keeping their order."""
    grouped: dict[tuple[str, int], list[Record]] = {}
    for record in records:
        grouped.setdefault((record.topic, record.partition), []).append(record)
    return grouped
