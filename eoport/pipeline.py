"""The whole near-real-time chain on one machine: what ``eoport demo`` and the end-to-end
tests run.

:class:`LocalPipeline` starts (unless given a Kafka cluster) a local Tansu broker, uses a
directory as object store, and runs every stage in threads of this process, each with
its own Kafka clients and consumer group exactly as ``eoport run STAGE`` would: the
assembler, ``focus_workers`` focusing workers, the delivery stage and (optionally) the
HTTP API. Threads rather than processes: one simulated pass is small, and focusing
releases the GIL in numpy/numba/FFTW; the stages still talk only through Kafka and the
object store, so the same code runs as separate processes (``eoport run``).

Latency in a replay: the simulated pass carries 2024 sensing times, so the demo maps
sensing time to wall time with the replay clock: the pass is replayed at its own data
rate times ``speedup`` (the bytes of a line reach the station when the line has been
sensed, as in a real-time downlink), and a burst's sensing stop happens, on the wall
clock, at ``replay start + (sensing stop - first packet time) / speedup``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from eoport.api.deps import ApiState
from eoport.api.server import make_server
from eoport.autoscale import focus_pool
from eoport.config import ApiSettings
from operators.local import LocalScaler
from sar.l0.radar import packet_time
from sar.sim.datatake import SimulatedDatatake, simulate_datatake
from sar.sim.scene import Target
from streams import (
    DEFAULT_TOPICS,
    CommonSettings,
    KafkaBus,
    LocalBroker,
    LocalS3Server,
    ObjectStore,
    OutgoingRecord,
    Record,
    RuntimeConfig,
    SettingsT,
    StageBase,
    StageRuntime,
    derive_settings,
    ensure_topics,
    find_free_port,
)
from streams.assemble import Assembler, AssemblerSettings, BurstSelector, build_assembler
from streams.catalogue import CatalogueSettings, build_cataloguer
from streams.deliver import (
    SUBSCRIPTIONS_FILE,
    DeliverySettings,
    DeliveryStores,
    build_deliverer,
    open_stores,
)
from streams.deliver.apikeys import create_api_key
from streams.deliver.ledger import DeliveryStatus
from streams.deliver.subscriptions import LiveSubscriptionIndex, SubscriptionIndex
from streams.focus import FocusWorker, FocusWorkerSettings, build_focus_worker
from streams.ingest.manifest import manifest_record, pass_manifest
from streams.ingest.replay import ReplayReport, replay_pass
from streams.messages.events import EventRecord
from streams.messages.passes import PassManifest, PassReport, account_pass
from streams.messages.products import ProductRecord
from streams.timeline import SEGMENTS, build_timeline
from streams.timeline.settings import TimelineSettings, open_view

log = logging.getLogger(__name__)

DEMO_CENTER = (45.0, 10.0)
"""Scene centre of the demo pass, (lat, lon) degrees."""

DEMO_TARGETS = (
    Target(44.975, 10.0, 0.0, 1e4),
    Target(45.035, 10.0, 0.0, 1e4),
)
"""Two point targets, one per demo AOI, ~7 km apart along track."""

DEMO_RELATIVE_ORBIT = 117
"""Relative orbit (track) of the demo pass: the simulator numbers its IW bursts with it
and the replay sends it as pass metadata, so the stream's keys are ESA burst IDs."""


def aoi_box(lat: float, lon: float, half_deg: float = 0.004) -> dict[str, Any]:
    """A small square GeoJSON polygon around (lat, lon)."""
    a, b = lon - half_deg, lon + half_deg
    c, d = lat - half_deg, lat + half_deg
    return {"type": "Polygon", "coordinates": [[[a, c], [b, c], [b, d], [a, d], [a, c]]]}


