"""SQLite catalogue: idempotent writes, spatial and temporal search against brute force,
keyset paging that stays exact while items are inserted, extents, schema rebuild."""

from __future__ import annotations

import copy
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import box, shape

from streams._infra.errors import ConfigurationError
from streams.catalogue.errors import InvalidItemError, ItemNotFoundError
from streams.catalogue.geometry import bbox_polygon
from streams.catalogue.queryables import QUERYABLES, parse_timestamp
from streams.catalogue.search import build_query
from streams.catalogue.store import SqliteCatalogue, index_product, open_catalogue
from tests.streams.catalogue.conftest import BACKENDS
from tests.streams.catalogue.synth import make_items, make_record

ITEMS = make_items(120, seed=5)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, new_catalogue: Callable[[str], Any]) -> Any:
    """The items in an SQLite file and (where PostgreSQL runs) a PostGIS table."""
    cat = new_catalogue(request.param)
    assert cat.upsert_many(ITEMS) == len(ITEMS)
    return cat


def ids(items: list[dict[str, Any]]) -> set[str]:
    return {i["id"] for i in items}


def search_all(store: SqliteCatalogue, **params: Any) -> list[dict[str, Any]]:
    page = store.search(build_query(limit=1000, **params))
    assert page.next_token is None and page.matched == len(page.items)
    return page.items


def extent(item: dict[str, Any]) -> tuple[int, int]:
    p = item["properties"]
    return parse_timestamp(p["start_datetime"]), parse_timestamp(p["end_datetime"])


def test_upsert_is_idempotent_and_rewrites(store: SqliteCatalogue) -> None:
    item = copy.deepcopy(ITEMS[1])
    store.upsert(item)
    assert store.count() == len(ITEMS)
    moved = copy.deepcopy(item)
    ring = [[-60.0, -10.0], [-59.0, -10.0], [-59.0, -9.0], [-60.0, -9.0], [-60.0, -10.0]]
    moved["geometry"] = {"type": "Polygon", "coordinates": [ring]}
    moved["bbox"] = [-60.0, -10.0, -59.0, -9.0]
    moved["properties"]["sar:instrument_mode"] = "WV"
    store.upsert(moved)  # a replayed product with new content rewrites its item
    assert store.count() == len(ITEMS)
    assert store.get(item["id"]) == moved
    assert ids(search_all(store, bbox=[-61, -11, -58, -8])) == {item["id"]}
    assert item["id"] not in ids(search_all(store, bbox=item["bbox"]))  # R*Tree updated
    filt = {"op": "=", "args": [{"property": "sar:instrument_mode"}, "WV"]}
    assert ids(search_all(store, filter=filt)) == {item["id"]}


def test_get_and_delete(store: SqliteCatalogue) -> None:
    item = ITEMS[3]
    assert store.get(item["id"], item["collection"]) == item
    with pytest.raises(ItemNotFoundError, match="in collection 'other'"):
        store.get(item["id"], "other")
    assert store.delete(item["id"]) and not store.delete(item["id"])
    with pytest.raises(ItemNotFoundError):
        store.get(item["id"])
    assert item["id"] not in ids(search_all(store, bbox=item["bbox"]))


@pytest.mark.parametrize(
    "bbox",
    [[9.0, 44.0, 10.0, 45.0], [8.0, 43.0, 12.5, 48.0], [10.5, 45.5, 10.6, 45.6],
     [179.2, 40.0, -179.6, 50.0], [0.0, 0.0, 1.0, 1.0], [10.0, 45.0, 10.0, 45.0]],
)  # fmt: skip
def test_bbox_search_equals_brute_force(store: SqliteCatalogue, bbox: list[float]) -> None:
    area = bbox_polygon(tuple(bbox))  # type: ignore[arg-type]
    expected = {i["id"] for i in ITEMS if shape(i["geometry"]).intersects(area)}
    assert ids(search_all(store, bbox=bbox)) == expected
    if bbox[2] < bbox[0]:
        assert expected  # the antimeridian case really finds items on both sides
        lons = [i["bbox"][0] for i in ITEMS if i["id"] in expected]
        assert min(lons) < 0 < max(lons)


