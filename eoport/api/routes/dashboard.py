"""The latency dashboard: documented JSON endpoints over the burst timeline, a live stream
of them (server-sent events), and the page at ``/dashboard`` that shows them.

Every figure comes from :class:`streams.timeline.TimelineView` (put on the application as
``app.state.timeline`` by whoever builds the app: the demo, ``eoport run api`` with the
timeline file configured, tests); subscription AOIs come from the API's own state. The
page (``eoport/api/static/dashboard/``) reads only these endpoints, so it can be replaced.

==========================================  =================================================
``GET /dashboard``                          the page (HTML, JS and Leaflet served locally)
``GET /dashboard/api/passes``               passes, latest first: bursts, outcomes, p50/p95
``GET /dashboard/api/bursts?pass_key=``     bursts of a pass with stage stamps and segments
``GET /dashboard/api/bursts/{burst_key}``   one burst
``GET /dashboard/api/latency``              histogram + p50/p95/p99 per segment (``total``)
``GET /dashboard/api/throughput``           chunks/s, bursts, products, deliveries per window
``GET /dashboard/api/backlog``              backlog per topic in records, bursts, sensing s
``GET /dashboard/api/workers``              workers running, autoscaler decisions
``GET /dashboard/api/selection``            bursts focused vs skipped by AOI selection
``GET /dashboard/api/events``               gaps, incomplete bursts, errors with reasons
``GET /dashboard/api/map``                  footprints and subscription AOIs (GeoJSON)
``GET /dashboard/api/snapshot``             all of the above for one pass, one object
``GET /dashboard/api/stream``               the snapshot as server-sent events, on change
==========================================  =================================================
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, StreamingResponse
from prometheus_client import REGISTRY, CollectorRegistry
from starlette.concurrency import run_in_threadpool

from eoport.api.auth import optional_user, security_of
from eoport.api.deps import TimelineDep
from streams.timeline.metrics import register_collector
from streams.timeline.schemas import (
    BacklogReport,
    BurstView,
    EventView,
    LatencyReport,
    PassView,
    SelectionReport,
    ThroughputReport,
    WorkersReport,
)
from streams.timeline.view import TimelineView

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
"""Root of the page's files (``dashboard/``) and vendored libraries (``vendor/``)."""

STREAM_POLL_S = 0.5
"""How often the live stream looks for changes, s."""

STREAM_MAX_S = 30.0
"""A stream ends after this long (the browser reconnects at once): a server stopping
never waits on an open stream for longer."""

HEARTBEAT_S = 10.0
"""Comment line sent on an idle stream, s (keeps proxies from closing it)."""

SNAPSHOT_WINDOW_S = 15.0
SNAPSHOT_WINDOWS = 40
"""Throughput windows of the snapshot (the page's chart): 40 x 15 s."""

router = APIRouter(tags=["dashboard"])


def install(app: FastAPI, view: TimelineView, *, metrics: bool = False) -> None:
    """Serve the dashboard of ``view`` on ``app``: the routes, ``app.state.timeline`` and,
    with ``metrics``, the timeline's gauges (backlog, bursts, events) in the app's
    ``/metrics`` (leave it off when the timeline process exports them itself)."""
    app.include_router(router)
    app.state.timeline = view
    if metrics:
        registry = getattr(app.state, "metrics_registry", None)
        register_collector(view, registry if isinstance(registry, CollectorRegistry) else REGISTRY)


PassQuery = Annotated[
    str | None, Query(description="pass key station/pass_id; default: the latest pass")
]


def _aois(request: Request) -> list[dict[str, Any]]:
    """The AOIs the caller may see: all for an admin (or when the policy makes them
    public), the caller's own otherwise, none for an anonymous caller."""
    state = getattr(request.app.state, "eoport", None)
    subscriptions = getattr(state, "subscriptions", None)
    if subscriptions is None:
        return []
    public = security_of(request).policy.dashboard_public_aois
    user = optional_user(request)
    if user is None and not public:
        return []
    features = []
    for sub in subscriptions.all():
        if not public and user is not None and not user.may_access(sub.owner):
            continue
        features.append(
            {
                "type": "Feature",
                "id": sub.id,
                "geometry": sub.aoi,
                "properties": {
                    "kind": "aoi",
                    "subscription_id": sub.id,
                    "name": sub.name,
                    "status": str(getattr(sub.status, "value", sub.status)),
                },
            }
        )
    return features