def simulate_pass(
    mode: str = "IW", duration_s: float = 3.0, n_samples: int | None = 4096, seed: int = 1,
    relative_orbit: int = DEMO_RELATIVE_ORBIT, pol: str = "VV",
) -> SimulatedDatatake:  # fmt: skip
    """The demo pass: ``mode`` over :data:`DEMO_CENTER` with :data:`DEMO_TARGETS`.

    IW by default (one 2.758 s burst cycle: IW1, IW2, IW3 bursts; 4096 samples hold the
    longest IW pulse, 3372 samples in IW1; ``None``: the full echo window, ~21,000-25,000
    samples); ``S6`` stripmap (2478-sample pulse) gives overlapping blocks instead;
    ``pol`` ``VV+VH`` (or ``HH+HV``) simulates both receive channels, interleaved.
    """
    return simulate_datatake(
        mode, DEMO_CENTER, duration_s, list(DEMO_TARGETS), n_samples=n_samples, seed=seed,
        relative_orbit=relative_orbit, pol=pol,
    )  # fmt: skip


def sensing_span(datatake: SimulatedDatatake) -> tuple[float, float]:
    """First and last packet datation of a simulated pass, GPS s."""
    h = datatake.headers
    t = np.asarray(packet_time(h["coarse_time"], h["fine_time"]), dtype=np.float64)
    return float(t.min()), float(t.max())


class WebhookReceiver:
    """A local HTTP endpoint recording every POSTed product record (demo subscriber)."""

    def __init__(self) -> None:
        self.received: list[tuple[datetime, dict[str, Any]]] = []
        lock = threading.Lock()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock:
                    received.append((datetime.now(UTC), json.loads(body or b"{}")))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class PipelineResult:
    """Outcome of one replayed pass."""

    products: list[ProductRecord]
    jobs: int
    incomplete_jobs: int
    failed_jobs: int
    delivered: list[tuple[str, str]]
    expected_deliveries: list[tuple[str, str]]
    latencies_s: list[float]
    pipeline_latencies_s: list[float]
    gaps: int
    errors: int
    replay: ReplayReport | None
    stage_s: dict[str, float] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    passes: list[PassReport] = field(default_factory=list)
    """Each replayed pass against its manifest (what the station sent)."""
    skipped: list[str] = field(default_factory=list)
    """Bursts early selection did not focus (raw data kept; focusable on request)."""
    burst_latencies_s: list[float] = field(default_factory=list)
    """Sensing stop -> product written, per focused burst, s."""
    stage_p95_s: dict[str, float] = field(default_factory=dict)
    workers_over_time: list[tuple[float, int]] = field(default_factory=list)
    """(seconds since the replay started, focusing workers running) at every change."""
    backlog_peak: tuple[int, float] | None = None
    """Largest ``focus-jobs`` backlog seen by the autoscaler: (bursts, seconds of sensing)."""

    @property
    def accounted(self) -> bool:
        """Every burst of every pass came out as a product or a reported failure."""
        return all(r.complete for r in self.passes)

    def summary(self) -> dict[str, Any]:
        """The JSON summary of ``eoport demo --json``."""

        def pct(values: list[float], q: float) -> float | None:
            return round(float(np.percentile(values, q)), 3) if values else None

        out: dict[str, Any] = {
            "products": len(self.products),
            "jobs": self.jobs,
            "incomplete_jobs": self.incomplete_jobs,
            "failed_jobs": self.failed_jobs,
            "delivered": len(self.delivered),
            "expected_deliveries": len(self.expected_deliveries),
            "latency_p50_s": pct(self.latencies_s, 50),
            "latency_p95_s": pct(self.latencies_s, 95),
            "pipeline_latency_p50_s": pct(self.pipeline_latencies_s, 50),
            "pipeline_latency_p95_s": pct(self.pipeline_latencies_s, 95),
            "burst_latency_p50_s": pct(self.burst_latencies_s, 50),
            "burst_latency_p95_s": pct(self.burst_latencies_s, 95),
            "burst_latency_max_s": pct(self.burst_latencies_s, 100),
            "stage_p50_s": {k: round(v, 3) for k, v in self.stage_s.items()},
            "stage_p95_s": {k: round(v, 3) for k, v in self.stage_p95_s.items()},
            "workers_over_time": [[round(t, 1), n] for t, n in self.workers_over_time],
            "backlog_peak_bursts": None if self.backlog_peak is None else self.backlog_peak[0],
            "backlog_peak_s": (
                None if self.backlog_peak is None else round(self.backlog_peak[1], 1)
            ),
            "gaps": self.gaps,
            "errors": self.errors,
            "events": self.events,
            "bursts_sent": sum(r.expected for r in self.passes),
            "bursts_missing": sorted(k for r in self.passes for k in r.missing),
            "bursts_failed": sorted(k for r in self.passes for k in r.failed),
            "bursts_incomplete": sorted(k for r in self.passes for k in r.incomplete),
            "bursts_focused": self.jobs,
            "bursts_skipped": len(self.skipped),
            "skipped_keys": sorted(self.skipped),
        }
        if self.replay is not None:
            out["chunks"] = self.replay.chunks
            out["chunks_per_s"] = round(self.replay.chunks_per_s, 2)
            out["mb_per_s"] = round(self.replay.mb_per_s, 3)
        return out


