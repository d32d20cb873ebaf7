"""Record types that cross the message bus: what a stage sends and what it receives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class OutgoingRecord:
    """A record to publish.

    Parameters
    ----------
    topic
        Topic name.
    key
        Partitioning key (UTF-8). Records with the same key keep their order in one
        partition (e.g. ``station/pass_id/channel`` for raw chunks).
    value
        Payload bytes (at most ~1 MiB on Kafka; larger data goes to the object store).
    headers
        Small metadata (schema name, trace ids), UTF-8 keys, bytes values.
    """

    topic: str
    key: str
    value: bytes
    headers: Mapping[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Record:
    """A consumed record and where it came from.

    Parameters
    ----------
    topic, partition, offset
        Position in the log; committing this record commits ``offset + 1``.
    key
        Key decoded as UTF-8, or ``None`` for unkeyed records.
    value
        Payload bytes.
    headers
        Record headers.
    timestamp_ms
        Broker append (or create) time, milliseconds since the Unix epoch, UTC; ``None``
        if the broker did not give one.
    """

    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    headers: Mapping[str, bytes]
    timestamp_ms: int | None

    @property
    def timestamp(self) -> datetime | None:
        """Record timestamp as an aware UTC datetime (the "Kafka append" latency stamp)."""
        if self.timestamp_ms is None:
            return None
        return datetime.fromtimestamp(self.timestamp_ms / 1000.0, tz=UTC)
