"""Product records: ids, validation, JSON round trip, STAC Items."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from streams._infra.errors import SchemaError
from streams.messages.products import (
    InvalidGeometryError,
    ProductRecord,
    make_product_id,
    parse_geometry,
)

T0 = datetime(2026, 11, 25, 6, 0, 0, tzinfo=UTC)
SQUARE = [[10.0, 45.0], [11.0, 45.0], [11.0, 46.0], [10.0, 46.0], [10.0, 45.0]]


def make_product(**over: Any) -> ProductRecord:
    data: dict[str, Any] = {
        "burst_key": "123456/IW2/VV/249435",
        "processing_version": "0.1.0",
        "mode": "IW",
        "swath": "IW2",
        "polarisation": "VV",
        "burst_id": 249435,
        "data_take_id": 123456,
        "absolute_orbit": 61234,
        "relative_orbit": 117,
        "orbit_state": "descending",
        "footprint": {"type": "Polygon", "coordinates": [SQUARE]},
        "sensing_start": T0,
        "sensing_stop": T0 + timedelta(seconds=3.19),
        "url": "file:///data/products/p.h5",
        "size_bytes": 123_456_789,
        "quality": {"pslr_range_db": -21.4},
        "timeline": {
            "station_receive": T0 + timedelta(seconds=4.0),
            "focus_end": T0 + timedelta(seconds=9.5),
            "product_written": T0 + timedelta(seconds=10.0),
        },
    }
    data.update(over)
    return ProductRecord.model_validate(data)


def test_product_id_is_deterministic_and_versioned() -> None:
    a = make_product()
    b = make_product()
    assert a.product_id == b.product_id == make_product_id("123456/IW2/VV/249435", "0.1.0")
    assert a.product_id.startswith("S1L1-") and len(a.product_id) == 5 + 32
    assert make_product(processing_version="0.2.0").product_id != a.product_id
    assert make_product(burst_key="123456/IW2/VV/249436").product_id != a.product_id


def test_wrong_product_id_is_rejected() -> None:
    with pytest.raises(ValidationError, match="does not match burst_key"):
        make_product(product_id="S1L1-0000")


def test_json_round_trip_and_utc() -> None:
    cest = timezone(timedelta(hours=2))
    p = make_product(sensing_start=datetime(2026, 11, 25, 8, 0, 0, tzinfo=cest))
    assert p.sensing_start == T0 and p.sensing_start.utcoffset() == timedelta(0)
    data = p.to_bytes()
    assert b'"sensing_start":"2026-11-25T06:00:00Z"' in data
    back = ProductRecord.from_bytes(data)
    assert back == p
    assert back.timeline["product_written"] == T0 + timedelta(seconds=10)


def test_naive_datetimes_and_reversed_times_are_rejected() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        make_product(sensing_start=datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValidationError, match="sensing_stop is before sensing_start"):
        make_product(sensing_stop=T0 - timedelta(seconds=1))


def test_from_bytes_raises_schema_error() -> None:
    with pytest.raises(SchemaError, match="invalid product record"):
        ProductRecord.from_bytes(b'{"burst_key": 3}')
    with pytest.raises(SchemaError):
        ProductRecord.from_bytes(b"not json")


def test_unknown_attribute_values_are_rejected() -> None:
    with pytest.raises(ValidationError, match="swath 'IW4'"):
        make_product(swath="IW4")
    with pytest.raises(ValidationError, match="polarisation"):
        make_product(polarisation="XX")


def test_timeline_and_latency() -> None:
    p = make_product()
    assert p.latency_s("sensing_stop", "product_written") == pytest.approx(10.0 - 3.19, abs=1e-6)
    assert p.latency_s() is None
    q = p.with_timestamp("delivered", T0 + timedelta(seconds=12))
    assert q.latency_s() == pytest.approx(12.0 - 3.19, abs=1e-6)
    assert "delivered" not in p.timeline  # frozen: a copy was made
    with pytest.raises(SchemaError, match="timezone-aware"):
        p.with_timestamp("delivered", datetime(2026, 1, 1))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        ({"type": "Polygon", "coordinates": []}, "empty"),
        ({"type": "Polygon", "coordinates": [[]]}, "empty"),
        ({"type": "Polygon", "coordinates": [SQUARE[:-1]]}, "not closed"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}, "at least 4"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            "Self-intersection",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [200, 1], [0, 1], [0, 0]]]},
            "longitude 200 outside",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 95], [0, 95], [0, 0]]]},
            "latitude 95 outside",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [2, 0], [0, 0]]]},
            "zero area|Too few points",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[179, 0], [-179, 0], [-179, 1], [179, 1], [179, 0]]],
            },
            "antimeridian",
        ),
        ({"type": "Point", "coordinates": [0, 0]}, "type must be one of"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, "a"], [1, 1], [0, 0]]]}, "numbers"),
    ],
)
def test_parse_geometry_errors(geometry: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidGeometryError, match=message):
        parse_geometry(geometry, ("Polygon", "MultiPolygon"), "aoi")


def test_too_many_positions() -> None:
    ring = [[0.0, 0.0]] + [[1.0, i * 1e-6] for i in range(100_001)] + [[0.0, 0.0]]
    with pytest.raises(InvalidGeometryError, match="at most 100000"):
        parse_geometry({"type": "Polygon", "coordinates": [ring]})


def test_global_band_is_accepted() -> None:
    world = {
        "type": "Polygon",
        "coordinates": [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]],
    }
    assert parse_geometry(world).area == pytest.approx(360.0 * 180.0)


def test_parse_geometry_ok_with_hole() -> None:
    hole = [[10.2, 45.2], [10.4, 45.2], [10.4, 45.4], [10.2, 45.4], [10.2, 45.2]]
    shape = parse_geometry({"type": "Polygon", "coordinates": [SQUARE, hole]})
    assert shape.area == pytest.approx(1.0 - 0.04, abs=1e-12)


def test_footprint_must_be_polygon() -> None:
    multi = {"type": "MultiPolygon", "coordinates": [[SQUARE]]}
    with pytest.raises(ValidationError, match="footprint type must be one of Polygon"):
        make_product(footprint=multi)
