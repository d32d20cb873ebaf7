"""A real Prometheus (Debian ``prometheus``) scrapes a running eoport API on loopback and
answers the recording rules' queries with the expected series."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from streams import find_free_port
from streams.timeline.model import LATENCY_BUCKETS_S, SEGMENT_NAMES
from streams.timeline.view import TimelineView
from tests.deploy.conftest import LiveApi
from tests.deploy.promql import RULE_FILES
from tests.streams.timeline.synth import SynthPass
from tests.streams.timeline.test_service import stored

pytestmark = pytest.mark.broker

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


class Prometheus:
    """A Prometheus server process on a free loopback port."""

    def __init__(self, work: Path, target: str) -> None:
        self.port = find_free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in RULE_FILES],
            "scrape_configs": [{"job_name": "eoport", "static_configs": [{"targets": [target]}]}],
        }
        (work / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log = (work / "prometheus.log").open("wb")
        self.proc = subprocess.Popen(
            [
                PROMETHEUS, f"--config.file={work / 'prometheus.yml'}",
                f"--storage.tsdb.path={work / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "prometheus exited"
            try:
                if httpx.get(self.url + "/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("prometheus not ready")

    def query(self, expr: str) -> list[dict[str, Any]]:
        r = httpx.get(self.url + "/api/v1/query", params={"query": expr}, timeout=10)
        r.raise_for_status()
        body = r.json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_for(self, expr: str, n: int, timeout_s: float = 60) -> list[dict[str, Any]]:
        """Wait until ``expr`` answers ``n`` series with finite values."""
        deadline = time.monotonic() + timeout_s
        found: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            found = [s for s in self.query(expr) if s["value"][1] not in ("NaN", "+Inf", "-Inf")]
            if len(found) >= n:
                return found
            time.sleep(0.5)
        raise AssertionError(f"{expr}: {found}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def prometheus(live_api: LiveApi, tmp_path: Path) -> Iterator[Prometheus]:
    server = Prometheus(tmp_path, live_api.url.removeprefix("http://"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def bucket_range(values: list[float]) -> tuple[float, float]:
    """Bounds of the histogram buckets holding ``values``: what histogram_quantile may
    answer for any quantile of them."""
    lower = max([0.0, *[b for b in LATENCY_BUCKETS_S if b < min(values)]])
    upper = min(b for b in LATENCY_BUCKETS_S if b >= max(values))
    return lower, upper


@pytest.mark.timeout(240)
def test_recording_rules_answer_for_a_scraped_pass(
    live_api: LiveApi, prometheus: Prometheus
) -> None:
    prometheus.wait_for('up{job="eoport"} == 1', 1)
    # the pass arrives after the first scrapes: the counters grow under Prometheus' eyes
    synth = SynthPass(t0=datetime.now(UTC))
    records = synth.records()
    producer = live_api.bus.producer()
    for i in range(0, len(records), 8):
        synth.publish(producer, i, i + 8)
        time.sleep(0.3)
    # every burst of the pass stored and scraped, then one more rule evaluation
    deadline = time.monotonic() + 60
    while stored(live_api.db) < len(records) and time.monotonic() < deadline:
        time.sleep(0.2)
    scraped = prometheus.wait_for(
        'increase(eoport_burst_latency_seconds_count{stage="focus"}[5m]) >= 9.9', 1
    )
    assert scraped
    time.sleep(2.5)
    for rule in ("p50_5m", "p95_5m", "p99_5m", "mean_5m"):
        series = prometheus.wait_for(f"eoport:burst_latency_seconds:{rule}", len(SEGMENT_NAMES))
        assert {s["metric"]["stage"] for s in series} == set(SEGMENT_NAMES)
    bursts = TimelineView(live_api.db).bursts()
    for s in prometheus.query("eoport:burst_latency_seconds:p95_5m"):
        stage = s["metric"]["stage"]
        values = [b.segments[stage] for b in bursts if stage in b.segments]
        lower, upper = bucket_range(values)
        assert lower - 1e-9 <= float(s["value"][1]) <= upper + 1e-9, (stage, s, values)
    mean = {s["metric"]["stage"]: float(s["value"][1])
            for s in prometheus.query("eoport:burst_latency_seconds:mean_5m")}  # fmt: skip
    assert mean["focus"] == pytest.approx(
        sum(b.segments["focus"] for b in bursts if "focus" in b.segments) / 10, rel=1e-6
    )
    delivered = prometheus.wait_for("eoport:bursts_delivered:rate5m > 0", 1)
    assert float(delivered[0]["value"][1]) > 0
    backlog = prometheus.wait_for('eoport:backlog_records:max{topic="focus-jobs"} == 12', 1)
    assert backlog[0]["metric"]["topic"] == "focus-jobs"
    sensing = prometheus.wait_for('eoport:backlog_sensing_seconds:max{topic="focus-jobs"}', 1)
    assert float(sensing[0]["value"][1]) == pytest.approx(12 * 2.758273, abs=1e-2)
    # the alert rules load and evaluate: focus jobs wait and no focusing worker runs in
    # this setup, so "focus stalled" is pending (it fires after 5 min); the rest is quiet
    rules = httpx.get(prometheus.url + "/api/v1/rules", timeout=10).json()["data"]["groups"]
    alerts = {r["name"]: r for g in rules for r in g["rules"] if r["type"] == "alerting"}
    assert len(alerts) == 6 and all(r["health"] == "ok" for r in alerts.values())
    states = {name: r["state"] for name, r in alerts.items()}
    assert states.pop("EoportFocusStalled") == "pending"
    assert set(states.values()) == {"inactive"}