def test_intersects_uses_exact_geometry(store: SqliteCatalogue) -> None:
    item = ITEMS[2]
    footprint = shape(item["geometry"])
    # a point inside the bbox but outside the slanted footprint: the R*Tree alone would match
    x0, y0, x1, y1 = footprint.bounds
    corner = box(x0, y1 - 0.01, x0 + 0.01, y1)
    assert not footprint.intersects(corner)
    got = ids(
        search_all(store, intersects={"type": "Point", "coordinates": [x0 + 0.005, y1 - 0.005]})
    )
    assert item["id"] not in got
    inside = footprint.representative_point()
    got = ids(search_all(store, intersects={"type": "Point", "coordinates": [inside.x, inside.y]}))
    assert item["id"] in got
    assert got == {i["id"] for i in ITEMS if shape(i["geometry"]).intersects(inside)}


def test_datetime_search_equals_brute_force(store: SqliteCatalogue) -> None:
    starts = sorted(extent(i)[0] for i in ITEMS)
    a, b = starts[20], starts[60]
    from streams.catalogue.queryables import format_timestamp as fmt

    cases = {
        f"{fmt(a)}/{fmt(b)}": (a, b),
        f"../{fmt(b)}": (None, b),
        f"{fmt(a)}/..": (a, None),
        fmt(a): (a, a),  # an instant: the items whose sensing interval holds it
    }
    for text, (lo, hi) in cases.items():
        expected = {
            i["id"] for i in ITEMS
            if (lo is None or extent(i)[1] >= lo) and (hi is None or extent(i)[0] <= hi)
        }  # fmt: skip
        assert ids(search_all(store, datetime=text)) == expected, text
    assert len(ids(search_all(store, datetime=fmt(a)))) >= 1


def test_ids_collections_and_combination(store: SqliteCatalogue) -> None:
    some = [ITEMS[i]["id"] for i in (1, 5, 9)]
    assert ids(search_all(store, ids=some)) == set(some)
    sm = {i["id"] for i in ITEMS if i["collection"] == "sentinel-1-sm-slc"}
    assert sm and ids(search_all(store, collections=["sentinel-1-sm-slc"])) == sm
    filt = {
        "op": "=",
        "args": [{"property": "sar:polarizations"}, {"property": "sar:polarizations"}],
    }
    both = ids(search_all(store, collections=["sentinel-1-sm-slc"], bbox=[8, 43, 12.5, 48],
                          filter=filt))  # fmt: skip
    assert both == {i["id"] for i in ITEMS if i["id"] in sm and i["bbox"][0] > 0
                    and "sar:polarizations" in i["properties"]}  # fmt: skip


def walk(store: SqliteCatalogue, limit: int, token: str | None = None, **params: Any) -> list[str]:
    out: list[str] = []
    while True:
        page = store.search(build_query(limit=limit, token=token, **params))
        out += [i["id"] for i in page.items]
        token = page.next_token
        if token is None:
            return out


def python_order(items: list[dict[str, Any]], name: str, desc: bool) -> list[str]:
    q = QUERYABLES[name]
    with_v = [i for i in items if q.value_of(i) is not None]
    nulls = [i for i in items if q.value_of(i) is None]
    with_v.sort(key=lambda i: i["id"])
    with_v.sort(key=lambda i: q.value_of(i), reverse=desc)
    nulls.sort(key=lambda i: i["id"])
    ordered = with_v + nulls if desc else nulls + with_v  # ASC nulls first, DESC nulls last
    return [i["id"] for i in ordered]


@pytest.mark.parametrize(
    ("sortby", "name", "desc"),
    [(None, "datetime", True), ("+sat:relative_orbit", "sat:relative_orbit", False),
     ("-sat:relative_orbit", "sat:relative_orbit", True),
     ("+eoport:latency", "eoport:latency", False), ("-eoport:swath", "eoport:swath", True)],
)  # fmt: skip
def test_paging_visits_every_item_once_in_order(
    store: SqliteCatalogue, sortby: str | None, name: str, desc: bool
) -> None:
    params = {"sortby": sortby} if sortby else {}
    visited = walk(store, 7, **params)
    assert len(visited) == len(ITEMS) == len(set(visited))
    if name != "datetime":  # ties broken by id in Python too
        assert visited == python_order(ITEMS, name, desc)
    else:
        assert visited == python_order(ITEMS, "datetime", True)


def test_paging_is_stable_under_inserts(store: SqliteCatalogue) -> None:
    first = store.search(build_query(limit=10))
    second = store.search(build_query(limit=10, token=first.next_token))
    cursor_dt = second.items[-1]["properties"]["datetime"]
    # new products arrive while the client pages: some newer (before the cursor), some older
    extra = make_items(30, seed=99)
    store.upsert_many(extra)
    assert second.next_token is not None
    rest = walk(store, 10, token=second.next_token)  # the client continues from its cursor
    seen = [i["id"] for i in first.items + second.items] + rest
    assert len(seen) == len(set(seen))  # nothing twice
    assert set(seen) >= ids(ITEMS)  # nothing that was there is skipped
    newer = {i["id"] for i in extra if i["properties"]["datetime"] > cursor_dt}
    older = {i["id"] for i in extra if i["properties"]["datetime"] < cursor_dt}
    assert newer and older
    assert not newer & set(seen) and older <= set(seen)  # inserted items: only after the cursor


