"""Early data selection: focus only the bursts someone wants.

As soon as a burst is assembled, before anything is focused, its footprint is predicted
from the orbit (the ancillary state vectors the job carries) and the radar timing of its
first echo packet (S1-IF-ASD-PL-0007 section 3.2.5): near range from the rank, PRI and
SWST (:func:`sar.l0.radar.range_time_of_first_sample`), far range from the number of
samples after decimation minus the chirp replica (what range compression leaves), and
the azimuth extent from the burst's time span. For TOPS (IW) bursts the focused image
covers more azimuth time than the burst lasted: the steering scales the footprint by
``alpha = 1 - k_s / k_a`` (steering Doppler rate over azimuth FM rate), and the valid
lines are ``alpha (T - B / |k_a|)`` long around the burst centre (``B``: processed
azimuth bandwidth), the rule the TOPS processor itself uses
(:mod:`sar.focus.tops.setup`). Corners are geolocated at zero Doppler on the WGS84
ellipsoid (:func:`sar.geo.geolocate.grid_geolocation`); on the demo pass the predicted
footprints lie within about a kilometre of the products' (tests/streams/assemble/test_selection.py).

:class:`BurstSelector` decides: a burst whose predicted footprint (grown by a margin)
shares area with a running subscription's AOI whose attribute filters accept the burst
(and whose CQL2 filter may accept it: filters on properties known before focusing are
evaluated on a predicted STAC Item, others count as yes), or with a configured
systematic area, is focused; subscriptions first (priority 0), systematic areas next
(priority 1). Any other burst is **not focused**: its raw packets stay in the object
store with its job next to them (``raw/{key}.job.json``), a ``focus-skipped`` event says
so, and it can be focused later, on request, into a product identical to the one the
stream would have made (``eoport focus --burst KEY`` focuses the stored job with the
focus stage's code, :func:`load_job`; ``POST /bursts/{key}/focus`` publishes it again,
:func:`request_focus`).

When: the prediction needs only the first echo packet's header, the orbit and the
burst's timing, so it could run at the first packet with a nominal burst length; it runs
when the burst is complete (its aux too) because the decision matters only then: a burst
is published to ``focus-jobs`` only once complete, and its raw data is stored whatever the
decision (so it can be focused later). Deciding earlier would save nothing and add state
to the snapshots.

Design: skipped jobs are **not published** to ``focus-jobs`` (rather than published with
a status the worker skips): the topic's lag is what the operator scales the focusing
workers on, so it must count only work to do; and a skipped burst costs no broker
traffic. The job is kept next to the raw data instead, so a later request republishes
exactly what the stream would have published.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from prometheus_client import Counter
from shapely import geometry as sgeom
from shapely.geometry.base import BaseGeometry

from sar.constants import SPEED_OF_LIGHT
from sar.l0.fields import HeaderArray
from sar.l0.headers import decode_headers
from sar.l0.radar import (
    range_sampling_rate,
    range_time_of_first_sample,
    samples_after_decimation,
    tx_pulse_length_s,
)
from sar.timeutil import gps_seconds_to_utc
from streams._infra.errors import ObjectNotFoundError, PermanentError
from streams._infra.objectstore import ObjectStore
from streams.messages.jobs import JobRecord
from streams.messages.products import ProductAttributes, ProductRecord

__all__ = [
    "BURST_SELECTION", "KNOWN_BEFORE_FOCUS", "BurstSelector", "JobNotFoundError", "Selection",
    "job_url", "load_job", "predict_footprint", "request_focus", "save_job",
]  # fmt: skip

BURST_SELECTION = Counter(
    "eoport_burst_selection",
    "Bursts by early-selection decision (focused: a subscription or systematic area "
    "wants it; skipped: raw data kept, not focused)",
    ["decision"],
)

KNOWN_BEFORE_FOCUS = frozenset(
    {
        "collection", "datetime", "start_datetime", "end_datetime", "platform",
        "constellation", "sar:instrument_mode", "sar:frequency_band", "sar:polarizations",
        "sar:beam_ids", "sar:relative_burst", "sat:orbit_state", "sat:relative_orbit",
        "sat:anx_datetime", "product:type", "processing:level", "product:timeliness_category",
        "eoport:swath", "eoport:burst_label", "eoport:data_take_id",
    }
)  # fmt: skip
"""STAC properties whose value is known from the job: a CQL2 filter naming only these is
evaluated on the predicted item; any other (geometry, quality, latency...) counts as a
possible match (conservative: a burst is never skipped on a guess)."""

# TOPS constants of the processor (sar.process / sar.focus.tops.geometry / .setup)
_IW_STEERING_DEG_S = {"IW1": 1.590368784, "IW2": 0.979863325, "IW3": 1.397440818}
_PROCESSED_BANDWIDTH = {"IW1": 327.0, "IW2": 313.0, "IW3": 314.0}
_EW_HALF_SPAN_S = 2.0
"""EW bursts (no steering-rate table here): half azimuth extent taken around the
centre, s (an EW cycle is ~3.2 s: generous)."""


# ---------------------------------------------------------------------------- footprint


def first_echo_header(raw: bytes) -> HeaderArray:
    """The decoded primary header of the first packet of a burst's raw stream (the
    assembler's bursts hold echo packets only)."""
    return decode_headers(raw, np.zeros(1, dtype=np.int64), validate=False)


