"""``eoport demo``: the whole near-real-time chain on this machine, in one command.

A local Kafka-protocol broker (Tansu), a local object store, every stage built exactly as
``eoport run STAGE`` builds it, two demo subscriptions (a webhook and a pull queue) and
one elsewhere, a simulated IW pass replayed as passthrough chunks; then a summary that
accounts for every burst the station sent: focused, reported incomplete, failed, or
missing. Settings: :class:`eoport.config.DemoSettings` (``EOPORT_*``), the stage settings
(``EOPORT_GAP_TIMEOUT_S`` ...), and the options below, which win.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eoport.errors import ExitStatus

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``eoport demo`` to the command line."""
    p = sub.add_parser("demo", help="run the whole near-real-time chain on this machine")
    p.add_argument("--json", action="store_true", help="print only the summary, as JSON")
    p.add_argument("--bootstrap-servers", default=None, help="external Kafka cluster")
    p.add_argument("--speedup", type=float, default=None, help="replay faster than real time")
    p.add_argument("--mode", default="IW", help="simulated mode: IW (TOPS) or S1..S6 (stripmap)")
    p.add_argument(
        "--duration", type=float, default=None,
        help="simulated sensing time, s (default: --cycles IW burst cycles of 2.758 s)",
    )  # fmt: skip
    p.add_argument(
        "--cycles", type=int, default=1, help="IW burst cycles to simulate (3 bursts each)"
    )
    p.add_argument("--pol", default="VV", help="VV, VH, HH, HV, VV+VH or HH+HV")
    p.add_argument(
        "--workers", type=int, default=None,
        help="focusing worker threads (no autoscaling)",
    )  # fmt: skip
    p.add_argument(
        "--autoscale", default=None, metavar="MIN..MAX",
        help="focusing worker processes scaled with the backlog (default 1..2)",
    )  # fmt: skip
    p.add_argument(
        "--focus", choices=("subscriptions", "all"), default=None,
        help="focus only the bursts a subscription wants (default), or every burst",
    )  # fmt: skip
    p.add_argument(
        "--broker-storage", choices=("memory", "s3"), default=None,
        help="memory (default: a broker crash loses the pass) or s3 (survives it)",
    )  # fmt: skip
    p.add_argument(
        "--work-dir", default=None, help="keep the demo's data here (default: a temp dir)"
    )
    p.add_argument(
        "--keep", action="store_true", help="keep the temporary work dir (products) afterwards"
    )
    p.add_argument(
        "--serve",
        action="store_true",
        help="after the pass, keep the API (STAC, subscriptions, dashboard) running on the "
        "demo's products until interrupted; prints its base URL",
    )
    p.set_defaults(handler=cmd_demo)


DEMO_SAMPLES = 4096
"""Echo window of the demo pass, samples (narrowed for speed; the workers warm up on it)."""

DEMO_STAGE_SETTINGS: dict[str, Any] = {
    "target_allow_networks": ["127.0.0.1/32"],
    "max_running_subscriptions": 10,
    "dashboard_public_aois": True,
}
"""What the demo sets explicitly (besides early data selection, on unless ``--focus all``:
only bursts a subscription wants are focused; the others stay raw, focusable with
``POST /bursts/{key}/focus``): webhooks may reach the demo's local receiver on 127.0.0.1
(refused by default: SSRF), the demo user may run its three subscriptions (CDSE's default
limit is one), and the dashboard map shows the demo's AOIs to the local browser."""


def run_demo(
    settings: Any = None,
    *,
    mode: str = "IW",
    duration_s: float = 3.0,
    pol: str = "VV",
    show_progress: bool = True,
    timeout_s: float = 600.0,
    serve: Callable[[str, str | None], None] | None = None,
) -> dict[str, Any]:
    """Simulate a pass, replay it through the whole chain, return the summary dict.

    Parameters
    ----------
    settings
        :class:`eoport.config.DemoSettings` (``None``: from the environment).
    mode, duration_s, pol
        The simulated pass.
    show_progress
        Progress bars on stderr.
    timeout_s
        Longest wait for the chain to finish, s.
    serve
        Called with the API's base URL and the demo user's API key once the pass is done,
        before the chain stops (``eoport demo --serve`` blocks there until interrupted).
    """
    from tqdm import tqdm

    from eoport.config import DemoSettings
    from eoport.pipeline import (
        DEMO_TARGETS,
        LocalPipeline,
        WebhookReceiver,
        aoi_box,
        sensing_span,
        simulate_pass,
    )

    s: DemoSettings = settings if settings is not None else DemoSettings()
    t0 = time.monotonic()
    datatake = simulate_pass(mode, duration_s, n_samples=DEMO_SAMPLES, pol=pol)
    simulate_s = time.monotonic() - t0
    first, last = sensing_span(datatake)
    rate = len(datatake.data) / max(last - first, 1e-3) * s.speedup
    base = Path(s.work_dir) if s.work_dir else Path(tempfile.mkdtemp(prefix="eoport-demo-"))
    hook = WebhookReceiver()
    hook.start()
    servers = None if s.bootstrap_servers == "127.0.0.1:9092" else s.bootstrap_servers
    from eoport.autoscale import parse_range

    autoscale = parse_range(s.autoscale) if s.autoscale else None
    pipeline = LocalPipeline(
        base, settings=s, bootstrap_servers=servers, focus_workers=s.focus_workers,
        autoscale=autoscale, broker_storage=s.broker_storage, focus_selection=s.focus,
        warm_up_samples=DEMO_SAMPLES, **DEMO_STAGE_SETTINGS,
    )  # fmt: skip
    try:
        pipeline.start()
        if not pipeline.wait_ready():
            log.warning("stages not all ready after 120 s: starting the pass anyway")
        a, b = DEMO_TARGETS
        subscriptions = {
            "demo-webhook": pipeline.subscribe({
                "name": "demo-webhook", "aoi": aoi_box(a.lat, a.lon),
                "target": {"kind": "webhook", "url": hook.url},
            }),
            "demo-queue": pipeline.subscribe({
                "name": "demo-queue", "aoi": aoi_box(b.lat, b.lon), "target": {"kind": "queue"},
            }),
            "elsewhere": pipeline.subscribe({
                "name": "elsewhere", "aoi": aoi_box(a.lat + 5.0, a.lon),
                "target": {"kind": "queue"},
            }),
        }  # fmt: skip
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
        result = pipeline.result((first, last), s.speedup, report)
        queue_sizes = {
            name: pipeline.state.ledger.queue_size(sub_id) for name, sub_id in subscriptions.items()
        }
    finally:
        pipeline.stop()
        hook.stop()
    summary = result.summary()
    summary["complete"] = ok and result.accounted
    summary["mode"] = mode
    summary["polarisation"] = pol
    summary["sensing_s"] = round(last - first, 3)
    summary["autoscale"] = s.autoscale
    summary["broker_storage"] = s.broker_storage
    summary["survives_broker_crash"] = s.broker_storage == "s3"
    summary["simulate_s"] = round(simulate_s, 2)
    summary["webhook_received"] = len(hook.received)
    summary["queued"] = queue_sizes
    summary["burst_keys"] = sorted(p.burst_key for p in result.products)
    summary["burst_labels"] = sorted(p.burst_label or "" for p in result.products)
    kept = bool(s.work_dir) or s.keep
    summary["products_dir"] = str(base / "objects" / "products") if kept else None
    summary["work_dir"] = str(base) if kept else None
    if not kept:
        shutil.rmtree(base, ignore_errors=True)
    return summary


