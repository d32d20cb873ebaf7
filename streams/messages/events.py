"""Pipeline events: the values of the ``events`` topic.

Gaps, corrupt data, incomplete or dropped bursts, focusing failures, stalled stages:
what operators and the dashboard read. Keyed by the source (channel key, burst key, or
``stage/group``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from streams._infra.errors import SchemaError


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