def _range_times(h: HeaderArray) -> tuple[float, float]:
    """Two-way times of the first and last range-compressed sample, s."""
    rank, pri, swst = int(h["rank"][0]), int(h["pri"][0]), int(h["swst"][0])
    rgdec = int(h["range_decimation"][0])
    tau0 = range_time_of_first_sample(rank, pri, swst)
    fs = range_sampling_rate(rgdec)
    n = samples_after_decimation(int(h["swl"][0]), rgdec)
    replica = math.ceil(tx_pulse_length_s(int(h["tx_pulse_length"][0])) * fs - 1e-9)
    n_out = max(n - replica + 1, 16)
    return tau0, tau0 + (n_out - 1) / fs


def _tops_half_span(job: JobRecord, orbit: Any, tau_mid: float, t_mid: float) -> float:
    """Half the valid azimuth extent of a focused IW burst around its centre, s."""
    from sar.focus.doppler import effective_velocity
    from sar.geo.orbit import interpolate_orbit

    steering = _IW_STEERING_DEG_S.get(job.swath)
    if steering is None:
        return _EW_HALF_SPAN_S
    wavelength = SPEED_OF_LIGHT / 5.405e9
    _, vel = interpolate_orbit(orbit, t_mid)
    v_s = float(np.linalg.norm(vel))
    k_s = 2.0 * v_s * math.radians(steering) / wavelength
    v_e = float(effective_velocity(orbit, t_mid, np.array([tau_mid]))[0])
    k_a = -2.0 * v_e * v_e / (wavelength * 0.5 * SPEED_OF_LIGHT * tau_mid)
    alpha = 1.0 - k_s / k_a
    duration = job.sensing_stop_gps - job.sensing_start_gps + job.pri_s
    band = _PROCESSED_BANDWIDTH[job.swath] / abs(k_a)
    return 0.5 * alpha * max(duration - band, 0.0)


