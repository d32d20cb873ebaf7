"""The ``focus`` wing: ``focus-jobs`` -> Level-1 products -> ``l1-products``.

:mod:`.stage` fetches a burst's raw packets named by the job, focuses exactly that burst
with :mod:`sar.focus`, writes the product and publishes its record. The operator and the
local autoscaler scale this stage by its backlog.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

from prometheus_client import Gauge
from pydantic import Field

from sar import __version__
from sar.focus.tops import FocusWorkspace
from streams._infra.objectstore import ObjectStore
from streams._infra.runtime import StageRuntime
from streams._infra.settings import CommonSettings
from streams._infra.topics import ensure_topics
from streams.focus.stage import FOCUS_RETRY, FocusFilter, FocusWorker
from streams.messages.products import ProductRecord
from streams.messages.stages import stage_config

__all__ = ["FocusWorker", "FocusWorkerSettings", "build_focus_worker"]

log = logging.getLogger(__name__)

FOCUS_ASSIGNMENT_STRATEGY = "cooperative-sticky"
"""Partition assignment of the focus group: incremental (KIP-429), so that a worker the
autoscaler adds or removes moves only the partitions that change hands. With the eager
protocol every member stops consuming for the whole rebalance: measured on Tansu 0.6
(2 members, 4 partitions, 6 s session timeout) the member already consuming stalled
3.1 s when another joined, against 0.2 s with ``cooperative-sticky``."""

WARM_UP_SECONDS = Gauge(
    "eoport_focus_warm_up_seconds",
    "Time the worker spent focusing its warm-up bursts before taking jobs, s",
)


class FocusWorkerSettings(CommonSettings):
    """Burst focusing worker (``eoport run focus``); scaled by the operator."""

    client_id: str = "eoport-focus"
    group_id: str = "eoport-focus"
    processing_version: str = __version__
    max_poll_interval_ms: int = Field(default=600_000, ge=10_000)
    fft_threads: int = Field(default=1, ge=1)
    fft_effort: Literal["measure", "patient"] = "measure"
    """FFTW planner effort of the focusing plans: ``patient`` plans take minutes per new
    burst shape but run faster; use it with ``fft_wisdom`` so that is paid once."""
    fft_wisdom: str | None = None
    """FFTW wisdom shared by the workers: a path (a shared volume) or an object-store URL;
    loaded at start, rewritten when new plans were made."""
    warm_up: bool = Field(
        default=True,
        description="focus one synthetic burst per IW sub-swath before taking jobs",
    )
    warm_up_samples: int | None = Field(
        default=None, ge=256, description="range samples of the warm-up bursts (None: full)"
    )
    stall_after_s: float = Field(
        default=60.0, gt=0, description="watchdog: recreate a consumer idle while lagging, s"
    )


def build_focus_worker(
    settings: FocusWorkerSettings,
    *,
    on_product: Callable[[ProductRecord], None] | None = None,
    focus_filter: FocusFilter | None = None,
    store: ObjectStore | None = None,
    configure_fft: bool = True,
    workspace: FocusWorkspace | None = None,
) -> StageRuntime:
    """The ``focus`` stage configured by ``settings``, ready to :meth:`~StageRuntime.run`.

    Configures the FFT library (threads, planner effort, shared wisdom) and, with
    ``settings.warm_up``, focuses one synthetic burst per IW sub-swath first
    (:func:`streams.focus.warmup.warm_up`) in the worker's
    :class:`~sar.focus.tops.workspace.FocusWorkspace`, so the returned worker plans and
    allocates nothing on its first real burst — unless ``configure_fft`` is false
    (several workers in one process share one configuration).

    ``workspace``: the worker's buffers and FFT plans (e.g. one the caller already warmed
    up with :func:`~streams.focus.warmup.warm_up`); ``None``: a new one.
    """
    from sar.focus.fft import configure_fft as configure
    from streams.focus.warmup import SharedWisdom, warm_up

    wisdom = None
    if workspace is None:
        workspace = FocusWorkspace()
    objects = store if store is not None else settings.make_object_store()
    if configure_fft:
        configure(threads=settings.fft_threads, effort=f"FFTW_{settings.fft_effort.upper()}")
        if settings.fft_wisdom is not None:
            wisdom = SharedWisdom(settings.fft_wisdom, objects)
            loaded = wisdom.load()
            log.info("FFTW wisdom %s: %s", settings.fft_wisdom, "loaded" if loaded else "none")
        if settings.warm_up:
            seconds = warm_up(n_samples=settings.warm_up_samples, workspace=workspace)
            WARM_UP_SECONDS.set(sum(seconds.values()))
            if wisdom is not None:
                wisdom.save_if_changed()
    bus = settings.make_bus()
    ensure_topics(bus, settings.topics.specs())
    stage = FocusWorker(
        objects,
        processing_version=settings.processing_version,
        products_topic=settings.topics.l1_products,
        events_topic=settings.topics.events,
        focus_filter=focus_filter,
        on_product=on_product,
        fft_wisdom=wisdom,
        workspace=workspace,
    )
    config = stage_config(
        settings, group_id=settings.group_id, topics=[settings.topics.focus_jobs],
        retry=FOCUS_RETRY, max_batch=1,
        consumer_config={
            "max.poll.interval.ms": settings.max_poll_interval_ms,
            "partition.assignment.strategy": FOCUS_ASSIGNMENT_STRATEGY,
        },
    )  # fmt: skip
    return StageRuntime(stage, bus, config)
