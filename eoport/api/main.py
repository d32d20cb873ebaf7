"""The FastAPI application factory: routers, error format, request metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Counter, Histogram

from eoport import __version__
from eoport.api.auth import install_security, require_reader
from eoport.api.deps import ApiState, open_state
from eoport.api.routes import bursts, dashboard, health, odata, stac, subscriptions
from streams import CommonSettings, derive_settings
from streams.catalogue import CatalogueSettings, open_catalogue
from streams.catalogue.store import Catalogue
from streams.timeline.settings import TimelineSettings, open_view
from streams.timeline.view import TimelineView


def _one_line(exc: RequestValidationError) -> tuple[str, list[dict[str, object]]]:
    errors: list[dict[str, object]] = []
    parts: list[str] = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        where = ".".join(loc) or "body"
        parts.append(f"{where}: {msg}")
        errors.append({"loc": loc, "msg": msg, "type": err.get("type")})
    return "; ".join(parts), errors


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail, errors = _one_line(exc)
    return JSONResponse(status_code=422, content={"detail": detail, "errors": errors})


def _install_request_metrics(app: FastAPI) -> CollectorRegistry:
    """Count and time every request of ``app`` in a registry of its own."""
    registry = CollectorRegistry()
    requests = Counter(
        "eoport_api_requests",
        "HTTP requests by method, route and status",
        ["method", "route", "status"],
        registry=registry,
    )
    latency = Histogram(
        "eoport_api_request_seconds", "HTTP request duration, s", ["route"], registry=registry
    )

    @app.middleware("http")
    async def count(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        requests.labels(request.method, path, str(response.status_code)).inc()
        latency.labels(path).observe(time.perf_counter() - start)
        return response

    return registry


def create_app(
    settings: CommonSettings | None = None,
    *,
    state: ApiState | None = None,
    catalogue: Catalogue | None = None,
    timeline: TimelineView | None = None,
    timeline_metrics: bool = True,
) -> FastAPI:
    """Build the eoport HTTP API.

    Parameters
    ----------
    settings
        Process settings (:class:`eoport.config.ApiSettings`); ``settings.state_dir``
        locates the embedded stores.
    state
        Stores to serve instead of the ones ``settings`` point at (tests, the demo).
    catalogue
        STAC catalogue to serve instead of the one ``settings`` name.
    timeline
        Latency timeline to serve (the dashboard) instead of the one under
        ``settings.state_dir``.
    timeline_metrics
        Export the timeline's gauges in ``/metrics`` (off when a separate ``eoport run
        timeline`` process exports them).

    Returns
    -------
    FastAPI
        Routes: ``/subscriptions`` (create, list, get, delete), ``/subscriptions/{id}/
        deliveries`` (ledger, retry), ``/subscriptions/{id}/queue`` and ``/ack`` (pull
        queue, AckId semantics), the STAC API under ``/stac``, the latency dashboard
        (``/dashboard``, ``/dashboard/api/...``), ``/healthz``,
        ``/metrics``. Validation errors answer 422 with ``detail``: one line naming
        every problem.
    """
    common = settings or CommonSettings()
    if state is None:
        state = open_state(common)
    if catalogue is None:
        location = (
            common.catalogue_location()
            if isinstance(common, CatalogueSettings)
            else str(common.state_dir / "catalogue.sqlite")
        )
        catalogue = open_catalogue(location)
    if timeline is None:
        timeline = open_view(derive_settings(TimelineSettings, common))
    app = FastAPI(
        title="eoport",
        summary="Near-real-time Sentinel-1 products: AOI subscriptions and delivery",
        version=__version__,
    )
    app.state.eoport = state
    app.state.catalogue = catalogue
    install_security(app, settings)
    app.state.metrics_registry = _install_request_metrics(app)
    app.state.metrics_registry.register(health.StoreCollector(state))
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(subscriptions.router)
    app.include_router(odata.router)
    app.include_router(bursts.router)
    app.include_router(stac.router, dependencies=[Depends(require_reader)])
    dashboard.install(app, timeline, metrics=timeline_metrics)
    if settings is not None:
        bursts.install_refocus(app, settings)
    app.include_router(health.router)
    return app
