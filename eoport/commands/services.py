"""``eoport demo`` and ``eoport run STAGE``: the streaming chain."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from eoport.config import (
    ApiSettings,
    AssemblerSettings,
    DeliverySettings,
    FocusWorkerSettings,
    IngestSettings,
    load,
)
from eoport.errors import EoportError, ExitStatus


class StageArgumentError(EoportError):
    """A stage was started without what it needs (e.g. ``ingest`` without ``--file``)."""

    exit_status = ExitStatus.INVALID


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT (the stage finishes its record and exits)."""
    stop = threading.Event()

    def handler(signum: int, _frame: Any) -> None:
        logging.getLogger("eoport").info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    servers = getattr(args, "bootstrap_servers", None)
    return {"bootstrap_servers": servers} if servers else {}


def cmd_run(args: argparse.Namespace) -> int:
    """Run one stage of the chain as its own process (settings from ``EOPORT_*``)."""
    stage = args.stage
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    over = _overrides(args)
    if stage == "api":
        from eoport.api.runtime import make_server

        api = load(ApiSettings).model_copy(update=over)
        make_server(api).run()
        return 0
    stop = stop_on_signals()
    if stage == "ingest":
        return _run_ingest(load(IngestSettings).model_copy(update=over), args)
    if stage == "assemble":
        from streams._infra.objectstore import ObjectStore
        from streams._infra.topics import ensure_topics
        from streams.assemble.snapshots import SnapshotStore
        from streams.assemble.stage import Assembler

        s = load(AssemblerSettings).model_copy(update=over)
        bus = s.make_bus()
        ensure_topics(bus, s.topics.specs())
        assembler = Assembler(
            bus, s.make_object_store(),
            SnapshotStore(ObjectStore(s.state_url, s.s3_endpoint()), s.group_id),
            group_id=s.group_id, raw_topic=s.topics.raw_chunks, jobs_topic=s.topics.focus_jobs,
            events_topic=s.topics.events, dead_letters_topic=s.topics.dead_letters,
            gap_timeout_s=s.gap_timeout_s, burst_timeout_s=s.burst_timeout_s,
            max_buffered_bytes=s.max_buffered_bytes, snapshot_interval_s=s.snapshot_interval_s,
            block_lines=getattr(args, "block_lines", None) or 2048,
        )  # fmt: skip
        stats = assembler.run(stop)
        print(json.dumps({"stage": stage, "records": stats.records, "jobs": stats.jobs}))
        return 0
    if stage == "focus":
        from sar.focus.fft import WisdomFile, configure_fft
        from streams._infra.topics import ensure_topics
        from streams.focus.stage import FocusWorker

        f = load(FocusWorkerSettings).model_copy(update=over)
        configure_fft(threads=f.fft_threads, effort=f"FFTW_{f.fft_effort.upper()}")
        wisdom = WisdomFile(f.fft_wisdom) if f.fft_wisdom is not None else None
        if wisdom is not None:
            wisdom.load()
        bus = f.make_bus()
        ensure_topics(bus, f.topics.specs())
        worker = FocusWorker(
            bus, f.make_object_store(), processing_version=f.processing_version,
            group_id=f.group_id, jobs_topic=f.topics.focus_jobs,
            products_topic=f.topics.l1_products, events_topic=f.topics.events,
            dead_letters_topic=f.topics.dead_letters, fft_wisdom=wisdom,
        )  # fmt: skip
        wstats = worker.run(stop)
        print(json.dumps({"stage": stage, "products": wstats.products, "failed": wstats.failed}))
        return 0
    if stage == "deliver":
        from eoport.api.runtime import run_deliver_stage

        d = load(DeliverySettings).model_copy(update=over)
        made = run_deliver_stage(d, stop=stop)
        print(json.dumps({"stage": stage, "attempts": made}))
        return 0
    raise StageArgumentError(f"unknown stage {stage!r}")  # pragma: no cover - argparse


def _run_ingest(s: IngestSettings, args: argparse.Namespace) -> int:
    from streams.ingest.replay import replay_pass

    path = getattr(args, "file", None)
    if not path:
        raise StageArgumentError("eoport run ingest needs --file LEVEL0_FILE")
    pass_id = getattr(args, "pass_id", None) or Path(path).stem
    report = replay_pass(
        Path(path), s.make_bus().producer(), station=s.station, pass_id=pass_id,
        channel=getattr(args, "channel", None) or 1, topic=s.topics.raw_chunks,
        chunk_size=s.chunk_size, speedup=s.speedup, max_in_flight=s.max_in_flight,
        max_outage_s=s.max_outage_s,
        relative_orbit=getattr(args, "relative_orbit", None) or s.relative_orbit,
    )  # fmt: skip
    print(json.dumps({
        "stage": "ingest", "chunks": report.chunks, "bytes": report.n_bytes,
        "resent": report.resent, "chunks_per_s": round(report.chunks_per_s, 2),
        "mb_per_s": round(report.mb_per_s, 3),
    }))  # fmt: skip
    return 0


