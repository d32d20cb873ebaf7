"""Prometheus metrics of the timeline service: the one place the end-to-end latency is
measured.

- ``eoport_burst_latency_seconds{stage}`` (histogram): every latency segment of
  :data:`streams.timeline.model.SEGMENTS` (``to_station`` ... ``deliver``, and ``total``:
  sensing stop to the first delivery), observed **once per burst** when both ends are
  known (the store remembers what was observed, across restarts). Stages need not
  observe anything themselves: their records carry the stamps.
- ``eoport_timeline_records_total{outcome}``: records stored / rejected.
- Gauges read from the store at scrape time (:class:`TimelineCollector`): backlog per
  watched group and topic in records and seconds of sensing, bursts per outcome, events
  per kind, age of the newest sample.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from streams.timeline.model import LATENCY_BUCKETS_S, SEGMENT_NAMES
from streams.timeline.store import ApplyResult

BURST_LATENCY = Histogram(
    "eoport_burst_latency_seconds",
    "Latency of one burst per segment of the chain (total: sensing stop to first delivery), s",
    ["stage"],
    buckets=LATENCY_BUCKETS_S,
)
TIMELINE_RECORDS = Counter(
    "eoport_timeline_records", "Records read by the timeline service", ["outcome"]
)
for _stage in SEGMENT_NAMES:  # every series exists from the first scrape: rate() works at once
    BURST_LATENCY.labels(_stage)
for _outcome in ("stored", "rejected"):
    TIMELINE_RECORDS.labels(_outcome)


def observe_batch(result: ApplyResult) -> None:
    """Export what one stored batch completed (called after the transaction commits)."""
    for stage, seconds in result.observations:
        BURST_LATENCY.labels(stage).observe(max(0.0, seconds))
    stored = result.records - result.rejected
    if stored:
        TIMELINE_RECORDS.labels("stored").inc(stored)
    if result.rejected:
        TIMELINE_RECORDS.labels("rejected").inc(result.rejected)


class TimelineCollector(Collector):
    """Gauges computed from the timeline store at scrape time.

    Parameters
    ----------
    view
        A :class:`streams.timeline.view.TimelineView`.
    """

    def __init__(self, view: object) -> None:
        from streams.timeline.view import TimelineView

        assert isinstance(view, TimelineView)
        self.view = view

    def collect(self) -> Iterator[Metric]:
        backlog = self.view.backlog()
        records = GaugeMetricFamily(
            "eoport_timeline_backlog_records",
            "Records not yet committed by a consumer group (latest sample)",
            labels=["group", "topic"],
        )
        sensing = GaugeMetricFamily(
            "eoport_timeline_backlog_sensing_seconds",
            "Backlog in seconds of sensing (bursts x IW burst cycle; raw chunks: by data rate)",
            labels=["group", "topic"],
        )
        for entry in backlog.topics:
            records.add_metric([entry.group, entry.topic], entry.records)
            if entry.sensing_s is not None:
                sensing.add_metric([entry.group, entry.topic], entry.sensing_s)
        yield records
        yield sensing
        age = GaugeMetricFamily(
            "eoport_timeline_sample_age_seconds", "Age of the newest backlog sample, s"
        )
        if backlog.sampled_at is not None:
            age.add_metric([], max(0.0, time.time() - backlog.sampled_at.timestamp()))
        yield age
        selection = self.view.selection()
        bursts = GaugeMetricFamily(
            "eoport_timeline_bursts", "Bursts known to the timeline by outcome", labels=["outcome"]
        )
        for outcome, n in selection.counts.items():
            bursts.add_metric([outcome], n)
        yield bursts
        events = GaugeMetricFamily(
            "eoport_timeline_events", "Pipeline events stored, by kind", labels=["kind"]
        )
        for kind, n in sorted(self.view.event_counts().items()):
            events.add_metric([kind], n)
        yield events


def register_collector(view: object, registry: CollectorRegistry = REGISTRY) -> TimelineCollector:
    """Register a :class:`TimelineCollector` of ``view`` in ``registry`` (once per view)."""
    collector = TimelineCollector(view)
    registry.register(collector)
    return collector
