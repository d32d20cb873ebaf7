"""Settings of the timeline stage (``eoport run timeline``) and the doors the
application uses: :func:`run_timeline_stage` and :func:`open_view` (and
:func:`streams.timeline.build_timeline`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from pydantic import Field

from streams._infra.settings import CommonSettings
from streams.timeline.config import TimelineConfig
from streams.timeline.service import run_timeline
from streams.timeline.stage import TimelineStage, TimelineStats
from streams.timeline.view import DecisionsProvider, TimelineView, WorkersProvider

TIMELINE_FILE = "timeline.sqlite"
"""The timeline's SQLite file under ``state_dir`` (shared by the service and the API)."""


class TimelineSettings(CommonSettings):
    """The timeline stage (``eoport run timeline``; ``EOPORT_*`` variables).

    The watched consumer groups default to the stages' default group ids; rename them
    here when the stages run under other groups. ``group_id`` is the timeline's own
    group: it runs as the only member (a second timeline needs another group id).
    """

    client_id: str = "eoport-timeline"
    group_id: str = "eoport-timeline"
    timeline_file: Path | None = Field(
        default=None, description=f"SQLite file of the timeline; default state_dir/{TIMELINE_FILE}"
    )
    sample_interval_s: float = Field(default=5.0, ge=0, description="backlog sampling, s (0: off)")
    keep_samples_s: float = Field(default=6 * 3600.0, gt=0)
    keep_days: float = Field(default=7.0, gt=0, description="retention of burst timelines, days")
    assembler_group: str = "eoport-assembler"
    focus_group: str = "eoport-focus"
    delivery_group: str = "eoport-delivery"
    budgets_s: dict[str, float] = Field(
        default_factory=dict, description="segment -> latency budget, s (overrides defaults)"
    )
    stall_after_s: float = Field(
        default=30.0, gt=0, description="watchdog: recreate a consumer idle while lagging, s"
    )

    @property
    def db_path(self) -> Path:
        """Where the timeline lives."""
        return self.timeline_file or self.state_dir / TIMELINE_FILE

    def config(self) -> TimelineConfig:
        """The stage configuration these settings describe."""
        t = self.topics
        return TimelineConfig(
            db_path=self.db_path,
            group_id=self.group_id,
            jobs_topic=t.focus_jobs,
            products_topic=t.l1_products,
            events_topic=t.events,
            deliveries_topic=t.deliveries,
            dead_letters_topic=t.dead_letters,
            watched=(
                (self.assembler_group, t.raw_chunks),
                (self.focus_group, t.focus_jobs),
                (self.delivery_group, t.l1_products),
            ),
            sample_interval_s=self.sample_interval_s,
            keep_samples_s=self.keep_samples_s,
            keep_s=self.keep_days * 86_400.0,
            stall_after_s=self.stall_after_s,
        )


def run_timeline_stage(
    settings: TimelineSettings,
    stop: threading.Event,
    *,
    on_ready: Callable[[TimelineStage], None] | None = None,
) -> TimelineStats:
    """Run the timeline stage configured by ``settings`` until ``stop`` is set (what
    :func:`streams.timeline.build_timeline` builds, run in the calling thread)."""
    return run_timeline(settings.make_bus(), settings.config(), stop, on_ready=on_ready)


def open_view(
    settings: TimelineSettings,
    *,
    workers: WorkersProvider | None = None,
    decisions: DecisionsProvider | None = None,
) -> TimelineView:
    """The :class:`TimelineView` of ``settings``' timeline file (for ``app.state.timeline``)."""
    t = settings.topics
    return TimelineView(
        settings.db_path,
        budgets_s=settings.budgets_s,
        workers=workers,
        decisions=decisions,
        topic_names={
            "raw-chunks": t.raw_chunks,
            "focus-jobs": t.focus_jobs,
            "l1-products": t.l1_products,
        },
    )