def run_demo(
    *,
    speedup: float = 1.0,
    bootstrap_servers: str | None = None,
    mode: str = "IW",
    duration_s: float = 3.0,
    work_dir: Path | None = None,
    focus_workers: int = 1,
    show_progress: bool = True,
    timeout_s: float = 600.0,
) -> dict[str, Any]:
    """Simulate a pass, replay it through the whole chain, return the summary dict."""
    from tqdm import tqdm

    from eoport.pipeline import DEMO_TARGETS, LocalPipeline, aoi_box, sensing_span, simulate_pass

    t0 = time.monotonic()
    datatake = simulate_pass(mode, duration_s)
    simulate_s = time.monotonic() - t0
    first, last = sensing_span(datatake)
    rate = len(datatake.data) / max(last - first, 1e-3) * speedup
    base = work_dir or Path(tempfile.mkdtemp(prefix="eoport-demo-"))
    from eoport.pipeline import WebhookReceiver

    hook = WebhookReceiver()
    hook.start()
    pipeline = LocalPipeline(
        base, bootstrap_servers=bootstrap_servers, focus_workers=focus_workers
    )
    try:
        pipeline.start()
        a, b = DEMO_TARGETS
        pipeline.subscribe({
            "name": "demo-webhook", "aoi": aoi_box(a.lat, a.lon),
            "target": {"kind": "webhook", "url": hook.url},
        })  # fmt: skip
        pipeline.subscribe({
            "name": "demo-queue", "aoi": aoi_box(b.lat, b.lon), "target": {"kind": "queue"},
        })  # fmt: skip
        pipeline.subscribe({
            "name": "elsewhere", "aoi": aoi_box(a.lat + 5.0, a.lon), "target": {"kind": "queue"},
        })  # fmt: skip
        n_chunks = -(-len(datatake.data) // 256_000)
        bar = tqdm(total=n_chunks, desc="downlink", unit="chunk", disable=not show_progress,
                   file=sys.stderr)  # fmt: skip
        report = pipeline.replay(
            datatake.data, rate_bytes_per_s=rate, on_chunk=lambda _c: bar.update(1),
            relative_orbit=int(datatake.truth["relative_orbit"]),
        )  # fmt: skip
        bar.close()
        jobs_bar = tqdm(desc="bursts focused", unit="burst", disable=not show_progress,
                        file=sys.stderr)  # fmt: skip

        def progress(done: int, total: int) -> None:
            jobs_bar.total = total
            jobs_bar.n = done
            jobs_bar.refresh()

        ok = pipeline.wait_done(["LOCAL/pass-1/1"], timeout_s, progress)
        jobs_bar.close()
        result = pipeline.result((first, last), speedup, report)
    finally:
        pipeline.stop()
        hook.stop()
    summary = result.summary()
    summary["complete"] = ok
    summary["mode"] = mode
    summary["simulate_s"] = round(simulate_s, 2)
    summary["webhook_received"] = len(hook.received)
    summary["burst_keys"] = sorted(p.burst_key for p in result.products)
    summary["burst_labels"] = sorted(p.burst_label or "" for p in result.products)
    summary["work_dir"] = str(base)
    return summary


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the whole chain on this machine."""
    logging.basicConfig(level=logging.WARNING)
    summary = run_demo(
        speedup=args.speedup,
        bootstrap_servers=args.bootstrap_servers,
        mode=getattr(args, "mode", "IW"),
        duration_s=getattr(args, "duration", 3.0),
        focus_workers=getattr(args, "workers", 1),
        show_progress=not args.json,
    )
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{summary['products']} products from {summary['jobs']} bursts, "
            f"{summary['delivered']}/{summary['expected_deliveries']} deliveries; "
            f"sensing stop -> delivered p50 {summary['latency_p50_s']} s, "
            f"p95 {summary['latency_p95_s']} s; gaps {summary['gaps']}, "
            f"errors {summary['errors']}"
        )
        print("median per stage (s): " + ", ".join(
            f"{k} {v}" for k, v in summary["stage_p50_s"].items()
        ))  # fmt: skip
    return 0 if summary["complete"] else int(ExitStatus.PROCESSING)
