"""Group consumer of the message bus (:class:`KafkaConsumer`): explicit commits only.

Part of :mod:`streams.bus` (re-exported there): :meth:`KafkaConsumer.commit` commits a
record's offset synchronously; call it only once the effect of that record (and of every
earlier record of the partition) is durable.

A consumer whose owner keeps its own offsets (state and offsets written in one
transaction, e.g. the timeline's SQLite file) starts newly assigned partitions from
those offsets instead of the group's committed ones: :meth:`KafkaConsumer.start_from`
(a :data:`PositionsProvider`, consulted when the group hands partitions to the member).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from confluent_kafka import OFFSET_BEGINNING as _OFFSET_BEGINNING
from confluent_kafka import Consumer as _RdConsumer
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from streams._infra.errors import RetryableError
from streams._infra.records import Record

log = logging.getLogger(__name__)

OFFSET_BEGINNING: int = _OFFSET_BEGINNING
"""Logical start position: the first record still in the partition (librdkafka ``-2``)."""

PositionsProvider = Callable[[list[tuple[str, int]]], Mapping[tuple[str, int], int]]
"""Start positions of newly assigned partitions: ``(topic, partition) -> next offset to
read`` (or :data:`OFFSET_BEGINNING`); partitions left out start from the group's committed
offset (else ``auto.offset.reset``)."""


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
        self._positions: PositionsProvider | None = None
        self._unplaced: list[TopicPartition] = []
        self._place_after = 0.0
        strategy = str(config.get("partition.assignment.strategy", ""))
        self._cooperative = "cooperative" in strategy

        def assigned(c: Any, parts: list[Any]) -> None:
            if on_assign is not None:
                on_assign([(p.topic, p.partition) for p in parts])
            if self._positions is not None:
                new = [TopicPartition(p.topic, p.partition) for p in parts]
                # eager: the whole assignment; incremental: partitions added to it
                self._unplaced = self._unplaced + new if self._cooperative else new
                self._place(in_rebalance=True)

        def revoked(_c: Any, parts: list[Any]) -> None:
            gone = {(p.topic, p.partition) for p in parts}
            self._unplaced = [p for p in self._unplaced if (p.topic, p.partition) not in gone]
            if on_revoke is not None:
                on_revoke([(p.topic, p.partition) for p in parts])

        self._consumer.subscribe(list(topics), on_assign=assigned, on_revoke=revoked)

    def start_from(self, positions: PositionsProvider | None) -> None:
        """Start every partition assigned from now on at ``positions(parts)`` instead of
        the group's committed offset (``None``: committed offsets again).

        Set it before the first :meth:`poll` (assignments happen inside :meth:`poll`).
        When ``positions`` raises, the error is logged and the partitions are not read
        (rather than read from a wrong position) until a later :meth:`poll` (at most once
        a second) gets their positions.
        """
        self._positions = positions

    def _place(self, *, in_rebalance: bool) -> None:
        """Assign the partitions waiting for their start positions (:meth:`start_from`)."""
        client = self._consumer
        assign = client.incremental_assign if self._cooperative else client.assign
        assert self._positions is not None
        parts = self._unplaced
        try:
            starts = self._positions([(p.topic, p.partition) for p in parts])
        except Exception as exc:
            log.error("consumer %s: start positions of %d partitions failed (%s); retrying",
                      self.group_id, len(parts), exc)  # fmt: skip
            self._place_after = time.monotonic() + 1.0
            if in_rebalance:  # else the client assigns them from the committed offsets
                assign([])
            return
        for p in parts:
            p.offset = starts.get((p.topic, p.partition), p.offset)
        self._unplaced = []
        assign(parts)

    def poll(self, timeout_s: float = 1.0, max_records: int = 500) -> list[Record]:
        """Return up to ``max_records`` records, waiting at most ``timeout_s`` seconds.

        Transport errors are logged (librdkafka reconnects by itself); fatal consumer
        errors raise :class:`streams.errors.RetryableError` (re-create the consumer).
        """
        if self._unplaced and time.monotonic() >= self._place_after:
            self._place(in_rebalance=False)
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

    def positions(self) -> dict[tuple[str, int], int]:
        """Next offset this member will receive per assigned partition (``-1`` before the
        first record of a partition); local, no broker request
        (:func:`streams._infra.watchdog.consumer_positions`)."""
        from streams._infra.watchdog import consumer_positions

        return consumer_positions(self._consumer)

    def backlog(self) -> int | None:
        """Records waiting beyond :meth:`positions`, from the high watermarks of the last
        fetch answers (``None``: unknown; :func:`streams._infra.watchdog.consumer_backlog`)."""
        from streams._infra.watchdog import consumer_backlog

        return consumer_backlog(self._consumer)

    def assignment(self) -> list[tuple[str, int]]:
        """Partitions currently assigned to this member."""
        return [(p.topic, p.partition) for p in self._consumer.assignment()]

    def close(self) -> None:
        """Leave the group (partitions are reassigned to the other members)."""
        self._consumer.close()
