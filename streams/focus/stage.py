"""The ``focus`` stage: ``focus-jobs`` in, SLC products in the object store and
``l1-products`` records out.

For each job (one burst or stripmap block): fetch the raw packets named by the claim
check, decode them (:func:`sar.l0.packets.decode_packets`), build the orbit from the
job's state vectors extended by propagation over the burst's margins
(:func:`sar.geo.propagate.extend_orbit`), focus exactly the burst the assembler identified
(:func:`sar.process.focus_identified_burst`), write the SLC (HDF5, uncompressed: gzip
saves 1.2x for ~5 s per burst; written by path, synced, renamed) atomically under
``products/{product_id}.h5`` where ``product_id = make_product_id(burst_key, version)``
and its quick-look PNG beside it (from the image in memory), publish the
:class:`~streams.messages.products.ProductRecord`, flush, and only then commit the job.

- A worker killed mid-burst leaves its job uncommitted: after the group rebalances,
  another member focuses it again and overwrites the same object with the same id.
- :class:`~streams.errors.RetryableError` (object store, broker): retried with backoff,
  offset not committed.
- Permanent failures (job not parseable, raw object missing, corrupt packets, a burst that
  cannot be focused: any :class:`sar.errors.SarError`): the job goes to ``dead-letters``
  with the reason and an ``events`` record ``focus-failed`` is published; then commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from prometheus_client import Counter, Histogram

from sar import __version__
from sar.errors import SarError
from sar.focus.tops import FocusWorkspace
from sar.l0.packets import decode_packets
from sar.process import ORBIT_MARGIN, focus_identified_burst
from sar.product.geogrid import footprint_geojson
from sar.product.model import MissingLines
from sar.product.quicklook import make_quicklook
from sar.product.slc import write_slc
from sar.timeutil import gps_seconds_to_utc
from streams._infra.errors import PermanentError, StreamError
from streams._infra.objectstore import ObjectStore
from streams._infra.records import OutgoingRecord, Record
from streams._infra.retry import RetryPolicy
from streams._infra.runtime import StageBase
from streams._infra.topics import EVENTS, L1_PRODUCTS
from streams.catalogue.sarparams import sar_parameters_of
from streams.catalogue.stac import quicklook_url_for
from streams.focus.warmup import SharedWisdom
from streams.messages.events import EventRecord
from streams.messages.jobs import JobRecord
from streams.messages.products import ProductRecord, make_product_id

log = logging.getLogger(__name__)

FOCUS_SECONDS = Histogram(
    "eoport_focus_seconds",
    "Wall time to fetch, decode, focus and write one burst, s",
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300),
)
JOBS_DONE = Counter("eoport_focus_jobs", "Focus jobs finished by outcome", ["outcome"])

FocusFilter = Callable[[JobRecord], bool]
"""Decides whether a job is worth focusing (e.g. its predicted footprint touches an AOI)."""


class FocusFailedError(PermanentError):
    """A job that cannot be turned into a product (corrupt packets, unfocusable burst)."""


def missing_spans(missing: MissingLines | None) -> list[tuple[datetime, datetime]]:
    """Sensing-time spans (first, last lost line), UTC, of a product's missing lines."""
    if missing is None:
        return []
    t0, dt = missing.first_line_time, missing.line_interval
    return [
        (gps_seconds_to_utc(t0 + a * dt), gps_seconds_to_utc(t0 + (b - 1) * dt))
        for a, b in missing.ranges
    ]


def orbit_state_of(job: JobRecord) -> Literal["ascending", "descending"] | None:
    """``ascending`` when the satellite moves north at the burst (ECEF z velocity > 0; the
    same in the inertial frame), ``descending`` otherwise; ``None`` without vectors."""
    mid = 0.5 * (job.sensing_start_gps + job.sensing_stop_gps)
    if not job.state_vectors:
        return None
    nearest = min(job.state_vectors, key=lambda s: abs(s.time - mid))
    return "ascending" if nearest.velocity[2] > 0 else "descending"


@dataclass
class WorkerStats:
    """What one worker did."""

    products: int = 0
    failed: int = 0
    skipped: int = 0
    retries: int = 0
    failed_keys: list[str] = field(default_factory=list)
    focus_s: list[float] = field(default_factory=list)


