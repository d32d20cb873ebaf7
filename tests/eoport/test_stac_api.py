"""The STAC API over real HTTP: pystac-client, unchanged, searches a catalogue of real
focused IW bursts by AOI, time and CQL2 filter, follows ``next`` links and opens items;
bad input gets a 4xx with a message."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pystac_client import Client
from pystac_client.conformance import ConformanceClasses
from shapely.geometry import Point, box, shape

from eoport.api.routes.stac import MAX_BODY_BYTES, conformance_classes, router
from streams._infra.ports import find_free_port
from streams.catalogue.queryables import parse_timestamp
from streams.catalogue.stac import product_to_stac_item
from streams.catalogue.store import Catalogue, SqliteCatalogue
from tests.streams.catalogue.conftest import postgis_url  # noqa: F401 - fixture
from tests.streams.catalogue.realdata import TARGETS, RealProduct, real_products
from tests.streams.catalogue.stac_schemas import validate_stac

IW = "sentinel-1-iw-slc-burst"


@dataclass
class Api:
    url: str
    items: dict[str, dict[str, Any]]  # stored items by id
    products: list[RealProduct]


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free loopback port in a thread; yields its base URL."""
    port = find_free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module", params=["sqlite", "postgis"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The API over the real bursts, stored in SQLite, then in PostGIS (where it runs)."""
    products = real_products(tmp_path_factory.mktemp("products"))
    items: dict[str, dict[str, Any]] = {}
    for p in products:
        items[p.record.product_id] = p.item()
        # the same burst reprocessed by a later version, published an hour later
        later = p.record.model_copy(
            update={"processing_version": "0.2.0-test", "product_id": ""}
        ).with_timestamp("product_written", p.record.timeline["product_written"]
                         + timedelta(hours=1))  # fmt: skip
        again = type(p.record).model_validate(later.model_dump())  # new id from the version
        items[again.product_id] = product_to_stac_item(
            again, sar=p.sar, checksum=p.checksum, quicklook_url=p.quicklook_url
        )
    catalogue: Catalogue
    if request.param == "sqlite":
        catalogue = SqliteCatalogue(tmp_path_factory.mktemp("catalogue") / "items.sqlite")
    else:
        from streams.catalogue.postgis import PostgisCatalogue

        catalogue = PostgisCatalogue(request.getfixturevalue("postgis_url"), table="api_items")
    catalogue.upsert_many(items.values())
    app = FastAPI(title="stac-test")
    app.include_router(router)
    app.state.catalogue = catalogue
    with serve(app) as base:
        yield Api(f"{base}/stac", items, products)


def brute(api: Api, geometry: Any = None, lo: str | None = None, hi: str | None = None) -> set[str]:
    """Ids whose footprint intersects ``geometry`` and sensing interval meets [lo, hi]."""
    out = set()
    for item_id, item in api.items.items():
        p = item["properties"]
        if geometry is not None and not shape(item["geometry"]).intersects(geometry):
            continue
        if lo is not None and parse_timestamp(p["end_datetime"]) < parse_timestamp(lo):
            continue
        if hi is not None and parse_timestamp(p["start_datetime"]) > parse_timestamp(hi):
            continue
        out.add(item_id)
    return out


def test_landing_conformance_and_collections(api: Api) -> None:
    client = Client.open(api.url)
    for cls in ("CORE", "ITEM_SEARCH", "FILTER", "SORT", "COLLECTIONS", "FEATURES"):
        assert client.conforms_to(ConformanceClasses.get_by_name(cls)), cls
    assert set(client.to_dict()["conformsTo"]) == set(conformance_classes())
    assert validate_stac(httpx.get(api.url).json()) == []  # a valid STAC Catalog
    collection = client.get_collection(IW)
    assert collection is not None and validate_stac(collection.to_dict()) == []
    (bbox,) = collection.extent.spatial.bboxes
    footprints = [shape(i["geometry"]) for i in api.items.values()]
    assert bbox == pytest.approx([min(f.bounds[0] for f in footprints),
                                  min(f.bounds[1] for f in footprints),
                                  max(f.bounds[2] for f in footprints),
                                  max(f.bounds[3] for f in footprints)])  # fmt: skip
    rels = {link["rel"] for link in httpx.get(api.url).json()["links"]}
    assert {"self", "root", "conformance", "service-desc", "data", "search"} <= rels
    desc = httpx.get(f"{api.url}/api")
    assert desc.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    assert "/stac/search" in desc.json()["paths"]


