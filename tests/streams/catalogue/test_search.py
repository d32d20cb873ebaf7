"""Search parameters: bbox, geometry, datetime, limit, sortby, paging tokens (400s)."""

from __future__ import annotations

from typing import Any

import pytest

from streams.catalogue.errors import CqlError, QueryError
from streams.catalogue.geometry import bbox_boxes, parse_bbox, parse_search_geometry
from streams.catalogue.queryables import parse_timestamp
from streams.catalogue.search import (
    DEFAULT_SORT,
    build_query,
    decode_token,
    encode_token,
    parse_interval,
    parse_limit,
    parse_sortby,
)

T = "2026-11-25T06:00:00Z"


def test_bbox_forms_and_antimeridian() -> None:
    assert parse_bbox("9, 44, 10.5, 45") == (9.0, 44.0, 10.5, 45.0)
    assert parse_bbox([9, 44, 0, 10.5, 45, 100]) == (9.0, 44.0, 10.5, 45.0)
    assert bbox_boxes((179.0, -1.0, -179.0, 1.0)) == [
        (179.0, -1.0, 180.0, 1.0), (-180.0, -1.0, -179.0, 1.0),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1,2,3", "4 or 6 numbers, got 3"),
        ("a,b,c,d", "comma-separated numbers"),
        ([0, 0, 1, True], "list of 4 or 6 numbers"),
        ([0, -91, 1, 1], "latitude -91 outside"),
        ([0, 2, 1, 1], "south 2 is north of its north 1"),
        ([0, 0, 181, 1], "longitude 181 outside"),
        ([0, 0, float("nan"), 1], "finite"),
    ],
)
def test_bad_bbox(value: Any, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_bbox(value)


def test_search_geometries() -> None:
    assert parse_search_geometry({"type": "Point", "coordinates": [10, 45]}).geom_type == "Point"
    gc = {"type": "GeometryCollection", "geometries": [
        {"type": "Point", "coordinates": [10, 45]},
        {"type": "LineString", "coordinates": [[10, 45], [11, 46]]},
    ]}  # fmt: skip
    assert parse_search_geometry(gc).geom_type == "GeometryCollection"
    with pytest.raises(QueryError, match="type must be one of"):
        parse_search_geometry({"type": "GeometryCollection", "geometries": [gc]})
    with pytest.raises(QueryError, match="at least 2 positions"):
        parse_search_geometry({"type": "LineString", "coordinates": [[10, 45]]})
    with pytest.raises(QueryError, match="self-intersection|not a valid Polygon"):
        parse_search_geometry(
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
        )
    with pytest.raises(QueryError, match="GeoJSON geometry object"):
        parse_search_geometry("POINT (10 45)")


def test_intervals() -> None:
    t = parse_timestamp(T)
    assert parse_interval(T) == (t, t)
    assert parse_interval(f"{T}/2026-11-26T00:00:00+01:00") == (t, t + 17 * 3600 * 10**6)
    assert parse_interval(f"../{T}") == (None, t) == parse_interval(f"/{T}")
    assert parse_interval(f"{T}/..") == (t, None) == parse_interval(f"{T}/")
    assert parse_timestamp("2026-11-25T06:00:00.1234567Z") == t + 123456  # truncated to µs


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("../..", "open at both ends"),
        (f"2026-11-26T00:00:00Z/{T}", "starts after it ends"),
        ("2026-11-25", "RFC 3339"),
        ("2026-11-25T06:00:00", "RFC 3339"),
        (f"{T}/{T}/{T}", "exactly one"),
        ("2026-13-25T06:00:00Z", "not a valid date-time"),
    ],
)
def test_bad_intervals(value: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_interval(value)


def test_limits() -> None:
    assert parse_limit("10") == 10 and parse_limit(1000) == 1000
    for bad in (0, "0", 1001, "abc", 1.5, True, None):
        with pytest.raises(QueryError, match="limit"):
            parse_limit(bad)


def test_sortby_forms() -> None:
    keys = parse_sortby("+datetime, -sat:relative_orbit")
    assert [(k.queryable.name, k.descending) for k in keys] == [
        ("datetime", False), ("sat:relative_orbit", True),
    ]  # fmt: skip
    post = parse_sortby([{"field": "properties.eoport:latency", "direction": "desc"}])
    assert post[0].queryable.name == "eoport:latency" and post[0].descending
    assert parse_sortby("") == DEFAULT_SORT
    for bad, message in [
        ("cloud_cover", "unknown queryable"),
        ("geometry", "cannot sort by 'geometry'"),
        ([{"field": "id", "direction": "up"}], "asc or desc"),
        ([{"name": "id"}], "sortby terms"),
        (5, "sortby must be"),
    ]:
        with pytest.raises(QueryError, match=message):
            parse_sortby(bad)


def test_tokens() -> None:
    sort = parse_sortby("-datetime")
    token = encode_token([1234, "S1L1-x"], sort)
    assert decode_token(token, sort) == [1234, "S1L1-x"]
    with pytest.raises(QueryError, match="another sortby"):
        decode_token(token, parse_sortby("+datetime"))
    for bad in ("", "!!!", "e30", encode_token(["x", "id"], sort), encode_token([1], sort)):
        with pytest.raises(QueryError, match="invalid paging token"):
            decode_token(bad, sort)
    with pytest.raises(QueryError, match="invalid paging token"):
        build_query(token="nonsense")


def test_build_query_checks_every_parameter() -> None:
    q = build_query(ids="a,b", collections=["c"], bbox="0,0,1,1", datetime=T, limit="5",
                    filter="sar:instrument_mode = 'IW'", sortby="+id")  # fmt: skip
    assert q.ids == ("a", "b") and q.collections == ("c",) and q.limit == 5
    assert q.filter is not None and q.sortby[0].queryable.name == "id"
    with pytest.raises(QueryError, match="bbox and intersects cannot"):
        build_query(bbox=[0, 0, 1, 1], intersects={"type": "Point", "coordinates": [0, 0]})
    with pytest.raises(QueryError, match="filter-lang must be"):
        build_query(filter={"op": "=", "args": [1, 1]}, filter_lang="sql")
    with pytest.raises(QueryError, match="needs the filter as text"):
        build_query(filter={"op": "=", "args": [1, 1]}, filter_lang="cql2-text")
    with pytest.raises(QueryError, match="not valid JSON"):
        build_query(filter="{oops", filter_lang="cql2-json")
    with pytest.raises(CqlError, match="unknown queryable 'foo'"):
        build_query(filter='{"op": "=", "args": [{"property": "foo"}, 1]}')
    with pytest.raises(QueryError, match="at most 1000 ids"):
        build_query(ids=[str(i) for i in range(1001)])