MEMORY_BROKER_FETCH_WAIT_MS = 100
"""``fetch.wait.max.ms`` of every stage on an in-memory Tansu, ms. Tansu answers a waiting
fetch as soon as a record arrives: produce -> consume p50 0.014 s, max 0.05 s at 100 ms
(0.011 s / 0.012 s at 10 ms, 0.033 s / 0.053 s at 200 ms). Each idle consumer fetches
1,000 / wait times a second: at 10 ms the seven consumers of the chain kept the broker 78 %
busy while idle (7.8 CPU s in 10 s), at 100 ms 14 %, at 200 ms 9 % — CPU the focusing
workers need on a 2-core machine."""

_STAGES = (
    *((s.start, s.stop, s.name) for s in SEGMENTS if s.name != "total"),
    ("kafka_append", "job_append", "kafka_to_job"),
)
"""Per-burst spans of the stage percentiles: the timeline service's latency segments
(``deliver``: from the delivery ledger), and ``kafka_to_job``, a burst's last chunk on
Kafka to its focus job published (assemble + aux + publish of one burst; its percentiles
are not the sums of theirs)."""


LOCAL_DEFAULTS: dict[str, Any] = {
    "target_allow_networks": ["127.0.0.1/32", "::1/128"],
    "max_running_subscriptions": 100,
    "max_subscriptions": 100,
}
"""Stage settings of a :class:`LocalPipeline` unless given: webhooks may reach this
machine (the local receivers of the demo and the tests), and the per-user limits are
raised (the demo user subscribes several AOIs)."""


def burst_selector(
    settings: AssemblerSettings, stores: DeliveryStores | None = None
) -> BurstSelector | None:
    """The early data selection of an assembler (``focus_selection = "subscriptions"``),
    over the subscription store in ``stores`` (default: the embedded one under
    ``settings.state_dir``, the same sqlite file the API writes); ``None`` when every
    burst is focused. Credentials are never loaded: the selector only matches."""
    if settings.focus_selection != "subscriptions":
        return None
    st = stores if stores is not None else open_stores(settings.state_dir)
    index = LiveSubscriptionIndex(st.subscriptions, secrets=False)
    return BurstSelector(index, settings.systematic_areas, margin_m=settings.selection_margin_m)


def secure_api(app: Any, settings: ApiSettings, producer_settings: Any = None) -> None:
    """Make sure ``app`` has the access control, the CDSE router and the burst refocus
    route (a no-op for what :func:`eoport.api.main.create_app` already installed)."""
    from eoport.api.auth import install_security
    from eoport.api.routes import bursts, odata

    if getattr(app.state, "security", None) is None:
        install_security(app, settings)
    paths = {getattr(r, "path", "") for r in app.routes}
    if "/odata/v1/Subscriptions" not in paths:
        app.include_router(odata.router)
    if not any(p.startswith("/bursts") for p in paths):
        app.include_router(bursts.router)
    if getattr(app.state, "refocus", None) is None:
        bursts.install_refocus(app, producer_settings or settings)


