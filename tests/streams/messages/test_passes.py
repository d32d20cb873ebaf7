"""Pass accounting: the station's manifest against what came out of the chain."""

from __future__ import annotations

from typing import Any

import pytest

from sar.timeutil import gps_seconds_to_utc
from streams._infra.errors import SchemaError
from streams.ingest.manifest import pass_manifest
from streams.messages.passes import ManifestEntry, PassManifest, account_pass
from streams.messages.products import ProductRecord
from tests.streams.passdata import IW_RELATIVE_ORBIT, iw_pass, stripmap_pass, truth_bursts

RING = [[10.0, 45.0], [10.1, 45.0], [10.1, 45.1], [10.0, 45.1], [10.0, 45.0]]


def product(key: str, start: float, stop: float, complete: bool = True) -> ProductRecord:
    dt, swath, pol, number = key.split("/")
    return ProductRecord.model_validate({
        "burst_key": key, "processing_version": "t", "mode": swath[:2] if swath[:2] in
        ("IW", "EW") else "SM", "swath": swath, "polarisation": pol, "burst_id": int(number),
        "data_take_id": int(dt, 16), "footprint": {"type": "Polygon", "coordinates": [RING]},
        "sensing_start": gps_seconds_to_utc(start), "sensing_stop": gps_seconds_to_utc(stop),
        "url": "file:///p.h5", "size_bytes": 1,
        "quality": {"complete": 1.0 if complete else 0.0},
    })  # fmt: skip


def entry(key: str | None, start: float, stop: float, **over: Any) -> ManifestEntry:
    fields: dict[str, Any] = {
        "key": key, "data_take_id": 1, "swath": "IW1", "polarisation": "VV",
        "sensing_start_gps": start, "sensing_stop_gps": stop, "packets": 10,
    }  # fmt: skip
    return ManifestEntry.model_validate(fields | over)


def test_every_burst_is_accounted_for_and_missing_ones_are_named() -> None:
    keys = [f"000001/IW1/VV/{n}" for n in (10, 11, 12, 13)]
    manifest = PassManifest(
        channel_key="S/p/1", chunks=4, n_bytes=100,
        entries=[entry(k, 100.0 + i, 100.8 + i) for i, k in enumerate(keys)],
    )  # fmt: skip
    products = [product(keys[0], 100, 100.8), product(keys[1], 101, 101.8, complete=False)]
    products.append(product("000001/IW1/VV/99", 1, 2))  # not sent by this station
    report = account_pass(manifest, products + products[:1], failed_keys={keys[2]})
    assert report.expected == 4
    assert report.focused == sorted(keys[:2]) and report.incomplete == [keys[1]]
    assert report.failed == [keys[2]] and report.missing == [keys[3]]
    assert report.extra == ["000001/IW1/VV/99"]
    assert not report.complete


def test_stripmap_series_counts_when_products_cover_its_sensing_time() -> None:
    series = entry(None, 10.0, 20.0, swath="S3")
    manifest = PassManifest(channel_key="S/p/1", chunks=1, n_bytes=1, entries=[series])
    covered = [product("000001/S3/VV/0", 10.0, 15.5), product("000001/S3/VV/1", 15.0, 20.0)]
    assert account_pass(manifest, covered).complete
    holed = [covered[0], product("000001/S3/VV/2", 16.0, 20.0)]
    report = account_pass(manifest, holed)
    assert not report.complete and report.missing == ["000001/S3/VV@10.000-20.000"]


def test_manifest_of_an_iw_pass_names_the_bursts_as_the_simulator_planned() -> None:
    dt = iw_pass()
    manifest = pass_manifest(dt.data, "S/p/1", chunks=7, relative_orbit=IW_RELATIVE_ORBIT)
    truth = truth_bursts(dt)
    assert {e.key for e in manifest.entries} == set(truth)
    for e in manifest.entries:
        assert e.key is not None
        # packet datation has a 2^-16 s fine-time step (S1-IF-ASD-PL-0007 3.1.2)
        assert e.sensing_start_gps == pytest.approx(truth[e.key][2], abs=2e-5)
    assert manifest.chunks == 7 and manifest.n_bytes == len(dt.data)


def test_manifest_of_a_stripmap_pass_is_one_series_per_swath_and_polarisation() -> None:
    dt = stripmap_pass()
    manifest = pass_manifest(dt.data, "S/p/1", chunks=1)
    assert [(e.key, e.swath, e.polarisation) for e in manifest.entries] == [(None, "S6", "VV")]
    (e,) = manifest.entries
    assert 2.9 < e.sensing_stop_gps - e.sensing_start_gps < 3.1


def test_manifest_detail_round_trip_and_refusal() -> None:
    m = PassManifest(channel_key="S/p/1", chunks=0, n_bytes=0, entries=[entry("k", 1, 2)])
    assert PassManifest.from_detail(m.model_dump()) == m
    with pytest.raises(SchemaError, match="invalid pass manifest"):
        PassManifest.from_detail({"version": 2, "channel_key": "x"})
