"""The ``assemble`` wing: ``raw-chunks`` -> complete bursts -> ``focus-jobs``.

Chunks are put back in order per downlink channel (:mod:`.reassembly`, :mod:`.chunkstream`),
cut into packets and grouped into bursts with their auxiliary data (:mod:`.channel`,
:mod:`.open_bursts`). A burst's key is made here: the channel assembler names every burst
once with :mod:`sar.identity` and the key travels with the job. State survives restarts
as snapshots (:mod:`.snapshots`); :mod:`.stage` is the stage itself. Early data selection
(:mod:`.selection`) predicts each burst's footprint and publishes only the bursts a
running subscription or a systematic area wants (``focus_selection``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from streams._infra.objectstore import ObjectStore
from streams._infra.retry import STAGE_RETRY
from streams._infra.runtime import StageRuntime
from streams._infra.settings import CommonSettings
from streams._infra.topics import ensure_topics
from streams.assemble.open_bursts import BurstOutput
from streams.assemble.selection import BurstSelector
from streams.assemble.snapshots import SnapshotStore
from streams.assemble.stage import Assembler
from streams.messages.geometry import parse_geometry, plain_geometry
from streams.messages.stages import stage_config

__all__ = ["Assembler", "AssemblerSettings", "BurstSelector", "build_assembler"]


class AssemblerSettings(CommonSettings):
    """Chunk reassembly, packet cutting, burst assembly (``eoport run assemble``)."""

    client_id: str = "eoport-assembler"
    group_id: str = "eoport-assembler"
    gap_timeout_s: float = Field(default=30.0, gt=0)
    burst_timeout_s: float = Field(default=120.0, gt=0, description="flush incomplete bursts")
    max_buffered_bytes: int = Field(default=256 * 1024 * 1024, ge=1_000_000)
    block_lines: int = Field(default=2048, ge=256, description="stripmap block length, PRIs")
    state_url: str | None = Field(
        default=None, description="snapshot root (default: STATE_DIR/assembler)"
    )
    snapshot_interval_s: float = Field(default=5.0, gt=0)
    stall_after_s: float = Field(
        default=30.0, gt=0, description="watchdog: recreate a consumer idle while lagging, s"
    )
    # -- early data selection (streams.assemble.selection)
    focus_selection: Literal["all", "subscriptions"] = Field(
        default="all",
        description="'subscriptions': focus only bursts a running subscription or a "
        "systematic area wants (the others stay raw, focusable on request)",
    )
    systematic_areas: list[dict[str, Any]] = Field(
        default_factory=list, description="GeoJSON (Multi)Polygons always focused"
    )
    selection_margin_m: float = Field(
        default=3000.0, ge=0.0, le=100_000.0, description="predicted footprint grown by, m"
    )

    @model_validator(mode="after")
    def _timeouts(self) -> AssemblerSettings:
        # a chunk awaited longer than an open burst would let the burst go out first and
        # its late lines come back as a second burst under the same key
        if self.burst_timeout_s <= self.gap_timeout_s:
            raise ValueError(
                f"burst_timeout_s ({self.burst_timeout_s:g} s) must exceed gap_timeout_s "
                f"({self.gap_timeout_s:g} s)"
            )
        return self

    @field_validator("systematic_areas")
    @classmethod
    def _areas(cls, v: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for k, area in enumerate(v):
            parse_geometry(area, ("Polygon", "MultiPolygon"), f"systematic area {k}")
        return [plain_geometry(a) for a in v]


def build_assembler(
    settings: AssemblerSettings,
    *,
    on_job: Callable[[BurstOutput], None] | None = None,
    store: ObjectStore | None = None,
    selector: BurstSelector | None = None,
) -> StageRuntime:
    """The ``assemble`` stage configured by ``settings``, ready to :meth:`~StageRuntime.run`.

    Creates the topics it uses if they are missing. ``store`` replaces the object store the
    settings name (tests); ``on_job`` is called with every burst published. ``selector``
    does the early data selection (built by the application from the subscription
    store, :func:`eoport.pipeline.burst_selector`: the wings do not import each other);
    ``None`` publishes every burst.
    """
    bus = settings.make_bus()
    ensure_topics(bus, settings.topics.specs())
    state_url = settings.state_url or str(settings.state_dir / "assembler")
    stage = Assembler(
        store if store is not None else settings.make_object_store(),
        SnapshotStore(ObjectStore(state_url, settings.s3_endpoint()), settings.group_id),
        jobs_topic=settings.topics.focus_jobs,
        events_topic=settings.topics.events,
        gap_timeout_s=settings.gap_timeout_s,
        burst_timeout_s=settings.burst_timeout_s,
        max_buffered_bytes=settings.max_buffered_bytes,
        block_lines=settings.block_lines,
        snapshot_interval_s=settings.snapshot_interval_s,
        on_job=on_job,
        selector=selector,
    )
    config = stage_config(
        settings, group_id=settings.group_id, topics=[settings.topics.raw_chunks],
        retry=STAGE_RETRY, max_batch=200,
    )  # fmt: skip
    return StageRuntime(stage, bus, config)
