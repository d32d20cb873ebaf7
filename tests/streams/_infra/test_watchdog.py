"""Progress watchdog: decision logic on a fake clock, then a real stall on Tansu/S3.

The stall is induced the way it happens in production on Tansu 0.6 with S3 storage: a
consumer whose ``fetch.wait.max.ms`` is shorter than the broker's listing of the
partition's batch objects gets every fetch answered with no records (and the right high
watermark). 1 ms makes that certain with a handful of objects; 10 ms does the same after
~40 objects of 256 kB (``benchmarks/broker_stall.py``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, KafkaError, Producer

from streams._infra.broker import LocalBroker
from streams._infra.errors import ConfigurationError
from streams._infra.topics import TopicSpec, ensure_topics
from streams._infra.watchdog import (
    ProgressWatchdog,
    consumer_backlog,
    consumer_positions,
    escalate_fetch_wait,
)
from tests.conftest import TEST_SESSION_TIMEOUT_MS, make_test_bus

# ---------------------------------------------------------------------- decision logic


class FakeClock:
    """A monotonic clock moved by hand, s."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CountingProbe:
    """A backlog probe answering a fixed value and counting its calls."""

    def __init__(self, backlog: int | None) -> None:
        self.backlog = backlog
        self.calls = 0

    def __call__(self) -> int | None:
        self.calls += 1
        return self.backlog


def test_no_probe_while_positions_move() -> None:
    clock = FakeClock()
    dog = ProgressWatchdog(5.0, probe_interval_s=1.0, clock=clock)
    probe = CountingProbe(10)
    for step in range(100):
        clock.now += 0.5
        assert dog.observe({("t", 0): step}, probe) is None
    assert probe.calls == 0


def test_stall_reported_once_records_waited_stall_after_s() -> None:
    clock = FakeClock()
    dog = ProgressWatchdog(5.0, probe_interval_s=1.0, clock=clock)
    probe = CountingProbe(7)
    assert dog.observe({("t", 0): 3}, probe) is None  # first sight: progress
    for _ in range(5):  # probes at +1 .. +5 s: records waiting since +1 s
        clock.now += 1.0
        assert dog.observe({("t", 0): 3}, probe) is None
    assert dog.waiting_s == pytest.approx(4.0)
    clock.now += 1.0
    stall = dog.observe({("t", 0): 3}, probe)
    assert stall is not None
    assert stall.backlog == 7
    assert stall.waiting_s == pytest.approx(5.0)
    assert stall.idle_s == pytest.approx(6.0)
    assert dict(stall.positions) == {("t", 0): 3}
    assert (probe.calls, dog.probes, dog.stalls) == (6, 6, 1)


def test_probes_are_rate_limited() -> None:
    clock = FakeClock()
    dog = ProgressWatchdog(2.0, probe_interval_s=3.0, clock=clock)
    probe = CountingProbe(None)  # the probe cannot tell: keep watching, never a stall
    dog.observe({("t", 0): 1}, probe)
    for _ in range(160):  # 20 s of 0.125 s loop iterations, positions still
        clock.now += 0.125
        assert dog.observe({("t", 0): 1}, probe) is None
    # probes at +0.125, +3.125, ..., +18.125 s
    assert probe.calls == 7
    assert dog.waiting_s is None


def test_idle_consumer_with_no_backlog_is_not_a_stall() -> None:
    clock = FakeClock()
    dog = ProgressWatchdog(2.0, probe_interval_s=1.0, clock=clock)
    probe = CountingProbe(0)
    dog.observe({("t", 0): 5}, probe)
    for _ in range(60):
        clock.now += 1.0
        assert dog.observe({("t", 0): 5}, probe) is None
    assert probe.calls == 60
    assert dog.idle_s == pytest.approx(60.0)
    assert dog.stalls == 0


