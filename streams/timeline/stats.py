"""Quantiles and histograms of latency samples (pure functions)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def quantile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) of ``values`` by linear interpolation between order
    statistics (numpy's default ``linear`` method); ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    frac = pos - lo
    return ordered[lo] + (ordered[hi] - ordered[lo]) * frac


def histogram(values: Sequence[float], bounds: Sequence[float]) -> list[int]:
    """Counts per bucket: ``len(bounds) + 1`` buckets, bucket ``i`` holding values in
    ``(bounds[i-1], bounds[i]]`` (Prometheus ``le`` convention), the last one values above
    ``bounds[-1]``."""
    counts = [0] * (len(bounds) + 1)
    for v in values:
        for i, b in enumerate(bounds):
            if v <= b:
                counts[i] += 1
                break
        else:
            counts[-1] += 1
    return counts


def rounded(value: float | None, digits: int = 3) -> float | None:
    """``value`` rounded for JSON (``None`` stays ``None``)."""
    return None if value is None else round(value, digits)
