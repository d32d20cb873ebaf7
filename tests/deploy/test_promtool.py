"""promtool on the rules, their unit tests, the Prometheus config and a real /metrics;
the Grafana JSON is the generator's output."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.deploy.conftest import LiveApi
from tests.deploy.promql import DASHBOARD, MONITORING, RULE_FILES
from tests.streams.timeline.synth import SynthPass
from tests.streams.timeline.test_service import stored

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMTOOL, *args], input=stdin, capture_output=True, text=True, timeout=60,
        cwd=MONITORING,
    )  # fmt: skip


def test_rules_are_valid() -> None:
    assert len(RULE_FILES) == 2
    result = promtool("check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 12 rules found" in result.stdout and "SUCCESS: 6 rules found" in result.stdout


def test_rule_unit_tests_cover_every_alert() -> None:
    tests = MONITORING / "prometheus" / "tests" / "eoport-rules.test.yml"
    result = promtool("test", "rules", str(tests))
    assert result.returncode == 0, result.stdout + result.stderr
    alerts = {
        line.split(":", 1)[1].strip()
        for path in RULE_FILES
        for line in path.read_text().splitlines()
        if line.strip().startswith("- alert:")
    }
    text = tests.read_text()
    assert alerts and all(f"alertname: {a}" in text for a in alerts)


def test_rule_unit_tests_can_fail(tmp_path: Path) -> None:
    tests = MONITORING / "prometheus" / "tests" / "eoport-rules.test.yml"
    broken = tests.read_text().replace("value: 1740", "value: 1700")
    rules = tmp_path / "rules"
    shutil.copytree(MONITORING / "prometheus" / "rules", rules)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "t.yml").write_text(broken)
    result = promtool("test", "rules", str(tmp_path / "tests" / "t.yml"))
    assert result.returncode != 0 and "1.74E+03" in result.stdout + result.stderr


def test_prometheus_config_is_valid(tmp_path: Path) -> None:
    result = promtool("check", "config", str(MONITORING / "prometheus" / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_dashboard_is_the_generators_output() -> None:
    result = subprocess.run(
        [sys.executable, str(MONITORING / "grafana" / "generate.py"), "--check"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert DASHBOARD.stat().st_size > 5_000


@pytest.mark.broker
def test_check_metrics_on_a_real_scrape(live_api: LiveApi) -> None:
    total = SynthPass(t0=datetime.now(UTC)).publish(live_api.bus.producer())
    deadline = time.monotonic() + 30
    while stored(live_api.db) < total and time.monotonic() < deadline:
        time.sleep(0.1)
    exposition = live_api.scrape()
    counts = [
        float(line.split()[-1]) for line in exposition.splitlines()
        if line.startswith('eoport_burst_latency_seconds_count{stage="total"}')
    ]  # fmt: skip
    assert counts and counts[0] >= 10  # this pass's bursts (the histogram is process-wide)
    result = promtool("check", "metrics", stdin=exposition)
    # promtool exits 0 with no findings; lint findings would be listed on stdout
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""
