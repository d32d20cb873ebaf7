"""``eoport run STAGE``: one stage of the chain as its own long-running process.

Settings come from ``EOPORT_*`` environment variables (one settings class per process,
validated at start); SIGTERM and SIGINT stop the stage cleanly: it finishes the record
in hand, publishes and commits what is done, and leaves its consumer group.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from pathlib import Path
from typing import Any

from eoport.errors import EoportError, ExitStatus
from streams import ProbeServer, StageRuntime, event_check, flush_reliably

STAGES = ("ingest", "assemble", "focus", "deliver", "catalogue", "timeline", "api")


class StageArgumentError(EoportError):
    """A stage was started without what it needs (e.g. ``ingest`` without ``--file``)."""

    exit_status = ExitStatus.INVALID


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``eoport run`` to the command line."""
    r = sub.add_parser("run", help="run one stage as its own process")
    r.add_argument("stage", choices=STAGES)
    r.add_argument("--bootstrap-servers", default=None, help="Kafka bootstrap servers")
    r.add_argument("--file", default=None, help="ingest: Level-0 or CADU file to replay")
    r.add_argument(
        "--listen", action="append", default=None, metavar="tcp://HOST:PORT",
        help="ingest: take station streams over TCP (repeatable; see streams.ingest.listen)",
    )  # fmt: skip
    r.add_argument(
        "--watch", default=None, metavar="URL",
        help="ingest: take chunk objects from s3://bucket/prefix/ or file:///dir/",
    )  # fmt: skip
    r.add_argument(
        "--format", choices=("auto", "cadu", "isp"), default=None,
        help="ingest: input format (default EOPORT_FORMAT or auto: detected)",
    )  # fmt: skip
    r.add_argument("--pass-id", default=None, help="ingest: pass id (default: file stem)")
    r.add_argument(
        "--channel", type=int, default=None,
        help="ingest: downlink channel / link (default EOPORT_CHANNEL or 1)",
    )  # fmt: skip
    r.add_argument(
        "--relative-orbit",
        type=int,
        default=None,
        help="ingest: relative orbit 1-175 of the pass (ESA burst IDs; default "
        "EOPORT_RELATIVE_ORBIT or unknown: t000)",
    )
    r.add_argument("--block-lines", type=int, default=None, help="assemble: stripmap block")
    r.add_argument(
        "--autoscale",
        default=None,
        metavar="MIN..MAX",
        help="focus: run MIN to MAX worker processes, started and stopped with the "
        "focus-jobs backlog by the operator's scaling policy",
    )
    r.set_defaults(handler=cmd_run)


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
    from streams import load

    stage = args.stage
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    over = _overrides(args)
    if stage == "api":
        return _run_api(over)
    stop = stop_on_signals()
    if stage == "ingest":
        from streams.ingest import IngestSettings

        return _run_ingest(load(IngestSettings).model_copy(update=over), args)
    if stage == "timeline":
        return _run_timeline(over, stop)
    settings: Any
    if stage == "assemble":
        from streams.assemble import AssemblerSettings, build_assembler

        if getattr(args, "block_lines", None):
            over["block_lines"] = args.block_lines
        from eoport.pipeline import burst_selector

        settings = load(AssemblerSettings).model_copy(update=over)
        # early data selection (EOPORT_FOCUS_SELECTION=subscriptions) reads the
        # subscription store under EOPORT_STATE_DIR, the file the API writes
        runtime = build_assembler(settings, selector=burst_selector(settings))
    elif stage == "focus":
        from streams.focus import FocusWorkerSettings, build_focus_worker

        settings = load(FocusWorkerSettings).model_copy(update=over)
        if getattr(args, "autoscale", None):
            return _run_autoscaled(settings, args.autoscale, stop)
        runtime = build_focus_worker(settings)
    elif stage == "catalogue":
        from streams.catalogue import CatalogueSettings, build_cataloguer

        settings = load(CatalogueSettings).model_copy(update=over)
        runtime = build_cataloguer(settings)
    else:
        from streams.deliver import DeliverySettings, build_deliverer

        settings = load(DeliverySettings).model_copy(update=over)
        runtime = build_deliverer(settings)
    probes = _probes(settings.metrics_port, runtime)
    try:
        stats = runtime.run(stop)
    finally:
        if probes is not None:
            probes.stop()
    print(json.dumps({
        "stage": stage, "records": stats.records, "published": stats.published,
        "dead_lettered": stats.dead_lettered, "retries": stats.retries, "stalls": stats.stalls,
    }))  # fmt: skip
    return 0


def _run_autoscaled(settings: Any, workers: str, stop: threading.Event) -> int:
    """Worker processes scaled with the backlog until SIGTERM/SIGINT; then every worker
    is stopped (SIGTERM: each finishes its burst)."""
    from eoport.autoscale import focus_pool, parse_range

    scaler = focus_pool(settings, parse_range(workers), target_backlog_s=30.0,
                        scale_down_window_s=60.0)  # fmt: skip
    scaler.run(stop)
    print(json.dumps({
        "stage": "focus", "autoscale": workers,
        "workers_over_time": [[round(t, 3), n] for t, n in scaler.workers_over_time()],
        "decisions": len(scaler.timeline),
    }))  # fmt: skip
    return 0


def _probes(port: int | None, runtime: StageRuntime) -> ProbeServer | None:
    """``/healthz``, ``/readyz`` (the stage's consumer subscribed: for a focusing worker,
    after its FFT plans are loaded) and ``/metrics`` on ``port`` (``None``: none)."""
    if port is None:
        return None
    probes = ProbeServer(port)
    probes.ready_when(event_check(runtime.ready, "stage not consuming yet"))
    return probes.start()


