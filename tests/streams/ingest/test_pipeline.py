"""End to end: a pass downlinked as CADUs with correctable bit errors, uncorrectable and
dropped frames reaches the chain through the TCP listener (with a reconnect mid-pass) and
through an object-store drop (moto S3, local directory), and gives the clean pass's
products; the burst hit by the lost frames comes out incomplete, with gap reports."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

import pytest

from eoport.pipeline import LocalPipeline, PipelineResult
from streams import derive_settings
from streams._infra.broker import LocalBroker
from streams._infra.s3server import LocalS3Server
from streams._infra.topics import EVENTS, FOCUS_JOBS
from streams.ingest import IngestSettings
from streams.ingest.listen import TcpIngest
from streams.ingest.watch import CursorStore, ObjectWatcher
from streams.messages.events import EventRecord
from streams.messages.jobs import JobRecord, raw_key
from streams.messages.products import ProductRecord
from tests.streams.ingest.helpers import read_records, send, wait_for
from tests.streams.ingest.passdata import RELATIVE_ORBIT, ImpairedPass, impaired_pass

CHANNEL = "LOCAL/pass-1/1"


def quality(product: ProductRecord, name: str) -> float:
    assert product.quality is not None
    return product.quality[name]


def check_bursts(pipe: LocalPipeline, p: ImpairedPass) -> list[EventRecord]:
    """Raw bursts as the clean pass's (hit burst: incomplete, fewer packets); the events."""
    jobs = {}
    for r in read_records(pipe.bus(), FOCUS_JOBS, len(p.bursts)):
        job = JobRecord.from_bytes(r.value)
        jobs[job.burst_key] = job
    assert set(jobs) == set(p.bursts) and len(p.hit_keys) == 1
    for key, (_, packets, raw) in p.bursts.items():
        if key in p.hit_keys:
            assert jobs[key].status == "incomplete"
            assert 0.9 * packets < jobs[key].packet_count < packets
            assert [g["reason"] for g in jobs[key].gaps] == ["source"] * 3
        else:  # exactly the clean burst: same packets, same bytes to focus
            assert (jobs[key].status, jobs[key].packet_count) == ("complete", packets)
            assert pipe.store.get_bytes(pipe.store.url(raw_key(key))) == raw
    events = [EventRecord.from_bytes(r.value) for r in read_records(pipe.bus(), EVENTS, 10)]
    kinds = [(e.kind, e.detail.get("kind") or e.detail.get("reason")) for e in events]
    assert kinds.count(("corrupt", "uncorrectable")) == 2
    assert kinds.count(("gap", "lost-frames")) == 3  # from the adapter (CADU byte ranges)
    assert kinds.count(("gap", "source")) == 3  # from the assembler (stream byte ranges)
    incomplete = [e.detail["burst_key"] for e in events if e.kind == "burst-incomplete"]
    assert incomplete == sorted(p.hit_keys)
    return events


def test_cadu_pass_over_tcp_gives_the_clean_products(
    tansu_broker_fn: LocalBroker, tmp_path: Path
) -> None:
    p = impaired_pass()
    with LocalPipeline(
        tmp_path, broker=tansu_broker_fn, session_timeout_ms=3000, api=False
    ) as pipe:
        settings = derive_settings(IngestSettings, pipe.settings, chunk_size=256_000)
        listener = TcpIngest(settings, pipe.bus("eoport-ingest").producer,
                             addresses=["tcp://127.0.0.1:0"])  # fmt: skip
        stop = threading.Event()
        thread = threading.Thread(target=listener.serve, args=(stop,), daemon=True)
        listener.start()
        thread.start()
        head = f"EOPORT-INGEST/1 pass=pass-1 link=1 orbit={RELATIVE_ORBIT}"
        cut = len(p.impaired) // 2 + 333
        assert send(listener.bound[0], p.impaired[:cut], head) == "OK 0"
        assert send(listener.bound[0], p.impaired[cut:], f"{head} offset={cut} last=1") == (
            f"OK {cut}"
        )  # fmt: skip
        assert pipe.wait_done([CHANNEL], timeout_s=240)
        result = pipe.result()
        check_bursts(pipe, p)
        stop.set()
        thread.join(30)
    check_products(result, p)


