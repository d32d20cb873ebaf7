"""The chain as separate processes (``eoport run ingest|assemble|focus``) on a durable
broker (Tansu on S3): every burst the station sent comes out as exactly one product, or
is reported — never lost silently — with and without a broker SIGKILL mid-pass, in the
demo's 256 kB chunks and in 900 kB chunks.

This is the regime of the redesign issue's fault test: paced downlink, one chunk per
stored batch object on Tansu's S3 storage, where a 10 ms ``fetch.wait.max.ms`` made the
stage consumers stall silently (Tansu lists a partition's batch objects on every fetch
and answers empty once that outlasts the wait).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import httpx
import pytest

from sar.sim.datatake import SimulatedDatatake
from streams._infra.broker import LocalBroker
from streams._infra.bus import KafkaBus
from streams._infra.ports import find_free_port
from streams._infra.records import Record
from streams._infra.topics import EVENTS, L1_PRODUCTS
from streams.messages.events import EventRecord
from streams.messages.passes import PassManifest, PassReport, account_pass
from streams.messages.products import ProductRecord
from tests.conftest import make_test_bus

pytestmark = [pytest.mark.slow, pytest.mark.broker]

RELATIVE_ORBIT = 117


@lru_cache(maxsize=1)
def iw_pass() -> SimulatedDatatake:
    """Two IW burst cycles (6 bursts), the demo's narrowed echo window."""
    from eoport.pipeline import simulate_pass

    return simulate_pass("IW", 5.6)


def stage(
    name: str, env: dict[str, str], log: Path, *args: str
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "eoport", "--debug", "run", name, *args], env=env,
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def wait_ready(port: int, timeout_s: float, log: Path) -> None:
    """Wait until a stage process answers ``/readyz`` with 200 (consumer subscribed)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"stage on port {port} not ready: {log.read_text()[-2000:]}")


def read_topic(bus: KafkaBus, topic: str, idle_s: float = 2.0) -> list[Record]:
    consumer = bus.consumer(f"probe-{uuid.uuid4().hex[:8]}", [topic])
    records: list[Record] = []
    last = time.monotonic()
    try:
        while time.monotonic() - last < idle_s or not records:
            got = consumer.poll(0.3, 500)
            records += got
            if got:
                last = time.monotonic()
            if time.monotonic() - last > 30:
                break
    finally:
        consumer.close()
    return records


def report_of(bus: KafkaBus) -> PassReport | None:
    """The pass against its manifest, from ``events`` and ``l1-products``."""
    events = [EventRecord.from_bytes(r.value) for r in read_topic(bus, EVENTS)]
    manifests = [PassManifest.from_detail(e.detail) for e in events if e.kind == "pass-manifest"]
    if not manifests:
        return None
    products = [ProductRecord.from_bytes(r.value) for r in read_topic(bus, L1_PRODUCTS)]
    failed = {e.source for e in events if e.kind == "focus-failed"}
    return account_pass(manifests[-1], products, failed)


@pytest.fixture
def raw_file(tmp_path: Path) -> Path:
    path = tmp_path / "pass.dat"
    path.write_bytes(iw_pass().data)
    return path


@pytest.fixture
def stages(durable_broker: LocalBroker, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = dict(os.environ)
    env.update(
        EOPORT_BOOTSTRAP_SERVERS=durable_broker.bootstrap_servers,
        EOPORT_OBJECT_STORE_URL=str(tmp_path / "objects"),
        EOPORT_STATE_DIR=str(tmp_path / "state"),
        EOPORT_SESSION_TIMEOUT_MS="3000",
        EOPORT_WARM_UP_SAMPLES="4096",  # the pass's narrowed echo window
        EOPORT_LOG_LEVEL="WARNING",
    )
    env.setdefault("EOPORT_STALL_AFTER_S", "15")
    yield env


@pytest.mark.parametrize("chunk_size", [256_000, 900_000])
@pytest.mark.parametrize("kill_broker", [False, True], ids=["steady", "broker-sigkill"])
def test_every_burst_sent_comes_out_or_is_reported(
    durable_broker: LocalBroker, stages: dict[str, str], raw_file: Path, tmp_path: Path,
    chunk_size: int, kill_broker: bool,
) -> None:  # fmt: skip
    env = stages
    logs = {n: tmp_path / f"{n}.log" for n in ("assemble", "focus", "ingest")}
    ports = {n: find_free_port() for n in ("assemble", "focus")}
    procs = [stage(n, env | {"EOPORT_METRICS_PORT": str(ports[n])}, logs[n]) for n in ports]
    # the broker is killed below at a fixed time: the stages must be past their start-up
    # (a stage whose broker goes away while it creates its topics exits, for its supervisor
    # to start again; there is none here)
    for name, port in ports.items():
        wait_ready(port, 180, logs[name])
    # the downlink, paced: one chunk (one stored batch object) at a time
    data_rate = len(iw_pass().data) / 5.6
    ingest_env = env | {
        "EOPORT_CHUNK_SIZE": str(chunk_size),
        "EOPORT_SPEEDUP": f"{data_rate / 32.5e6:.6f}",  # the pass's own data rate
        "EOPORT_MAX_OUTAGE_S": "120",
    }
    bus = make_test_bus(durable_broker)
    try:
        ingest = stage(
            "ingest", ingest_env, logs["ingest"], "--file", str(raw_file), "--pass-id", "p1",
            "--relative-orbit", str(RELATIVE_ORBIT),
        )  # fmt: skip
        if kill_broker:
            time.sleep(2.8)  # about half of the pass
            durable_broker.kill()
            time.sleep(2.0)
            durable_broker.start()
        assert ingest.wait(240) == 0, logs["ingest"].read_text()[-3000:]
        deadline = time.monotonic() + 240
        report = None
        while time.monotonic() < deadline:
            report = report_of(bus)
            if report is not None and report.complete:
                break
            time.sleep(3.0)
        tails = {n: p.read_text()[-2500:] for n, p in logs.items()}
        assert report is not None, tails
        assert report.expected == 6, report
        # exactly one product per burst sent (or an explicit failure), none missing
        assert report.missing == [] and report.extra == [], (report, tails)
        assert len(report.focused) + len(report.failed) == 6, report
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