class _Outcomes(StageBase):
    """What the pipeline learns from ``l1-products`` and ``events``: products and failed
    bursts, wherever the focusing workers run (threads here, or processes)."""

    name = "outcomes"

    def __init__(self, products_topic: str, pipeline: LocalPipeline) -> None:
        self.products_topic = products_topic
        self.pipeline = pipeline
        self.failed_keys: set[str] = set()

    def handle(self, record: Record, now: float) -> Sequence[OutgoingRecord]:
        if record.topic == self.products_topic:
            self.pipeline._product(ProductRecord.from_bytes(record.value))
        else:
            event = EventRecord.from_bytes(record.value)
            if event.kind == "focus-failed":
                with self.pipeline._lock:
                    self.failed_keys.add(event.source)
        return ()


class LocalPipeline:
    """Every stage of the chain on this machine (threads), against a real broker.

    Each stage is built by its wing's ``build_*`` from its settings class, exactly as
    ``eoport run STAGE`` builds it; the stages talk only through Kafka and the object
    store.

    Parameters
    ----------
    work_dir
        Object store (``objects/``) and embedded stores and snapshots (``state/``).
    settings
        Connection settings shared by the stages (``bootstrap_servers`` is replaced by the
        local broker's when one is started here).
    broker
        An already running local broker to use (tests that restart it).
    focus_workers
        Focusing workers (threads).
    broker_storage
        Storage of the local broker this pipeline starts: ``memory`` (fast; a broker
        crash loses what it held) or ``s3`` (a local S3 server, moto, in this process:
        the broker's topics and offsets survive a broker crash and restart).
    autoscale
        ``(min, max)``: focusing workers as processes (``eoport run focus``) started and
        stopped with the backlog by the operator's policy (:mod:`eoport.autoscale`)
        instead of ``focus_workers`` threads.
    api
        Also serve the HTTP API (on a free port).
    start_workers
        Start the focusing workers in this process (``False`` when tests run them as
        separate processes).
    bootstrap_servers
        Kafka cluster to use; ``None`` starts a local Tansu (:class:`LocalBroker`).
    **stage
        Stage settings for this pipeline (``gap_timeout_s``, ``burst_timeout_s``,
        ``block_lines``, ``snapshot_interval_s``, ``session_timeout_ms``, ...), applied
        to every stage whose settings have the field.
    """

    def __init__(
        self,
        work_dir: Path,
        *,
        settings: CommonSettings | None = None,
        broker: LocalBroker | None = None,
        bootstrap_servers: str | None = None,
        focus_workers: int = 1,
        autoscale: tuple[int, int] | None = None,
        broker_storage: str = "memory",
        api: bool = True,
        start_workers: bool = True,
        **stage: Any,
    ) -> None:
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._own_broker = broker is None and bootstrap_servers is None
        self.broker = broker
        self.bootstrap_servers = bootstrap_servers
        self.focus_workers = focus_workers
        self.autoscale = autoscale
        self.broker_storage = broker_storage
        self._s3: LocalS3Server | None = None
        self.scaler: LocalScaler | None = None
        self._outcomes: _Outcomes | None = None
        self.api = api
        self.start_workers = start_workers
        self._base = settings
        self._stage = LOCAL_DEFAULTS | dict(stage)
        self.api_key: str | None = None
        """API key of the pipeline's user (``demo``), created when the API starts."""
        self.stores: DeliveryStores = open_stores(self.work_dir / "state")
        self.state = ApiState.of(self.stores)
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.runtimes: list[StageRuntime] = []
        self.products: dict[str, ProductRecord] = {}
        self.job_keys: set[str] = set()
        self.assembler: Assembler | None = None
        self.workers: list[FocusWorker] = []
        self.api_url: str | None = None
        self._server: Any = None
        self._lock = threading.Lock()
        self.replay_start: float | None = None
        self.manifests: list[PassManifest] = []

    # ------------------------------------------------------------------ lifecycle

    @property
    def servers(self) -> str:
        if self.bootstrap_servers is not None:
            return self.bootstrap_servers
        assert self.broker is not None
        return self.broker.bootstrap_servers

    @property
    def settings(self) -> CommonSettings:
        """The connection settings every stage of this pipeline shares."""
        base = self._base or CommonSettings()
        update: dict[str, Any] = {
            "bootstrap_servers": self.servers,
            "object_store_url": str(self.work_dir / "objects"),
            "state_dir": self.work_dir / "state",
        }
        if "session_timeout_ms" in self._stage:
            update["session_timeout_ms"] = self._stage["session_timeout_ms"]
        elif self._base is None:
            update["session_timeout_ms"] = 6000  # Tansu delays a join by about half of it
        if "fetch_wait_max_ms" in self._stage:
            update["fetch_wait_max_ms"] = self._stage["fetch_wait_max_ms"]
        elif self.broker is not None and self.broker.storage.startswith("memory:"):
            update["fetch_wait_max_ms"] = MEMORY_BROKER_FETCH_WAIT_MS
        return base.model_copy(update=update)

    @property
    def store(self) -> ObjectStore:
        """The pipeline's object store (raw bursts, products)."""
        return ObjectStore(str(self.work_dir / "objects"))

    def stage_settings(self, model: type[SettingsT], **overrides: Any) -> SettingsT:
        """Settings of one stage of this pipeline (:func:`derive_settings`)."""
        return derive_settings(model, self.settings, **(self._stage | overrides))

    def bus(self, client_id: str = "eoport-demo") -> KafkaBus:
        """A bus on the pipeline's broker."""
        s = self.settings
        return KafkaBus(
            self.servers, client_id=client_id, session_timeout_ms=s.session_timeout_ms,
            message_timeout_ms=300_000, fetch_wait_max_ms=s.fetch_wait_max_ms,
        )  # fmt: skip

    def start(self) -> None:
        """Start the broker (if needed) and every stage; return once they run."""
        if self.broker is None and self.bootstrap_servers is None:
            log_path = self.work_dir / "tansu.log"
            if self.broker_storage == "s3":
                self._s3 = LocalS3Server()
                self._s3.start()
                storage = self._s3.create_bucket(f"tansu-{uuid.uuid4().hex[:12]}")
                self.broker = LocalBroker(storage, s3=self._s3.endpoint, log_path=log_path)
            else:
                self.broker = LocalBroker(log_path=log_path)
            self.broker.start()
        ensure_topics(self.bus(), DEFAULT_TOPICS)
        assembler_settings = self.stage_settings(AssemblerSettings)
        runtime = build_assembler(
            assembler_settings, on_job=lambda out: self.job_keys.add(out.key),
            selector=burst_selector(assembler_settings, self.stores),
        )  # fmt: skip
        assert isinstance(runtime.stage, Assembler)
        self.assembler = runtime.stage
        self._run("assemble", runtime)
        outcomes = _Outcomes(self.settings.topics.l1_products, self)
        self._outcomes = outcomes
        config = RuntimeConfig(
            f"eoport-outcomes-{uuid.uuid4().hex[:8]}",
            [self.settings.topics.l1_products, self.settings.topics.events],
            stall_after_s=None,
        )
        self._run("outcomes", StageRuntime(outcomes, self.bus("eoport-outcomes"), config))
        if self.start_workers and self.autoscale is not None:
            self.scaler = focus_pool(
                self.stage_settings(FocusWorkerSettings), self.autoscale,
                log_dir=self.work_dir / "workers", interval_s=0.5,
            )  # fmt: skip
            self._thread("autoscale", self.scaler.run)
        elif self.start_workers:
            for i in range(self.focus_workers):
                self.add_worker(f"focus-{i}")
        deliver = self.stage_settings(DeliverySettings, backoff_initial_s=0.5)
        self._run("deliver", build_deliverer(deliver, stores=self.stores))
        self._run("catalogue", build_cataloguer(self.stage_settings(CatalogueSettings)))
        timeline = self.stage_settings(TimelineSettings, sample_interval_s=1.0)
        self._run("timeline", build_timeline(timeline))
        if self.api:
            port = find_free_port()
            view = open_view(timeline, workers=self.running_workers)
            api_settings = self.stage_settings(ApiSettings, port=port)
            self._server = make_server(api_settings, self.state, timeline=view)
            secure_api(self._server.config.app, api_settings)
            self.api_key = create_api_key(self.work_dir / "state" / SUBSCRIPTIONS_FILE, "demo")
            thread = threading.Thread(target=self._server.run, name="api", daemon=True)
            thread.start()
            self.api_url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 20
            while not self._server.started and time.monotonic() < deadline:
                time.sleep(0.05)

    def wait_ready(self, timeout_s: float = 120.0) -> bool:
        """Wait until every stage of this process holds its partitions and the autoscaler's
        minimum of focusing workers answers ``/readyz``, so a replay that starts now is
        not timed against group joins and warm-ups; ``False`` on timeout."""
        deadline = time.monotonic() + timeout_s
        for runtime in self.runtimes:
            if not runtime.assigned.wait(max(0.0, deadline - time.monotonic())):
                log.warning("stage %s has no partitions after %.0f s", runtime.stage.name,
                            timeout_s)  # fmt: skip
                return False
        if self.scaler is None or self.autoscale is None:
            return True
        while time.monotonic() < deadline:
            if len(self.scaler.ready()) >= self.autoscale[0]:
                return True
            time.sleep(0.2)
        return False

    def running_workers(self) -> int:
        """Focusing workers running now (threads, or the scaler's processes)."""
        if self.scaler is not None:
            return len(self.scaler.running)
        return len(self.workers)

    def add_worker(self, name: str) -> FocusWorker:
        """Start one more focusing worker thread."""
        runtime = build_focus_worker(
            self.stage_settings(FocusWorkerSettings, client_id=f"eoport-{name}"),
            on_product=self._product, configure_fft=False,
        )  # fmt: skip
        assert isinstance(runtime.stage, FocusWorker)
        self.workers.append(runtime.stage)
        self._run(name, runtime)
        return runtime.stage

    def _product(self, product: ProductRecord) -> None:
        with self._lock:
            self.products[product.burst_key] = product

    def _run(self, name: str, runtime: StageRuntime) -> None:
        self.runtimes.append(runtime)
        self._thread(name, runtime.run)

    def _thread(self, name: str, target: Callable[[threading.Event], object]) -> None:
        def run() -> None:
            try:
                target(self.stop_event)
            except Exception:
                log.exception("stage %s crashed", name)
                raise

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def stop(self) -> None:
        """Stop every stage (and the broker this pipeline started)."""
        self.stop_event.set()
        if self._server is not None:
            self._server.should_exit = True
        for thread in self.threads:
            thread.join(timeout=30)
        if self._own_broker and self.broker is not None:
            self.broker.kill()
        if self._s3 is not None:
            self._s3.stop()

    def __enter__(self) -> LocalPipeline:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ use

    def subscribe(self, spec: dict[str, Any]) -> str:
        """Create a subscription through the HTTP API; return its id."""
        if self.api_url is None:
            from streams.deliver.subscriptions import SubscriptionSpec, new_subscription

            sub = new_subscription(SubscriptionSpec.model_validate(spec), owner="demo")
            self.state.subscriptions.add(sub)
            return sub.id
        response = httpx.post(
            f"{self.api_url}/subscriptions", json=spec, timeout=10, headers=self.auth_headers()
        )
        response.raise_for_status()
        return str(response.json()["id"])

    def auth_headers(self) -> dict[str, str]:
        """``Authorization`` header of the pipeline's API user."""
        return {} if self.api_key is None else {"Authorization": f"Bearer {self.api_key}"}

    def replay(
        self,
        data: bytes,
        *,
        pass_id: str = "pass-1",
        channel: int = 1,
        rate_bytes_per_s: float | None = None,
        chunk_size: int = 256_000,
        on_chunk: Callable[[Any], None] | None = None,
        relative_orbit: int | None = None,
    ) -> ReplayReport:
        """Publish ``data`` as one downlink channel's chunks (``None`` rate: at once);
        ``relative_orbit`` is the pass metadata the station would send (ESA burst IDs).

        Once every chunk is acknowledged, the station's manifest of the pass (which bursts
        it sent, :func:`streams.ingest.manifest.pass_manifest`) goes to ``events``; the
        result accounts for every burst in it.
        """
        self.replay_start = time.time()
        producer = self.bus("eoport-ingest").producer()
        report = replay_pass(
            data, producer, station="LOCAL", pass_id=pass_id,
            channel=channel, chunk_size=chunk_size, rate_bytes_per_s=rate_bytes_per_s,
            on_chunk=on_chunk, relative_orbit=relative_orbit,
        )  # fmt: skip
        manifest = pass_manifest(
            data, f"LOCAL/{pass_id}/{channel}", chunks=report.chunks, relative_orbit=relative_orbit
        )
        out = manifest_record(manifest, self.settings.topics.events)
        producer.send(out.topic, out.key, out.value, out.headers)
        producer.flush()
        producer.close()
        with self._lock:
            self.manifests.append(manifest)
        return report

    def expected_keys(self) -> set[str]:
        """Burst keys of every replayed pass's manifest (TOPS bursts)."""
        with self._lock:
            return {e.key for m in self.manifests for e in m.entries if e.key is not None}

    def failed_keys(self) -> set[str]:
        """Burst keys whose focusing failed permanently."""
        failed = {k for w in self.workers for k in w.stats.failed_keys}
        if self._outcomes is not None:
            with self._lock:
                failed |= self._outcomes.failed_keys
        return failed

    def skipped_keys(self) -> set[str]:
        """Burst keys early selection did not focus."""
        return set(self.assembler.skipped_keys) if self.assembler is not None else set()

    def finished_jobs(self) -> set[str]:
        """Burst keys with a product, a permanent failure, or skipped by selection."""
        return set(self.products) | self.failed_keys() | self.skipped_keys()

    def expected_deliveries(self) -> list[tuple[str, str]]:
        """(subscription id, product id) pairs the AOIs call for."""
        index = SubscriptionIndex(self.state.subscriptions.all())
        return sorted(
            (sub.id, p.product_id) for p in self.products.values() for sub in index.match_product(p)
        )

    def delivered(self) -> list[tuple[str, str]]:
        """(subscription id, product id) pairs delivered (ledger)."""
        rows = self.state.ledger.entries(status=DeliveryStatus.DELIVERED, limit=100_000)
        return sorted((r.subscription_id, r.product_id) for r in rows)

    def wait_done(
        self, channel_keys: list[str], timeout_s: float = 300.0,
        progress: Callable[[int, int], None] | None = None,
    ) -> bool:  # fmt: skip
        """Wait until the channels' passes are assembled, every job is focused (or failed)
        and every expected delivery is in the ledger; ``False`` on timeout."""
        deadline = time.monotonic() + timeout_s
        assert self.assembler is not None
        while time.monotonic() < deadline:
            assembled = set(channel_keys) <= self.assembler.done_channels
            done = self.finished_jobs()
            if progress is not None:
                progress(len(done & self.job_keys), len(self.job_keys))
            if assembled and self.job_keys <= done and self.expected_keys() <= done:
                expected = set(self.expected_deliveries())
                if expected <= set(self.delivered()):
                    return True
            time.sleep(0.2)
        return False

    def _account(self, manifest: PassManifest) -> PassReport:
        """The pass against its manifest; skipped bursts are accounted for (not missing)."""
        skipped = self.skipped_keys()
        report = account_pass(manifest, self.products.values(), self.failed_keys() | skipped)
        return _without(report, skipped)

    def result(
        self, sensing: tuple[float, float] | None = None, speedup: float = 1.0,
        replay: ReplayReport | None = None,
    ) -> PipelineResult:  # fmt: skip
        """Collect products, deliveries and latencies (see the module docstring)."""
        rows = self.state.ledger.entries(status=DeliveryStatus.DELIVERED, limit=100_000)
        by_id = {p.product_id: p for p in self.products.values()}
        latencies: list[float] = []
        burst_latencies: list[float] = []
        pipeline: list[float] = []
        stages: dict[str, list[float]] = {name: [] for _, _, name in _STAGES}

        def stamps_of(p: ProductRecord) -> dict[str, float]:
            stamps = {k: v.timestamp() for k, v in p.timeline.items()}
            if sensing is not None and self.replay_start is not None:
                # the replay maps sensing time to wall time (module docstring)
                offset = (_gps_of(p.sensing_stop) - sensing[0]) / speedup
                stamps["sensing_stop"] = self.replay_start + offset
            return stamps

        for p in by_id.values():  # every focused burst, delivered or not
            stamps = stamps_of(p)
            if sensing is not None and "product_written" in stamps:
                burst_latencies.append(stamps["product_written"] - stamps["sensing_stop"])
            for a, b, name in _STAGES:
                if a in stamps and b in stamps:
                    stages[name].append(stamps[b] - stamps[a])
        for row in rows:
            found = by_id.get(row.product_id)
            if found is None or row.delivered_at is None:
                continue
            p = found
            delivered = row.delivered_at.timestamp()
            receive = p.timeline.get("station_receive")
            if receive is not None:
                pipeline.append(delivered - receive.timestamp())
            stamps = stamps_of(p)
            if sensing is not None and self.replay_start is not None:
                latencies.append(delivered - stamps["sensing_stop"])
            if "product_written" in stamps:
                stages["deliver"].append(delivered - stamps["product_written"])
        assert self.assembler is not None
        ev = dict(self.assembler.stats.events)
        failed = sum(w.stats.failed for w in self.workers)
        return PipelineResult(
            products=list(self.products.values()),
            jobs=len(self.job_keys),
            incomplete_jobs=self.assembler.stats.incomplete_jobs,
            failed_jobs=failed,
            delivered=self.delivered(),
            expected_deliveries=self.expected_deliveries(),
            latencies_s=latencies,
            pipeline_latencies_s=pipeline,
            gaps=ev.get("gap", 0),
            errors=failed + ev.get("corrupt", 0) + ev.get("rejected-chunk", 0),
            replay=replay,
            passes=[self._account(m) for m in self.manifests],
            skipped=sorted(self.skipped_keys()),
            stage_s={k: float(np.median(v)) for k, v in stages.items() if v},
            stage_p95_s={k: float(np.percentile(v, 95)) for k, v in stages.items() if v},
            events=ev,
            burst_latencies_s=burst_latencies,
            workers_over_time=self._workers_over_time(),
            backlog_peak=self._backlog_peak(),
        )

    def _workers_over_time(self) -> list[tuple[float, int]]:
        t0 = self.replay_start or 0.0
        if self.scaler is None:
            return [(0.0, len(self.workers))]
        changes: list[tuple[float, int]] = []
        for t, n in self.scaler.workers_over_time():
            if not changes or changes[-1][1] != n:
                changes.append((t - t0, n))
        return changes

    def _backlog_peak(self) -> tuple[int, float] | None:
        if self.scaler is None:
            return None
        seen = [(r.backlog_bursts, r.backlog_s) for r in self.scaler.timeline
                if r.backlog_bursts >= 0]  # fmt: skip
        return max(seen, default=(0, 0.0))


def _without(report: PassReport, skipped: set[str]) -> PassReport:
    """``report`` with the skipped bursts (accounted like failures) off its failed list."""
    return report.model_copy(update={"failed": [k for k in report.failed if k not in skipped]})


def _gps_of(when: datetime) -> float:
    from sar.timeutil import utc_to_gps_seconds

    return utc_to_gps_seconds(when)
