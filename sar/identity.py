"""The identity of a burst (or stripmap block), computed once, and its key.

Every part of eoport names a burst the same way: the assembler when it publishes the
focus job, the worker when it writes the product, the file processor when it names the
output, the station's manifest when it lists what it sent. :class:`BurstIdentity` holds
that name; :func:`identify_burst` computes it from what the packets carry.

- **IW (TOPS)**: the ESA burst ID (S1-TN-MDA-52-7445 section 9.25, the public Sentinel-1
  burst ID map; :func:`sar.geo.burst_id.identify_iw_burst`) from the burst's first line
  time, the last ascending-node crossing (ANX) of the orbit, and the relative orbit of the
  pass (0 when unknown: the number then counts from the current orbit's ANX and the
  label reads ``t000_...``). The ANX is found by propagating the orbit back
  (:func:`sar.geo.burst_id.ascending_node_time`, 4–12 ms); :class:`AnxCache` computes it
  once per data-take and orbit revolution.
- **EW (TOPS)**: no public burst ID map; the number counts EW burst cycles
  (:data:`sar.constants.EW_BURST_CYCLE`) since the GPS epoch.
- **Stripmap**: the block number of the stripmap block.

The key ``datatake/swath/pol/number`` (data-take id in hex, as in ESA product names),
e.g. ``05A5A5/IW1/VV/249424`` for ``t117_249424_iw1``, names the job, the raw object and
(with the processing version) the product.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sar.constants import EW_BURST_CYCLE, ORBIT_PERIOD_NOMINAL
from sar.errors import GeometryError
from sar.geo.burst_id import ascending_node_time, identify_iw_burst
from sar.geo.orbit import Orbit

RELATIVE_ORBIT_UNKNOWN = 0
"""Relative orbit of a pass whose track is not known (labels ``t000_...``)."""

ANX_REUSE_MARGIN_S = 60.0
"""A cached ANX is reused up to one nominal orbital period minus this, s: the actual
period differs from the nominal 12 d / 175 by far less, so a burst just before the next
crossing is never numbered from the previous one."""


def burst_key(data_take_id: int, swath: str, polarisation: str, number: int) -> str:
    """The key ``datatake/swath/pol/number`` (data-take id as 6 hex digits)."""
    return f"{data_take_id:06X}/{swath}/{polarisation}/{number}"


def mode_of(swath: str) -> str:
    """Acquisition mode of a swath name: ``IW``, ``EW``, ``WV`` or ``SM`` (S1..S6)."""
    return swath[:2] if swath[:2] in ("IW", "EW", "WV") else "SM"


@dataclass(frozen=True)
class BurstIdentity:
    """Who a burst (or stripmap block) is.

    Attributes
    ----------
    data_take_id
        Data-take id of the packets (S1-IF-ASD-PL-0007 section 3.2.1.2).
    swath
        ``IW1``..``IW3``, ``EW1``..``EW5``, ``S1``..``S6``.
    polarisation
        ``VV``, ``VH``, ``HH``, ``HV``.
    number
        ESA burst ID (IW), EW cycle count (EW) or block number (stripmap).
    relative_orbit
        Track 1..175 of the pass, :data:`RELATIVE_ORBIT_UNKNOWN` when unknown.
    label
        ESA burst-map label ``t{track:03d}_{id:06d}_iw{n}`` (IW only, else empty).
    anx_time
        Ascending-node crossing the IW burst ID counts from, GPS s.
    """

    data_take_id: int
    swath: str
    polarisation: str
    number: int
    relative_orbit: int = RELATIVE_ORBIT_UNKNOWN
    label: str = ""
    anx_time: float | None = None

    @property
    def mode(self) -> str:
        """``IW``, ``EW``, ``WV`` or ``SM``."""
        return mode_of(self.swath)

    @property
    def key(self) -> str:
        """The burst key (:func:`burst_key`)."""
        return burst_key(self.data_take_id, self.swath, self.polarisation, self.number)

    @property
    def name(self) -> str:
        """File-name stem of the product: ``IW1_VV_t117_249424`` (IW),
        ``EW2_HH_b0123456`` (EW), ``S3_VV_b0003`` (stripmap block)."""
        if self.label:
            return f"{self.swath}_{self.polarisation}_{self.label.rsplit('_', 1)[0]}"
        return f"{self.swath}_{self.polarisation}_b{self.number:04d}"


def identify_burst(
    data_take_id: int,
    swath: str,
    polarisation: str,
    first_time: float,
    *,
    anx_time: float | None = None,
    relative_orbit: int | None = None,
    block: int | None = None,
) -> BurstIdentity:
    """The identity of a burst whose first line is at ``first_time`` (GPS s).

    Parameters
    ----------
    data_take_id, swath, polarisation
        From the packets.
    first_time
        Datation of the burst's first echo packet, GPS s.
    anx_time
        Last ascending-node crossing before it, GPS s (required for IW).
    relative_orbit
        Track of the pass (1..175); anything else is unknown.
    block
        Stripmap block number (required for stripmap).

    Raises
    ------
    GeometryError
        IW without ``anx_time``, stripmap without ``block``.
    """
    track = relative_orbit if relative_orbit is not None and 1 <= relative_orbit <= 175 else 0
    mode = mode_of(swath)
    if mode == "IW":
        if anx_time is None:
            raise GeometryError(f"{swath} burst at {first_time:.3f}: no ANX for its burst ID")
        number, track, label = identify_iw_burst(first_time, swath, anx_time, track)
        return BurstIdentity(data_take_id, swath, polarisation, number, track, label, anx_time)
    if mode == "EW":
        number = int(first_time // EW_BURST_CYCLE)
        return BurstIdentity(data_take_id, swath, polarisation, number, track)
    if block is None:
        raise GeometryError(f"{swath}: a stripmap block needs its block number")
    return BurstIdentity(data_take_id, swath, polarisation, block, track)


@dataclass
class AnxCache:
    """Last ascending-node crossing per data-take, reused within one orbital period.

    Finding the ANX integrates the orbit back up to one revolution (two-body + J2,
    DOP853): measured 4 ms (burst 1 min after the ANX) to 12 ms (98 min after) on one
    core of the development machine; a cached ANX costs a dictionary lookup.

    Attributes
    ----------
    anx
        Data-take id -> ANX time, GPS s.
    computed
        ANX computations done (cache misses), for metrics and tests.
    """

    anx: dict[int, float] = field(default_factory=dict)
    computed: int = 0

    def anx_time(self, data_take_id: int, t: float, orbit: Orbit) -> float:
        """The last ANX before ``t`` (GPS s) on ``orbit`` (which must cover ``t``).

        Reuses the cached ANX of ``data_take_id`` when ``0 <= t - anx <
        ORBIT_PERIOD_NOMINAL - ANX_REUSE_MARGIN_S``; otherwise propagates back and
        caches the result.

        Raises
        ------
        GeometryError
            When no crossing is found.
        """
        cached = self.anx.get(data_take_id)
        if cached is not None and 0.0 <= t - cached < ORBIT_PERIOD_NOMINAL - ANX_REUSE_MARGIN_S:
            return cached
        anx = ascending_node_time(orbit, t)
        self.computed += 1
        self.anx[data_take_id] = anx
        return anx

    def to_state(self) -> list[list[float]]:
        """JSON-compatible ``[[data_take_id, anx], ...]``."""
        return [[dt, t] for dt, t in sorted(self.anx.items()) if math.isfinite(t)]

    @classmethod
    def from_state(cls, state: Any) -> AnxCache:
        """Rebuild from :meth:`to_state` (``None``: empty)."""
        return cls({int(dt): float(t) for dt, t in (state or [])})
