"""The CDSE-compatible face (``/odata/v1/Subscriptions``) as a CDSE client uses it, over
real HTTP: create, Read, cumulative Ack, Info, PATCH, DELETE, push with basic auth,
push falling back to the queue, bounded queues, restart."""

from __future__ import annotations

import base64
import json
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from eoport.api import ApiState
from streams._infra.retry import RetryPolicy
from streams.deliver import open_stores
from streams.deliver.netguard import NetworkPolicy, parse_networks
from streams.deliver.odata import ODataFilterError, translate_filter
from streams.deliver.policy import TargetPolicy
from streams.deliver.service import DeliveryService
from streams.messages.products import ProductRecord
from tests.eoport.apihelp import running_api

T0 = datetime(2026, 11, 25, 6, 0, 0, tzinfo=UTC)
LAKE = "POLYGON((10 45, 11 45, 11 46, 10 46, 10 45))"
S1_IW = (
    "Collection/Name eq 'SENTINEL-1' and Attributes/OData.CSC.StringAttribute/any(att:att/Name "
    "eq 'productType' and att/OData.CSC.StringAttribute/Value eq 'IW_SLC__1S')"
)
FILTER = (
    f"{S1_IW} and OData.CSC.Intersects(area=geography'SRID=4326;{LAKE}') and "
    "Attributes/OData.CSC.StringAttribute/any(att:att/Name eq 'polarisationChannels' and "
    "att/OData.CSC.StringAttribute/Value eq 'VV')"
)
LOCAL = TargetPolicy(NetworkPolicy(parse_networks(["127.0.0.1/32"])))


def product(burst: int, *, pol: str = "VV", lon: float = 10.2, mode: str = "IW") -> ProductRecord:
    ring = [[lon, 45.2], [lon + 0.2, 45.2], [lon + 0.2, 45.4], [lon, 45.4], [lon, 45.2]]
    return ProductRecord.model_validate(
        {
            "burst_key": f"1/{mode}1/{pol}/{burst}", "processing_version": "0.1.0",
            "mode": mode, "swath": f"{mode}1", "polarisation": pol, "burst_id": burst,
            "data_take_id": 1, "footprint": {"type": "Polygon", "coordinates": [ring]},
            "sensing_start": T0 - timedelta(seconds=3), "sensing_stop": T0 - timedelta(seconds=1),
            "url": f"file:///x/products/S1L1-{burst}.h5", "size_bytes": 1,
        }
    )  # fmt: skip


def deliver(state: ApiState, *products: ProductRecord, policy: RetryPolicy | None = None) -> None:
    service = DeliveryService(
        state.subscriptions, state.ledger, clock=lambda: T0, target_policy=LOCAL,
        policy=policy, rng=random.Random(3),
    )  # fmt: skip
    for p in products:
        service.handle(p)
    service.close()


@pytest.fixture
def state(tmp_path: Path) -> ApiState:
    return ApiState.of(open_stores(tmp_path, max_queue_length=5), clock=lambda: T0)


