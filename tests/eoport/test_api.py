"""The HTTP API through a real server (uvicorn in a thread) and a real client (httpx).

Callers authenticate with API keys (:mod:`tests.eoport.apihelp`); access control, SSRF
and the CDSE face have their own files (test_auth, test_ssrf, test_odata).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from eoport.api import ApiState, open_state
from eoport.config import ApiSettings
from streams._infra.retry import RetryPolicy
from streams.deliver.ledger import DeliveryLedger
from streams.deliver.netguard import NetworkPolicy, parse_networks
from streams.deliver.policy import TargetPolicy
from streams.deliver.service import DeliveryService
from streams.deliver.subscriptions import SqliteSubscriptionStore
from streams.messages.products import ProductRecord
from tests.eoport.apihelp import free_port, running_api

T0 = datetime(2026, 11, 25, 6, 0, 0, tzinfo=UTC)
PUBLIC_HOOK = "https://93.184.215.14/hook"
"""A public address literal: accepted without DNS (nothing is sent to it here)."""


def rect(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


AOI = {"type": "Polygon", "coordinates": [rect(10, 45, 11, 46)]}
LOCAL = TargetPolicy(NetworkPolicy(parse_networks(["127.0.0.1/32"])))


@dataclass
class Api:
    client: httpx.Client
    state: ApiState
    base_url: str


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    state = ApiState(
        SqliteSubscriptionStore(tmp_path / "subs.sqlite"),
        DeliveryLedger(tmp_path / "ledger.sqlite"),
        clock=lambda: T0,
    )
    with running_api(
        state, tmp_path, target_allow_networks=["127.0.0.1/32"], max_running_subscriptions=50,
        max_subscriptions=50,
    ) as run:  # fmt: skip
        yield Api(run.client("alice"), state, run.base_url)


def listed(api: Api) -> list[dict[str, Any]]:
    page = api.client.get("/subscriptions").json()
    subs: list[dict[str, Any]] = page["subscriptions"]
    return subs


def create(api: Api, **over: Any) -> httpx.Response:
    body: dict[str, Any] = {"aoi": AOI, "target": {"kind": "queue"}}
    body.update(over)
    return api.client.post("/subscriptions", json=body)


def make_product(burst_id: int) -> ProductRecord:
    return ProductRecord.model_validate(
        {
            "burst_key": f"1/IW1/VV/{burst_id}",
            "processing_version": "0.1.0",
            "mode": "IW",
            "swath": "IW1",
            "polarisation": "VV",
            "burst_id": burst_id,
            "data_take_id": 1,
            "footprint": {"type": "Polygon", "coordinates": [rect(10.2, 45.2, 10.4, 45.4)]},
            "sensing_start": T0 - timedelta(seconds=3),
            "sensing_stop": T0 - timedelta(seconds=1),
            "url": "file:///x/p.h5",
            "size_bytes": 1,
        }
    )


def test_create_list_get_delete(api: Api) -> None:
    r = create(
        api,
        name="lake",
        filter="Mode eq 'IW' and Polarisation in ('VV','VH')",
        target={
            "kind": "webhook",
            "url": PUBLIC_HOOK,
            "username": "u",
            "password": "secret",
        },
    )
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["name"] == "lake"
    assert sub["created"] == "2026-11-25T06:00:00Z"
    assert sub["filters"]["modes"] == ["IW"] and sub["filters"]["polarisations"] == ["VH", "VV"]
    assert sub["target"]["password"] == "**********"
    assert "secret" not in r.text
    r2 = create(api)
    assert r2.status_code == 201
    assert [s["id"] for s in listed(api)] == [sub["id"], r2.json()["id"]]
    got = api.client.get(f"/subscriptions/{sub['id']}")
    assert got.status_code == 200 and got.json() == sub
    # the store kept the real password for the delivery stage
    assert api.state.subscriptions.get(sub["id"]).target.password.get_secret_value() == "secret"  # type: ignore[union-attr]
    paused = api.client.patch(f"/subscriptions/{sub['id']}", json={"status": "paused"})
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert api.state.subscriptions.get(sub["id"]).status == "paused"
    bad = api.client.patch(f"/subscriptions/{sub['id']}", json={"status": "asleep"})
    assert bad.status_code == 422 and "status" in bad.json()["detail"]
    assert api.client.delete(f"/subscriptions/{sub['id']}").status_code == 204
    assert api.client.get(f"/subscriptions/{sub['id']}").status_code == 404
    gone = api.client.delete(f"/subscriptions/{sub['id']}")
    assert gone.status_code == 404 and "no subscription" in gone.json()["detail"]
    assert len(listed(api)) == 1


@pytest.mark.parametrize(
    ("aoi", "message"),
    [
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]},
            "aoi: aoi is not a valid Polygon: Self-intersection[1 1]",
        ),
        (
            {"type": "Polygon", "coordinates": [rect(0, 0, 1, 1)[:-1]]},
            "aoi: aoi polygon exterior ring is not closed: first position [0.0, 0.0] differs "
            "from last [0.0, 1.0]",
        ),
        (
            {"type": "Polygon", "coordinates": [rect(170, 0, 190, 1)]},
            "aoi: aoi polygon exterior ring position 1: longitude 190 outside [-180, 180]",
        ),
        (
            {"type": "Polygon", "coordinates": [rect(0, 80, 1, 91)]},
            "aoi: aoi polygon exterior ring position 2: latitude 91 outside [-90, 90]",
        ),
        ({"type": "Polygon", "coordinates": []}, "aoi: aoi polygon is empty (no rings)"),
        ({"type": "Polygon", "coordinates": [[]]}, "aoi: aoi polygon exterior ring is empty"),
    ],
)
def test_bad_geometry_is_422_with_clear_message(
    api: Api, aoi: dict[str, Any], message: str
) -> None:
    r = create(api, aoi=aoi)
    assert r.status_code == 422
    assert r.json()["detail"] == message
    assert listed(api) == []


def test_bad_filters_and_targets_are_422(api: Api) -> None:
    r = create(api, filters={"swaths": ["IW9"]})
    assert r.status_code == 422 and "unknown swath ['IW9']" in r.json()["detail"]
    r = create(api, filter="Mode gt 'IW'")
    assert r.status_code == 422 and "not understood" in r.json()["detail"]
    r = create(api, target={"kind": "objectstore", "prefix": "ftp://x/y"})
    assert r.status_code == 422 and "file:// or s3://" in r.json()["detail"]
    r = api.client.post("/subscriptions", json={"target": {"kind": "queue"}})
    assert r.status_code == 422 and r.json()["detail"] == "aoi: Field required"


def test_pull_queue_and_ack(api: Api, tmp_path: Path) -> None:
    sub_id = create(api).json()["id"]
    service = DeliveryService(
        api.state.subscriptions, api.state.ledger, clock=lambda: T0, target_policy=LOCAL
    )
    products = [make_product(b) for b in (1, 2, 3)]
    for p in products:
        service.handle(p)
    service.close()
    q = api.client.get(f"/subscriptions/{sub_id}/queue").json()
    assert q["pending"] == 3
    assert [m["product_id"] for m in q["messages"]] == [p.product_id for p in products]
    assert q["messages"][0]["product"]["timeline"]["delivered"] == "2026-11-25T06:00:00Z"
    item = q["messages"][0]["item"]  # the STAC Item rides with every message
    assert item["id"] == products[0].product_id and item["type"] == "Feature"
    second = q["messages"][1]["ack_id"]
    r = api.client.post(f"/subscriptions/{sub_id}/ack", json={"ack_id": second})
    assert r.json() == {"acked": 2, "pending": 1}
    q = api.client.get(f"/subscriptions/{sub_id}/queue", params={"max": 10}).json()
    assert [m["product_id"] for m in q["messages"]] == [products[2].product_id]
    r = api.client.post(
        f"/subscriptions/{sub_id}/ack", params={"AckId": q["messages"][0]["ack_id"]}
    )
    assert r.json() == {"acked": 1, "pending": 0}
    assert api.client.post(f"/subscriptions/{sub_id}/ack", json={"ack_id": "x"}).status_code == 400
    store = create(api, target={"kind": "objectstore", "prefix": "file:///srv/x"})
    assert store.status_code == 403  # no prefix granted in this deployment
    assert api.client.get("/subscriptions/nope/queue").status_code == 404


def test_failed_deliveries_visible_and_retryable(api: Api) -> None:
    dead_port = free_port()  # nothing listens there: connection refused
    sub_id = create(api, target={"kind": "webhook", "url": f"http://127.0.0.1:{dead_port}/h"})
    sub_id = sub_id.json()["id"]
    service = DeliveryService(
        api.state.subscriptions,
        api.state.ledger,
        clock=lambda: T0,
        policy=RetryPolicy(max_attempts=1),
        rng=random.Random(1),
        target_policy=LOCAL,
    )
    product = make_product(7)
    (attempt,) = service.handle(product)
    service.close()
    assert attempt.status == "failed"
    page = api.client.get(f"/subscriptions/{sub_id}/deliveries").json()
    rows = page["deliveries"]
    assert len(rows) == 1 and page["next"] is None
    assert rows[0]["status"] == "failed" and rows[0]["product_id"] == product.product_id
    assert "unreachable" in rows[0]["error"]
    delivered = api.client.get(f"/subscriptions/{sub_id}/deliveries?status=delivered").json()
    assert delivered["deliveries"] == []
    # CDSE: after the push attempts the notification waits in the pull queue
    q = api.client.get(f"/subscriptions/{sub_id}/queue").json()
    assert [m["product_id"] for m in q["messages"]] == [product.product_id]
    r = api.client.post(f"/subscriptions/{sub_id}/deliveries/{product.product_id}/retry")
    assert r.status_code == 202 and r.json()["status"] == "pending"
    assert api.client.post(f"/subscriptions/{sub_id}/deliveries/nope/retry").status_code == 404
    assert api.client.get("/subscriptions/nope/deliveries").status_code == 404


def test_healthz_and_metrics(api: Api) -> None:
    create(api)
    h = api.client.get("/healthz")
    assert h.status_code == 200
    assert h.json() == {
        "status": "ok",
        "subscriptions": 1,
        "deliveries": {"pending": 0, "delivered": 0, "failed": 0},
    }
    m = api.client.get("/metrics")
    assert m.status_code == 200 and m.headers["content-type"].startswith("text/plain")
    text = m.text
    assert 'eoport_subscriptions{status="active"} 1.0' in text
    assert 'eoport_deliveries{status="failed"} 0.0' in text
    assert 'eoport_api_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text
    assert "eoport_delivery_latency_seconds_bucket" in text


def test_openapi_document(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    assert {"/subscriptions", "/subscriptions/{sub_id}/queue", "/healthz"} <= set(doc["paths"])
    assert "SubscriptionSpec" in doc["components"]["schemas"]


def test_open_state_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    state = open_state(ApiSettings().state_dir)
    assert (tmp_path / "var" / "state" / "subscriptions.sqlite").is_file()
    assert (tmp_path / "var" / "state" / "deliveries.sqlite").is_file()
    assert state.subscriptions.all() == []
