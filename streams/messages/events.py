"""Pipeline events: the values of the ``events`` topic.

Gaps, corrupt data, incomplete or dropped bursts, focusing failures, stalled stages:
what operators and the dashboard read. Keyed by the source (channel key, burst key, or
``stage/group``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from streams._infra.errors import SchemaError
from streams._infra.records import OutgoingRecord
from streams._infra.topics import EVENTS

EventKind = Literal[
    "gap",
    "corrupt",
    "rejected-chunk",
    "burst-incomplete",
    "burst-dropped",
    "focus-failed",
    "focus-skipped",
    "stage-stalled",
    "pass-manifest",
    "pass-report",
]
"""What happened: ``gap`` (chunks declared lost), ``corrupt`` (bytes skipped while
resynchronising), ``rejected-chunk`` (a record that is not a chunk), ``burst-incomplete``
(published with packets missing), ``burst-dropped`` (never published: no orbit),
``focus-failed`` (dead-lettered job), ``focus-skipped`` (no subscription needs the burst),
``stage-stalled`` (the watchdog recreated a consumer), ``pass-manifest`` (what a station
sent), ``pass-report`` (what came out of a pass against its manifest)."""


class EventRecord(BaseModel):
    """One pipeline event (value of ``events``, key :attr:`source`): gaps, corrupt data,
    incomplete bursts, focusing failures; what operators and the dashboard read."""

    model_config = ConfigDict(frozen=True)

    kind: EventKind
    source: str
    time: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    detail: dict[str, Any] = Field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """UTF-8 JSON."""
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> EventRecord:
        """Parse an ``events`` value (raises :class:`SchemaError`)."""
        try:
            return cls.model_validate_json(data)
        except ValueError as exc:
            raise SchemaError(f"invalid event: {str(exc).splitlines()[0]}") from exc


def stall_events(topic: str = EVENTS) -> Callable[[str, str, int, float], list[OutgoingRecord]]:
    """The stage runtime's watchdog report: a ``stage-stalled`` event on ``topic`` keyed
    ``stage/group`` (:class:`streams._infra.runtime.RuntimeConfig` ``stall_events``)."""

    def make(stage: str, group: str, lag: int, idle_s: float) -> list[OutgoingRecord]:
        event = EventRecord(
            kind="stage-stalled", source=f"{stage}/{group}",
            detail={"lag": lag, "idle_s": round(idle_s, 1), "action": "consumer recreated"},
        )  # fmt: skip
        return [OutgoingRecord(topic, event.source, event.to_bytes())]

    return make
