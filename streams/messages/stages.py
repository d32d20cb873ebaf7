"""The runtime configuration every stage derives from its settings: where its failures
go (``dead-letters``), where it reports (``events``, including the watchdog's
``stage-stalled`` events) and when the watchdog steps in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streams._infra.runtime import RuntimeConfig
from streams._infra.settings import CommonSettings
from streams.messages.events import stall_events


def stage_config(
    settings: CommonSettings, *, group_id: str, topics: Sequence[str], **options: Any
) -> RuntimeConfig:
    """The :class:`~streams._infra.runtime.RuntimeConfig` of a stage: its group and input
    topics, the dead-letter and event topics of ``settings``, the watchdog's
    ``stall_after_s`` when the settings have one, plus ``options`` (retry, batching,
    consumer settings)."""
    return RuntimeConfig(
        group_id=group_id,
        topics=list(topics),
        dead_letters_topic=settings.topics.dead_letters,
        events_topic=settings.topics.events,
        stall_after_s=getattr(settings, "stall_after_s", 30.0),
        stall_events=stall_events(settings.topics.events),
        **options,
    )