def test_records_arriving_after_a_long_idle_get_the_full_stall_time() -> None:
    clock = FakeClock()
    dog = ProgressWatchdog(5.0, probe_interval_s=1.0, clock=clock)
    probe = CountingProbe(0)
    dog.observe({("t", 0): 5}, probe)
    clock.now += 60.0
    assert dog.observe({("t", 0): 5}, probe) is None  # idle a minute, nothing waiting
    probe.backlog = 2  # a record arrives; the consumer is slow to fetch it
    clock.now += 1.0
    assert dog.observe({("t", 0): 5}, probe) is None
    clock.now += 4.0
    assert dog.observe({("t", 0): 5}, probe) is None
    clock.now += 1.0
    stall = dog.observe({("t", 0): 5}, probe)
    assert stall is not None and stall.waiting_s == pytest.approx(5.0)


def test_assignment_change_counts_as_progress_and_reset_restarts() -> None:
    clock = FakeClock()
    dog = ProgressWatchdog(2.0, probe_interval_s=0.0, clock=clock)
    probe = CountingProbe(4)
    dog.observe({("t", 0): 5}, probe)
    clock.now += 1.0
    assert dog.observe({("t", 0): 5}, probe) is None  # records waiting from here
    clock.now += 3.0
    assert dog.observe({("t", 0): 5, ("t", 1): -1}, probe) is None  # rebalanced
    clock.now += 1.0
    assert dog.observe({("t", 0): 5, ("t", 1): -1}, probe) is None
    clock.now += 2.0
    assert dog.observe({("t", 0): 5, ("t", 1): -1}, probe) is not None
    dog.reset()
    clock.now += 1.0
    assert dog.observe({("t", 0): 5, ("t", 1): -1}, probe) is None  # first sight again
    assert probe.calls == 3


def test_progressed_clears_the_wait() -> None:
    clock = FakeClock()
    dog = ProgressWatchdog(2.0, probe_interval_s=0.0, clock=clock)
    probe = CountingProbe(4)
    dog.observe({("t", 0): 5}, probe)
    clock.now += 1.0
    assert dog.observe({("t", 0): 5}, probe) is None
    clock.now += 1.5
    dog.progressed()  # e.g. one record took long to handle
    assert dog.waiting_s is None
    clock.now += 1.5
    assert dog.observe({("t", 0): 5}, probe) is None
    assert dog.waiting_s == pytest.approx(0.0)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="stall_after_s"):
        ProgressWatchdog(0.0)
    with pytest.raises(ConfigurationError, match="probe_interval_s"):
        ProgressWatchdog(1.0, probe_interval_s=-1.0)


def test_escalate_fetch_wait() -> None:
    assert escalate_fetch_wait(1) == 50
    assert escalate_fetch_wait(10) == 50
    assert escalate_fetch_wait(50) == 200
    assert escalate_fetch_wait(200) == 800
    assert escalate_fetch_wait(800) == 2000
    assert escalate_fetch_wait(2000) == 2000
    assert escalate_fetch_wait(100, factor=2, ceiling_ms=150) == 150


# ---------------------------------------------------------------------- real broker

RECORD_BYTES = 20_000
FIRST, SECOND = 8, 12


def _topic(broker: LocalBroker) -> str:
    name = f"wd-{uuid.uuid4().hex[:10]}"
    ensure_topics(make_test_bus(broker), [TopicSpec(name, 1)])
    return name


def _produce(broker: LocalBroker, topic: str, first: int, n: int) -> None:
    """``n`` records, one batch (one S3 object on Tansu) each."""
    producer = Producer(
        {"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 0, "acks": "all"}
    )
    for i in range(first, first + n):
        producer.produce(topic, key=str(i).encode(), value=i.to_bytes(4, "big") * 5000)
        assert producer.flush(20) == 0


def _consumer(broker: LocalBroker, group: str, topic: str, fetch_wait_ms: int) -> Consumer:
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap_servers,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": TEST_SESSION_TIMEOUT_MS,
            "heartbeat.interval.ms": TEST_SESSION_TIMEOUT_MS // 3,
            "fetch.wait.max.ms": fetch_wait_ms,
        }
    )
    consumer.subscribe([topic])
    return consumer


@pytest.fixture
def closing() -> Iterator[list[Consumer]]:
    """Consumers to close at the end of a test, whatever happens."""
    consumers: list[Consumer] = []
    yield consumers
    for consumer in consumers:
        try:
            consumer.close()
        except RuntimeError:  # already closed
            pass