FOCUS_RETRY = RetryPolicy(max_attempts=8, base_delay_s=0.5, max_delay_s=30.0, max_age_s=None)
"""Retry of a job that failed transiently (object store, broker) before it is
dead-lettered."""


class FocusWorker(StageBase):
    """The ``focus`` stage (a :class:`streams._infra.runtime.Stage`): one job at a time.

    Parameters
    ----------
    store
        Object store (raw bursts in, products out).
    processing_version
        Goes into the product id: reprocessing with another version gives new ids.
    products_topic, events_topic
        Output topic names.
    products_prefix
        Object-store key prefix of products.
    focus_filter
        Optional: jobs for which it returns ``False`` are committed without focusing
        (an ``events`` record says so).
    on_product
        Called with every product record published (progress, tests).
    fft_wisdom
        Optional FFTW wisdom file, rewritten after a burst that created new plans.
    workspace
        Buffers and FFT plans reused from burst to burst (the one the warm-up filled,
        :func:`streams.focus.warmup.warm_up`); ``None``: a new one. Each product's image
        goes back into it once the product is written.
    """

    name = "focus"

    def __init__(
        self,
        store: ObjectStore,
        *,
        processing_version: str = __version__,
        products_topic: str = L1_PRODUCTS,
        events_topic: str = EVENTS,
        products_prefix: str = "products",
        focus_filter: FocusFilter | None = None,
        on_product: Callable[[ProductRecord], None] | None = None,
        fft_wisdom: SharedWisdom | None = None,
        workspace: FocusWorkspace | None = None,
    ) -> None:
        self.store = store
        self.processing_version = processing_version
        self.products_topic = products_topic
        self.events_topic = events_topic
        self.products_prefix = products_prefix.strip("/")
        self.focus_filter = focus_filter
        self.on_product = on_product
        self.fft_wisdom = fft_wisdom
        self.workspace = workspace if workspace is not None else FocusWorkspace()
        self.stats = WorkerStats()

    def focus(self, job: JobRecord, kafka_append: datetime | None = None) -> ProductRecord:
        """Fetch, decode, focus and write one job's product; return its record.

        Raises
        ------
        RetryableError
            Object store unavailable.
        PermanentError
            Raw object missing, corrupt packets, burst that cannot be focused.
        """
        start = datetime.now(UTC)
        t0 = time.perf_counter()
        data = self.store.get_bytes(job.raw_url)
        try:
            packets = decode_packets(data, strict=False)
            orbit = job.orbit(ORBIT_MARGIN)
            slc = focus_identified_burst(
                packets, job.identity, orbit, workspace=self.workspace
            ).slc
        except SarError as exc:
            raise FocusFailedError(f"{job.burst_key}: {exc}") from exc
        missing = slc.missing
        complete = slc.complete
        end = datetime.now(UTC)
        if self.fft_wisdom is not None:
            try:
                self.fft_wisdom.save_if_changed()
            except (OSError, StreamError) as exc:  # the product matters more than the plans
                log.warning("cannot save FFTW wisdom to %s: %s", self.fft_wisdom.url, exc)
        product_id = make_product_id(job.burst_key, self.processing_version)
        url = self.store.url(f"{self.products_prefix}/{product_id}.h5")
        history: dict[str, Any] = {
            "processor": "eoport", "version": self.processing_version,
            "burst_key": job.burst_key, "status": job.status, "raw_url": job.raw_url,
        }  # fmt: skip
        try:
            footprint = footprint_geojson(slc)
            figures = sar_parameters_of(slc)
            sar_figures = figures.model_dump()
            spacing = (figures.pixel_spacing_azimuth_m, figures.pixel_spacing_range_m)
            with self.store.write_path(url) as path:
                write_slc(path, slc, history=history, compression="none")
                size = path.stat().st_size
                # the quick-look, from the image in memory (0.05 s for a full-size IW
                # burst, against 0.6 s of CPU for the catalogue to read the product back),
                # is made while the product is synced to disk (0.08-0.10 s): write path
                # 0.16 s instead of 0.19 s (median of 6, interleaved)
                with ThreadPoolExecutor(1, thread_name_prefix="product-sync") as pool:
                    synced = pool.submit(self.store.sync_written, path)
                    png = make_quicklook(slc.image, spacing=spacing)
                    synced.result()
            quicklook_url = self.store.put_bytes(quicklook_url_for(url), png)
        except SarError as exc:
            raise FocusFailedError(f"{job.burst_key}: cannot write product: {exc}") from exc
        finally:
            # the next burst of this shape is focused into the same (mapped) memory
            image = slc.image
            del slc
            self.workspace.recycle(image)
        written = datetime.now(UTC)
        timeline = dict(job.timeline)
        if kafka_append is not None:
            timeline.setdefault("job_append", kafka_append)
        timeline.update(focus_start=start, focus_end=end, product_written=written)
        elapsed = time.perf_counter() - t0
        FOCUS_SECONDS.observe(elapsed)
        self.stats.focus_s.append(elapsed)
        return ProductRecord(
            burst_key=job.burst_key,
            processing_version=self.processing_version,
            mode=job.mode,
            swath=job.swath,
            polarisation=job.polarisation,
            burst_id=job.burst_id,
            data_take_id=job.data_take_id,
            relative_orbit=job.relative_orbit or None,
            burst_label=job.burst_label or None,
            orbit_state=orbit_state_of(job),
            anx_datetime=(
                None if job.anx_time_gps is None else gps_seconds_to_utc(job.anx_time_gps)
            ),
            footprint=footprint,
            sensing_start=job.sensing_start,
            sensing_stop=job.sensing_stop,
            url=url,
            size_bytes=size,
            sar=sar_figures,
            quality={
                "packets": float(job.packet_count),
                "missing_lines": float(missing.count if missing is not None else 0),
                "missing_pri": float(sum(b - a + 1 for a, b in job.missing_pri)),
                "complete": 1.0 if job.status == "complete" and complete else 0.0,
                "focus_seconds": elapsed,
            },
            missing_lines=missing_spans(missing),
            quicklook_url=quicklook_url,
            quicklook_size=len(png),
            timeline=timeline,
        )

    def handle(self, record: Record, now: float) -> Sequence[OutgoingRecord]:
        """Focus one ``focus-jobs`` record; return its product record (or the event that
        says why it was skipped).

        Raises
        ------
        RetryableError
            Object store unavailable (the runtime retries, then dead-letters).
        PermanentError
            Not a job, raw object missing, corrupt packets, unfocusable burst.
        """
        job = JobRecord.from_bytes(record.value)
        if self.focus_filter is not None and not self.focus_filter(job):
            self.stats.skipped += 1
            JOBS_DONE.labels("skipped").inc()
            event = EventRecord(kind="focus-skipped", source=job.burst_key,
                                detail={"reason": "no subscription needs it"})  # fmt: skip
            return [event.record(self.events_topic, event.source)]
        product = self.focus(job, record.timestamp)
        self.stats.products += 1
        JOBS_DONE.labels("product").inc()
        if self.on_product is not None:
            self.on_product(product)
        out = [product.record(self.products_topic, product.product_id)]
        quality = product.quality or {}
        if quality.get("complete", 1.0) < 1.0:
            event = EventRecord(
                kind="product-incomplete", source=job.burst_key,
                detail={"product_id": product.product_id,
                        "missing_lines": int(quality.get("missing_lines", 0)),
                        "spans": [[a.isoformat(), b.isoformat()]
                                  for a, b in product.missing_lines],
                        "missing_pri": job.missing_pri, "status": job.status,
                        "gaps": len(job.gaps)},
            )  # fmt: skip
            out.append(event.record(self.events_topic, event.source))
        return out

    def failed(self, record: Record, error: Exception) -> Sequence[OutgoingRecord]:
        """A ``focus-failed`` event for a job that is dead-lettered."""
        self.stats.failed += 1
        self.stats.failed_keys.append(record.key or "")
        JOBS_DONE.labels("failed").inc()
        event = EventRecord(
            kind="focus-failed", source=record.key or "",
            detail={"error": str(error), "error_class": type(error).__name__,
                    "offset": record.offset, "partition": record.partition},
        )  # fmt: skip
        return [event.record(self.events_topic, event.source)]