def _run_api(over: dict[str, Any]) -> int:
    """The API (uvicorn handles SIGTERM/SIGINT), with the catalogue indexer beside it."""
    from eoport.api.server import make_server
    from eoport.config import ApiSettings
    from streams import derive_settings, load
    from streams.catalogue import build_cataloguer
    from streams.timeline import build_timeline
    from streams.timeline.settings import TimelineSettings

    settings = load(ApiSettings).model_copy(update=over)
    stop = threading.Event()
    threads: list[threading.Thread] = []
    if settings.index_products:
        runtime = build_cataloguer(settings)
        threads.append(threading.Thread(target=runtime.run, args=(stop,), name="catalogue"))
    if settings.run_timeline:
        timeline = build_timeline(derive_settings(TimelineSettings, settings))
        threads.append(threading.Thread(target=timeline.run, args=(stop,), name="timeline"))
    for thread in threads:
        thread.start()
    try:
        make_server(settings, timeline_metrics=settings.run_timeline).run()
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    return 0


def _run_timeline(over: dict[str, Any], stop: threading.Event) -> int:
    """The latency timeline service; probes and its gauges on ``metrics_port`` when set."""
    from streams import load
    from streams.timeline import build_timeline
    from streams.timeline.metrics import register_collector
    from streams.timeline.settings import TimelineSettings, open_view

    settings = load(TimelineSettings).model_copy(update=over)
    runtime = build_timeline(settings)
    probes = _probes(settings.metrics_port, runtime)
    if probes is not None:
        register_collector(open_view(settings))
    try:
        stats = runtime.run(stop)
    finally:
        if probes is not None:
            probes.stop()
    print(json.dumps({"stage": "timeline", "records": stats.records}))
    return 0


def _run_ingest(s: Any, args: argparse.Namespace) -> int:
    """``eoport run ingest``: replay a file, or serve ``--listen`` / ``--watch`` until
    SIGTERM (both at once if both are given)."""
    update: dict[str, Any] = {}
    for name in ("listen", "watch", "format", "pass_id", "channel", "relative_orbit"):
        value = getattr(args, name, None)
        if value is not None:
            update[name] = value
    if update:
        s = type(s).model_validate(s.model_dump() | update)
    path = getattr(args, "file", None)
    if path:
        return _ingest_file(s, Path(path))
    if not s.listen and not s.watch:
        raise StageArgumentError(
            "eoport run ingest needs --file FILE, --listen tcp://HOST:PORT or --watch URL"
        )
    return _serve_ingest(s)


def _ingest_file(s: Any, path: Path) -> int:
    from streams.ingest.files import ingest_file, sniff_format
    from streams.ingest.manifest import file_manifest, manifest_record
    from streams.ingest.replay import replay_pass

    pass_id = s.pass_id or path.stem
    if sniff_format(path, s) == "cadu":
        result = ingest_file(
            path, s, s.make_bus().producer(), pass_id=pass_id, link=s.channel,
            relative_orbit=s.relative_orbit,
        )  # fmt: skip
        print(json.dumps({"stage": "ingest", **result.to_dict()}))
        return 0
    producer = s.make_bus().producer()
    report = replay_pass(
        path, producer, station=s.station, pass_id=pass_id,
        channel=s.channel, topic=s.topics.raw_chunks,
        chunk_size=s.chunk_size, speedup=s.speedup, max_in_flight=s.max_in_flight,
        max_outage_s=s.max_outage_s, relative_orbit=s.relative_orbit,
    )  # fmt: skip
    # the station's account of what it sent: every burst is then reported as focused,
    # incomplete, failed or missing (streams.messages.passes)
    manifest = file_manifest(
        path, f"{s.station}/{pass_id}/{s.channel}", chunks=report.chunks,
        relative_orbit=s.relative_orbit,
    )  # fmt: skip
    out = manifest_record(manifest, s.topics.events)
    producer.send(out.topic, out.key, out.value, out.headers)
    flush_reliably(producer)
    print(json.dumps({
        "stage": "ingest", "chunks": report.chunks, "bytes": report.n_bytes,
        "resent": report.resent, "chunks_per_s": round(report.chunks_per_s, 2),
        "mb_per_s": round(report.mb_per_s, 3), "bursts": len(manifest.entries),
    }))  # fmt: skip
    return 0


def _serve_ingest(s: Any) -> int:
    """Run the TCP listener and/or the object-store watcher until SIGTERM or SIGINT."""
    from streams.ingest.listen import make_listener
    from streams.ingest.watch import make_watcher

    stop = stop_on_signals()
    if s.metrics_port is not None:  # eoport_downlink_* and eoport_chunks_* counters
        from prometheus_client import start_http_server

        start_http_server(s.metrics_port)
    summary: dict[str, Any] = {"stage": "ingest"}
    watcher = make_watcher(s) if s.watch else None
    thread = None
    if watcher is not None:
        thread = threading.Thread(target=watcher.run, args=(stop,), name="ingest-watch")
        thread.start()
    if s.listen:
        listener = make_listener(s)
        listener.start()
        stats = listener.serve(stop)
        summary["listen"] = {
            "connections": stats.connections, "bytes": stats.bytes_received,
            "passes_ended": stats.passes_ended, "checkpoints": stats.checkpoints,
            "errors": stats.errors, "links": stats.links,
        }  # fmt: skip
    else:
        stop.wait()
    if thread is not None and watcher is not None:
        thread.join()
        w = watcher.stats
        summary["watch"] = {
            "objects": w.objects, "bytes": w.bytes, "passes_ended": w.passes_ended,
            "late": w.late, "errors": w.errors,
        }  # fmt: skip
    print(json.dumps(summary))
    return 0
