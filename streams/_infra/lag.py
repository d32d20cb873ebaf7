"""Consumer-group backlog (lag) per partition, computed reliably on Tansu.

Tansu 0.6 answers a ListOffsets "latest" request with ``base offset of the last record
batch + 1``: after a batched produce it under-reports the end of the log by the batch
size minus one. The end offset is therefore *probed*: read the partition from that
reported offset (the base of the last batch) to end-of-partition; the fetch response's
high watermark, seen by the client as the partition-EOF offset, is exact. On Apache Kafka
the probe reads nothing and returns the same number ListOffsets gives.

This is what the scaling operator reads (the ``focus-jobs`` backlog of the focus group).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_INVALID, KafkaError, KafkaException, TopicPartition

from streams._infra.errors import BrokerUnavailableError


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """Backlog of one partition.

    Parameters
    ----------
    partition
        Partition id.
    committed
        Next offset the group will read, or ``None`` if it never committed.
    start, end
        First offset still in the log, offset after the last record.
    """

    partition: int
    committed: int | None
    start: int
    end: int

    @property
    def lag(self) -> int:
        """Records not yet committed by the group (from ``start`` if never committed)."""
        position = self.committed if self.committed is not None else self.start
        return max(0, self.end - max(position, self.start))


@dataclass(frozen=True, slots=True)
class GroupLag:
    """Backlog of a consumer group on one topic."""

    group: str
    topic: str
    partitions: tuple[PartitionLag, ...]

    @property
    def total(self) -> int:
        """Records not yet committed, all partitions together."""
        return sum(p.lag for p in self.partitions)


def end_offsets(bus: Any, topic: str, timeout_s: float = 10.0) -> dict[int, tuple[int, int]]:
    """Exact ``(start, end)`` offsets of every partition of ``topic``.

    Parameters
    ----------
    bus
        A :class:`streams.bus.KafkaBus`.
    topic
        Topic name.
    timeout_s
        Total time allowed, seconds.

    Raises
    ------
    BrokerUnavailableError
        If the broker does not answer in time.
    """
    partitions = bus.partitions(topic, timeout_s)
    consumer = bus.raw_consumer()
    try:
        return _probe_ends(consumer, topic, partitions, timeout_s)
    finally:
        consumer.close()


def _probe_ends(
    consumer: Any, topic: str, partitions: list[int], timeout_s: float
) -> dict[int, tuple[int, int]]:
    deadline = time.monotonic() + timeout_s
    result: dict[int, tuple[int, int]] = {}
    to_probe: list[TopicPartition] = []
    try:
        for p in partitions:
            low, reported = consumer.get_watermark_offsets(
                TopicPartition(topic, p), timeout=timeout_s
            )
            result[p] = (low, max(low, reported))
            if reported > low:
                to_probe.append(TopicPartition(topic, p, reported - 1))
    except KafkaException as exc:
        raise BrokerUnavailableError(f"ListOffsets on {topic} failed: {exc}") from exc
    if not to_probe:
        return result
    consumer.assign(to_probe)
    pending = {tp.partition for tp in to_probe}
    while pending:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BrokerUnavailableError(f"end-offset probe on {topic} timed out ({pending})")
        for msg in consumer.consume(1000, min(remaining, 0.05)):
            p = msg.partition()
            err = msg.error()
            low = result[p][0]
            if err is None:
                result[p] = (low, max(result[p][1], msg.offset() + 1))
            elif err.code() == KafkaError._PARTITION_EOF:
                result[p] = (low, max(result[p][1], msg.offset()))
                pending.discard(p)
        # a fetch answer carries the exact high watermark even when it returns no record
        # (Tansu on S3 answers empty when its listing outlasts the fetch wait)
        for p in list(pending):
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), cached=True)
            if high is not None and high >= 0 and high > result[p][0]:
                result[p] = (result[p][0], max(result[p][1], int(high)))
                pending.discard(p)
    return result


def committed_offsets(
    bus: Any, group: str, topic: str, timeout_s: float = 10.0
) -> dict[int, int | None]:
    """Committed next-offset of ``group`` per partition of ``topic`` (``None``: never).

    Reads offsets only: the look-up does not join the group or disturb its members.
    """
    partitions = bus.partitions(topic, timeout_s)
    consumer = bus.raw_consumer(group)
    try:
        parts = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout_s)
    except KafkaException as exc:
        raise BrokerUnavailableError(f"OffsetFetch for {group} failed: {exc}") from exc
    finally:
        consumer.close()
    return {
        tp.partition: (tp.offset if tp.offset != OFFSET_INVALID and tp.offset >= 0 else None)
        for tp in parts
    }


def group_lag(bus: Any, group: str, topic: str, timeout_s: float = 10.0) -> GroupLag:
    """Backlog of ``group`` on ``topic``, partition by partition (exact on Tansu too)."""
    committed = committed_offsets(bus, group, topic, timeout_s)
    ends = end_offsets(bus, topic, timeout_s)
    return GroupLag(
        group=group,
        topic=topic,
        partitions=tuple(
            PartitionLag(p, committed.get(p), start, end)
            for p, (start, end) in sorted(ends.items())
        ),
    )