def predict_footprint(job: JobRecord, first_header: HeaderArray) -> dict[str, Any]:
    """The predicted footprint of a burst, a GeoJSON Polygon (lon/lat degrees, CCW).

    Parameters
    ----------
    job
        The burst's job (state vectors, sensing span, mode and swath).
    first_header
        Decoded header of its first echo packet (:func:`first_echo_header`).

    Raises
    ------
    SarError
        When the orbit cannot be built or a corner not geolocated.
    """
    from sar.geo.geolocate import grid_geolocation
    from sar.product.geogrid import footprint_from_corners

    tau_near, tau_far = _range_times(first_header)
    t0, t1 = job.sensing_start_gps, job.sensing_stop_gps
    t_mid = 0.5 * (t0 + t1)
    orbit = job.orbit(4.0)
    if job.mode in ("IW", "EW"):
        half = _tops_half_span(job, orbit, 0.5 * (tau_near + tau_far), t_mid)
        ta, tb = t_mid - half, t_mid + half
    else:  # stripmap and wave: the block's own span (a superset of its valid lines)
        ta, tb = t0, t1
    grid = grid_geolocation(
        orbit, np.array([ta, tb]), 0.5 * SPEED_OF_LIGHT * np.array([tau_near, tau_far])
    )
    lat, lon = grid.latitude, grid.longitude
    corners = np.array(
        [[lat[0, 0], lon[0, 0]], [lat[0, 1], lon[0, 1]], [lat[1, 1], lon[1, 1]],
         [lat[1, 0], lon[1, 0]]]
    )  # fmt: skip
    ring = [[x, y] for x, y in footprint_from_corners(corners)]
    return {"type": "Polygon", "coordinates": [ring]}


def grow(shape: BaseGeometry, margin_m: float) -> BaseGeometry:
    """``shape`` (lon/lat degrees) grown by at least ``margin_m`` metres."""
    if margin_m <= 0:
        return shape
    _, miny, _, maxy = shape.bounds
    lat = min(max(abs(miny), abs(maxy)), 89.0)
    deg = margin_m / (111_320.0 * math.cos(math.radians(lat)))
    return shape.buffer(deg, join_style="mitre")


# ---------------------------------------------------------------------------- decision


class SubscriptionLookup(Protocol):
    """What the selector needs from a subscription index
    (:class:`streams.deliver.subscriptions.LiveSubscriptionIndex`)."""

    def candidates(self, footprint: BaseGeometry, attrs: ProductAttributes) -> list[Any]:
        """Running subscriptions whose AOI and attribute filters accept a product."""
        ...


@dataclass(frozen=True)
class Selection:
    """What to do with a burst.

    Attributes
    ----------
    focus
        Focus it now.
    priority
        0: a subscription wants it; 1: a systematic area; 2: skipped.
    reason
        Why (for the ``focus-skipped`` event and logs).
    subscriptions
        Ids of the subscriptions that want it.
    """

    focus: bool
    priority: int
    reason: str
    subscriptions: tuple[str, ...] = ()


FOCUS_ALL = Selection(True, 0, "selection off")


def predicted_item(job: JobRecord) -> dict[str, Any]:
    """The STAC Item the product of ``job`` will have, as far as it is known before
    focusing (properties in :data:`KNOWN_BEFORE_FOCUS` are right; others are not)."""
    from streams.catalogue.stac import product_to_stac_item

    mid = 0.5 * (job.sensing_start_gps + job.sensing_stop_gps)
    state = None
    if job.state_vectors:
        nearest = min(job.state_vectors, key=lambda s: abs(s.time - mid))
        state = "ascending" if nearest.velocity[2] > 0 else "descending"
    record = ProductRecord(
        burst_key=job.burst_key, processing_version="predicted", mode=job.mode,
        swath=job.swath, polarisation=job.polarisation, burst_id=job.burst_id,
        data_take_id=job.data_take_id, relative_orbit=job.relative_orbit or None,
        burst_label=job.burst_label or None, orbit_state=state,
        anx_datetime=None if job.anx_time_gps is None else gps_seconds_to_utc(job.anx_time_gps),
        footprint=job.footprint or _POINT_ZERO, sensing_start=job.sensing_start,
        sensing_stop=job.sensing_stop, url=job.raw_url, size_bytes=job.raw_bytes,
    )  # fmt: skip
    return product_to_stac_item(record)


_POINT_ZERO = {"type": "Polygon", "coordinates": [[[0, 0], [1e-6, 0], [1e-6, 1e-6], [0, 0]]]}


