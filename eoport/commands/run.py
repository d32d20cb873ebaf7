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

STAGES = ("ingest", "assemble", "focus", "deliver", "api")


class StageArgumentError(EoportError):
    """A stage was started without what it needs (e.g. ``ingest`` without ``--file``)."""

    exit_status = ExitStatus.INVALID


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``eoport run`` to the command line."""
    r = sub.add_parser("run", help="run one stage as its own process")
    r.add_argument("stage", choices=STAGES)
    r.add_argument("--bootstrap-servers", default=None, help="Kafka bootstrap servers")
    r.add_argument("--file", default=None, help="ingest: Level-0 file to replay")
    r.add_argument("--pass-id", default=None, help="ingest: pass id (default: file stem)")
    r.add_argument("--channel", type=int, default=1, help="ingest: downlink channel")
    r.add_argument(
        "--relative-orbit",
        type=int,
        default=None,
        help="ingest: relative orbit 1-175 of the pass (ESA burst IDs; default "
        "EOPORT_RELATIVE_ORBIT or unknown: t000)",
    )
    r.add_argument("--block-lines", type=int, default=None, help="assemble: stripmap block")
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
        from eoport.api.server import make_server
        from eoport.config import ApiSettings

        make_server(load(ApiSettings).model_copy(update=over)).run()
        return 0
    stop = stop_on_signals()
    if stage == "ingest":
        from streams.ingest import IngestSettings

        return _run_ingest(load(IngestSettings).model_copy(update=over), args)
    if stage == "assemble":
        from streams.assemble import AssemblerSettings, build_assembler

        if getattr(args, "block_lines", None):
            over["block_lines"] = args.block_lines
        runtime = build_assembler(load(AssemblerSettings).model_copy(update=over))
    elif stage == "focus":
        from streams.focus import FocusWorkerSettings, build_focus_worker

        runtime = build_focus_worker(load(FocusWorkerSettings).model_copy(update=over))
    else:
        from streams.deliver import DeliverySettings, build_deliverer

        runtime = build_deliverer(load(DeliverySettings).model_copy(update=over))
    stats = runtime.run(stop)
    print(json.dumps({
        "stage": stage, "records": stats.records, "published": stats.published,
        "dead_lettered": stats.dead_lettered, "retries": stats.retries, "stalls": stats.stalls,
    }))  # fmt: skip
    return 0


def _run_ingest(s: Any, args: argparse.Namespace) -> int:
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
