"""Prometheus metrics of the streaming layer.

Counters live in the default registry (each stage process exposes its own);
:class:`LagCollector` computes consumer-group backlog at scrape time with
:func:`streams.lag.group_lag` (exact on Tansu, see :mod:`streams.lag`), for the
dashboard and the scaling operator.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from streams._infra.errors import StreamError
from streams._infra.lag import group_lag

log = logging.getLogger(__name__)

CHUNKS_PUBLISHED = Counter(
    "eoport_chunks_published", "Chunks queued on raw-chunks", ["station", "channel"]
)
CHUNK_BYTES_PUBLISHED = Counter(
    "eoport_chunk_bytes_published", "Chunk payload bytes queued on raw-chunks", ["station"]
)
CHUNKS_RESENT = Counter(
    "eoport_chunks_resent", "Chunks sent again after a failed delivery", ["station"]
)
RECORDS_DEAD_LETTERED = Counter(
    "eoport_records_dead_lettered", "Records sent to dead-letters", ["stage", "error_class"]
)


class LagCollector(Collector):
    """``eoport_consumer_lag{group,topic,partition}`` gauges, probed at scrape time.

    Parameters
    ----------
    bus
        A :class:`streams.bus.KafkaBus`.
    watched
        ``(group, topic)`` pairs, e.g. ``[("eoport-focus", "focus-jobs")]``.
    timeout_s
        Time allowed per probe, seconds.
    """

    def __init__(self, bus: Any, watched: Sequence[tuple[str, str]], timeout_s: float = 5.0):
        self.bus = bus
        self.watched = list(watched)
        self.timeout_s = timeout_s

    def collect(self) -> Iterator[Metric]:
        lag = GaugeMetricFamily(
            "eoport_consumer_lag",
            "Records not yet committed by a consumer group",
            labels=["group", "topic", "partition"],
        )
        errors = GaugeMetricFamily(
            "eoport_consumer_lag_probe_failed",
            "1 if the last lag probe of a group failed",
            labels=["group", "topic"],
        )
        for group, topic in self.watched:
            try:
                result = group_lag(self.bus, group, topic, self.timeout_s)
            except StreamError as exc:
                log.warning("lag probe %s/%s failed: %s", group, topic, exc)
                errors.add_metric([group, topic], 1)
                continue
            errors.add_metric([group, topic], 0)
            for p in result.partitions:
                lag.add_metric([group, topic, str(p.partition)], p.lag)
        yield lag
        yield errors
