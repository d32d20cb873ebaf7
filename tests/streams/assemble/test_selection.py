"""Early data selection: predicted footprints against the processor's, the decision, and a
pass over two AOIs with one subscribed (only its bursts focused; a skipped one focused
later on request is identical to the stream's product)."""

from __future__ import annotations

import io
import math
import time
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import h5py
import httpx
import numpy as np
import pytest
from prometheus_client import REGISTRY
from shapely import affinity
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from eoport.cli import main
from eoport.pipeline import DEMO_TARGETS, LocalPipeline, aoi_box, simulate_pass
from sar.process import ORBIT_MARGIN, focus_packets
from sar.product.geogrid import footprint_geojson
from streams._infra.broker import LocalBroker
from streams._infra.objectstore import ObjectStore
from streams.assemble.channel import ChannelAssembler, Context
from streams.assemble.open_bursts import BurstOutput
from streams.assemble.reassembly import Segment
from streams.assemble.selection import (
    BurstSelector,
    first_echo_header,
    load_job,
    predict_footprint,
)
from streams.deliver.subscriptions import SubscriptionIndex, SubscriptionSpec, new_subscription
from streams.messages.jobs import JobRecord

CHANNEL = "LOCAL/pass-1/1"


@lru_cache(maxsize=1)
def demo_bursts() -> tuple[bytes, list[BurstOutput]]:
    """The demo IW pass (one cycle: IW1, IW2, IW3) assembled without a broker."""
    datatake = simulate_pass("IW", 3.0)
    asm = ChannelAssembler(CHANNEL, relative_orbit=117)
    outs, _ = asm.feed(Segment(0, datatake.data, 0, 0), Context(0.0))
    outs += asm.finish(Context(1.0))[0]
    return datatake.data, outs


def job_of(out: BurstOutput) -> JobRecord:
    job = out.job("file:///raw.dat", datetime.now(UTC))
    fp = predict_footprint(job, first_echo_header(out.burst.packets[0]))
    return job.model_copy(update={"footprint": fp})


def km(g: BaseGeometry, lat: float) -> BaseGeometry:
    return affinity.scale(g, xfact=111.32 * math.cos(math.radians(lat)), yfact=111.32,
                          origin=(0, 0))  # fmt: skip


def test_predicted_footprints_match_the_products_within_a_kilometre() -> None:
    from sar.l0.packets import decode_packets

    _, outs = demo_bursts()
    assert sorted(o.identity.swath for o in outs) == ["IW1", "IW2", "IW3"]
    for out in outs:
        job = job_of(out)
        packets = decode_packets(b"".join(out.burst.packets), strict=False)
        (product,) = focus_packets(packets, orbit=job.orbit(ORBIT_MARGIN), relative_orbit=117)
        real = shape(footprint_geojson(product.slc))
        pred = shape(job.footprint)
        lat = real.centroid.y
        distance = km(real, lat).hausdorff_distance(km(pred, lat))
        assert distance < 1.0, (job.swath, distance)  # measured 0.2-0.3 km
        assert pred.intersection(real).area / real.area > 0.95


def subscription(aoi: dict[str, Any], **over: Any) -> Any:
    spec = SubscriptionSpec.model_validate({"aoi": aoi, "target": {"kind": "queue"}, **over})
    return new_subscription(spec, owner="u")