def _print_text(summary: dict[str, Any]) -> None:
    print(
        f"{summary['products']} products from {summary['jobs']} bursts, "
        f"{summary['delivered']}/{summary['expected_deliveries']} deliveries; "
        f"sensing stop -> delivered p50 {summary['latency_p50_s']} s, "
        f"p95 {summary['latency_p95_s']} s; gaps {summary['gaps']}, errors {summary['errors']}"
    )
    print("median per stage (s): " + ", ".join(
        f"{k} {v}" for k, v in summary["stage_p50_s"].items()
    ))  # fmt: skip
    print(
        f"delivered: {summary['webhook_received']} to the demo webhook; pull queues "
        + ", ".join(f"{k} {v}" for k, v in summary["queued"].items())
    )
    if summary["backlog_peak_bursts"] is not None:
        print(
            f"autoscaled {summary['autoscale']}: backlog peak {summary['backlog_peak_bursts']} "
            f"bursts ({summary['backlog_peak_s']} s of sensing); workers over time "
            + " ".join(f"{t}s:{n}" for t, n in summary["workers_over_time"])
        )
    if not summary["survives_broker_crash"]:
        print("broker storage: memory (a broker crash loses the pass; --broker-storage s3 "
              "survives it)")  # fmt: skip
    if summary["bursts_missing"] or summary["bursts_failed"]:
        print(
            f"NOT COMPLETE: {summary['bursts_sent']} bursts sent, missing "
            f"{summary['bursts_missing'] or 'none'}, failed {summary['bursts_failed'] or 'none'}"
        )
    if summary["products_dir"]:
        print(f"products: {summary['products_dir']}")
    else:
        print("products: removed with the temporary work dir (keep them with --keep)")


def _serve_until_interrupted(api_url: str, api_key: str | None, *, json_output: bool) -> None:
    """Print where the API is, one URL per line, then wait for SIGINT/SIGTERM (on stderr
    with ``--json``, so that stdout holds only the JSON summary)."""
    from eoport.commands.run import stop_on_signals

    stop = stop_on_signals()
    out = sys.stderr if json_output else sys.stdout
    for line in (
        f"api: {api_url}",
        f"stac: {api_url}/stac",
        f"dashboard: {api_url}/dashboard",
        f"api-key: {api_key}",
        "serving until interrupted (Ctrl-C)",
    ):
        print(line, file=out, flush=True)
    stop.wait()


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the whole chain on this machine."""
    from eoport.config import DemoSettings

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    update: dict[str, Any] = {}
    for option, field in (
        ("bootstrap_servers", "bootstrap_servers"), ("speedup", "speedup"),
        ("workers", "focus_workers"), ("work_dir", "work_dir"), ("autoscale", "autoscale"),
        ("broker_storage", "broker_storage"), ("focus", "focus"),
    ):  # fmt: skip
        value = getattr(args, option, None)
        if value is not None:
            update[field] = value
    if args.workers is not None and args.autoscale is None:
        update["autoscale"] = None  # --workers N: N threads, no autoscaling
    if args.keep:
        update["keep"] = True
    if args.serve:
        update["keep"] = True
    settings = DemoSettings().model_copy(update=update)
    duration = args.duration if args.duration is not None else args.cycles * 2.758273 + 0.241727
    summary = run_demo(
        settings, mode=args.mode, duration_s=duration, pol=args.pol,
        show_progress=not args.json,
        serve=(
            functools.partial(_serve_until_interrupted, json_output=args.json)
            if args.serve else None
        ),
    )  # fmt: skip
    if args.json:
        print(json.dumps(summary))
    else:
        _print_text(summary)
    return 0 if summary["complete"] else int(ExitStatus.PROCESSING)
