"""``python -m streams.timeline --bootstrap-servers HOST:PORT --db PATH``: the timeline
stage as a bare process (``eoport run timeline`` is the configured entry point)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

from streams._infra.bus import KafkaBus
from streams.timeline.config import TimelineConfig
from streams.timeline.service import run_timeline


def main(argv: list[str] | None = None) -> int:
    """Run until SIGTERM/SIGINT; print nothing but logs."""
    parser = argparse.ArgumentParser(prog="python -m streams.timeline")
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--sample-interval", type=float, default=5.0)
    parser.add_argument("--group-id", default=TimelineConfig.group_id)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    bus = KafkaBus(args.bootstrap_servers, client_id="eoport-timeline")
    config = TimelineConfig(
        db_path=args.db, group_id=args.group_id, sample_interval_s=args.sample_interval
    )
    run_timeline(bus, config, stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
