"""The timeline service: the ``timeline`` stage (:mod:`streams.timeline.stage`) on the one
stage runtime (:class:`streams._infra.runtime.StageRuntime`).

One process (``eoport run timeline``; a thread of ``eoport demo``), the only member of its
consumer group (``group_id``): it subscribes to its four topics, and the runtime's
consumer starts every assigned partition at the offset stored in the timeline's SQLite
file (:meth:`~streams.timeline.stage.TimelineStage.positions`), not at the group's
committed one. Topics created after the start (or given more partitions) are picked up
by the subscription within ``discovery_interval_s`` (librdkafka's periodic metadata
refresh, which rebalances the group onto them).

Compared with reading by manual assignment, joining the group costs a group join at start
(on Tansu about half the session timeout) and after a kill a rebalance once the dead
member's session expires; in exchange the stage has the runtime's watchdog, dead letters
and retries, and its committed offsets show in the usual lag tooling.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from streams._infra.bus import KafkaBus
from streams._infra.runtime import RuntimeConfig, StageRuntime
from streams._infra.topics import ensure_topics
from streams.messages.events import stall_events
from streams.timeline.config import DEFAULT_WATCHED, TimelineConfig
from streams.timeline.stage import TimelineStage, TimelineStats

__all__ = [
    "DEFAULT_WATCHED", "TimelineConfig", "TimelineStage", "TimelineStats", "run_timeline",
    "runtime_config", "timeline_runtime",
]  # fmt: skip


def runtime_config(config: TimelineConfig) -> RuntimeConfig:
    """How the stage runtime consumes for the timeline ``config``."""
    return RuntimeConfig(
        group_id=config.group_id,
        topics=list(config.roles),
        dead_letters_topic=config.dead_letters_topic,
        events_topic=config.events_topic,
        max_batch=config.max_batch,
        poll_timeout_s=config.poll_timeout_s,
        consumer_config={
            "topic.metadata.refresh.interval.ms": max(1000, int(config.discovery_interval_s * 1e3))
        },
        stall_after_s=config.stall_after_s,
        stall_events=stall_events(config.events_topic),
    )


def timeline_runtime(
    bus: KafkaBus,
    config: TimelineConfig,
    *,
    stage: TimelineStage | None = None,
    create_topics: bool = True,
) -> StageRuntime:
    """The timeline stage on the stage runtime, ready to :meth:`~StageRuntime.run`.

    Parameters
    ----------
    bus
        Kafka bus of the pipeline.
    config
        Stage settings.
    stage
        The stage to run (default: a new :class:`TimelineStage` of ``config``).
    create_topics
        Create the topics that do not exist yet (default partition counts).
    """
    if create_topics:
        ensure_topics(bus, config.specs())
    return StageRuntime(stage or TimelineStage(bus, config), bus, runtime_config(config))


def run_timeline(
    bus: KafkaBus,
    config: TimelineConfig,
    stop: threading.Event,
    *,
    create_topics: bool = True,
    on_ready: Callable[[TimelineStage], None] | None = None,
) -> TimelineStats:
    """Run the timeline stage until ``stop`` is set (``eoport run timeline``).

    Parameters
    ----------
    bus
        Kafka bus of the pipeline.
    config
        Stage settings (:class:`TimelineConfig`).
    stop
        Set it to stop; the current batch is stored first.
    create_topics
        Create the topics that do not exist yet (default partition counts).
    on_ready
        Called with the stage once it is built (tests, embedding).

    Returns
    -------
    TimelineStats
        Records read and stored, samples taken.
    """
    stage = TimelineStage(bus, config)
    runtime = timeline_runtime(bus, config, stage=stage, create_topics=create_topics)
    if on_ready is not None:
        on_ready(stage)
    runtime.run(stop)
    return stage.stats
