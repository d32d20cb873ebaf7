"""``/healthz`` and ``/metrics`` (Prometheus text exposition)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from eoport.api.app import ApiState
from streams.deliver.service import DELIVERY_ATTEMPTS, DELIVERY_LATENCY

PROCESS_METRICS = (DELIVERY_ATTEMPTS, DELIVERY_LATENCY)
"""Delivery metrics of the default registry, exposed here even when zero (they count
only in a process that runs the ``deliver`` stage, e.g. ``eoport demo``)."""


class _StateCollector(Collector):
    """Gauges read from the stores at scrape time."""

    def __init__(self, state: ApiState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        subs = GaugeMetricFamily(
            "eoport_subscriptions", "Subscriptions by status", labels=["status"]
        )
        counts: dict[str, int] = {}
        for sub in self.state.subscriptions.all():
            counts[sub.status.value] = counts.get(sub.status.value, 0) + 1
        for status, n in sorted(counts.items()):
            subs.add_metric([status], n)
        yield subs
        ledger = GaugeMetricFamily(
            "eoport_deliveries", "Ledger entries by delivery status", labels=["status"]
        )
        for status, n in self.state.ledger.counts().items():
            ledger.add_metric([status.value], n)
        yield ledger


def make_health_router(state: ApiState, app: FastAPI) -> APIRouter:
    """``/healthz`` and ``/metrics``; also counts and times every request of ``app``."""
    registry = CollectorRegistry()
    registry.register(_StateCollector(state))
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

    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    def healthz() -> JSONResponse:
        """200 when the stores answer, 503 (with the reason) otherwise."""
        try:
            n = len(state.subscriptions.all())
            counts = state.ledger.counts()
        except Exception as exc:  # any failure means unhealthy
            return JSONResponse(
                status_code=503, content={"status": "unavailable", "error": str(exc)}
            )
        return JSONResponse(
            {
                "status": "ok",
                "subscriptions": n,
                "deliveries": {k.value: v for k, v in counts.items()},
            }
        )

    @router.get("/metrics")
    def metrics() -> Response:
        """Prometheus exposition: process-wide metrics (delivery counters and latency
        histogram when the stage runs in this process) plus this app's metrics."""
        body = generate_latest(REGISTRY) + generate_latest(registry)
        return Response(content=body, media_type=CONTENT_TYPE_LATEST)

    return router
