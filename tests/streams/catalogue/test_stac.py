"""STAC Items of real focused bursts validate offline against STAC 1.1 core, the sar, sat,
processing, product, timestamps and file extensions and eoport's own schema; broken
items fail."""

from __future__ import annotations

import copy
import hashlib
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import h5py
import pystac
import pytest
from shapely.geometry import Point, shape

from sar.constants import RADAR_FREQUENCY, SPEED_OF_LIGHT
from streams.catalogue.collections import COLLECTIONS, collection_document, collection_id_for
from streams.catalogue.extension import eoport_extension_url, eoport_schema
from streams.catalogue.stac import (
    EXTENSION_SCHEMAS,
    link_item,
    multihash_sha256,
    product_to_stac_item,
    quicklook_url_for,
    stage_latencies,
)
from tests.streams.catalogue.realdata import TARGETS, RealProduct, real_products
from tests.streams.catalogue.stac_schemas import pystac_validator, validate_stac
from tests.streams.catalogue.synth import make_items, make_record

ROOT = "http://127.0.0.1:8000/stac"
EXTRA = {eoport_extension_url(ROOT): eoport_schema(eoport_extension_url(ROOT))}


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory) -> list[RealProduct]:
    return real_products(tmp_path_factory.mktemp("products"))


def test_items_of_real_bursts_validate(products: list[RealProduct]) -> None:
    assert [p.record.swath for p in products] == ["IW1", "IW2", "IW3"]
    for p in products:
        item = p.item(ROOT)
        assert validate_stac(item, EXTRA) == []
        # pystac, its schema cache pre-filled: no download
        checked = pystac.validation.validate_dict(item, validator=pystac_validator(EXTRA))
        assert set(checked) >= {*EXTENSION_SCHEMAS.values(), eoport_extension_url(ROOT)}
        # the storage form has no links: not a valid item until linked (collection link)
        assert any("collection" in e for e in validate_stac(p.item(), EXTRA))


def test_real_item_content(products: list[RealProduct]) -> None:
    for p in products:
        item, rec = p.item(), p.record
        props = item["properties"]
        assert item["collection"] == "sentinel-1-iw-slc-burst"
        assert item["geometry"] == rec.footprint
        assert item["bbox"] == pytest.approx(list(shape(rec.footprint).bounds))
        assert props["sar:instrument_mode"] == "IW" and props["sar:beam_ids"] == [rec.swath]
        assert props["sar:center_frequency"] == RADAR_FREQUENCY / 1e9 == 5.405
        assert rec.burst_label is not None
        assert props["sar:relative_burst"] == rec.burst_id == int(rec.burst_label.split("_")[1])
        assert props["eoport:burst_label"] == rec.burst_label
        assert props["sat:relative_orbit"] == 117 and props["sat:orbit_state"] == "ascending"
        assert props["product:type"] == "IW_SLC_BURST"
        assert props["processing:level"] == "L1" and props["published"].endswith("Z")
        # IW figures (docs/sentinel1-facts.md: about 2.7-3.5 m slant range x 22 m azimuth)
        assert 2.5 <= props["sar:resolution_range"] <= 3.6
        assert 19.0 <= props["sar:resolution_azimuth"] <= 24.0
        assert 12.0 <= props["sar:pixel_spacing_azimuth"] <= 16.0
        with h5py.File(rec.url, "r") as f:  # slant-range spacing c / (2 fs) of the product
            fs = float(f.attrs["range_sampling_rate"])
        assert props["sar:pixel_spacing_range"] == pytest.approx(SPEED_OF_LIGHT / 2 / fs, abs=1e-3)
        band = {"IW1": 56.5e6, "IW2": 48.3e6, "IW3": 42.8e6}[rec.swath]
        assert props["sar:bandwidth"] == pytest.approx(band / 1e9, rel=0.01)
        # latency breakdown: one entry per stage after sensing stop, adding up
        stages = props["eoport:stage_latency"]
        assert list(stages)[0] == "station_receive" and list(stages)[-1] == "product_written"
        assert sum(stages.values()) == pytest.approx(props["eoport:latency"]) == 4.4
        data, thumb = item["assets"]["data"], item["assets"]["thumbnail"]
        blob = Path(rec.url).read_bytes()
        assert data["file:size"] == len(blob) and data["type"] == "application/x-hdf5"
        assert data["file:checksum"] == "1220" + hashlib.sha256(blob).hexdigest()
        png = Path(thumb["href"]).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and thumb["file:size"] == len(png)
        assert thumb["roles"] == ["thumbnail", "overview"]
    # the targets lie in the footprints of the bursts that image them (IW2 holds both)
    iw2 = shape(products[1].record.footprint)
    assert all(iw2.contains(Point(t.lon, t.lat)) for t in TARGETS)