def test_selector_decisions() -> None:
    _, outs = demo_bursts()
    jobs = {o.identity.swath: job_of(o) for o in outs}
    a = DEMO_TARGETS[0]
    near_a = aoi_box(a.lat, a.lon)  # inside the IW2 burst only
    subs = [subscription(near_a, name="a")]
    selector = BurstSelector(SubscriptionIndex(subs), margin_m=3000.0)
    decisions = {sw: selector.decide(job) for sw, job in jobs.items()}
    assert decisions["IW2"].focus and decisions["IW2"].priority == 0
    assert decisions["IW2"].subscriptions == (subs[0].id,)
    assert not decisions["IW1"].focus and not decisions["IW3"].focus
    assert decisions["IW1"].priority == 2
    # attribute filters and CQL2 on properties known before focusing
    vh_only = subscription(near_a, filters={"polarisations": ["VH"]})
    cql_vh = subscription(near_a, filter={"op": "a_contains",
                                          "args": [{"property": "sar:polarizations"}, ["VH"]]})
    cql_iw2 = subscription(near_a, filter={"op": "=", "args": [{"property": "eoport:swath"},
                                                                "IW2"]})  # fmt: skip
    for sub, focus in ((vh_only, False), (cql_vh, False), (cql_iw2, True)):
        assert BurstSelector(SubscriptionIndex([sub])).decide(jobs["IW2"]).focus is focus
    # a CQL2 filter on what only the product knows counts as a possible match
    latency = subscription(near_a, filter={"op": "<", "args": [{"property": "eoport:latency"},
                                                               1.0]})  # fmt: skip
    assert BurstSelector(SubscriptionIndex([latency])).decide(jobs["IW2"]).focus
    # paused subscriptions do not select; systematic areas do, after subscriptions
    paused = subscription(near_a, status="paused")
    assert not BurstSelector(SubscriptionIndex([paused])).decide(jobs["IW2"]).focus
    iw3 = shape(jobs["IW3"].footprint).centroid
    systematic = [aoi_box(iw3.y, iw3.x, 0.01)]
    both = BurstSelector(SubscriptionIndex(subs), systematic)
    assert both.decide(jobs["IW3"]).priority == 1 and both.decide(jobs["IW3"]).focus
    # the margin covers the prediction error: an AOI 1 km beyond the predicted edge
    east = max(x for x, _ in jobs["IW2"].footprint["coordinates"][0])  # type: ignore[index]
    beyond = aoi_box(a.lat, east + 0.0127 + 0.002, 0.002)  # ~1 km east of the edge
    index = SubscriptionIndex([subscription(beyond)])
    assert BurstSelector(index, margin_m=3000.0).decide(jobs["IW2"]).focus
    assert not BurstSelector(index, margin_m=0.0).decide(jobs["IW2"]).focus
    no_fp = jobs["IW1"].model_copy(update={"footprint": None})
    assert BurstSelector(SubscriptionIndex([])).decide(no_fp).focus  # never skip blind


def counter(decision: str) -> float:
    value = REGISTRY.get_sample_value("eoport_burst_selection_total", {"decision": decision})
    return value or 0.0


def product_bytes(url: str) -> bytes:
    return ObjectStore(url.rsplit("/", 1)[0]).get_bytes(url)


TIMESTAMP_ATTRS = frozenset({"created", "processing_time", "generated"})


def hdf5_content(data: bytes) -> dict[str, Any]:
    """Every dataset (bytes) and attribute of an HDF5 product, keyed by path."""
    out: dict[str, Any] = {}
    with h5py.File(io.BytesIO(data), "r") as f:

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                value = np.asarray(obj[()])
                out[name] = value.tolist() if value.dtype.kind in "OSU" else value.tobytes()
            for k, v in obj.attrs.items():
                arr = np.asarray(v)  # numbers compared by their bits (NaN equals NaN)
                out[f"{name}@{k}"] = arr.tolist() if arr.dtype.kind in "OSU" else arr.tobytes()

        visit("/", f)
        f.visititems(visit)
    return out


def assert_same_product(a: bytes, b: bytes) -> None:
    ca, cb = hdf5_content(a), hdf5_content(b)
    assert set(ca) == set(cb)
    different = {k for k in ca if not (ca[k] == cb[k])}
    assert {k.rsplit("@", 1)[-1] for k in different} <= TIMESTAMP_ATTRS, sorted(different)
    assert ca["image"] == cb["image"]  # bit-exact image