def _poll(
    consumer: Consumer, dog: ProgressWatchdog, seen: set[int], until: int, deadline_s: float
) -> str:
    """Poll like a stage loop, committing each record: ``"caught up"`` once ``until``
    records are read, ``"stalled"`` when the watchdog reports a stall, ``"idle"`` when
    ``deadline_s`` passed with neither."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        for msg in consumer.consume(50, 0.1):
            err = msg.error()
            if err is None:
                seen.add(int.from_bytes((msg.value() or b"")[:4], "big"))
                consumer.commit(message=msg, asynchronous=False)
            elif err.code() != KafkaError._PARTITION_EOF:
                raise AssertionError(f"consumer error {err}")
        if len(seen) >= until:
            return "caught up"
        if dog.observe(consumer_positions(consumer), lambda: consumer_backlog(consumer)):
            return "stalled"
    return "idle"


def test_watchdog_detects_s3_stall_and_recreated_consumer_reads_everything(
    durable_broker: LocalBroker, closing: list[Consumer]
) -> None:
    topic = _topic(durable_broker)
    group = f"g-{uuid.uuid4().hex[:8]}"
    total = FIRST + SECOND
    seen: set[int] = set()

    # a healthy member reads and commits the first records, then idles without alarm
    _produce(durable_broker, topic, 0, FIRST)
    healthy = _consumer(durable_broker, group, topic, 500)
    closing.append(healthy)
    dog = ProgressWatchdog(2.0, probe_interval_s=0.5)
    assert _poll(healthy, dog, seen, FIRST, 30.0) == "caught up"
    assert _poll(healthy, dog, seen, total, 4.0) == "idle"
    assert dog.stalls == 0 and dog.probes >= 1
    healthy.close()

    # more records; the next member's fetch deadline is shorter than the S3 listing
    _produce(durable_broker, topic, FIRST, SECOND)
    wait_ms = 1
    stalled = _consumer(durable_broker, group, topic, wait_ms)
    closing.append(stalled)
    dog = ProgressWatchdog(2.0, probe_interval_s=0.5)
    assert _poll(stalled, dog, seen, total, 30.0) == "stalled"
    assert seen == set(range(FIRST))  # nothing of the second lot arrived
    assert consumer_positions(stalled) == {(topic, 0): -1}
    assert consumer_backlog(stalled) == SECOND  # committed 8, end from the empty fetches
    stalled.close()

    # a new member with the same setting is just as stuck
    again = _consumer(durable_broker, group, topic, wait_ms)
    closing.append(again)
    dog.reset()
    assert _poll(again, dog, seen, total, 30.0) == "stalled"
    assert seen == set(range(FIRST))
    again.close()

    # recovery: recreate with a longer fetch wait until records flow again
    for attempt in range(1, 4):
        wait_ms = escalate_fetch_wait(wait_ms)
        consumer = _consumer(durable_broker, group, topic, wait_ms)
        closing.append(consumer)
        dog.reset()
        outcome = _poll(consumer, dog, seen, total, 30.0)
        consumer.close()
        if outcome == "caught up":
            break
        assert attempt < 3, f"still {outcome} with fetch.wait.max.ms={wait_ms}"
    assert seen == set(range(total))
    assert 50 <= wait_ms <= 800


def test_no_stall_reported_on_the_memory_broker_with_the_same_setting(
    tansu_broker: LocalBroker, closing: list[Consumer]
) -> None:
    """In memory the listing takes microseconds: 1 ms is enough, and a consumer that
    has caught up is idle, not stalled."""
    topic = _topic(tansu_broker)
    total = FIRST + SECOND
    _produce(tansu_broker, topic, 0, total)
    consumer = _consumer(tansu_broker, f"g-{uuid.uuid4().hex[:8]}", topic, 1)
    closing.append(consumer)
    dog = ProgressWatchdog(1.0, probe_interval_s=0.2)
    seen: set[int] = set()
    assert _poll(consumer, dog, seen, total, 20.0) == "caught up"
    assert _poll(consumer, dog, seen, total + 1, 2.5) == "idle"
    assert seen == set(range(total))
    assert dog.stalls == 0 and dog.probes >= 1
    assert consumer_backlog(consumer) == 0