def test_cdse_pull_flow(state: ApiState, tmp_path: Path) -> None:
    with running_api(state, tmp_path, target_allow_networks=["127.0.0.1/32"]) as run:
        c = run.client("alice")
        r = c.post("/odata/v1/Subscriptions", json={
            "StageOrder": True, "FilterParam": FILTER, "Priority": 1, "Status": "running",
            "SubscriptionEvent": ["created"], "SubscriptionType": "pull"})  # fmt: skip
        assert r.status_code == 201, r.text
        sub = r.json()
        sub_id = sub["Id"]
        assert sub["SubscriptionType"] == "pull" and sub["Status"] == "running"
        assert sub["FilterParam"] == FILTER and sub["SubscriptionEvent"] == ["created"]
        assert sub["SubmissionDate"] == "2026-11-25T06:00:00.000Z"
        wanted = [product(b) for b in (1, 2, 3)]
        deliver(state, product(9, pol="VH"), product(8, lon=20.0), product(7, mode="EW"),
                *wanted)  # fmt: skip
        read = c.get(f"/odata/v1/Subscriptions({sub_id})/Read", params={"$top": 2})
        assert read.status_code == 200
        notes = read.json()
        assert [n["ProductId"] for n in notes] == [p.product_id for p in wanted[:2]]
        first = notes[0]
        assert set(first) == {"@odata.context", "SubscriptionEvent", "ProductId", "ProductName",
                              "SubscriptionId", "NotificationDate", "AckId", "value"}  # fmt: skip
        assert first["SubscriptionEvent"] == "created" and first["SubscriptionId"] == sub_id
        assert first["ProductName"] == "S1L1-1.h5"
        assert first["NotificationDate"] == "2026-11-25T06:00:00.000Z"
        assert first["value"]["id"] == wanted[0].product_id  # the STAC Item
        assert first["value"]["properties"]["sar:polarizations"] == ["VV"]
        # reading again gives the same (non-destructive)
        assert c.get(f"/odata/v1/Subscriptions({sub_id})/Read?$top=1").json()[0] == first
        # ack the second: cumulative
        ack = c.post(f"/odata/v1/Subscriptions({sub_id})/Ack", params={"$ackid": notes[1]["AckId"]})
        assert ack.json() == {"AckMessagesNum": 2, "CurrentQueueLength": 1, "MaxQueueLength": 5}
        rest = c.get(f"/odata/v1/Subscriptions({sub_id})/Read", params={"$top": 20}).json()
        assert [n["ProductId"] for n in rest] == [wanted[2].product_id]
        again = c.post(f"/odata/v1/Subscriptions({sub_id})/Ack?$ackid={notes[1]['AckId']}")
        assert again.json()["AckMessagesNum"] == 0
        assert c.post(f"/odata/v1/Subscriptions({sub_id})/Ack?$ackid=banana").status_code == 400
        assert c.get(f"/odata/v1/Subscriptions({sub_id})/Read?$top=21").status_code == 422
        info = c.get("/odata/v1/Subscriptions/Info").json()
        assert [i["Id"] for i in info] == [sub_id]
        assert info[0]["CurrentQueueLength"] == 1 and info[0]["AckMessagesNum"] == 2
        coll = c.get("/odata/v1/Subscriptions").json()
        assert [i["Id"] for i in coll["value"]] == [sub_id]
        # the same subscription through the native face
        native = c.get(f"/subscriptions/{sub_id}").json()
        assert native["notification_format"] == "cdse" and native["owner"] == "alice"
        paused = c.patch(f"/odata/v1/Subscriptions({sub_id})", json={"Status": "paused"})
        assert paused.status_code == 200 and paused.json()["Status"] == "paused"
        deliver(state, product(4))
        assert c.get(f"/odata/v1/Subscriptions({sub_id})").json()["CurrentQueueLength"] == 1
        assert c.delete(f"/odata/v1/Subscriptions({sub_id})").status_code == 204
        assert c.get(f"/odata/v1/Subscriptions({sub_id})").status_code == 404


