"""The local scaler: worker processes started and stopped by the policy, against Tansu."""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from operators.backlog import BacklogSample, PartitionOffsets
from operators.errors import WorkerStartError
from operators.local import LocalScaler, WorkerFactory, command_worker, kafka_backlog
from operators.measure import BrokerUnavailableError, measure_backlog
from operators.plan import AcquisitionPlan, PlannedPass
from operators.pool import PoolSpec
from streams import KafkaBus

TOY_WORKER = Path(__file__).with_name("toy_worker.py")


def sleeper(ignore_term: bool = False) -> WorkerFactory:
    """A factory of idle worker processes (optionally deaf to SIGTERM)."""
    code = "import signal, time\n"
    if ignore_term:
        code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    code += "print('ready', flush=True)\ntime.sleep(120)\n"
    return command_worker([sys.executable, "-c", code])


def idle_backlog(partitions: int = 4) -> Callable[[int], BacklogSample]:
    def measure(workers: int) -> BacklogSample:
        offsets = tuple(PartitionOffsets(p, 0, 0) for p in range(partitions))
        return BacklogSample(time.time(), offsets, workers)

    return measure


@pytest.mark.broker
def test_local_scaler_follows_the_backlog_with_real_workers(
    bus: KafkaBus, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    """60 jobs (165 s of sensing) on 6 partitions, at most 4 workers: the scaler starts
    4 toy workers, they drain the topic, the scaler stops them (SIGTERM, clean exits)."""
    topic, group = new_topic(partitions=6), f"local-{uuid.uuid4().hex[:6]}"
    producer = bus.producer()
    for i in range(60):
        producer.send(topic, f"job-{i}", b"{}")
    producer.flush(10)
    spec = PoolSpec(min_replicas=0, max_replicas=4, scale_down_window_s=2.0, rate_window_s=3.0)
    env = {"BOOTSTRAP": bus.bootstrap_servers, "TOPIC": topic, "GROUP": group,
           "OUT_DIR": str(tmp_path), "JOB_S": "0.2"}  # fmt: skip
    scaler = LocalScaler(
        spec, kafka_backlog(bus, group, topic, timeout_s=5.0),
        command_worker([sys.executable, str(TOY_WORKER)], env=env, log_dir=tmp_path / "logs"),
        interval_s=0.5, stop_timeout_s=20.0, metrics=True,
    )  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=scaler.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            records = list(scaler.timeline)
            if records and max(r.running for r in records) > 0 and records[-1].running == 0:
                if measure_backlog(bus, group, topic).lag == 0:
                    break
            time.sleep(0.2)
        else:
            pytest.fail(f"not drained and scaled down in 60 s: {scaler.timeline[-3:]}")
    finally:
        stop.set()
        thread.join(30)
    peak = max(r.running for r in scaler.timeline)
    assert peak == 4  # ceil(60 x 2.758 / 30) = 6, capped at maxReplicas
    first_up = next(r for r in scaler.timeline if r.action == "scale-up")
    assert first_up.replicas == 4 and "backlog 165.5 s of sensing" in first_up.reason
    assert scaler.timeline[-1].running == 0
    assert any(r.action == "scale-down" for r in scaler.timeline)
    assert len(scaler.exits) == 4
    assert all(e.signalled and not e.killed and e.returncode == 0 for e in scaler.exits)
    done = [k for f in tmp_path.glob("worker-*.json") for k in json.loads(f.read_text())]
    assert set(done) == {f"job-{i}" for i in range(60)}
    rates = [d.worker_rate for d in scaler.autoscaler.decisions if d.worker_rate_measured]
    assert rates and rates[-1] == pytest.approx(5.0, rel=0.01)  # 0.2 s per job, measured
    assert scaler.workers_over_time()[-1][1] == 0


def test_unreachable_broker_holds_the_pool() -> None:
    calls = {"n": 0}

    def flaky(workers: int) -> BacklogSample:
        calls["n"] += 1
        if calls["n"] > 1:
            raise BrokerUnavailableError("metadata request timed out")
        return BacklogSample(time.time(), tuple(PartitionOffsets(p, 0, 30) for p in range(4)))

    scaler = LocalScaler(PoolSpec(max_replicas=4), flaky, sleeper(), stop_timeout_s=5.0)
    try:
        first = scaler.step()
        assert first is not None and first.replicas == 4 and len(scaler.running) == 4
        assert scaler.step() is None
        assert len(scaler.running) == 4
        assert scaler.timeline[-1].reason.startswith("hold 4: broker unreachable")
    finally:
        scaler.close()
    assert len(scaler.exits) == 4 and all(e.signalled for e in scaler.exits)


def test_a_worker_deaf_to_sigterm_is_killed_after_the_timeout() -> None:
    spec = PoolSpec(min_replicas=1, max_replicas=2)
    scaler = LocalScaler(spec, idle_backlog(), sleeper(ignore_term=True), stop_timeout_s=0.5)
    scaler.step()
    assert len(scaler.running) == 1
    time.sleep(0.3)  # let the interpreter install its SIGTERM handler
    started = time.monotonic()
    scaler.close()
    assert time.monotonic() - started < 5
    assert [(e.signalled, e.killed) for e in scaler.exits] == [(True, True)]


def test_plan_prescales_local_workers_and_a_crashed_worker_is_replaced() -> None:
    now = time.time()
    plan = AcquisitionPlan((PlannedPass("matera", now + 30, now + 600, replicas=2),))
    spec = PoolSpec(min_replicas=0, max_replicas=4, plan_lead_s=60.0)
    scaler = LocalScaler(spec, idle_backlog(), sleeper(), plan=plan, stop_timeout_s=5.0)
    try:
        d = scaler.step()
        assert d is not None and d.replicas == 2 and "planned pass (matera)" in d.reason
        victim = scaler.running[0]
        victim.process.kill()
        victim.process.wait()
        scaler.step()
        assert len(scaler.running) == 2  # replaced
        assert scaler.exits[0].name == victim.name and not scaler.exits[0].signalled
    finally:
        scaler.close()


def test_a_missing_worker_command_raises() -> None:
    factory = command_worker(["/nonexistent/eoport-worker"])
    with pytest.raises(WorkerStartError, match="cannot start worker w"):
        factory("w", None)
