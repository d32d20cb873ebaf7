"""The timeline stage against a real Tansu broker: figures of a synthetic pass, and a
timeline process killed (SIGKILL) mid-pass and restarted ends with the same figures as an
uninterrupted one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition

from streams._infra.broker import LocalBroker
from streams._infra.bus import KafkaBus
from streams._infra.lag import committed_offsets, end_offsets
from streams._infra.records import Record
from streams._infra.topics import (
    DEAD_LETTERS,
    DEFAULT_TOPICS,
    DELIVERIES,
    FOCUS_JOBS,
    ensure_topics,
)
from streams.timeline.config import TimelineConfig
from streams.timeline.metrics import BURST_LATENCY
from streams.timeline.service import run_timeline
from streams.timeline.stage import TimelineStage, TimelineStats
from streams.timeline.store import TimelineStore
from streams.timeline.view import TimelineView
from tests.conftest import make_test_bus
from tests.streams.timeline.synth import SynthPass
from tests.streams.timeline.test_view import snapshot

pytestmark = pytest.mark.broker


def stored(path: Path) -> int:
    """Records stored so far (sum of next offsets)."""
    if not path.exists():
        return 0
    return sum(TimelineStore(path).offsets().values())


def wait_for(cond: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def service_thread(
    tansu_broker_fn: LocalBroker, tmp_path: Path
) -> Iterator[Callable[[Path], TimelineStage]]:
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(db: Path) -> TimelineStage:
        ready: list[TimelineStage] = []
        # a group of its own: the timeline is the only member of its group, and the restart
        # test runs a second timeline (another file) under the default group
        config = TimelineConfig(
            db_path=db, group_id=f"timeline-{db.stem}", sample_interval_s=0.5, poll_timeout_s=0.1
        )
        thread = threading.Thread(
            target=run_timeline,
            args=(make_test_bus(tansu_broker_fn), config, stop),
            kwargs={"on_ready": ready.append},
            daemon=True,
        )
        thread.start()
        threads.append(thread)
        wait_for(lambda: bool(ready), 30, "service start")
        return ready[0]

    yield start
    stop.set()
    for t in threads:
        t.join(timeout=20)


def test_service_builds_the_timeline_of_a_pass(
    tansu_broker_fn: LocalBroker, tmp_path: Path, service_thread: Callable[[Path], TimelineStage]
) -> None:
    bus = make_test_bus(tansu_broker_fn)
    ensure_topics(bus, DEFAULT_TOPICS)
    before = BURST_LATENCY.labels("total")._sum.get()  # noqa: SLF001 - prometheus internals
    service = service_thread(tmp_path / "t.sqlite")
    synth = SynthPass(t0=datetime.now(UTC))
    total = synth.publish(bus.producer())
    wait_for(lambda: stored(tmp_path / "t.sqlite") >= total, 60, "all records stored")
    view = TimelineView(tmp_path / "t.sqlite")
    (p,) = view.passes()
    assert p.bursts == 12 and p.outcomes["product"] == 10
    latency = {s.stage: s for s in view.latency().segments}
    assert latency["total"].count == 10
    # job_append comes from the Kafka record timestamp of the job
    assert all("job_append" in b.stamps for b in view.bursts())
    # the histogram got one "total" observation per delivered burst
    expected = sum(b.segments["total"] for b in view.bursts() if "total" in b.segments)
    got = BURST_LATENCY.labels("total")._sum.get() - before  # noqa: SLF001
    assert got == pytest.approx(expected, rel=1e-6)

    # backlog samples of the watched groups (nothing consumed them: lag = records)
    def sampled() -> dict[str, int]:
        return {e.topic: e.records for e in view.backlog().topics}

    wait_for(lambda: sampled().get("focus-jobs") == 12, 30, "backlog samples")
    backlog = {e.topic: e for e in view.backlog().topics}
    assert backlog["focus-jobs"].records == backlog["focus-jobs"].bursts == 12
    assert backlog["l1-products"].records == 10
    assert service.stats.rejected == 0 and service.stats.records == total


@pytest.mark.timeout(240)
def test_restart_mid_pass_gives_the_figures_of_an_uninterrupted_run(
    tansu_broker_fn: LocalBroker, tmp_path: Path, service_thread: Callable[[Path], TimelineStage]
) -> None:
    bus = make_test_bus(tansu_broker_fn)
    ensure_topics(bus, DEFAULT_TOPICS)
    reference, restarted = tmp_path / "reference.sqlite", tmp_path / "restarted.sqlite"
    service_thread(reference)
    cmd = [
        sys.executable, "-m", "streams.timeline", "--bootstrap-servers",
        tansu_broker_fn.bootstrap_servers, "--db", str(restarted), "--sample-interval", "0",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    log = (tmp_path / "timeline.log").open("ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    synth = SynthPass(t0=datetime.now(UTC), cycles=20, failed=frozenset({4, 33}))
    records = synth.records()
    producer = bus.producer()

    def publish() -> None:
        for i in range(0, len(records), 4):
            synth.publish(producer, i, i + 4)
            time.sleep(0.04)

    publisher = threading.Thread(target=publish)
    publisher.start()
    try:
        wait_for(lambda: stored(restarted) >= 60, 60, "the first records")
        at_kill = stored(restarted)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert publisher.is_alive() and at_kill < len(records)  # killed mid-pass
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        publisher.join(timeout=60)
        wait_for(lambda: stored(restarted) >= len(records), 90, "the restarted process")
        wait_for(lambda: stored(reference) >= len(records), 30, "the reference")
        time.sleep(0.5)
        assert stored(restarted) == stored(reference) == len(records)
        assert snapshot(TimelineView(restarted)) == snapshot(TimelineView(reference))
        counts = []
        for path in (restarted, reference):
            with TimelineStore(path).connect() as con:
                counts.append(con.execute("SELECT COUNT(*) FROM observed").fetchone()[0])
        failed_or_skipped = len(synth.failed | synth.skipped)
        assert counts[0] == counts[1] == (synth.n - failed_or_skipped) * 10 + failed_or_skipped * 5
    finally:
        publisher.join(timeout=60)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_invalid_records_are_dead_lettered_and_stepped_over(
    tansu_broker_fn: LocalBroker, tmp_path: Path, service_thread: Callable[[Path], TimelineStage]
) -> None:
    bus = make_test_bus(tansu_broker_fn)
    ensure_topics(bus, DEFAULT_TOPICS)
    stage = service_thread(tmp_path / "t.sqlite")
    producer = bus.producer()
    producer.send(FOCUS_JOBS, "bad-1", b"not a job")
    producer.send(DELIVERIES, "bad-2", b'{"status": "delivered"}')
    producer.flush(10)
    synth = SynthPass(t0=datetime.now(UTC))
    total = synth.publish(producer) + 2
    wait_for(lambda: stored(tmp_path / "t.sqlite") >= total, 60, "all records stored")
    assert stored(tmp_path / "t.sqlite") == total
    assert (stage.stats.records, stage.stats.rejected) == (total, 2)
    (p,) = TimelineView(tmp_path / "t.sqlite").passes()
    assert p.bursts == 12 and p.outcomes["product"] == 10
    consumer = bus.consumer("dlq-reader", [DEAD_LETTERS])
    letters: list[Record] = []
    try:
        deadline = time.monotonic() + 30
        while len(letters) < 2 and time.monotonic() < deadline:
            letters += consumer.poll(0.2)
    finally:
        consumer.close()
    assert sorted(r.key or "" for r in letters) == ["bad-1", "bad-2"]
    assert {r.headers["x-stage"] for r in letters} == {b"timeline"}
    assert {r.headers["x-error-class"] for r in letters} == {b"SchemaError"}


def test_topics_created_after_the_start_are_read_and_commits_follow_the_store(
    tansu_broker_fn: LocalBroker, tmp_path: Path
) -> None:
    bus = make_test_bus(tansu_broker_fn)
    db = tmp_path / "t.sqlite"
    config = TimelineConfig(
        db_path=db, sample_interval_s=0, poll_timeout_s=0.1, discovery_interval_s=1.0
    )
    stop = threading.Event()
    thread = threading.Thread(
        target=run_timeline, args=(bus, config, stop), kwargs={"create_topics": False}
    )
    thread.start()
    try:
        time.sleep(3.0)  # subscribed to topics that do not exist (Tansu: no auto-creation)
        assert stored(db) == 0 and not set(config.roles) & bus.topics()
        ensure_topics(bus, DEFAULT_TOPICS)
        synth = SynthPass(t0=datetime.now(UTC))
        total = synth.publish(bus.producer())
        wait_for(lambda: stored(db) >= total, 60, "records of topics created later")
        assert stored(db) == total

        def committed() -> dict[tuple[str, int], int]:
            out = {}
            for topic in config.roles:
                for p, offset in committed_offsets(bus, config.group_id, topic).items():
                    if offset is not None:
                        out[(topic, p)] = offset
            return out

        wait_for(lambda: committed() == TimelineStore(db).offsets(), 30, "Kafka commits")
    finally:
        stop.set()
        thread.join(timeout=20)


def commit_for(bus: KafkaBus, group: str, offsets: dict[tuple[str, int], int]) -> None:
    """Commit ``offsets`` for ``group`` without joining it."""
    consumer = bus.raw_consumer(group)
    try:
        parts = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        consumer.commit(offsets=parts, asynchronous=False)
    finally:
        consumer.close()


def test_the_store_offsets_win_over_the_group_commits(
    tansu_broker_fn: LocalBroker, tmp_path: Path
) -> None:
    bus = make_test_bus(tansu_broker_fn)
    ensure_topics(bus, DEFAULT_TOPICS)
    db = tmp_path / "t.sqlite"
    config = TimelineConfig(db_path=db, sample_interval_s=0, poll_timeout_s=0.1)
    t0 = datetime.now(UTC)
    first = SynthPass(t0=t0).publish(bus.producer())
    # Kafka says everything was read, the (new) store says nothing was: all is read
    ends = {
        (topic, p): end
        for topic in config.roles
        for p, (_, end) in end_offsets(bus, topic).items()
    }  # fmt: skip
    commit_for(bus, config.group_id, ends)

    def run_until(n: int) -> TimelineStats:
        stop = threading.Event()
        stages: list[TimelineStage] = []
        thread = threading.Thread(
            target=run_timeline, args=(bus, config, stop), kwargs={"on_ready": stages.append}
        )
        thread.start()
        try:
            wait_for(lambda: stored(db) >= n, 60, f"{n} records stored")
            time.sleep(0.5)
        finally:
            stop.set()
            thread.join(timeout=20)
        return stages[0].stats

    assert run_until(first).records == first and stored(db) == first
    # Kafka says nothing was read, the store says everything was: nothing is read twice
    commit_for(bus, config.group_id, dict.fromkeys(ends, 0))
    second = SynthPass(t0=t0 + timedelta(minutes=5), pass_id="pass-2").publish(bus.producer())
    assert run_until(first + second).records == second
    assert stored(db) == first + second
    assert len(TimelineView(db).passes()) == 2