def _latest_pass(view: TimelineView, pass_key: str | None) -> str | None:
    if pass_key is not None:
        return pass_key
    passes = view.passes()
    return passes[0].pass_key if passes else None


_CACHE: dict[tuple[int, int, str | None], tuple[list[dict[str, Any]], dict[str, Any]]] = {}
_CACHE_LOCK = threading.Lock()


def _cached_snapshot(
    view: TimelineView, pass_key: str | None, aois: list[dict[str, Any]]
) -> dict[str, Any]:
    """:func:`_snapshot`, computed once per version of the timeline for all clients."""
    key = (id(view), view.version(), pass_key)
    with _CACHE_LOCK:
        found = _CACHE.get(key)
    if found is not None and found[0] == aois:
        return found[1]
    snap = _snapshot(view, pass_key, aois)
    with _CACHE_LOCK:
        if len(_CACHE) >= 16:
            _CACHE.clear()
        _CACHE[key] = (aois, snap)
    return snap


def _snapshot(
    view: TimelineView, pass_key: str | None, aois: list[dict[str, Any]]
) -> dict[str, Any]:
    chosen = _latest_pass(view, pass_key)
    passes = view.passes()
    bursts = view.bursts(chosen) if chosen is not None else []
    footprints = view.footprints(chosen)
    return {
        "version": view.version(),
        "generated": time.time(),
        "pass_key": chosen,
        "passes": [p.model_dump(mode="json") for p in passes],
        "bursts": [b.model_dump(mode="json") for b in bursts],
        "latency": view.latency(chosen).model_dump(mode="json"),
        "throughput": view.throughput(SNAPSHOT_WINDOW_S, SNAPSHOT_WINDOWS).model_dump(mode="json"),
        "backlog": view.backlog().model_dump(mode="json"),
        "workers": view.workers().model_dump(mode="json"),
        "selection": view.selection().model_dump(mode="json"),
        "events": [e.model_dump(mode="json") for e in view.events(chosen, limit=100)],
        "map": {"type": "FeatureCollection", "features": footprints["features"] + aois},
    }


# ---------------------------------------------------------------------------- page


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def page() -> FileResponse:
    """The dashboard page."""
    return FileResponse(STATIC_DIR / "dashboard" / "index.html", media_type="text/html")


@router.get("/dashboard/static/{path:path}", include_in_schema=False)
def static(path: str) -> FileResponse:
    """The page's scripts and styles, and the vendored map library (no external URL)."""
    target = (STATIC_DIR / path).resolve()
    if not target.is_relative_to(STATIC_DIR) or not target.is_file():
        raise HTTPException(status_code=404, detail=f"no static file {path!r}")
    return FileResponse(target)


# ---------------------------------------------------------------------------- JSON


@router.get("/dashboard/api/passes", response_model=list[PassView])
def passes(view: TimelineDep) -> list[PassView]:
    """Every pass, most recently sensed first: bursts, outcomes, total latency p50/p95,
    incomplete and late bursts, events per kind."""
    return view.passes()


@router.get("/dashboard/api/bursts", response_model=list[BurstView])
def bursts(
    view: TimelineDep,
    pass_key: PassQuery = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 2000,
) -> list[BurstView]:
    """Bursts of a pass in sensing order, each with its stage stamps, segment durations,
    late segments, outcome, reasons and deliveries."""
    chosen = _latest_pass(view, pass_key)
    return [] if chosen is None else view.bursts(chosen, limit)


@router.get("/dashboard/api/bursts/{burst_key:path}", response_model=BurstView)
def burst(view: TimelineDep, burst_key: str) -> BurstView:
    """One burst's timeline (404 if unknown)."""
    found = view.burst(burst_key)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no burst {burst_key!r}")
    return found


