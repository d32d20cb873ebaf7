"""The timeline service against a real Tansu broker: figures of a synthetic pass, and a
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
from datetime import UTC, datetime
from pathlib import Path

import pytest

from streams._infra.broker import LocalBroker
from streams._infra.topics import DEFAULT_TOPICS, ensure_topics
from streams.timeline.metrics import BURST_LATENCY
from streams.timeline.service import TimelineConfig, TimelineService, run_timeline
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
) -> Iterator[Callable[[Path], TimelineService]]:
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(db: Path) -> TimelineService:
        ready: list[TimelineService] = []
        config = TimelineConfig(db_path=db, sample_interval_s=0.5, poll_timeout_s=0.1)
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
    tansu_broker_fn: LocalBroker, tmp_path: Path, service_thread: Callable[[Path], TimelineService]
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
    tansu_broker_fn: LocalBroker, tmp_path: Path, service_thread: Callable[[Path], TimelineService]
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
        assert counts[0] == counts[1] == (synth.n - failed_or_skipped) * 9 + failed_or_skipped * 4
    finally:
        publisher.join(timeout=60)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
