"""A pass through the whole local chain, found and received the ways users do: searched
with ``pystac-client`` (unchanged) over real HTTP by AOI, time and a CQL2 filter, and
received by push (a local webhook) and by pull with ``AckId`` through both the native
``/subscriptions`` API and the CDSE-compatible ``/odata/v1`` face — the same STAC items
every way."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from pystac_client import Client
from shapely.geometry import shape

from eoport.pipeline import LocalPipeline, WebhookReceiver, aoi_box
from streams._infra.broker import LocalBroker
from streams.messages.products import ProductRecord
from tests.eoport.test_pipeline import CHANNEL, CHUNK, wait_for
from tests.streams.passdata import TARGET_A


def _wkt(geometry: dict[str, Any]) -> str:
    ring = geometry["coordinates"][0]
    return "POLYGON((" + ", ".join(f"{x} {y}" for x, y in ring) + "))"


def _ids(items: list[dict[str, Any]]) -> set[str]:
    return {item["id"] for item in items}


def _same_items(received: list[dict[str, Any]], stac: dict[str, dict[str, Any]]) -> None:
    """Each received item is the catalogue's item (id, geometry, sensing time, assets)."""
    for item in received:
        served = stac[item["id"]]
        assert item["type"] == "Feature" and item["collection"] == served["collection"]
        assert shape(item["geometry"]).equals(shape(served["geometry"]))
        assert item["properties"]["datetime"] == served["properties"]["datetime"]
        for asset in ("data", "thumbnail"):  # the quick-look is written with the product
            assert item["assets"][asset]["href"] == served["assets"][asset]["href"]


def test_chain_products_found_by_stac_and_received_by_push_and_pull_on_both_faces(
    tansu_broker_fn: LocalBroker, tmp_path: Path
) -> None:
    from eoport.pipeline import DEMO_RELATIVE_ORBIT, simulate_pass

    datatake = simulate_pass("IW", 3.0)
    aoi = aoi_box(TARGET_A.lat, TARGET_A.lon, half_deg=0.05)
    hook, cdse_hook = WebhookReceiver(), WebhookReceiver()
    hook.start()
    cdse_hook.start()
    try:
        with LocalPipeline(tmp_path, broker=tansu_broker_fn, session_timeout_ms=3000) as pipe:
            assert pipe.api_url is not None
            api = httpx.Client(base_url=pipe.api_url, headers=pipe.auth_headers(), timeout=10)
            push_target = {"kind": "webhook", "url": hook.url}
            native_push = pipe.subscribe({"aoi": aoi, "target": push_target})
            native_pull = pipe.subscribe({"aoi": aoi, "target": {"kind": "queue"}})
            area = f"OData.CSC.Intersects(area=geography'SRID=4326;{_wkt(aoi)}')"
            cdse = {}
            for kind, extra in (("pull", {}), ("push", {"NotificationEndpoint": cdse_hook.url})):
                r = api.post("/odata/v1/Subscriptions", json={
                    "FilterParam": f"Collection/Name eq 'SENTINEL-1' and {area}",
                    "Status": "running", "SubscriptionEvent": ["created"],
                    "SubscriptionType": kind, **extra,
                })  # fmt: skip
                assert r.status_code == 201, r.text
                cdse[kind] = r.json()["Id"]
            pipe.replay(datatake.data, chunk_size=CHUNK, relative_orbit=DEMO_RELATIVE_ORBIT)
            assert pipe.wait_done([CHANNEL], timeout_s=240)
            products: list[ProductRecord] = list(pipe.products.values())
            assert sorted(p.swath for p in products) == ["IW1", "IW2", "IW3"]

            # the catalogue indexes each product once its record is out
            def catalogued() -> int:
                found = api.post("/stac/search", json={"limit": 100}).json()["features"]
                return len(found)

            wait_for(lambda: catalogued() == len(products), 60, "every product catalogued")
            stac = {f["id"]: f for f in api.post("/stac/search", json={"limit": 100}).json()
                    ["features"]}  # fmt: skip

            # pystac-client, unchanged: AOI x time x CQL2, exactly the matching products
            client = Client.open(f"{pipe.api_url}/stac", headers=pipe.auth_headers())
            first = min(p.sensing_start for p in products)
            last = max(p.sensing_stop for p in products)
            window = f"{first.isoformat()}/{last.isoformat()}"
            touching = {p.product_id for p in products
                        if shape(p.footprint).intersects(shape(aoi))}  # fmt: skip
            assert touching  # the AOI holds a target inside the pass
            for swath in ("IW1", "IW2", "IW3"):
                search = client.search(
                    intersects=aoi, datetime=window, filter_lang="cql2-json",
                    filter={"op": "=", "args": [{"property": "eoport:swath"}, swath]},
                )  # fmt: skip
                expected = {p.product_id for p in products
                            if p.product_id in touching and p.swath == swath}  # fmt: skip
                assert {item.id for item in search.items()} == expected
            later = f"{(last + timedelta(hours=1)).isoformat()}/.."
            assert list(client.search(intersects=aoi, datetime=later).items()) == []

            # push: native webhook and CDSE endpoint got the same items
            wait_for(lambda: len(hook.received) >= len(touching)
                     and len(cdse_hook.received) >= len(touching), 30, "pushes")  # fmt: skip
            native_pushed = [body for _, body in hook.received]
            cdse_pushed = [body["value"] for _, body in cdse_hook.received]
            assert {b["SubscriptionId"] for _, b in cdse_hook.received} == {cdse["push"]}

            # pull: native queue and CDSE Read, acknowledged by AckId (cumulative)
            queue = api.get(f"/subscriptions/{native_pull}/queue").json()
            native_pulled = [m["item"] for m in queue["messages"]]
            acked = api.post(f"/subscriptions/{native_pull}/ack",
                             params={"AckId": queue["messages"][-1]["ack_id"]}).json()  # fmt: skip
            assert acked == {"acked": len(touching), "pending": 0}
            notes = api.get(f"/odata/v1/Subscriptions({cdse['pull']})/Read",
                            params={"$top": 20}).json()  # fmt: skip
            cdse_pulled = [n["value"] for n in notes]
            ack = api.post(f"/odata/v1/Subscriptions({cdse['pull']})/Ack",
                           params={"$ackid": notes[-1]["AckId"]}).json()  # fmt: skip
            assert ack["AckMessagesNum"] == len(touching) and ack["CurrentQueueLength"] == 0
            assert api.get(f"/subscriptions/{native_push}").status_code == 200
            api.close()
    finally:
        hook.stop()
        cdse_hook.stop()
    for received in (native_pushed, cdse_pushed, native_pulled, cdse_pulled):
        assert _ids(received) == touching
        _same_items(received, stac)
