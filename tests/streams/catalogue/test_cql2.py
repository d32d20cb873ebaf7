"""CQL2-JSON: validation errors, evaluation on items (three-valued logic), and the SQL
translation agreeing with the Python evaluation on random filters and items."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.catalogue.cql2 import (
    SqliteCompiler,
    evaluate,
    like_glob,
    like_regex,
    parse_cql2_json,
    parse_cql2_text,
    properties_of,
)
from streams.catalogue.errors import CqlError
from streams.catalogue.queryables import QUERYABLES, Kind
from streams.catalogue.search import build_query
from streams.catalogue.store import SqliteCatalogue
from tests.streams.catalogue.synth import make_items

ITEMS = make_items(80, seed=11)
P = {"property": "sar:instrument_mode"}


def prop(name: str) -> dict[str, str]:
    return {"property": name}


def op(name: str, *args: Any) -> dict[str, Any]:
    return {"op": name, "args": list(args)}


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("filt", "message"),
    [
        (op("=", prop("cloud_cover"), 5), "unknown queryable 'cloud_cover'"),
        (op("==", P, "IW"), "unsupported operator '=='"),
        (op("=", P), "= takes 2 argument"),
        (op("and", op("=", P, "IW")), "and needs at least 2"),
        (op("=", P, 5), "cannot compare 'sar:instrument_mode' (string) with a number"),
        (op("<", prop("datetime"), "2026-01-01"), "cannot compare 'datetime' (timestamp)"),
        (op("<", prop("datetime"), {"timestamp": "2026-01-01"}), "RFC 3339"),
        (op("<", prop("datetime"), {"date": "2026-01-01"}), "dates cannot be compared"),
        (op("like", prop("sat:relative_orbit"), "1%"), "like: the first argument"),
        (op("like", P, 5), "pattern must be a string"),
        (op("in", P, []), "non-empty list"),
        (op("in", P, ["IW", 3]), "cannot compare"),
        (op("=", P, True), "boolean literals"),
        (op("=", op("casei", P), "iw"), "function 'casei' is not supported"),
        (op("a_contains", P, ["VV"]), "is not an array"),
        (op("s_intersects", prop("datetime"), {"bbox": [0, 0, 1, 1]}), "is not a geometry"),
        (op("t_after", P, {"timestamp": "2026-01-01T00:00:00Z"}), "is not a timestamp"),
        (op("s_intersects", prop("geometry"), {"bbox": [0, 2, 1, 1]}), "south"),
        (
            op(
                "s_intersects",
                prop("geometry"),
                {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            ),
            "not a valid Polygon",
        ),
        (
            op("s_intersects", prop("geometry"), {"type": "Point", "coordinates": [200, 0]}),
            "outside lon/lat range",
        ),
        (op("=", prop("geometry"), "x"), "geometries are compared with s_"),
        ({"op": "=", "args": [P, "IW"], "extra": 1}, "unexpected member"),
        ([1, 2], "expected a predicate"),
        (op("isNull", "IW"), "isNull takes one property"),
        (op("t_intersects", prop("datetime"), {"interval": ["2026-01-01"]}), "an interval is"),
    ],  # fmt: skip
)
def test_invalid_filters_are_rejected_with_a_clear_message(filt: Any, message: str) -> None:
    with pytest.raises(CqlError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_cql2_json(filt)


def test_filters_are_bounded() -> None:
    deep: Any = op("=", P, "IW")
    for _ in range(60):
        deep = op("not", deep)
    with pytest.raises(CqlError, match="nested deeper"):
        parse_cql2_json(deep)
    wide = op("or", *[op("=", P, "IW")] * 4000)
    with pytest.raises(CqlError, match="too large"):
        parse_cql2_json(wide)
    with pytest.raises(CqlError, match="at most 1000"):
        parse_cql2_json(op("in", P, ["IW"] * 1001))


# ---------------------------------------------------------------------------- evaluation


def item_with(**props: Any) -> dict[str, Any]:
    item = dict(ITEMS[1])
    item["properties"] = {**ITEMS[1]["properties"], **props}
    for k, v in props.items():
        if v is None:
            item["properties"].pop(k)
    return item


def test_evaluate_comparisons_and_nulls() -> None:
    item = item_with(**{"sar:instrument_mode": "IW", "sat:relative_orbit": 117,
                        "eoport:latency": None})  # fmt: skip
    assert evaluate(parse_cql2_json(op("=", P, "IW")), item)
    assert evaluate(parse_cql2_json(op(">=", prop("sat:relative_orbit"), 117.0)), item)
    assert evaluate(parse_cql2_json(op("<>", "EW", P)), item)  # literal on the left
    latency_low = op("<", prop("eoport:latency"), 10)
    # null: unknown, and so is its negation; only isNull sees it
    assert not evaluate(parse_cql2_json(latency_low), item)
    assert not evaluate(parse_cql2_json(op("not", latency_low)), item)
    assert evaluate(parse_cql2_json(op("isNull", prop("eoport:latency"))), item)
    assert evaluate(parse_cql2_json(op("or", latency_low, op("=", P, "IW"))), item)
    assert not evaluate(parse_cql2_json(op("and", latency_low, op("=", P, "IW"))), item)
    # between with a null: false when the other bound already fails
    assert evaluate(parse_cql2_json(op("between", prop("sat:relative_orbit"), 100, 120)), item)
    assert evaluate(parse_cql2_json(op("in", P, ["EW", "IW"])), item)
    assert evaluate(parse_cql2_json(True), item) and not evaluate(parse_cql2_json(False), item)


def test_evaluate_timestamps_spatial_temporal_arrays() -> None:
    item = ITEMS[1]  # near 45 N 10 E
    dt = item["properties"]["datetime"]
    start, end = item["properties"]["start_datetime"], item["properties"]["end_datetime"]
    assert evaluate(parse_cql2_json(op("=", prop("datetime"), {"timestamp": dt})), item)
    x0, y0, x1, y1 = item["bbox"]
    inside = {"type": "Point", "coordinates": [(x0 + x1) / 2, (y0 + y1) / 2]}
    assert evaluate(parse_cql2_json(op("s_intersects", prop("geometry"), inside)), item)
    far = {"bbox": [x1 + 1, y0, x1 + 2, y1]}
    assert evaluate(parse_cql2_json(op("s_disjoint", prop("geometry"), far)), item)
    around = {"bbox": [x0 - 1, y0 - 1, x1 + 1, y1 + 1]}
    assert evaluate(parse_cql2_json(op("s_within", prop("geometry"), around)), item)
    span = {"interval": [prop("start_datetime"), prop("end_datetime")]}
    assert evaluate(parse_cql2_json(op("t_contains", span, {"timestamp": dt})), item)
    assert evaluate(parse_cql2_json(op("t_during", {"timestamp": dt}, span)), item)
    assert evaluate(parse_cql2_json(op("t_starts", {"timestamp": start}, span)), item)
    assert not evaluate(parse_cql2_json(op("t_finishes", {"timestamp": start}, span)), item)
    assert evaluate(parse_cql2_json(op("t_equals", span, {"interval": [start, end]})), item)
    assert evaluate(parse_cql2_json(op("t_intersects", prop("datetime"),
                                       {"interval": ["..", end]})), item)  # fmt: skip
    day = dt[:10]
    assert evaluate(parse_cql2_json(op("t_intersects", prop("datetime"), {"date": day})), item)
    assert evaluate(parse_cql2_json(op("t_before", prop("datetime"), "2099-01-01")), item)
    pols = item["properties"]["sar:polarizations"]
    assert evaluate(parse_cql2_json(op("a_contains", prop("sar:polarizations"), pols)), item)
    assert evaluate(parse_cql2_json(op("a_overlaps", prop("sar:polarizations"),
                                       [*pols, "CH"])), item)  # fmt: skip
    assert not evaluate(parse_cql2_json(op("a_equals", prop("sar:polarizations"), [])), item)


@pytest.mark.parametrize(
    ("pattern", "value", "match"),
    [
        ("IW%", "IW1", True),
        ("iw%", "IW1", False),
        ("I_1", "IW1", True),
        ("I_", "IW1", False),
        ("100\\%", "100%", True),
        ("100\\%", "1000", False),
        ("a*b", "a*b", True),
        ("a*b", "axb", False),
        ("[x]%", "[x]yz", True),
        ("%", "", True),
        ("_", "", False),
        ("t117\\_%", "t117_249424_iw1", True),
        ("t117\\_%", "t1179", False),
    ],  # fmt: skip
)
def test_like_regex_and_glob_agree(pattern: str, value: str, match: bool) -> None:
    assert (like_regex(pattern).fullmatch(value) is not None) is match
    con = sqlite3.connect(":memory:")
    assert bool(con.execute("SELECT ? GLOB ?", (value, like_glob(pattern))).fetchone()[0]) is match


@given(st.text(alphabet="ab_%\\*?[]\n", max_size=6), st.text(alphabet="ab_%*?[]\n", max_size=6))
@settings(max_examples=300, deadline=None)
def test_like_regex_and_glob_agree_on_random_patterns(pattern: str, value: str) -> None:
    con = sqlite3.connect(":memory:")
    glob = bool(con.execute("SELECT ? GLOB ?", (value, like_glob(pattern))).fetchone()[0])
    assert (like_regex(pattern).fullmatch(value) is not None) == glob


def test_cql2_text_is_converted_to_the_same_filter() -> None:
    text = "sar:instrument_mode = 'IW' AND sat:relative_orbit >= 100"
    expected = parse_cql2_json(
        op("and", op("=", P, "IW"), op(">=", prop("sat:relative_orbit"), 100))
    )
    assert parse_cql2_text(text) == expected
    with pytest.raises(CqlError, match="invalid cql2-text"):
        parse_cql2_text("sar:instrument_mode = = 'IW'")
    with pytest.raises(CqlError, match="unknown queryable 'eo:cloud_cover'"):
        parse_cql2_text("eo:cloud_cover < 10")


def test_properties_of() -> None:
    filt = op("and", op("=", P, "IW"), op("s_intersects", prop("geometry"), {"bbox": [0, 0, 1, 1]}))
    assert properties_of(parse_cql2_json(filt)) == {"sar:instrument_mode", "geometry"}


# ---------------------------------------------------------------------------- SQL


def test_sql_has_placeholders_not_values() -> None:
    nasty = "x'); DROP TABLE items; --"
    sql, params = SqliteCompiler().compile(
        parse_cql2_json(op("or", op("=", P, nasty), op("like", P, nasty + "%")))
    )
    assert nasty not in sql and "DROP" not in sql
    assert sql == "((items.q_sar_instrument_mode = ?) OR (items.q_sar_instrument_mode GLOB ?))"
    assert params == [nasty, nasty + "*"]


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteCatalogue]:
    cat = SqliteCatalogue(Path(tmp_path_factory.mktemp("cql2")) / "items.sqlite")
    cat.upsert_many(ITEMS)
    yield cat


@pytest.fixture(scope="module")
def postgis_store(postgis_url: str) -> Iterator[Any]:
    from streams.catalogue.postgis import PostgisCatalogue

    cat = PostgisCatalogue(postgis_url, table="cql2_items")
    cat.upsert_many(ITEMS)
    yield cat


def _pool(name: str) -> list[Any]:
    q = QUERYABLES[name]
    return sorted({json_key(q.raw_of(i)) for i in ITEMS if q.raw_of(i) is not None}, key=str)


def json_key(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


SCALAR_NAMES = [q.name for q in QUERYABLES.values() if q.kind.scalar and _pool(q.name)]


def _literal(name: str, value: Any) -> Any:
    return {"timestamp": value} if QUERYABLES[name].kind is Kind.TIMESTAMP else value


@st.composite
def scalar_predicate(draw: st.DrawFn) -> Any:
    name = draw(st.sampled_from(SCALAR_NAMES))
    kind = QUERYABLES[name].kind
    pool = _pool(name)
    value = draw(st.sampled_from(pool))
    form = draw(st.sampled_from(["cmp", "cmp_rev", "between", "in", "isNull", "like"]))
    if form == "cmp":
        return op(draw(st.sampled_from(["=", "<>", "<", "<=", ">", ">="])), prop(name),
                  _literal(name, value))  # fmt: skip
    if form == "cmp_rev":
        return op(draw(st.sampled_from(["=", "<", ">="])), _literal(name, value), prop(name))
    if form == "between":
        other = draw(st.sampled_from(pool))
        lo, hi = sorted([value, other]) if draw(st.booleans()) else (value, other)
        return op("between", prop(name), _literal(name, lo), _literal(name, hi))
    if form == "in":
        values = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
        return op("in", prop(name), [_literal(name, v) for v in values])
    if form == "like" and kind is Kind.STRING:
        text = str(value)
        cut = draw(st.integers(0, len(text)))
        patterns = [text[:cut] + "%", "%" + text[cut:], text[:cut] + "_" * (len(text) - cut)]
        return op("like", prop(name), draw(st.sampled_from(patterns)))
    return op("isNull", prop(name))


@st.composite
def other_predicate(draw: st.DrawFn) -> Any:
    form = draw(st.sampled_from(["spatial", "temporal", "array", "isnull_array"]))
    if form == "spatial":
        x0 = draw(st.floats(7.5, 12.5))
        y0 = draw(st.floats(42.5, 47.5))
        w, h = draw(st.floats(0.01, 2.0)), draw(st.floats(0.01, 2.0))
        literal = draw(st.sampled_from([
            {"bbox": [x0, y0, x0 + w, y0 + h]},
            {"type": "Point", "coordinates": [x0, y0]},
            {"type": "LineString", "coordinates": [[x0, y0], [x0 + w, y0 + h]]},
        ]))  # fmt: skip
        spatial = ["s_intersects", "s_disjoint", "s_within", "s_contains", "s_overlaps"]
        return op(draw(st.sampled_from(spatial)), prop("geometry"), literal)
    if form == "temporal":
        pool = _pool("datetime") + _pool("start_datetime")
        a, b = sorted(draw(st.lists(st.sampled_from(pool), min_size=2, max_size=2)))
        rights = [{"timestamp": a}, {"interval": [a, b]}, {"interval": ["..", b]},
                  {"interval": [a, ".."]}]  # fmt: skip
        right = draw(st.sampled_from(rights))
        span = {"interval": [prop("start_datetime"), prop("end_datetime")]}
        left = draw(st.sampled_from([prop("datetime"), span]))
        ops = ["t_after", "t_before", "t_contains", "t_disjoint", "t_during", "t_equals",
               "t_finishedBy", "t_finishes", "t_intersects", "t_meets", "t_metBy",
               "t_overlappedBy", "t_overlaps", "t_startedBy", "t_starts"]  # fmt: skip
        return op(draw(st.sampled_from(ops)), left, right)
    if form == "array":
        values = draw(st.lists(st.sampled_from(["VV", "VH", "HH", "HV", "IW1", "S3"]), max_size=3))
        name = draw(st.sampled_from(["sar:polarizations", "sar:beam_ids"]))
        return op(draw(st.sampled_from(["a_equals", "a_contains", "a_containedBy", "a_overlaps"])),
                  prop(name), values)  # fmt: skip
    return op("isNull", prop("sar:beam_ids"))


predicates = st.one_of(scalar_predicate(), other_predicate())
filters = st.recursive(
    predicates,
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda a: op("and", *a)),
        st.lists(children, min_size=2, max_size=3).map(lambda a: op("or", *a)),
        children.map(lambda c: op("not", c)),
    ),
    max_leaves=6,
)


def _same_as_python(store: Any, filt: Any) -> None:
    expr = parse_cql2_json(filt)
    expected = {i["id"] for i in ITEMS if evaluate(expr, i)}
    page = store.search(build_query(filter=filt, limit=1000))
    assert {i["id"] for i in page.items} == expected
    assert page.matched == len(expected)


@given(filters)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_sqlite_search_equals_python_evaluation(sqlite_store: SqliteCatalogue, filt: Any) -> None:
    _same_as_python(sqlite_store, filt)


@given(filters)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_postgis_search_equals_python_evaluation(postgis_store: Any, filt: Any) -> None:
    _same_as_python(postgis_store, filt)
