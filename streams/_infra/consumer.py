"""Group consumer of the message bus (:class:`KafkaConsumer`): explicit commits only.

Part of :mod:`streams.bus` (re-exported there): :meth:`KafkaConsumer.commit` commits a
record's offset synchronously; call it only once the effect of that record (and of every
earlier record of the partition) is durable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from confluent_kafka import Consumer as _RdConsumer
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from streams._infra.errors import RetryableError
from streams._infra.records import Record

log = logging.getLogger(__name__)


def to_record(msg: Any) -> Record:
    """A :class:`streams.records.Record` from a librdkafka message (key, value, headers,
    timestamp in ms)."""
    key = msg.key()
    ts_type, ts = msg.timestamp()
    raw_headers = msg.headers() or []
    return Record(
        topic=msg.topic(),
        partition=msg.partition(),
        offset=msg.offset(),
        key=key.decode("utf-8") if key is not None else None,
        value=msg.value() or b"",
        headers={k: (v or b"") for k, v in raw_headers},
        timestamp_ms=ts if ts_type != 0 and ts >= 0 else None,
    )


class KafkaConsumer:
    """Group consumer with auto-commit off: commit after the effect is durable.

    Parameters
    ----------
    config
        librdkafka configuration (``bootstrap.servers``, ``group.id`` at least).
    topics
        Topics to subscribe to.
    on_assign, on_revoke
        Called with ``[(topic, partition), ...]`` when the group hands partitions to
        this member or takes them away (a stateful stage loads/drops per-partition
        state there).
    """

    def __init__(
        self,
        config: Mapping[str, Any],
        topics: Sequence[str],
        on_assign: Callable[[list[tuple[str, int]]], None] | None = None,
        on_revoke: Callable[[list[tuple[str, int]]], None] | None = None,
    ) -> None:
        self.group_id = str(config["group.id"])
        self._consumer = _RdConsumer(dict(config))

        def assigned(_c: Any, parts: list[Any]) -> None:
            if on_assign is not None:
                on_assign([(p.topic, p.partition) for p in parts])

        def revoked(_c: Any, parts: list[Any]) -> None:
            if on_revoke is not None:
                on_revoke([(p.topic, p.partition) for p in parts])

        self._consumer.subscribe(list(topics), on_assign=assigned, on_revoke=revoked)

    def poll(self, timeout_s: float = 1.0, max_records: int = 500) -> list[Record]:
        """Return up to ``max_records`` records, waiting at most ``timeout_s`` seconds.

        Transport errors are logged (librdkafka reconnects by itself); fatal consumer
        errors raise :class:`streams.errors.RetryableError` (re-create the consumer).
        """
        records: list[Record] = []
        for msg in self._consumer.consume(max_records, timeout_s):
            err = msg.error()
            if err is None:
                records.append(to_record(msg))
            elif err.code() == KafkaError._PARTITION_EOF:
                continue
            elif err.fatal():
                raise RetryableError(f"consumer {self.group_id} fatal error: {err}")
            else:
                log.warning("consumer %s: %s", self.group_id, err)
        return records

    def commit(self, record: Record) -> None:
        """Commit ``record.offset + 1`` for its partition, synchronously.

        Raises
        ------
        RetryableError
            If the broker refused (unreachable, or the partition was reassigned during a
            rebalance: the new owner will process the record again, which is safe).
        """
        self.commit_offsets({(record.topic, record.partition): record.offset + 1})

    def commit_offsets(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Commit next-offsets-to-read per ``(topic, partition)``, synchronously."""
        parts = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        try:
            result = self._consumer.commit(offsets=parts, asynchronous=False)
        except KafkaException as exc:
            raise RetryableError(f"commit for group {self.group_id} failed: {exc}") from exc
        for part in result or []:
            if part.error is not None:
                raise RetryableError(
                    f"commit for group {self.group_id} {part.topic}[{part.partition}] "
                    f"failed: {part.error}"
                )

    def assignment(self) -> list[tuple[str, int]]:
        """Partitions currently assigned to this member."""
        return [(p.topic, p.partition) for p in self._consumer.assignment()]

    def close(self) -> None:
        """Leave the group (partitions are reassigned to the other members)."""
        self._consumer.close()
