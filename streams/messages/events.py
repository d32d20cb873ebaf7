"""Pipeline events: the values of the ``events`` topic.

Gaps, corrupt data, incomplete or dropped bursts, focusing failures, stalled stages:
what operators and the dashboard read. Keyed by the source (channel key, burst key, or
``stage/group``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, ConfigDict, Field

from streams._infra.records import OutgoingRecord
from streams._infra.topics import EVENTS
from streams.messages.payload import Payload

EventKind = Literal[
    "gap",
    "corrupt",
    "rejected-chunk",
    "burst-incomplete",
    "burst-dropped",
    "focus-failed",
    "focus-skipped",
    "product-incomplete",
    "stage-stalled",
    "pass-manifest",
    "pass-report",
]
"""What happened: ``gap`` (chunks declared lost), ``corrupt`` (bytes skipped while
resynchronising), ``rejected-chunk`` (a record that is not a chunk), ``burst-incomplete``
(published with packets missing), ``burst-dropped`` (never published: no orbit),
``focus-failed`` (dead-lettered job), ``focus-skipped`` (no subscription needs the burst),
``product-incomplete`` (a product focused with lost lines zero-filled, listed in it),
``stage-stalled`` (the watchdog recreated a consumer), ``pass-manifest`` (what a station
sent), ``pass-report`` (what came out of a pass against its manifest)."""


class EventRecord(Payload):
    """One pipeline event (value of ``events``, key :attr:`source`): gaps, corrupt data,
    incomplete bursts, focusing failures; what operators and the dashboard read."""

    what: ClassVar[str] = "event"
    schema_type: ClassVar[str] = "application/x-eoport-event+json"

    model_config = ConfigDict(frozen=True)

    kind: EventKind
    source: str
    time: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    detail: dict[str, Any] = Field(default_factory=dict)



def stall_events(topic: str = EVENTS) -> Callable[[str, str, int, float], list[OutgoingRecord]]:
    """The stage runtime's watchdog report: a ``stage-stalled`` event on ``topic`` keyed
    ``stage/group`` (:class:`streams._infra.runtime.RuntimeConfig` ``stall_events``)."""

    def make(stage: str, group: str, lag: int, idle_s: float) -> list[OutgoingRecord]:
        event = EventRecord(
            kind="stage-stalled", source=f"{stage}/{group}",
            detail={"lag": lag, "idle_s": round(idle_s, 1), "action": "consumer recreated"},
        )  # fmt: skip
        return [event.record(topic, event.source)]

    return make
