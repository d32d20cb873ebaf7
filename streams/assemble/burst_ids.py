"""ESA burst IDs of the TOPS bursts the assembler emits, with a per-data-take ANX cache.

The ESA burst ID (S1-TN-MDA-52-7445 section 9.25, the public Sentinel-1 burst ID map)
counts burst cycles of ``T_beam = 2.758273 s`` from the ascending-node crossing (ANX)
of the orbit, offset by ``(r - 1) T_orb`` for relative orbit ``r``
(:func:`sar.geo.burst_id.esa_burst_id`). The assembler knows the orbit from the 1 Hz
state vectors of the sub-commutated ancillary data (S1-IF-ASD-PL-0007 section 3.2.3),
which it collects anyway to decide when a burst's aux is complete; this module turns
them into an :class:`sar.geo.orbit.Orbit` (extended by propagation over the burst) and
finds the ANX by propagating back (:func:`sar.geo.burst_id.ascending_node_time`).

The convention is the processor's (:func:`sar.process.burst_label_for`): the cycle of a
burst is located by the burst's first line time, so stream keys and product names agree.

**Relative orbit unknown.** The packets do not carry the relative orbit; the ground
station knows it from the pass metadata (record header :data:`streams.chunks.
RELATIVE_ORBIT_HEADER`). When it is unknown the relative orbit is ``0``: the burst
number is counted from the ANX of the current orbit (the ``r = 1`` formula) and the
label reads ``t000_NNNNNN_iwK``, as :func:`sar.geo.burst_id.burst_label` does.

**Cost.** Finding the ANX integrates back up to one orbit (DOP853, two-body + J2):
measured 4 ms (burst 1 min after the ANX) to 12 ms (98 min after) per call, orbit
extension included, on one core of the development machine; a cached ANX costs a
dictionary lookup (< 1 us) and the id and label ~3 us. The ANX of a data-take is
computed once and reused for every burst sensed less than one nominal orbital period
after it (:class:`AnxCache`); the cache is part of the assembler's snapshot, so a
restarted assembler labels replayed bursts with the same ANX.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sar.constants import ORBIT_PERIOD_NOMINAL
from sar.geo.burst_id import ascending_node_time, identify_iw_burst
from sar.geo.orbit import Orbit
from sar.geo.propagate import extend_orbit
from streams.messages.jobs import StateVector

RELATIVE_ORBIT_UNKNOWN = 0
"""Relative orbit of a pass whose track is not known (labels ``t000_...``)."""

ANX_REUSE_MARGIN_S = 60.0
"""A cached ANX is reused up to one nominal orbital period minus this, s: the actual
period differs from the nominal 12 d / 175 by far less, so a burst just before the next
crossing is never numbered from the previous one."""

ORBIT_MARGIN_S = 2.0
"""Orbit coverage asked for around the burst's first line before finding the ANX, s."""


@dataclass(frozen=True)
class EsaBurst:
    """The ESA identity of one IW burst.

    Attributes
    ----------
    burst_id
        ESA burst number (S1-TN-MDA-52-7445 eq. 9-91).
    relative_orbit
        Track 1..175, or :data:`RELATIVE_ORBIT_UNKNOWN`.
    label
        Burst-map label ``t{track:03d}_{id:06d}_iw{n}``.
    anx_time
        Ascending-node crossing used, GPS s.
    """

    burst_id: int
    relative_orbit: int
    label: str
    anx_time: float


def orbit_from_state_vectors(vectors: Sequence[StateVector], start: float, stop: float) -> Orbit:
    """An orbit from ancillary state vectors, extended by propagation to ``[start, stop]``.

    Raises
    ------
    sar.errors.GeometryError
        Fewer than two vectors, non-increasing times, or too far to extend.
    """
    orbit = Orbit(
        np.array([s.time for s in vectors], dtype=np.float64),
        np.array([s.position for s in vectors], dtype=np.float64).reshape(-1, 3),
        np.array([s.velocity for s in vectors], dtype=np.float64).reshape(-1, 3),
    )
    return extend_orbit(orbit, start, stop)


def esa_burst(first_line_time: float, swath: str, anx_time: float, relative_orbit: int) -> EsaBurst:
    """ESA id and label of the IW burst of ``swath`` whose first line is at
    ``first_line_time`` (GPS s), given the last ANX before it (GPS s).

    Raises
    ------
    sar.errors.GeometryError
        For a swath other than IW1..IW3.
    """
    number, track, label = identify_iw_burst(first_line_time, swath, anx_time, relative_orbit)
    return EsaBurst(number, track, label, anx_time)


@dataclass
class AnxCache:
    """Last ascending-node crossing per data-take, reused within one orbital period.

    Attributes
    ----------
    anx
        Data-take id -> ANX time, GPS s.
    computed
        ANX computations done (cache misses), for metrics and tests.
    """

    anx: dict[int, float] = field(default_factory=dict)
    computed: int = 0

    def anx_time(self, data_take_id: int, t: float, vectors: Sequence[StateVector]) -> float:
        """The last ANX before ``t`` (GPS s) on the orbit of ``vectors``.

        Reuses the cached ANX of ``data_take_id`` when ``0 <= t - anx <
        ORBIT_PERIOD_NOMINAL - ANX_REUSE_MARGIN_S``; otherwise propagates back from ``t``
        and caches the result.

        Raises
        ------
        sar.errors.GeometryError
            When the orbit cannot be built or no crossing is found.
        """
        cached = self.anx.get(data_take_id)
        if cached is not None and 0.0 <= t - cached < ORBIT_PERIOD_NOMINAL - ANX_REUSE_MARGIN_S:
            return cached
        orbit = orbit_from_state_vectors(vectors, t - ORBIT_MARGIN_S, t + ORBIT_MARGIN_S)
        anx = ascending_node_time(orbit, t)
        self.computed += 1
        self.anx[data_take_id] = anx
        return anx

    def to_state(self) -> list[list[float]]:
        """JSON-compatible ``[[data_take_id, anx], ...]``."""
        return [[dt, t] for dt, t in sorted(self.anx.items()) if math.isfinite(t)]

    @classmethod
    def from_state(cls, state: Any) -> AnxCache:
        """Rebuild from :meth:`to_state` (``None``: empty, for snapshots that predate it)."""
        return cls({int(dt): float(t) for dt, t in (state or [])})