@pytest.mark.broker
def test_pass_over_two_aois_focuses_only_the_subscribed_one(
    tansu_broker_fn: LocalBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, outs = demo_bursts()  # simulate before the pipeline's clock starts
    keys = {o.identity.swath: o.key for o in outs}
    skipped_before = counter("skipped")
    a = DEMO_TARGETS[0]
    with LocalPipeline(
        tmp_path, broker=tansu_broker_fn, session_timeout_ms=3000, focus_selection="subscriptions"
    ) as pipe:
        subscribed = pipe.subscribe({"name": "a", "aoi": aoi_box(a.lat, a.lon),
                                     "target": {"kind": "queue"}})  # fmt: skip
        iw3 = shape(job_of(next(o for o in outs if o.identity.swath == "IW3")).footprint)
        pipe.subscribe({"name": "b", "aoi": aoi_box(iw3.centroid.y, iw3.centroid.x),
                        "target": {"kind": "queue"}, "status": "paused"})  # fmt: skip
        pipe.replay(data, relative_orbit=117)
        assert pipe.wait_done([CHANNEL], timeout_s=240)
        result = pipe.result()
        assert set(pipe.products) == {keys["IW2"]}
        assert pipe.skipped_keys() == {keys["IW1"], keys["IW3"]}
        summary = result.summary()
        assert summary["bursts_focused"] == 1 and summary["bursts_skipped"] == 2
        assert summary["bursts_missing"] == [] and summary["bursts_failed"] == []
        assert result.accounted and summary["skipped_keys"] == sorted(pipe.skipped_keys())
        assert counter("skipped") - skipped_before == 2
        store = pipe.store
        for key in keys.values():  # every burst's raw data and job stay stored
            assert store.exists(store.url(f"raw/{key}.dat"))
            assert load_job(store, key).footprint is not None
        assert result.delivered == [(subscribed, pipe.products[keys["IW2"]].product_id)]
        stream_iw2 = product_bytes(pipe.products[keys["IW2"]].url)
        # focus a skipped burst later, on request, through the API
        assert pipe.api_url is not None
        url = f"{pipe.api_url}/bursts/{keys['IW3']}/focus"
        assert httpx.post(url, timeout=10).status_code == 401
        bad = httpx.post(f"{pipe.api_url}/bursts/nope/x/focus", headers=pipe.auth_headers())
        assert bad.status_code == 404
        r = httpx.post(url, headers=pipe.auth_headers(), timeout=10)
        assert r.status_code == 202, r.text
        assert r.json()["burst_key"] == keys["IW3"]
        deadline = time.monotonic() + 120
        while keys["IW3"] not in pipe.products and time.monotonic() < deadline:
            time.sleep(0.2)
        requested_iw3 = pipe.products[keys["IW3"]]
        stream_iw3 = product_bytes(requested_iw3.url)
        # and with the CLI, reading the raw object: the same products
        monkeypatch.setenv("EOPORT_OBJECT_STORE_URL", str(tmp_path / "objects"))
        for swath, stream_bytes in (("IW2", stream_iw2), ("IW3", stream_iw3)):
            out = tmp_path / f"cli-{swath}.h5"
            assert main(["focus", "--burst", keys[swath], "-o", str(out)]) == 0
            assert_same_product(out.read_bytes(), stream_bytes)
    assert requested_iw3.product_id != pipe.products[keys["IW2"]].product_id


def test_assembler_stage_skips_and_publishes_subscribed_first(tmp_path: Path) -> None:
    """The stage itself (no broker): skipped bursts leave only an event and their stored
    job; of two bursts ready together, the subscribed one is published before the one
    only a systematic area wants, although it completed later."""
    from streams._infra.records import Record
    from streams.assemble.snapshots import SnapshotStore
    from streams.assemble.stage import Assembler
    from streams.messages.chunks import encode_chunk, pass_headers, split_into_chunks
    from streams.messages.events import EventRecord

    data, outs = demo_bursts()
    jobs = {o.identity.swath: job_of(o) for o in outs}
    iw2, iw3 = (shape(jobs[s].footprint).centroid for s in ("IW2", "IW3"))
    subscribed = [subscription(aoi_box(iw3.y, iw3.x))]  # IW3 completes after IW2
    selector = BurstSelector(SubscriptionIndex(subscribed), [aoi_box(iw2.y, iw2.x)])
    store = ObjectStore(str(tmp_path / "objects"))
    stage = Assembler(
        store, SnapshotStore(ObjectStore(str(tmp_path / "snap")), "g"), jobs_topic="jobs",
        events_topic="events", selector=selector,
    )  # fmt: skip
    headers = pass_headers(117)
    chunks = split_into_chunks(data, "LOCAL", "pass-1", 1, datetime.now(UTC))
    for offset, chunk in enumerate(chunks):
        stage.handle(Record("raw", 0, offset, chunk.key, encode_chunk(chunk), headers, None), 0.0)
    out = stage.drain(1.0)
    published = [JobRecord.from_bytes(r.value) for r in out if r.topic == "jobs"]
    assert [j.swath for j in published] == ["IW3", "IW2"]  # subscribed first
    assert all(j.footprint is not None for j in published)
    events = [EventRecord.from_bytes(r.value) for r in out if r.topic == "events"]
    skipped = [e for e in events if e.kind == "focus-skipped"]
    assert [e.detail["burst_key"] for e in skipped] == [jobs["IW1"].burst_key]
    assert stage.skipped_keys == {jobs["IW1"].burst_key}
    assert (stage.stats.focused, stage.stats.skipped) == (2, 1)
    assert load_job(store, jobs["IW1"].burst_key).raw_url.endswith(".dat")


def test_focus_burst_cli_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from eoport.errors import ExitStatus

    monkeypatch.setenv("EOPORT_OBJECT_STORE_URL", str(tmp_path / "objects"))
    assert main(["focus", "--burst", "05A5A5/IW2/VV/1"]) == ExitStatus.INVALID
    assert "no stored burst '05A5A5/IW2/VV/1'" in capsys.readouterr().err
    assert main(["focus", "--burst", "../../etc/passwd"]) == ExitStatus.INVALID
    assert "invalid burst key" in capsys.readouterr().err
    assert main(["focus"]) == ExitStatus.INVALID
    assert "needs FILE and -o OUTPUT (or --burst KEY)" in capsys.readouterr().err
