"""Worker focusing rates from Prometheus expositions."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from operators.errors import MetricsFormatError
from operators.throughput import FocusCounters, RateTracker, WorkerThroughput, parse_focus_counters


def exposition(durations: list[float]) -> str:
    registry = CollectorRegistry()
    h = Histogram("eoport_focus_seconds", "focus time", registry=registry)
    for d in durations:
        h.observe(d)
    return generate_latest(registry).decode()


def test_parse_focus_counters_from_a_real_exposition() -> None:
    c = parse_focus_counters(exposition([0.5, 0.9, 1.1]))
    assert c is not None and c.count == 3 and c.busy_s == pytest.approx(2.5)
    assert parse_focus_counters("# nothing here\n") is None
    with pytest.raises(MetricsFormatError):
        parse_focus_counters("eoport_focus_seconds_count {")


def test_rate_tracker_uses_intervals_and_survives_restarts() -> None:
    t = RateTracker(min_busy_s=1.0)
    t.update("a", FocusCounters(count=4, busy_s=2.0))  # lifetime: 2 bursts/s
    assert t.throughput(["a", "b"]) == WorkerThroughput({"a": 2.0}, 2)
    t.update("a", FocusCounters(count=5, busy_s=2.5))  # 0.5 s busy: too short, merged
    assert t.throughput(["a"]).rates["a"] == 2.0
    t.update("a", FocusCounters(count=6, busy_s=4.0))  # 2 bursts in 2 s since the last used
    assert t.throughput(["a"]).rates["a"] == pytest.approx(1.0)
    t.update("a", FocusCounters(count=1, busy_s=0.25))  # restarted: lifetime again
    assert t.throughput(["a"]).rates["a"] == pytest.approx(4.0)
    t.update("b", None)
    t.forget_except(["b"])
    assert t.throughput(["a", "b"]).rates == {}
    assert WorkerThroughput({"a": 1.0, "b": 2.0}).mean_rate == 1.5
    assert WorkerThroughput.unknown().mean_rate is None