@router.get("/dashboard/api/latency", response_model=LatencyReport)
def latency(
    view: TimelineDep,
    pass_key: Annotated[str | None, Query(description="one pass; default: all")] = None,
    window_s: Annotated[float | None, Query(gt=0, description="only recent bursts")] = None,
) -> LatencyReport:
    """Histogram (Prometheus ``le`` buckets) and p50/p95/p99 per segment; ``total`` is
    sensing stop to the first delivery."""
    return view.latency(pass_key, window_s)


@router.get("/dashboard/api/throughput", response_model=ThroughputReport)
def throughput(
    view: TimelineDep,
    window_s: Annotated[float, Query(gt=0, le=3600)] = 60.0,
    windows: Annotated[int, Query(ge=1, le=500)] = 30,
) -> ThroughputReport:
    """Chunks/s on raw-chunks, bursts completed, products written, deliveries per window."""
    return view.throughput(window_s, windows)


@router.get("/dashboard/api/backlog", response_model=BacklogReport)
def backlog(view: TimelineDep) -> BacklogReport:
    """Backlog per topic: records, bursts, seconds of sensing, growth, recent history."""
    return view.backlog()


@router.get("/dashboard/api/workers", response_model=WorkersReport)
def workers(view: TimelineDep) -> WorkersReport:
    """Focusing workers running (provider), most bursts focused at once, autoscaler
    decisions."""
    return view.workers()


@router.get("/dashboard/api/selection", response_model=SelectionReport)
def selection(view: TimelineDep) -> SelectionReport:
    """Bursts focused vs skipped by AOI selection (and failed, pending), per pass."""
    return view.selection()


@router.get("/dashboard/api/events", response_model=list[EventView])
def events(
    view: TimelineDep,
    pass_key: Annotated[str | None, Query()] = None,
    kind: Annotated[list[str] | None, Query(description="event kinds to keep")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[EventView]:
    """Gaps, corrupt data, incomplete/dropped bursts, focusing failures and skips, newest
    first, with their reason."""
    return view.events(pass_key, kind, limit)


@router.get("/dashboard/api/map")
def map_features(request: Request, view: TimelineDep, pass_key: PassQuery = None) -> dict[str, Any]:
    """GeoJSON FeatureCollection: product footprints (``properties.kind = footprint``) of
    a pass (all passes when not given) and subscription AOIs (``kind = aoi``)."""
    footprints = view.footprints(pass_key)
    return {"type": "FeatureCollection", "features": footprints["features"] + _aois(request)}


@router.get("/dashboard/api/snapshot")
async def snapshot(
    request: Request, view: TimelineDep, pass_key: PassQuery = None
) -> dict[str, Any]:
    """Everything the page shows for one pass (default: the latest), one object: the
    answers of the endpoints above under ``passes``, ``bursts``, ``latency`` (the pass),
    ``throughput``, ``backlog``, ``workers``, ``selection``, ``events``
    and ``map``, plus ``version`` (grows with every change) and ``pass_key``."""
    aois = _aois(request)
    return await run_in_threadpool(_cached_snapshot, view, pass_key, aois)


@router.get("/dashboard/api/stream")
async def stream(
    request: Request, view: TimelineDep, pass_key: PassQuery = None
) -> StreamingResponse:
    """Server-sent events: a ``snapshot`` event (the JSON of ``/dashboard/api/snapshot``)
    at once and whenever the timeline changes; the stream ends after 30 s and the
    browser's EventSource reconnects (``retry: 1000``)."""

    async def events() -> AsyncIterator[str]:
        started = last_beat = time.monotonic()
        version = -1
        yield "retry: 1000\n\n"
        while time.monotonic() - started < STREAM_MAX_S:
            if await request.is_disconnected():
                return
            current = await run_in_threadpool(view.version)
            if current != version:
                aois = _aois(request)
                data = await run_in_threadpool(_cached_snapshot, view, pass_key, aois)
                version = current
                last_beat = time.monotonic()
                yield f"event: snapshot\ndata: {json.dumps(data)}\n\n"
            elif time.monotonic() - last_beat > HEARTBEAT_S:
                last_beat = time.monotonic()
                yield ": heartbeat\n\n"
            await asyncio.sleep(STREAM_POLL_S)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)
