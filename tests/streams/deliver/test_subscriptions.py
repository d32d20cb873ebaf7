"""Subscriptions: validation, filters, durable store, spatial matching, should_focus."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from shapely.geometry import box

from streams.deliver.policy import LimitExceededError, SubscriptionLimits
from streams.deliver.subscriptions import (
    LiveSubscriptionIndex,
    ProductFilter,
    SqliteSubscriptionStore,
    Subscription,
    SubscriptionIndex,
    SubscriptionNotFoundError,
    SubscriptionSpec,
    SubscriptionStatus,
    new_subscription,
    parse_filter,
    should_focus,
)
from streams.messages.products import ProductAttributes

T0 = datetime(2026, 11, 25, 6, 0, 0, tzinfo=UTC)
IW2_VV = ProductAttributes(mode="IW", swath="IW2", polarisation="VV")


def rect(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


def polygon(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [rect(x0, y0, x1, y1)]}


def spec(aoi: dict[str, Any], **over: Any) -> SubscriptionSpec:
    data: dict[str, Any] = {"aoi": aoi, "target": {"kind": "queue"}}
    data.update(over)
    return SubscriptionSpec.model_validate(data)


def sub(aoi: dict[str, Any], **over: Any) -> Subscription:
    return new_subscription(spec(aoi, **over), clock=lambda: T0)


# ---------------------------------------------------------------- validation


def test_new_subscription_fields() -> None:
    s = sub(polygon(10, 45, 11, 46), name="lake")
    assert s.created == T0
    assert len(s.id) == 36
    assert s.status is SubscriptionStatus.ACTIVE
    assert s.filters == ProductFilter()
    assert s.target.kind == "queue"


@pytest.mark.parametrize(
    ("aoi", "message"),
    [
        ({"type": "Polygon", "coordinates": []}, "aoi polygon is empty"),
        ({"type": "Polygon", "coordinates": [rect(0, 0, 1, 1)[:-1]]}, "not closed"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            "Self-intersection",
        ),
        (polygon(0, 0, 181, 1), "longitude 181 outside"),
        (polygon(0, -91, 1, 1), "latitude -91 outside"),
        ({"type": "MultiPolygon", "coordinates": []}, "multipolygon is empty"),
        (
            {"type": "MultiPolygon", "coordinates": [[rect(0, 0, 2, 2)], [rect(1, 1, 3, 3)]]},
            "not a valid MultiPolygon",
        ),
        ({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "type must be one of"),
    ],
)
def test_bad_aoi_is_rejected_with_reason(aoi: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        spec(aoi)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"kind": "webhook", "url": "ftp://example.org/x"}, "http:// or https://"),
        ({"kind": "webhook", "url": "https://example.org", "username": "u"}, "both username"),
        ({"kind": "objectstore", "prefix": "gs://bucket/x"}, "file:// or s3://"),
        ({"kind": "objectstore", "prefix": "file://relative/x"}, "absolute path"),
        ({"kind": "objectstore", "prefix": "s3:///x"}, "needs a bucket"),
        ({"kind": "carrier-pigeon"}, "kind"),
    ],
)
def test_bad_target_is_rejected(target: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        spec(polygon(0, 0, 1, 1), target=target)


def test_filters_normalised_and_validated() -> None:
    f = ProductFilter(modes=["iw"], polarisations=["VH", "VV", "VV"])
    assert f.modes == ["IW"] and f.polarisations == ["VH", "VV"]
    with pytest.raises(ValidationError, match="unknown swath"):
        ProductFilter(swaths=["IW7"])


def test_odata_like_filter() -> None:
    f = parse_filter("Mode eq 'IW' and Polarisation in ('VV', 'VH') and ProductType eq 'SLC'")
    assert f == ProductFilter(modes=["IW"], polarisations=["VH", "VV"], product_types=["SLC"])
    with pytest.raises(ValueError, match="not understood"):
        parse_filter("Mode ne 'IW'")
    with pytest.raises(ValueError, match="unknown"):
        parse_filter("Colour eq 'red'")
    s = spec(polygon(0, 0, 1, 1), filter="Swath eq 'IW1'")
    assert s.filters.swaths == ["IW1"]
    with pytest.raises(ValidationError, match="both in filters and in filter"):
        spec(polygon(0, 0, 1, 1), filter="Swath eq 'IW1'", filters={"swaths": ["IW2"]})


def test_webhook_password_masked_in_public_form_kept_in_storage() -> None:
    s = sub(
        polygon(0, 0, 1, 1),
        target={"kind": "webhook", "url": "https://x.org/h", "username": "u", "password": "pw"},
    )
    assert s.public_dict()["target"]["password"] == "**********"
    stored = json.loads(s.storage_json())
    assert stored["target"]["password"] == "pw"
    assert Subscription.model_validate_json(s.storage_json()) == s


# ---------------------------------------------------------------- store


def test_store_is_durable_and_counts_revisions(tmp_path: Path) -> None:
    path = tmp_path / "state" / "subs.sqlite"
    store = SqliteSubscriptionStore(path)
    assert store.all() == [] and store.revision() == 0
    a = sub(polygon(0, 0, 1, 1), name="a")
    b = sub(polygon(5, 5, 6, 6), name="b")
    store.add(a)
    store.add(b)
    assert store.revision() == 2
    reopened = SqliteSubscriptionStore(path)
    assert {s.id for s in reopened.all()} == {a.id, b.id}
    assert reopened.get(a.id) == a
    reopened.delete(a.id)
    assert store.revision() == 3
    assert [s.id for s in store.all()] == [b.id]
    with pytest.raises(SubscriptionNotFoundError, match="no subscription"):
        store.get(a.id)
    with pytest.raises(SubscriptionNotFoundError):
        store.delete(a.id)
    assert store.revision() == 3  # failed delete rolled back


def test_store_enforces_running_and_total_limits_per_owner(tmp_path: Path) -> None:
    store = SqliteSubscriptionStore(tmp_path / "subs.sqlite")
    limits = SubscriptionLimits(max_running=1, max_total=3)

    def owned(owner: str, **over: Any) -> Subscription:
        return new_subscription(spec(polygon(0, 0, 1, 1), **over), lambda: T0, owner=owner)

    first = owned("alice")
    store.add(first, limits=limits)
    store.add(first, limits=limits)  # replacing itself does not count against the limit
    with pytest.raises(LimitExceededError, match="at most 1 running subscription"):
        store.add(owned("alice"), limits=limits)
    store.add(owned("bob"), limits=limits)  # limits are per owner
    store.add(owned("alice", status="paused"), limits=limits)
    store.add(owned("alice", status="paused"), limits=limits)
    with pytest.raises(LimitExceededError, match="at most 3 subscriptions"):
        store.add(owned("alice", status="paused"), limits=limits)
    # cancelled ones count against neither limit
    store.add(first.model_copy(update={"status": SubscriptionStatus.CANCELLED}), limits=limits)
    store.add(owned("alice"), limits=limits)
    assert sum(s.owner == "alice" for s in store.all()) == 4


# ---------------------------------------------------------------- matching


def test_index_inside_outside_straddling() -> None:
    aoi = sub(polygon(10, 45, 11, 46))
    index = SubscriptionIndex([aoi])
    assert index.match(box(10.2, 45.2, 10.4, 45.4), IW2_VV) == [aoi]  # inside
    assert index.match(box(10.8, 45.8, 11.5, 46.5), IW2_VV) == [aoi]  # straddling
    assert index.match(box(9.0, 44.0, 12.0, 47.0), IW2_VV) == [aoi]  # containing the AOI
    assert index.match(box(12.0, 45.0, 13.0, 46.0), IW2_VV) == []  # outside
    assert index.match(box(11.0, 45.0, 12.0, 46.0), IW2_VV) == []  # shares an edge only
    assert index.match(polygon(10.5, 45.5, 10.6, 45.6), IW2_VV) == [aoi]  # GeoJSON input


def test_index_multipolygon_and_hole() -> None:
    multi = sub(
        {
            "type": "MultiPolygon",
            "coordinates": [
                [rect(0, 0, 1, 1)],
                [rect(20, 20, 22, 22), rect(20.5, 20.5, 21.5, 21.5)],
            ],
        }
    )
    index = SubscriptionIndex([multi])
    assert index.match(box(0.4, 0.4, 0.6, 0.6), IW2_VV) == [multi]
    assert index.match(box(20.1, 20.1, 20.3, 20.3), IW2_VV) == [multi]
    assert index.match(box(5, 5, 6, 6), IW2_VV) == []  # between the parts
    assert index.match(box(20.8, 20.8, 21.2, 21.2), IW2_VV) == []  # inside the hole


def test_index_filters_and_paused() -> None:
    everything = sub(polygon(-10, -10, 10, 10))
    vh_only = sub(polygon(-10, -10, 10, 10), filters={"polarisations": ["VH"]})
    iw1_only = sub(polygon(-10, -10, 10, 10), filter="Swath eq 'IW1'")
    paused = sub(polygon(-10, -10, 10, 10), status="paused")
    index = SubscriptionIndex([everything, vh_only, iw1_only, paused])
    assert len(index) == 3
    fp = box(0, 0, 1, 1)
    assert index.match(fp, IW2_VV) == [everything]
    vh_iw1 = ProductAttributes(mode="IW", swath="IW1", polarisation="VH")
    assert {s.id for s in index.match(fp, vh_iw1)} == {everything.id, vh_only.id, iw1_only.id}


def test_live_index_follows_store_and_should_focus(tmp_path: Path) -> None:
    store = SqliteSubscriptionStore(tmp_path / "subs.sqlite")
    live = LiveSubscriptionIndex(store)
    burst = polygon(10.2, 45.2, 10.4, 45.4)
    attrs = {"mode": "IW", "swath": "IW2", "polarisation": "VV"}
    assert should_focus(live, burst, attrs) is False
    s = sub(polygon(10, 45, 11, 46), filters={"modes": ["IW"]})
    store.add(s)
    assert should_focus(live, burst, attrs) is True
    assert should_focus(live, burst, {**attrs, "mode": "EW", "swath": "EW1"}) is False
    assert should_focus(live, polygon(30, 30, 31, 31), attrs) is False
    store.delete(s.id)
    assert should_focus(live, burst, attrs) is False


def test_index_many_subscriptions_matches_exactly() -> None:
    # a 20 x 20 grid of 1-degree AOIs; a 2.5 x 1.5 degree footprint overlaps 3 x 2 cells
    subs = [sub(polygon(x, y, x + 1, y + 1)) for x in range(20) for y in range(20)]
    index = SubscriptionIndex(subs)
    hits = index.match(box(3.25, 7.25, 5.75, 8.75), IW2_VV)
    cells = sorted((int(s.shape.bounds[0]), int(s.shape.bounds[1])) for s in hits)
    assert cells == [(3, 7), (3, 8), (4, 7), (4, 8), (5, 7), (5, 8)]


# ---------------------------------------------------------------- CQL2 filters, owners, paging


def product(pol: str = "VV", swath: str = "IW2", x0: float = 10.2) -> Any:
    from streams.messages.products import ProductRecord

    return ProductRecord.model_validate(
        {
            "burst_key": f"1/{swath}/{pol}/5", "processing_version": "0.1.0", "mode": "IW",
            "swath": swath, "polarisation": pol, "burst_id": 5, "data_take_id": 1,
            "footprint": polygon(x0, 45.2, x0 + 0.2, 45.4), "relative_orbit": 117,
            "sensing_start": "2026-11-25T05:59:57Z", "sensing_stop": "2026-11-25T05:59:59Z",
            "url": "file:///x/p.h5", "size_bytes": 1,
        }
    )  # fmt: skip


def test_cql2_filter_evaluated_on_the_stac_item() -> None:
    vh_track = {
        "op": "and",
        "args": [
            {"op": "a_contains", "args": [{"property": "sar:polarizations"}, ["VH"]]},
            {"op": "=", "args": [{"property": "sat:relative_orbit"}, 117]},
        ],
    }
    s = sub(polygon(10, 45, 11, 46), filter=vh_track)
    assert s.filter == vh_track and s.cql2 is not None
    index = SubscriptionIndex([s])
    assert index.match_product(product("VH")) == [s]
    assert index.match_product(product("VV")) == []
    assert index.match_product(product("VH", x0=20.0)) == []  # the AOI still applies
    # without an item to evaluate, a CQL2 subscription matches nothing
    assert index.match(product("VH").shape, product("VH").attributes) == []
    assert index.should_focus(product("VH").shape, product("VH").attributes)  # conservative
    again = Subscription.model_validate_json(s.storage_json())
    assert again.filter == vh_track and again.cql2 is not None
    with pytest.raises(ValidationError, match="eoport:colour"):
        spec(polygon(0, 0, 1, 1), filter={"op": "=", "args": [{"property": "eoport:colour"}, 1]})
    with pytest.raises(ValidationError, match="filter"):
        spec(polygon(0, 0, 1, 1), filter={"op": "frobnicate", "args": []})


def test_total_positions_bounded_before_geometry() -> None:
    from streams.deliver.models import count_positions

    ring = rect(0, 0, 1, 1)
    assert count_positions([[ring], [ring]]) == 10
    with pytest.raises(ValueError, match="more than 8 positions"):
        count_positions([[ring], [ring]], limit=8)


def test_url_credentials_moved_out_of_the_url() -> None:
    s = sub(polygon(0, 0, 1, 1), target={"kind": "webhook", "url": "https://a%40b:p%3Aw@x.org:8443/h"})
    assert s.target.url == "https://x.org:8443/h"  # type: ignore[union-attr]
    assert s.target.username == "a@b"  # type: ignore[union-attr]
    assert s.target.password.get_secret_value() == "p:w"  # type: ignore[union-attr]
    assert "p:w" not in json.dumps(s.public_dict())


def test_store_pages_by_owner(tmp_path: Path) -> None:
    store = SqliteSubscriptionStore(tmp_path / "subs.sqlite")
    mine = []
    for i in range(5):
        s = new_subscription(spec(polygon(0, 0, 1, 1)), clock=lambda: T0, owner="me")
        store.add(s)
        mine.append(s.id)
        store.add(new_subscription(spec(polygon(0, 0, 1, 1)), clock=lambda: T0, owner=f"o{i}"))
    page, token = store.page("me", 2)
    seen = [s.id for s in page]
    while token is not None:
        page, token = store.page("me", 2, token)
        seen += [s.id for s in page]
    assert sorted(seen) == sorted(mine) and len(seen) == 5
    assert len(store.page(None, 100)[0]) == 10
    assert store.count_for_owner("me") == {"active": 5}