def test_invalid_items_are_rejected_and_change_nothing(store: SqliteCatalogue) -> None:
    good = copy.deepcopy(ITEMS[4])
    good["id"] = "new-one"
    no_geom = copy.deepcopy(good)
    no_geom["geometry"] = None
    no_time = copy.deepcopy(good)
    for k in ("datetime", "start_datetime", "end_datetime"):
        no_time["properties"].pop(k)
    bad_time = copy.deepcopy(good)
    bad_time["properties"]["datetime"] = "noon"
    for bad, message in [(no_geom, "geometry"), (no_time, "neither datetime"),
                         (bad_time, "RFC 3339"), ({"id": 5}, "no string id"),
                         ({**good, "collection": None}, "no collection")]:  # fmt: skip
        with pytest.raises(InvalidItemError, match=message):
            store.upsert_many([good, bad])  # all or nothing
        assert store.count() == len(ITEMS)


def test_extent(store: SqliteCatalogue) -> None:
    coll = "sentinel-1-iw-slc-burst"
    mine = [i for i in ITEMS if i["collection"] == coll]
    e = store.extent(coll)
    assert e.count == len(mine)
    assert e.bbox == pytest.approx([min(i["bbox"][k] for i in mine) if k < 2 else
                                    max(i["bbox"][k] for i in mine) for k in range(4)])  # fmt: skip
    assert e.start == min(i["properties"]["start_datetime"] for i in mine)
    assert e.end == max(i["properties"]["end_datetime"] for i in mine)
    assert store.extent("sentinel-1-wv-slc").count == 0


def test_file_is_wal_and_reindexed_when_queryables_change(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    cat = SqliteCatalogue(path)
    cat.upsert_many(ITEMS[:10])
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.execute("UPDATE meta SET value = 'q_id' WHERE key = 'columns'")  # an older layout
    con.commit()
    con.close()
    again = SqliteCatalogue(path)  # rebuilds the typed columns from the stored items
    assert again.count() == 10
    filt = {
        "op": "=",
        "args": [{"property": "eoport:swath"}, ITEMS[0]["properties"]["eoport:swath"]],
    }
    expected = {i["id"] for i in ITEMS[:10] if i["properties"]["eoport:swath"] == filt["args"][1]}
    assert ids(search_all(again, filter=filt)) == expected


def test_open_catalogue(tmp_path: Path) -> None:
    cat = open_catalogue(f"sqlite:///{tmp_path}/a.sqlite")  # absolute: four slashes
    assert isinstance(cat, SqliteCatalogue) and cat.path == tmp_path / "a.sqlite"
    assert isinstance(open_catalogue(str(tmp_path / "b.sqlite")), SqliteCatalogue)
    with pytest.raises(ConfigurationError, match="cannot connect to the catalogue database"):
        open_catalogue("postgresql://eoport@127.0.0.1:1/eoport")
    with pytest.raises(ConfigurationError, match="unknown catalogue URL scheme"):
        open_catalogue("mongodb://x")


def test_open_postgis_catalogue(postgis_url: str) -> None:
    from streams.catalogue.postgis import PostgisCatalogue

    cat = open_catalogue(postgis_url)
    assert isinstance(cat, PostgisCatalogue) and cat.table == "stac_items"
    cat.upsert_many(ITEMS[:3])
    again = PostgisCatalogue(postgis_url)  # reopening keeps the items
    assert again.count() == 3 and again.get(ITEMS[0]["id"]) == ITEMS[0]


def test_index_product_stores_the_item_of_a_record(tmp_path: Path) -> None:
    cat = SqliteCatalogue(tmp_path / "c.sqlite")
    record = make_record(random.Random(4), 1)
    item = index_product(cat, record, checksum="1220" + "00" * 32)
    assert cat.get(record.product_id) == item
    assert item["assets"]["data"]["file:checksum"] == "1220" + "00" * 32
    index_product(cat, record)  # the replayed product rewrites its item
    assert cat.count() == 1 and "file:checksum" not in cat.get(record.product_id)["assets"]["data"]