def test_search_by_aoi_time_and_filter_finds_exactly_the_matching_products(api: Api) -> None:
    client = Client.open(api.url)
    # AOI: a small box around the first target, imaged by IW2 only
    t = TARGETS[0]
    aoi = box(t.lon - 0.002, t.lat - 0.002, t.lon + 0.002, t.lat + 0.002)
    found = {i.id for i in client.search(intersects=aoi.__geo_interface__).items()}
    assert found == brute(api, aoi) and found
    assert {api.items[i]["properties"]["eoport:swath"] for i in found} == {"IW2"}
    # time: the instant IW1 starts sensing, before the other swaths' bursts
    iw1 = next(i for i in api.items.values() if i["properties"]["eoport:swath"] == "IW1")
    start = iw1["properties"]["start_datetime"]
    found = {i.id for i in client.search(datetime=start).items()}
    assert found == brute(api, None, start, start) and found
    # CQL2 (POST, cql2-json): swath, burst id and version, combined with a bbox
    burst = iw1["properties"]["sar:relative_burst"]
    filt = {"op": "and", "args": [
        {"op": "in", "args": [{"property": "eoport:swath"}, ["IW1", "IW3"]]},
        {"op": "=", "args": [{"property": "sar:relative_burst"}, burst]},
        {"op": "=", "args": [{"property": "processing:version"}, "0.2.0-test"]},
        {"op": "s_intersects", "args": [{"property": "geometry"},
                                        {"type": "Point", "coordinates": [t.lon, t.lat]}]},
    ]}  # fmt: skip
    found = {i.id for i in client.search(filter=filt, collections=[IW]).items()}
    expected = {
        k for k, v in api.items.items()
        if v["properties"]["eoport:swath"] in ("IW1", "IW3")
        and v["properties"]["processing:version"] == "0.2.0-test"
        and shape(v["geometry"]).intersects(Point(t.lon, t.lat))
    }  # fmt: skip
    assert found == expected
    # the same filter as CQL2-text over GET
    text = "eoport:swath = 'IW2' AND processing:version = '0.1.0-test'"
    found = {i.id for i in client.search(filter=text, method="GET").items()}
    assert found == {k for k, v in api.items.items()
                     if v["properties"]["eoport:swath"] == "IW2"
                     and v["properties"]["processing:version"] == "0.1.0-test"}  # fmt: skip
    assert len(found) == 1
    # everything, by the bbox of all footprints
    every = {i.id for i in client.search(bbox=[8.0, 43.0, 12.0, 47.0]).items()}
    assert every == set(api.items)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_paging_follows_next_links(api: Api, method: str) -> None:
    client = Client.open(api.url)
    search = client.search(collections=[IW], limit=1, method=method, sortby="+datetime")
    pages = list(search.pages_as_dicts())
    assert len(pages) == len(api.items)  # one item a page, a next link on all but the last
    ids = [f["id"] for page in pages for f in page["features"]]
    assert len(set(ids)) == len(ids) == len(api.items)
    assert all(page["numberMatched"] == len(api.items) for page in pages)
    starts = [api.items[i]["properties"]["datetime"] for i in ids]
    assert starts == sorted(starts)
    assert search.matched() == len(api.items)


def test_items_open_and_validate(api: Api) -> None:
    client = Client.open(api.url)
    collection = client.get_collection(IW)
    assert collection is not None
    served = list(collection.get_items())
    assert {i.id for i in served} == set(api.items)
    schema_url = f"{api.url}/extensions/eoport/v1.0.0/schema.json"
    schema = httpx.get(schema_url).json()  # the eoport schema, served by the API
    assert schema["$id"] == schema_url
    for item in served:
        d = item.to_dict()
        assert validate_stac(d, {schema_url: schema}) == []
        assert item.get_self_href() == f"{api.url}/collections/{IW}/items/{item.id}"
        opened = collection.get_item(item.id)
        assert opened is not None and opened.properties == item.properties
        assert opened.geometry == item.geometry == api.items[item.id]["geometry"]
        data = item.assets["data"]
        assert data.href == api.items[item.id]["assets"]["data"]["href"]
        assert data.media_type == "application/x-hdf5"
        assert item.assets["thumbnail"].media_type == "image/png"
        late = item.properties["processing:version"] == "0.2.0-test"  # published 1 h later
        assert item.properties["eoport:latency"] == pytest.approx(3604.4 if late else 4.4)


