"""Streaming metrics: chunk counters and the lag collector against a real broker."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

from streams._infra.bus import KafkaBus
from streams._infra.metrics import LagCollector
from streams.ingest.replay import replay_pass

pytestmark = pytest.mark.broker


def sample(registry: CollectorRegistry, name: str, labels: dict[str, str]) -> float | None:
    value = registry.get_sample_value(name, labels)
    return None if value is None else float(value)


def test_replay_counts_chunks_and_lag_collector_reports_backlog(
    bus: KafkaBus, new_topic: Callable[..., str]
) -> None:
    topic = new_topic(partitions=2)
    labels = {"station": "MET", "channel": "1"}
    before = sample(REGISTRY, "eoport_chunks_published_total", labels) or 0.0
    replay_pass(bytes(50_000), bus.producer(), topic=topic, station="MET", pass_id="p",
                channel=1, chunk_size=10_000)
    assert sample(REGISTRY, "eoport_chunks_published_total", labels) == before + 5
    registry = CollectorRegistry()
    registry.register(LagCollector(bus, [("g-metrics", topic), ("g-metrics", "no-such-topic")]))
    lags = [
        sample(registry, "eoport_consumer_lag", {"group": "g-metrics", "topic": topic,
                                                 "partition": str(p)})
        for p in (0, 1)
    ]
    assert sorted(v or 0.0 for v in lags) == [0.0, 5.0]
    assert b"eoport_consumer_lag_probe_failed" in generate_latest(registry)