def _item() -> dict[str, Any]:
    return make_items(1)[0]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda i: i["properties"].update({"sar:swath": "IW1"}), "sar"),
        (lambda i: i["properties"].update({"sar:frequency_band": "C-band"}), "sar"),
        (lambda i: i["properties"].update({"sar:polarizations": ["VV", "VV"]}), "sar"),
        (lambda i: i["properties"].update({"sat:orbit_state": "north"}), "sat"),
        (lambda i: i["properties"].update({"product:timeliness": "1 minute"}), "product"),
        (lambda i: i["properties"].update({"processing:datetime": "yesterday"}), "processing"),
        (lambda i: i["properties"].update({"published": "2026-11-25 10:00"}), "timestamps"),
        (lambda i: i["assets"]["data"].update({"file:checksum": "sha256:XYZ"}), "file"),
        (lambda i: i["assets"]["data"].update({"file:size": -1}), "file"),
        (lambda i: i["properties"].pop("datetime"), "item-spec"),
        (lambda i: i.update({"bbox": [1.0, 2.0]}), "item-spec"),
        (lambda i: i["properties"].update({"eoport:latency": "fast"}), "eoport"),
        (lambda i: i["properties"]["eoport:timeline"].update({"Focus End": "x"}), "eoport"),
    ],
)
def test_broken_items_fail(edit: Any, message: str) -> None:
    item = link_item(_item(), ROOT)
    assert validate_stac(item, EXTRA) == []
    broken = copy.deepcopy(item)
    edit(broken)
    errors = validate_stac(broken, EXTRA)
    assert errors and any(message in e for e in errors), errors


def test_an_undeclared_extension_schema_fails_offline() -> None:
    item = link_item(_item(), ROOT)
    item["stac_extensions"].append("https://stac-extensions.github.io/eo/v2.0.0/schema.json")
    assert validate_stac(item, EXTRA) == [
        "https://stac-extensions.github.io/eo/v2.0.0/schema.json: schema not available offline"
    ]


def test_link_item_adds_api_links_and_eoport_schema() -> None:
    item = _item()
    linked = link_item(item, ROOT + "/")
    rels = {link["rel"]: link["href"] for link in linked["links"]}
    coll = f"{ROOT}/collections/{item['collection']}"
    assert rels == {"self": f"{coll}/items/{item['id']}", "parent": coll, "collection": coll,
                    "root": ROOT}  # fmt: skip
    assert linked["stac_extensions"][-1] == f"{ROOT}/extensions/eoport/v1.0.0/schema.json"
    assert item["links"] == [] and eoport_extension_url(ROOT) not in item["stac_extensions"]
    again = link_item(linked, "http://other/stac")  # re-linking replaces, never duplicates
    assert sum("/extensions/eoport/" in u for u in again["stac_extensions"]) == 1


def test_stage_latencies_follow_time_order() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    timeline = {
        "sensing_start": t - timedelta(seconds=3),
        "focus_end": t + timedelta(seconds=5),
        "focus_start": t + timedelta(seconds=2),
        "product_written": t + timedelta(seconds=5.5),
    }
    assert stage_latencies(timeline, t) == {
        "focus_start": 2.0, "focus_end": 3.0, "product_written": 0.5,
    }  # fmt: skip


def test_helpers() -> None:
    assert multihash_sha256(b"") == (
        "1220e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert quicklook_url_for("s3://b/products/S1L1-x.h5") == "s3://b/products/S1L1-x.png"
    assert collection_id_for("IW") == "sentinel-1-iw-slc-burst"
    assert collection_id_for("SM") == "sentinel-1-sm-slc"
    assert collection_id_for("IW", "GRD") == "sentinel-1-iw-grd"


def test_items_without_optional_inputs_validate() -> None:
    # no SAR figures, checksum or quick-look (what ProductRecord carries today)
    for item in make_items(25, seed=3):
        assert validate_stac(link_item(item, ROOT), EXTRA) == []
        assert "thumbnail" not in item["assets"] and "file:checksum" not in item["assets"]["data"]


def test_collections_validate() -> None:
    for info in COLLECTIONS.values():
        doc = collection_document(info, ROOT, bbox=(1.0, 2.0, 3.0, 4.0),
                                  interval=("2026-01-01T00:00:00Z", None))  # fmt: skip
        assert validate_stac(doc) == []
        assert validate_stac(collection_document(info, ROOT)) == []


def test_product_record_fields_the_item_reads_when_present() -> None:
    # once ProductRecord carries sar/checksum/quicklook fields, items pick them up
    record = make_record(random.Random(1), 0)

    class Extended:
        def __init__(self) -> None:
            self.checksum = multihash_sha256(b"x")
            self.quicklook_url = "s3://b/q.png"
            self.quicklook_size = 10
            self.sar = {  # as a record field would hold it: SarParameters.model_dump()
                "range_bandwidth_hz": 48.3e6, "azimuth_bandwidth_hz": 313.0,
                "resolution_range_m": 3.1, "resolution_azimuth_m": 21.6,
                "pixel_spacing_range_m": 2.33, "pixel_spacing_azimuth_m": 13.9,
            }  # fmt: skip

        def __getattr__(self, name: str) -> Any:
            return getattr(record, name)

    item = product_to_stac_item(Extended())  # type: ignore[arg-type]
    assert item["assets"]["data"]["file:checksum"] == multihash_sha256(b"x")
    assert item["assets"]["thumbnail"]["href"] == "s3://b/q.png"
    assert item["properties"]["sar:resolution_range"] == 3.1
    assert item["properties"]["sar:bandwidth"] == pytest.approx(0.0483)
    assert validate_stac(link_item(item, ROOT), EXTRA) == []