def _may_match(sub: Any, item: Mapping[str, Any] | None) -> bool:
    from streams.catalogue.cql2 import evaluate, properties_of

    expr = getattr(sub, "cql2", None)
    if expr is None:
        return True
    if item is None or not properties_of(expr) <= KNOWN_BEFORE_FOCUS:
        return True  # unknown before focusing: focus rather than guess
    return bool(evaluate(expr, item))


class BurstSelector:
    """Decides which bursts to focus (see the module docstring).

    Parameters
    ----------
    subscriptions
        Index of the running subscriptions (``None``: none).
    systematic
        Areas always focused (lon/lat geometries).
    margin_m
        The predicted footprint is grown by this much before intersecting, m (covers the
        prediction error).
    """

    def __init__(
        self,
        subscriptions: SubscriptionLookup | None,
        systematic: Iterable[BaseGeometry | Mapping[str, Any]] = (),
        *,
        margin_m: float = 3000.0,
    ) -> None:
        self.subscriptions = subscriptions
        self.systematic: list[BaseGeometry] = [
            g if isinstance(g, BaseGeometry) else sgeom.shape(g) for g in systematic
        ]
        self.margin_m = margin_m

    def decide(self, job: JobRecord) -> Selection:
        """What to do with ``job`` (its ``footprint`` is the predicted one; without a
        footprint the burst is focused: nothing to decide on)."""
        if job.footprint is None:
            return Selection(True, 0, "no predicted footprint")
        area = grow(sgeom.shape(job.footprint), self.margin_m)
        attrs = ProductAttributes(mode=job.mode, swath=job.swath, polarisation=job.polarisation)
        if self.subscriptions is not None:
            candidates = self.subscriptions.candidates(area, attrs)
            item: dict[str, Any] | None = None
            if any(getattr(s, "cql2", None) is not None for s in candidates):
                try:
                    item = predicted_item(job)
                except ValueError:
                    item = None
            wanted = tuple(s.id for s in candidates if _may_match(s, item))
            if wanted:
                return Selection(True, 0, "subscribed", wanted)
        if any(area.intersects(g) for g in self.systematic):
            return Selection(True, 1, "systematic area")
        return Selection(False, 2, "no running subscription or systematic area covers it")


def order_by_priority(items: Sequence[tuple[Selection, Any]]) -> list[tuple[Selection, Any]]:
    """Focused items first, subscribed before systematic, stable within a priority."""
    return sorted(items, key=lambda pair: pair[0].priority)


# ---------------------------------------------------------------------------- refocus


class JobNotFoundError(PermanentError):
    """No stored job for a burst key (never assembled with selection on, or wrong key)."""


def job_url(store: ObjectStore, key: str) -> str:
    """Where a burst's job is kept: ``raw/{key}.job.json`` next to its raw packets."""
    if not key or ".." in key.split("/") or key.startswith("/"):
        raise JobNotFoundError(f"invalid burst key {key!r}")
    return store.url(f"raw/{key}.job.json")


def save_job(store: ObjectStore, job: JobRecord, *, durable: bool = True) -> str:
    """Keep ``job`` next to its raw packets; return its URL (``durable``: as
    :meth:`~streams._infra.objectstore.ObjectStore.put_bytes`)."""
    return store.put_bytes(job_url(store, job.burst_key), job.to_bytes(), durable=durable)


def load_job(store: ObjectStore, key: str) -> JobRecord:
    """The stored job of burst ``key``.

    Raises
    ------
    JobNotFoundError
        No job is stored for that key.
    """
    try:
        return JobRecord.from_bytes(store.get_bytes(job_url(store, key)))
    except ObjectNotFoundError:
        raise JobNotFoundError(f"no stored burst {key!r}") from None


def request_focus(store: ObjectStore, producer: Any, key: str, topic: str) -> JobRecord:
    """Publish the stored job of burst ``key`` on ``topic`` (``focus-jobs``): the focus
    stage makes the product the stream would have made (same job, same key).

    Raises
    ------
    JobNotFoundError
        No stored job for ``key``.
    """
    job = load_job(store, key)
    producer.send(topic, job.burst_key, job.to_bytes())
    producer.flush()
    return job
