"""Measured focusing rate of the workers (bursts per second of busy time).

Every focus worker exports the histogram ``eoport_focus_seconds`` (wall time to fetch,
decode, focus and write one burst; :mod:`streams.worker`) on its Prometheus ``/metrics``
endpoint. Its ``_count`` and ``_sum`` give the worker's service rate::

    rate = delta(count) / delta(sum)     bursts per second while busy

over the interval between two scrapes (lifetime ``count / sum`` for the first one). That
is the capacity of one worker whatever its load: an idle worker keeps its last rate. A
worker that has not focused anything yet has no rate; the policy then uses the pool's
default (``spec.worker.defaultBurstsPerSecond``).

:class:`RateTracker` turns successive scrapes (per worker name: pod or process) into the
:class:`WorkerThroughput` handed to :func:`operators.policy.decide`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from operators.errors import MetricsFormatError

FOCUS_SECONDS_METRIC = "eoport_focus_seconds"
"""Histogram exported by each focus worker (:data:`streams.worker.FOCUS_SECONDS`)."""


@dataclass(frozen=True, slots=True)
class FocusCounters:
    """Cumulative counters of one worker.

    Parameters
    ----------
    count
        Bursts focused since the worker started.
    busy_s
        Seconds spent focusing them (histogram sum), s.
    """

    count: float
    busy_s: float


def parse_focus_counters(text: str) -> FocusCounters | None:
    """``eoport_focus_seconds`` count and sum from a Prometheus text exposition.

    Returns
    -------
    FocusCounters or None
        ``None`` when the page has no such histogram (a worker of another version).

    Raises
    ------
    MetricsFormatError
        If the page is not a Prometheus text exposition.
    """
    count: float | None = None
    busy: float | None = None
    try:
        for family in text_string_to_metric_families(text):
            if family.name != FOCUS_SECONDS_METRIC:
                continue
            for sample in family.samples:
                if sample.name == f"{FOCUS_SECONDS_METRIC}_count":
                    count = (count or 0.0) + float(sample.value)
                elif sample.name == f"{FOCUS_SECONDS_METRIC}_sum":
                    busy = (busy or 0.0) + float(sample.value)
    except (ValueError, TypeError, IndexError) as exc:
        raise MetricsFormatError(f"not a Prometheus exposition: {exc}") from exc
    if count is None or busy is None:
        return None
    return FocusCounters(count=count, busy_s=busy)


@dataclass(frozen=True, slots=True)
class WorkerThroughput:
    """Focusing rates of the pool's workers.

    Parameters
    ----------
    rates
        Worker name -> measured rate, bursts per busy second (workers without a
        measurement are absent).
    workers
        Workers looked at (measured or not).
    """

    rates: Mapping[str, float] = field(default_factory=dict)
    workers: int = 0

    @property
    def mean_rate(self) -> float | None:
        """Mean measured rate over the workers that have one (bursts/s), or ``None``."""
        values = [r for r in self.rates.values() if r > 0 and math.isfinite(r)]
        return sum(values) / len(values) if values else None

    @classmethod
    def unknown(cls, workers: int = 0) -> WorkerThroughput:
        """No measurement at all (the policy uses the pool default)."""
        return cls({}, workers)


@dataclass(slots=True)
class RateTracker:
    """Per-worker rates from successive cumulative counters.

    Parameters
    ----------
    min_busy_s
        Busy time an interval needs before its rate replaces the previous one, s
        (shorter intervals are merged into the next one).
    """

    min_busy_s: float = 1.0
    _last: dict[str, FocusCounters] = field(default_factory=dict)
    _rates: dict[str, float] = field(default_factory=dict)

    def update(self, worker: str, counters: FocusCounters | None) -> None:
        """Record a scrape of ``worker`` (``None``: it exported no focus histogram)."""
        if counters is None:
            return
        previous = self._last.get(worker)
        if previous is None or counters.count < previous.count:  # new or restarted worker
            if counters.count > 0 and counters.busy_s > 0:
                self._rates[worker] = counters.count / counters.busy_s
            self._last[worker] = counters
            return
        d_count = counters.count - previous.count
        d_busy = counters.busy_s - previous.busy_s
        if d_count > 0 and d_busy >= self.min_busy_s:
            self._rates[worker] = d_count / d_busy
            self._last[worker] = counters

    def forget_except(self, workers: Iterable[str]) -> None:
        """Drop the state of workers not in ``workers`` (pods gone, processes ended)."""
        keep = set(workers)
        for name in list(self._last):
            if name not in keep:
                del self._last[name]
                self._rates.pop(name, None)

    def throughput(self, workers: Iterable[str]) -> WorkerThroughput:
        """The rates of ``workers`` as seen so far."""
        names = list(workers)
        return WorkerThroughput({n: self._rates[n] for n in names if n in self._rates}, len(names))