class Endpoint:
    """A push endpoint with basic auth; fails while ``down``."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.down = False
        me = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                good = "Basic " + base64.b64encode(b"svc:ep-pw").decode()
                if me.down:
                    self.send_response(503)
                elif self.headers.get("Authorization") != good:
                    self.send_response(401)
                else:
                    me.bodies.append(json.loads(body))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    e = Endpoint()
    yield e
    e.close()


def test_cdse_push_with_basic_auth_then_queue_fallback(
    state: ApiState, tmp_path: Path, endpoint: Endpoint
) -> None:
    with running_api(state, tmp_path, target_allow_networks=["127.0.0.1/32"]) as run:
        c = run.client("alice")
        r = c.post("/odata/v1/Subscriptions", json={
            "FilterParam": S1_IW, "Status": "running", "SubscriptionEvent": ["created"],
            "SubscriptionType": "push", "NotificationEndpoint": endpoint.url,
            "NotificationEpUsername": "svc", "NotificationEpPassword": "ep-pw"})  # fmt: skip
        assert r.status_code == 201, r.text
        assert "ep-pw" not in r.text and r.json()["NotificationEndpoint"] == endpoint.url
        sub_id = r.json()["Id"]
        deliver(state, product(1))
        (note,) = endpoint.bodies
        assert note["SubscriptionId"] == sub_id and note["ProductId"] == product(1).product_id
        assert "AckId" not in note and note["value"]["type"] == "Feature"
        # the endpoint is down for the whole pass: 3 attempts, then the queue keeps it
        endpoint.down = True
        service = DeliveryService(
            state.subscriptions, state.ledger, clock=lambda: T0, target_policy=LOCAL,
            policy=RetryPolicy(max_attempts=3, base_delay_s=0.0, jitter=0.0),
        )  # fmt: skip
        (a,) = service.handle(product(2))
        while a.status.value == "pending":
            (a,) = service.retry_due()
        service.close()
        assert a.status.value == "failed" and a.attempt == 3
        assert "waiting in the pull queue" in (a.error or "")
        (queued,) = c.get(f"/odata/v1/Subscriptions({sub_id})/Read?$top=20").json()
        assert queued["ProductId"] == product(2).product_id and queued["AckId"]
        assert len(endpoint.bodies) == 1


def test_queue_bounded_oldest_dropped_and_counted(state: ApiState, tmp_path: Path) -> None:
    with running_api(state, tmp_path) as run:
        c = run.client("alice")
        sub_id = c.post("/odata/v1/Subscriptions", json={"SubscriptionType": "pull"}).json()["Id"]
        products = [product(b) for b in range(1, 9)]  # 8 products, queue of 5
        deliver(state, *products)
        notes = c.get(f"/odata/v1/Subscriptions({sub_id})/Read?$top=20").json()
        assert [n["ProductId"] for n in notes] == [p.product_id for p in products[3:]]
        info = c.get(f"/odata/v1/Subscriptions({sub_id})").json()
        assert info["CurrentQueueLength"] == 5 and info["DroppedMessagesNum"] == 3


def test_subscriptions_and_queues_survive_restart(tmp_path: Path) -> None:
    state = ApiState.of(open_stores(tmp_path), clock=lambda: T0)
    with running_api(state, tmp_path) as run:
        c = run.client("alice")
        sub_id = c.post("/odata/v1/Subscriptions", json={"SubscriptionType": "pull"}).json()["Id"]
        key = run.keys["alice"]
    deliver(state, product(1), product(2))
    again = ApiState.of(open_stores(tmp_path), clock=lambda: T0)  # a new process
    with running_api(again, tmp_path) as run:
        run.keys["alice"] = key  # the old key still works: stored (hashed) in the same file
        notes = run.client("alice").get(f"/odata/v1/Subscriptions({sub_id})/Read?$top=5").json()
        assert [n["ProductId"] for n in notes] == [product(1).product_id, product(2).product_id]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"SubscriptionType": "pull", "FilterParam": "Collection/Name eq 'SENTINEL-2'"},
         "SENTINEL-1 only"),
        ({"SubscriptionType": "pull", "FilterParam": "contains(Name,'S1A')"}, "not supported"),
        ({"SubscriptionType": "pull", "FilterParam": S1_IW.replace("and Attr", "or Attr")},
         "'or' is not supported"),
        ({"SubscriptionType": "pull", "FilterParam": S1_IW.replace("IW_SLC__1S", "IW_GRDH_1S")},
         "SLC products only"),
        ({"SubscriptionType": "push"}, "needs a NotificationEndpoint"),
        ({"SubscriptionType": "pull", "NotificationEndpoint": "https://93.184.215.14/"},
         "takes no NotificationEndpoint"),
        ({"SubscriptionType": "pull", "FilterParam":
          "OData.CSC.Intersects(area=geography'SRID=4326;POINT(10 45)')"}, "POLYGON"),
    ],
)  # fmt: skip
def test_bad_requests_are_400_and_change_nothing(
    state: ApiState, tmp_path: Path, body: dict[str, Any], why: str
) -> None:
    with running_api(state, tmp_path) as run:
        r = run.client("alice").post("/odata/v1/Subscriptions", json=body)
        assert r.status_code == 400, r.text
        assert why in r.json()["detail"]
        missing = run.client("alice").post("/odata/v1/Subscriptions", json={"Status": "running"})
        assert missing.status_code == 422 and "SubscriptionType" in missing.json()["detail"]
    assert state.subscriptions.all() == []


def test_filter_translation() -> None:
    f = translate_filter(
        f"({S1_IW}) and Attributes/OData.CSC.IntegerAttribute/any(att:att/Name eq "
        "'relativeOrbitNumber' and att/OData.CSC.IntegerAttribute/Value eq 117) and "
        "Attributes/OData.CSC.StringAttribute/any(att:att/Name eq 'orbitDirection' and "
        "att/OData.CSC.StringAttribute/Value eq 'DESCENDING') and "
        "ContentDate/Start ge 2026-11-25T00:00:00.000Z"
    )
    assert f.aoi["coordinates"][0][0] == [-180.0, -90.0]  # no Intersects: the whole Earth
    assert f.cql2 == {"op": "and", "args": [
        {"op": "=", "args": [{"property": "sar:instrument_mode"}, "IW"]},
        {"op": "=", "args": [{"property": "sat:relative_orbit"}, 117]},
        {"op": "=", "args": [{"property": "sat:orbit_state"}, "descending"]},
        {"op": ">=", "args": [{"property": "start_datetime"},
                              {"timestamp": "2026-11-25T00:00:00.000Z"}]},
    ]}  # fmt: skip
    sm = translate_filter("Attributes/OData.CSC.StringAttribute/any(att:att/Name eq "
                          "'productType' and att/OData.CSC.StringAttribute/Value eq 'S3_SLC__1S')")
    assert sm.cql2 is not None and sm.cql2["args"][1]["args"][1] == "S3"
    with pytest.raises(ODataFilterError, match="unbalanced|unclosed"):
        translate_filter("Collection/Name eq 'SENTINEL-1')")
    with pytest.raises(ODataFilterError, match="'not' is not supported"):
        translate_filter("Collection/Name eq 'SENTINEL-1' and not Collection/Name eq 'X'")
