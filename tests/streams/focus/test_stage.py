"""Focusing worker: job -> SLC product in the object store -> l1-products; permanent
failures -> dead-letters + events (on the real broker)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from shapely.geometry import Point, shape

from sar.l0.packets import decode_packets
from sar.l0.radar import packet_time
from sar.product.slc import read_slc
from sar.sim.datatake import SimulatedDatatake, simulate_datatake
from streams._infra.bus import KafkaBus
from streams._infra.deadletters import HEADER_ERROR
from streams._infra.objectstore import ObjectStore
from streams._infra.records import Record
from streams._infra.runtime import RuntimeConfig, StageRuntime
from streams.assemble.channel import ChannelAssembler, Context
from streams.assemble.open_bursts import BurstOutput
from streams.assemble.reassembly import ChannelReassembler
from streams.catalogue.stac import product_to_stac_item
from streams.focus.stage import FOCUS_RETRY, FocusWorker
from streams.messages.chunks import split_into_chunks
from streams.messages.events import EventRecord
from streams.messages.jobs import JobRecord, raw_key
from streams.messages.products import ProductRecord, make_product_id
from tests.streams.passdata import (
    CENTER,
    IW_RELATIVE_ORBIT,
    TARGET_A,
    stripmap_pass,
    truth_bursts,
)

T0 = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


@lru_cache(maxsize=1)
def focusable_bursts() -> list[BurstOutput]:
    dt = stripmap_pass(4096)
    key = "MAT/p1/1"
    reasm = ChannelReassembler(key)
    asm = ChannelAssembler(key, block_lines=2048, relative_orbit=117)
    outs: list[BurstOutput] = []
    for chunk in split_into_chunks(dt.data, "MAT", "p1", 1, T0, chunk_size=500_000):
        for o in reasm.push(chunk, 0.0):
            outs += asm.feed(o, Context(0.0))[0]
    outs += asm.finish(Context(0.0))[0]
    return outs


def job_for(store: ObjectStore, out: BurstOutput) -> JobRecord:
    url = store.put_bytes(store.url(raw_key(out.key)), out.data)
    return out.job(url, datetime.now(UTC))


def read_all(
    bus: KafkaBus, topic: str, n: int, timeout_s: float = 30.0, idle_s: float | None = None
) -> list[Record]:
    """Read ``topic`` from the start until ``n`` records, ``timeout_s``, or (with
    ``idle_s``) nothing new for ``idle_s`` seconds after the first record."""
    consumer = bus.consumer(f"reader-{uuid.uuid4().hex[:8]}", [topic])
    records: list[Record] = []
    deadline = time.monotonic() + timeout_s
    last = time.monotonic()
    try:
        while len(records) < n and time.monotonic() < deadline:
            got = consumer.poll(0.5, 100)
            records += got
            if got:
                last = time.monotonic()
            elif idle_s is not None and records and time.monotonic() - last > idle_s:
                break
    finally:
        consumer.close()
    return records


def test_focus_writes_a_product_whose_footprint_holds_the_target(tmp_path: Path) -> None:
    store = ObjectStore(str(tmp_path / "objects"))
    worker = FocusWorker(store, processing_version="test")
    outs = focusable_bursts()
    # the block whose middle is nearest the target's zero-Doppler time holds it fully focused
    zd = stripmap_pass(4096).truth["targets"][0]["zero_doppler_time"]["gps_seconds"]
    best = min(outs, key=lambda o: abs((o.burst.first_time + o.burst.last_time) / 2 - zd))
    job = job_for(store, best)
    product = worker.focus(job, T0)
    assert product.product_id == make_product_id(job.burst_key, "test")
    assert product.url == store.url(f"products/{product.product_id}.h5")
    assert shape(product.footprint).contains(Point(TARGET_A.lon, TARGET_A.lat))
    assert product.mode == "SM" and product.swath == "S6" and product.polarisation == "VV"
    # the pass's track reaches the product and its STAC item; stripmap has no burst label
    assert job.relative_orbit == product.relative_orbit == 117
    assert product.burst_label is None and product.orbit_state == "ascending"
    props = product_to_stac_item(product)["properties"]
    assert props["sat:relative_orbit"] == 117 and props["sat:orbit_state"] == "ascending"
    assert "eoport:burst_label" not in props
    for stage in ("sensing_stop", "aux_complete", "focus_start", "focus_end", "product_written"):
        assert stage in product.timeline
    assert product.timeline["focus_start"] <= product.timeline["focus_end"]
    slc = read_slc(product.url)
    assert slc.image.shape[0] == job.packet_count
    assert product.size_bytes == Path(product.url).stat().st_size
    # replaying the job rewrites the same object under the same id
    again = worker.focus(job, T0)
    assert again.product_id == product.product_id and again.url == product.url


def test_worker_publishes_products_and_dead_letters_bad_jobs(
    bus: KafkaBus, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    jobs_t, products_t, events_t, dead_t = (new_topic(partitions=p) for p in (3, 1, 1, 1))
    store = ObjectStore(str(tmp_path / "objects"))
    good = job_for(store, focusable_bursts()[1])
    missing = good.model_copy(
        update={"burst_key": "05A5A5/S6/VV/99", "raw_url": store.url("raw/none.dat")}
    )
    producer = bus.producer()
    producer.send(jobs_t, good.burst_key, good.to_bytes())
    producer.send(jobs_t, "garbage", b"not a job")
    producer.send(jobs_t, missing.burst_key, missing.to_bytes())
    producer.flush()
    worker = StageRuntime(
        FocusWorker(store, products_topic=products_t, events_topic=events_t), bus,
        RuntimeConfig(f"focus-{uuid.uuid4().hex[:6]}", [jobs_t], dead_letters_topic=dead_t,
                      events_topic=events_t, retry=FOCUS_RETRY, max_batch=1),
    )  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        products = read_all(bus, products_t, 1, timeout_s=120)
        dead = read_all(bus, dead_t, 2, timeout_s=60)
        events = read_all(bus, events_t, 2, timeout_s=30)
    finally:
        stop.set()
        thread.join(30)
    assert [ProductRecord.from_bytes(r.value).burst_key for r in products] == [good.burst_key]
    assert products[0].key == make_product_id(good.burst_key, "0.1.0")
    assert sorted(r.key or "" for r in dead) == sorted(["garbage", missing.burst_key])
    reasons = {r.key: r.headers[HEADER_ERROR].decode() for r in dead}
    assert "invalid focus job" in reasons["garbage"]
    assert "no object at" in reasons[missing.burst_key]
    kinds = [EventRecord.from_bytes(r.value).kind for r in events]
    assert kinds == ["focus-failed", "focus-failed"]
    assert isinstance(worker.stage, FocusWorker)
    assert worker.stage.stats.products == 1 and worker.stage.stats.failed == 2


@lru_cache(maxsize=1)
def iw_focusable_pass() -> SimulatedDatatake:
    """One IW burst cycle wide enough to focus (6,144 samples: longer than the replica)."""
    return simulate_datatake(
        "IW", CENTER, 2.9, [TARGET_A], n_samples=6144, seed=2, relative_orbit=IW_RELATIVE_ORBIT
    )


def iw_outputs_losing(lost: Callable[[npt.NDArray[Any]], npt.NDArray[np.bool_]]) -> tuple[
    list[BurstOutput], npt.NDArray[Any], set[int]
]:  # fmt: skip
    """Assemble the IW pass with the chunks holding the packets ``lost(headers)`` selects
    dropped (a downlink loss); return the bursts, the packet headers and the lost chunks."""
    dt = iw_focusable_pass()
    size = 200_000
    headers = decode_packets(dt.data, strict=False).headers
    dropped = {int(o) // size for o in headers["byte_offset"][lost(headers)]}
    key = "MAT/p1/1"
    reasm = ChannelReassembler(key, gap_timeout_s=5.0)
    asm = ChannelAssembler(key, relative_orbit=IW_RELATIVE_ORBIT)
    outs: list[BurstOutput] = []
    chunks = split_into_chunks(dt.data, "MAT", "p1", 1, T0, chunk_size=size)
    for i, chunk in enumerate(chunks):
        if i not in dropped:
            for o in reasm.push(chunk, float(i)):
                outs += asm.feed(o, Context(float(i)))[0]
    for o in reasm.finish(1e3):
        outs += asm.feed(o, Context(1e3))[0]
    outs += asm.finish(Context(1e3))[0]
    return outs, headers, dropped


def test_iw_burst_with_a_long_hole_is_one_product_listing_its_lost_lines(
    tmp_path: Path,
) -> None:
    # 0.6 s lost in the middle of the IW2 burst (1,564 lines over 1.07 s): longer than
    # the 0.5 s that once cut a burst in two and gave its tail the next burst's ID
    def middle_of_iw2(h: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
        iw2 = np.flatnonzero((h["swath_number"] == 11) & (h["signal_type"] == 0))
        t = packet_time(h["coarse_time"][iw2], h["fine_time"][iw2])
        mid = 0.5 * (t[0] + t[-1])
        out = np.zeros(h.size, dtype=bool)
        out[iw2[np.abs(t - mid) < 0.3]] = True
        return out

    outs, headers, dropped = iw_outputs_losing(middle_of_iw2)
    iw2 = [o for o in outs if o.identity.swath == "IW2"]
    truth = truth_bursts(iw_focusable_pass())
    assert [o.key for o in iw2] == [k for k in truth if "/IW2/" in k]
    assert iw2[0].status == "incomplete"
    store = ObjectStore(str(tmp_path / "objects"))
    job = job_for(store, iw2[0])
    lost_pri = sum(b - a + 1 for a, b in job.missing_pri)
    assert lost_pri * job.pri_s > 0.55
    # every echo packet of the dropped chunks, whole or cut, is a lost line
    offsets = headers["byte_offset"].astype(np.int64)
    ends = offsets + headers["packet_data_length"].astype(np.int64) + 7
    touched = np.array([
        any(a // 200_000 <= c <= (b - 1) // 200_000 for c in dropped)
        for a, b in zip(offsets, ends, strict=True)
    ])  # fmt: skip
    iw2_echo = (headers["swath_number"] == 11) & (headers["signal_type"] == 0)
    assert lost_pri == int(np.count_nonzero(iw2_echo & touched))

    worker = FocusWorker(store, processing_version="test")
    value = job.to_bytes()
    record = Record("focus-jobs", 0, 0, job.burst_key, value, {}, None)
    product_rec, event_rec = worker.handle(record, 0.0)
    product = ProductRecord.from_bytes(product_rec.value)
    event = EventRecord.from_bytes(event_rec.value)
    assert product.burst_key == job.burst_key and product.burst_label == truth[job.burst_key][1]
    assert product.quality is not None
    assert product.quality["complete"] == 0.0 and product.quality["missing_lines"] == lost_pri
    assert event.kind == "product-incomplete" and event.source == job.burst_key
    assert event.detail["missing_lines"] == lost_pri and len(event.detail["spans"]) == 1
    ((first, last),) = product.missing_lines
    assert product.sensing_start < first < last < product.sensing_stop
    assert abs((last - first).total_seconds() - (lost_pri - 1) * job.pri_s) < 1e-3
    assert product_to_stac_item(product)["properties"]["eoport:missing_lines"] == [
        [first.isoformat().replace("+00:00", "Z"), last.isoformat().replace("+00:00", "Z")]
    ]
    slc = read_slc(product.url)
    assert slc.missing is not None and slc.missing.count == lost_pri
    assert slc.missing.lines == lost_pri + job.packet_count


def test_iw_burst_opened_after_lost_data_is_reported_incomplete() -> None:
    # the loss takes the end of IW2 and the start of IW3: both bursts say so
    def iw2_end_iw3_start(h: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
        echo = np.flatnonzero(h["signal_type"] == 0)
        iw2 = echo[h["swath_number"][echo] == 11]
        iw3 = echo[h["swath_number"][echo] == 12]
        out = np.zeros(h.size, dtype=bool)
        out[iw2[-200:]] = out[iw3[:200]] = True
        return out

    outs, _, _ = iw_outputs_losing(iw2_end_iw3_start)
    status = {o.identity.swath: o.status for o in outs}
    assert status == {"IW1": "complete", "IW2": "incomplete", "IW3": "incomplete"}
    assert [o.key for o in outs] == list(truth_bursts(iw_focusable_pass()))