@pytest.mark.parametrize(
    ("method", "params", "status", "message"),
    [
        ("GET", {"bbox": "1,2,3"}, 400, "bbox must have 4 or 6 numbers"),
        ("GET", {"bbox": "0,50,1,40"}, 400, "south 50 is north"),
        ("GET", {"datetime": "yesterday"}, 400, "RFC 3339"),
        ("GET", {"datetime": "2024-06-02T00:00:00Z/2024-06-01T00:00:00Z"}, 400, "starts after"),
        ("GET", {"limit": "0"}, 400, "limit must be between 1 and 1000"),
        ("GET", {"limit": "5000"}, 400, "limit must be between 1 and 1000"),
        ("GET", {"filter": "eo:cloud_cover < 10"}, 400, "unknown queryable 'eo:cloud_cover'"),
        ("GET", {"q": "x"}, 400, "unsupported query parameter 'q'"),
        ("GET", {"intersects": "{nope"}, 400, "intersects is not valid GeoJSON"),
        ("GET", {"token": "garbage"}, 400, "invalid paging token"),
        ("GET", {"sortby": "geometry"}, 400, "cannot sort by 'geometry'"),
        (
            "POST",
            {"filter": {"op": "=", "args": [{"property": "cloud_cover"}, 5]}},
            400,
            "unknown queryable 'cloud_cover'",
        ),
        (
            "POST",
            {
                "intersects": {
                    "type": "Polygon",
                    "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
                }
            },
            400,
            "not a valid Polygon",
        ),
        ("POST", {"limit": -1}, 400, "limit must be between"),
        ("POST", {"query": {"eo:cloud_cover": {"lt": 5}}}, 400, "unsupported search field"),
        ("POST", [1, 2], 400, "must be a JSON object"),
        (
            "POST",
            {"bbox": [0, 0, 1, 1], "intersects": {"type": "Point", "coordinates": [0, 0]}},
            400,
            "bbox and intersects cannot be used together",
        ),
    ],  # fmt: skip
)
def test_bad_input_gets_400_with_a_message(
    api: Api, method: str, params: Any, status: int, message: str
) -> None:
    if method == "GET":
        response = httpx.get(f"{api.url}/search", params=params)
    else:
        response = httpx.post(f"{api.url}/search", json=params)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == "InvalidParameterValue" and message in body["description"]


def test_oversized_bodies_unknown_ids_and_queryables(api: Api) -> None:
    big = b'{"ids": ["' + b"x" * (MAX_BODY_BYTES + 10) + b'"]}'
    response = httpx.post(f"{api.url}/search", content=big,
                          headers={"content-type": "application/json"})  # fmt: skip
    assert response.status_code == 413 and "request body over" in response.json()["description"]
    assert httpx.get(f"{api.url}/collections/nope").status_code == 404
    missing = httpx.get(f"{api.url}/collections/{IW}/items/S1L1-none")
    assert missing.status_code == 404 and "no item 'S1L1-none'" in missing.json()["description"]
    wrong = httpx.get(f"{api.url}/collections/{IW}/items", params={"collections": "other"})
    assert wrong.status_code == 400
    queryables = httpx.get(f"{api.url}/queryables").json()
    assert queryables["properties"]["sar:instrument_mode"]["enum"] == ["IW", "EW", "SM", "WV"]
    assert queryables["additionalProperties"] is False
    per = httpx.get(f"{api.url}/collections/{IW}/queryables").json()
    assert per["properties"] == queryables["properties"]
    body = json.dumps({"filter-lang": "cql2-json", "filter": {"op": "=", "args": [
        {"property": "eoport:swath"}, "IW3"]}})  # fmt: skip
    response = httpx.post(f"{api.url}/search", content=body)
    assert {f["properties"]["eoport:swath"] for f in response.json()["features"]} == {"IW3"}


def test_no_catalogue_answers_503() -> None:
    app = FastAPI()
    app.include_router(router)
    with serve(app) as base:
        response = httpx.get(f"{base}/stac/search")
    assert response.status_code == 503 and "no STAC catalogue" in response.text