def check_products(result: PipelineResult, p: ImpairedPass) -> None:
    """One product per clean burst; the hit one incomplete with fewer packets."""
    products = {x.burst_key: x for x in result.products}
    assert set(products) == set(p.bursts)
    for key, product in products.items():
        hit = key in p.hit_keys
        assert quality(product, "complete") == (0.0 if hit else 1.0)
        assert (int(quality(product, "packets")) == p.bursts[key][1]) != hit
        assert product.relative_orbit == RELATIVE_ORBIT
    assert result.incomplete_jobs == 1 and result.failed_jobs == 0
    assert result.delivered == result.expected_deliveries


@pytest.mark.parametrize(
    ("where", "focus"),
    [("s3", False), ("directory", False), pytest.param("directory", True, marks=pytest.mark.slow)],
)
def test_cadu_pass_dropped_in_an_object_store_gives_the_clean_bursts(
    tansu_broker_fn: LocalBroker, s3_server: LocalS3Server, tmp_path: Path, where: str,
    focus: bool,
) -> None:  # fmt: skip
    """Through the assembler (the bursts to focus, byte for byte); with ``focus``, through
    the whole chain to products (slow)."""
    p = impaired_pass()
    with LocalPipeline(tmp_path, broker=tansu_broker_fn, session_timeout_ms=3000, api=False,
                       start_workers=focus) as pipe:  # fmt: skip
        over: dict[str, object] = {"chunk_size": 256_000, "poll_interval_s": 0.2}
        if where == "s3":
            bucket = f"drop-{uuid.uuid4().hex[:8]}"
            s3_server.create_bucket(bucket)
            e = s3_server.endpoint
            over |= {"watch": f"s3://{bucket}/in/", "s3_endpoint_url": e.endpoint_url,
                     "s3_access_key": e.access_key, "s3_secret_key": e.secret_key,
                     "s3_region": e.region, "cursor_url": f"s3://{bucket}/cursors"}  # fmt: skip
        else:
            over["watch"] = f"file://{tmp_path / 'drop'}/"
        settings = derive_settings(IngestSettings, pipe.settings, **over)
        watcher = ObjectWatcher(settings, pipe.bus("eoport-ingest").producer)
        store = watcher.objects
        meta = json.dumps({"relative_orbit": RELATIVE_ORBIT}).encode()
        store.put_bytes(store.url("pass-1/pass.json"), meta)
        stop = threading.Event()
        thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
        thread.start()
        size = 1_500_000  # 11 objects, named 0.cadu .. 10.cadu (numeric order)
        names = [f"{i // size}.cadu" for i in range(0, len(p.impaired), size)]
        for name, i in zip(names, range(0, len(p.impaired), size), strict=True):
            store.put_bytes(store.url(f"pass-1/1/{name}"), p.impaired[i : i + size])
        store.put_bytes(store.url("pass-1/1/END"), b"")
        asm = pipe.assembler
        assert asm is not None
        wait_for(lambda: CHANNEL in asm.done_channels, 120, "the pass")
        check_bursts(pipe, p)
        if focus:
            assert pipe.wait_done([CHANNEL], timeout_s=240)
            check_products(pipe.result(), p)
        stop.set()
        thread.join(30)
    assert watcher.stats.taken == [f"pass-1/1/{n}" for n in names]
    assert watcher.stats.errors == 0 and len(names) == 11
    cursors = CursorStore(settings.cursor_root(), settings.s3_endpoint())
    cursor = cursors.load("LOCAL", "pass-1", 1)
    assert cursor is not None and cursor["done"] and cursor["last"] == names[-1]
