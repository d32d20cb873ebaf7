"""The stage runtime against a real Tansu broker: a stage that keeps its own offsets
(:class:`streams._infra.runtime.PositionedStage`) starts where it says, not where the
group committed, and Kafka's commits follow its checkpoint."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka import TopicPartition as RdPartition

from streams._infra.bus import KafkaBus
from streams._infra.consumer import OFFSET_BEGINNING
from streams._infra.lag import committed_offsets
from streams._infra.records import OutgoingRecord, Record
from streams._infra.runtime import (
    PositionedStage,
    RuntimeConfig,
    RuntimeStats,
    StageBase,
    StageRuntime,
    TopicPartition,
)

pytestmark = pytest.mark.broker


class Recorder(StageBase):
    """A stage that remembers the offsets it handled, per partition."""

    name = "recorder"

    def __init__(self) -> None:
        self.seen: dict[TopicPartition, list[int]] = {}

    def handle(self, record: Record, now: float) -> Sequence[OutgoingRecord]:
        self.seen.setdefault((record.topic, record.partition), []).append(record.offset)
        return ()

    def count(self) -> int:
        return sum(len(v) for v in self.seen.values())


class OwnOffsets(Recorder):
    """A recorder that keeps its own offsets: starts at ``start``; the first
    ``failures`` calls of :meth:`positions` raise."""

    def __init__(self, start: Mapping[TopicPartition, int], failures: int = 0) -> None:
        super().__init__()
        self.start = dict(start)
        self.failures = failures
        self.asked: list[list[TopicPartition]] = []

    def positions(self, parts: Sequence[TopicPartition]) -> Mapping[TopicPartition, int]:
        self.asked.append(sorted(parts))
        if self.failures > 0:
            self.failures -= 1
            raise OSError("state file unavailable")
        return {tp: self.start[tp] for tp in parts if tp in self.start}


def publish(bus: KafkaBus, topic: str, partitions: int, n: int) -> None:
    """``n`` records into each partition of ``topic`` (offsets 0 .. n-1)."""
    producer = Producer({"bootstrap.servers": bus.bootstrap_servers, "linger.ms": 0})
    for p in range(partitions):
        for i in range(n):
            producer.produce(topic, value=f"{p}:{i}".encode(), key=f"k{p}", partition=p)
    assert producer.flush(10) == 0


def commit(bus: KafkaBus, group: str, offsets: Mapping[TopicPartition, int]) -> None:
    """Commit ``offsets`` for ``group`` without joining it."""
    consumer = bus.raw_consumer(group)
    try:
        parts = [RdPartition(t, p, o) for (t, p), o in offsets.items()]
        consumer.commit(offsets=parts, asynchronous=False)
    finally:
        consumer.close()


def config(group: str, topic: str, **kw: Any) -> RuntimeConfig:
    return RuntimeConfig(group_id=group, topics=[topic], poll_timeout_s=0.1, **kw)


def wait_for(cond: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def running(runtime: StageRuntime) -> Iterator[RuntimeStats]:
    stop = threading.Event()
    thread = threading.Thread(target=runtime.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield runtime.stats
    finally:
        stop.set()
        thread.join(timeout=20)
        assert not thread.is_alive()


@pytest.mark.parametrize("strategy", ["range,roundrobin", "cooperative-sticky"])
def test_a_positioned_stage_starts_at_its_own_offsets(
    bus: KafkaBus, new_topic: Callable[..., str], strategy: str
) -> None:
    topic = new_topic(partitions=3)
    publish(bus, topic, 3, 10)
    own, plain = f"own-{uuid.uuid4().hex[:6]}", f"plain-{uuid.uuid4().hex[:6]}"
    for group in (own, plain):
        commit(bus, group, {(topic, 0): 8, (topic, 1): 6, (topic, 2): 6})
    # p0 at the stage's offset, p1 from the beginning, p2 left to the committed offset
    stage = OwnOffsets({(topic, 0): 3, (topic, 1): OFFSET_BEGINNING})
    control = Recorder()
    assert isinstance(stage, PositionedStage) and not isinstance(control, PositionedStage)
    assignment = {"partition.assignment.strategy": strategy}  # eager, incremental
    with (
        running(StageRuntime(stage, bus, config(own, topic, consumer_config=assignment))),
        running(StageRuntime(control, bus, config(plain, topic, consumer_config=assignment))),
    ):
        wait_for(lambda: stage.count() == 7 + 10 + 4, 30, "the positioned stage")
        wait_for(lambda: control.count() == 2 + 4 + 4, 30, "the plain stage")
        time.sleep(0.5)  # nothing more comes
    assert stage.seen == {
        (topic, 0): list(range(3, 10)), (topic, 1): list(range(10)), (topic, 2): [6, 7, 8, 9]
    }  # fmt: skip
    assert control.seen == {
        (topic, 0): [8, 9], (topic, 1): [6, 7, 8, 9], (topic, 2): [6, 7, 8, 9]
    }  # fmt: skip
    assert stage.asked == [[(topic, 0), (topic, 1), (topic, 2)]]
    # the commits follow what the stage checkpointed (all handled: StageBase)
    assert committed_offsets(bus, own, topic) == {0: 10, 1: 10, 2: 10}


@pytest.mark.parametrize("strategy", ["range,roundrobin", "cooperative-sticky"])
def test_positions_that_fail_are_asked_again_and_nothing_is_read_meanwhile(
    bus: KafkaBus, new_topic: Callable[..., str], strategy: str
) -> None:
    topic = new_topic(partitions=2)
    publish(bus, topic, 2, 5)
    group = f"own-{uuid.uuid4().hex[:6]}"
    commit(bus, group, {(topic, 0): 4, (topic, 1): 4})
    stage = OwnOffsets({(topic, 0): 1, (topic, 1): 2}, failures=2)
    assignment = {"partition.assignment.strategy": strategy}
    with running(
        StageRuntime(stage, bus, config(group, topic, consumer_config=assignment))
    ) as stats:
        wait_for(lambda: stage.count() == 4 + 3, 30, "records once the positions are known")
        time.sleep(0.5)
    # nothing was read from the committed offsets while the positions were unknown
    assert stage.seen == {(topic, 0): [1, 2, 3, 4], (topic, 1): [2, 3, 4]}
    assert len(stage.asked) == 3 and stats.stalls == 0
