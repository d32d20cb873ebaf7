"""``/healthz``, ``/readyz`` and ``/metrics`` (Prometheus text exposition).

Both probes and the metrics do constant work (counts done by the databases, no stored
subscription parsed), so a large store cannot make a liveness probe time out.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from eoport.api.deps import ApiState, StateDep

router = APIRouter(tags=["operations"])


class StoreCollector(Collector):
    """``eoport_subscriptions{status}`` and ``eoport_deliveries{status}``, read from the
    stores at scrape time."""

    def __init__(self, state: ApiState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        subs = GaugeMetricFamily(
            "eoport_subscriptions", "Subscriptions by status", labels=["status"]
        )
        for status, n in sorted(self.state.subscriptions.count_by_status().items()):
            subs.add_metric([status], n)
        yield subs
        ledger = GaugeMetricFamily(
            "eoport_deliveries", "Ledger entries by delivery status", labels=["status"]
        )
        for status, n in self.state.ledger.counts().items():
            ledger.add_metric([status.value], n)
        yield ledger


@router.get("/healthz")
def healthz(state: StateDep) -> JSONResponse:
    """200 when the stores answer, 503 (with the reason) otherwise."""
    try:
        subscriptions = state.subscriptions.count_by_status()
        counts = state.ledger.counts()
    except Exception as exc:  # any failure means unhealthy
        return JSONResponse(status_code=503, content={"status": "unavailable", "error": str(exc)})
    return JSONResponse(
        {
            "status": "ok",
            "subscriptions": sum(subscriptions.values()),
            "deliveries": {k.value: v for k, v in counts.items()},
        }
    )


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus exposition: process-wide metrics (stage counters and histograms of the
    stages running in this process) plus this application's own registry."""
    body = generate_latest(REGISTRY) + generate_latest(request.app.state.metrics_registry)
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)
