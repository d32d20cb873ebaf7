"""Typed, versioned state of the assembler: what a partition snapshot holds.

Every piece of the assembler's per-partition state has a pydantic model here; the
classes that own the state (:class:`~streams.assemble.reassembly.ChannelReassembler`,
:class:`~streams.assemble.channel.ChannelAssembler`, :class:`~streams.assemble.open_bursts.
OpenBurst`, :class:`~streams.assemble.open_bursts.AuxTrack`,
:class:`sar.l0.stream.PacketScanner`) convert to and from them, and
:class:`~streams.assemble.snapshots.SnapshotStore` writes :class:`PartitionSnapshot` as
JSON (packet bytes as base64).

Versions (:data:`SNAPSHOT_FORMAT`):

- **1** (eoport 0.1.0): the same layout without the ``format`` field; it loads unchanged
  (fields added since have defaults).
- **2**: ``format`` and ``saved_at`` added; the state of every channel typed.

A snapshot of a format this code does not know (written by a newer eoport) is refused
with :class:`SnapshotFormatError` naming the file and the format, instead of being
misread.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from streams._infra.errors import ConfigurationError

SNAPSHOT_FORMAT = 2
"""Format of the snapshots this code writes."""

KNOWN_FORMATS = (1, 2)


def _from_text(value: Any) -> Any:
    return base64.b64decode(value, validate=True) if isinstance(value, str) else value


Blob = Annotated[
    bytes,
    BeforeValidator(_from_text),
    PlainSerializer(
        lambda b: base64.b64encode(b).decode("ascii"), return_type=str, when_used="json"
    ),
]
"""Bytes in Python, base64 text in the JSON document."""


class SnapshotFormatError(ConfigurationError):
    """A snapshot written in a format this version cannot read."""


class _State(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScannerState(_State):
    """:class:`sar.l0.stream.PacketScanner`: bytes of a packet not yet complete."""

    buffer: Blob = b""
    base: int = Field(ge=0, description="stream offset of buffer[0], bytes")
    resyncing: bool = False
    skipped: int = Field(ge=0, description="bytes skipped while resynchronising")
    dropped: int = Field(ge=0, description="corrupt regions")


class ReassemblyStatsState(_State):
    """Counters of one channel's reassembly."""

    received: int = 0
    emitted_chunks: int = 0
    duplicates: int = 0
    late: int = 0
    gaps: int = 0
    missing_chunks: int = 0
    bytes_emitted: int = 0
    bytes_lost: int = 0


class ReassemblerState(_State):
    """:class:`~streams.assemble.reassembly.ChannelReassembler` of one channel."""

    key: str
    gap_timeout_s: float
    max_buffered_bytes: int
    dup_window: int
    next_seq: int
    next_offset: int
    final_seq: int | None = None
    final_end: int | None = None
    finished: bool = False
    recent: list[tuple[int, int]] = Field(default_factory=list, description="seq, crc")
    lost: list[tuple[int, int]] = Field(default_factory=list, description="seq ranges")
    buffer: list[tuple[Blob, float]] = Field(
        default_factory=list, description="encoded out-of-order chunks and arrival times"
    )
    stats: ReassemblyStatsState = Field(default_factory=ReassemblyStatsState)


class StreamState(_State):
    """:class:`~streams.assemble.chunkstream.ChunkStream` of one input partition."""

    topic: str
    partition: int
    position: int | None = Field(description="next offset to read")
    channels: dict[str, ReassemblerState] = Field(default_factory=dict)


class AuxState(_State):
    """:class:`~streams.assemble.open_bursts.AuxTrack`: ancillary words and vectors."""

    words: list[int] = Field(default_factory=list)
    vectors: list[tuple[float, list[float], list[float]]] = Field(
        default_factory=list, description="time GPS s, ECEF position m, velocity m/s"
    )
    cycle_end_time: float | None = None


class OpenBurstState(_State):
    """:class:`~streams.assemble.open_bursts.OpenBurst`: a burst being assembled."""

    ids: tuple[int, int, int, bool, int, int] = Field(
        description="data take, swath number, polarisation code, tops, block, PRI code"
    )
    packets: Blob = b""
    lengths: list[int] = Field(default_factory=list)
    pri: tuple[int, int, int] = Field(description="first PRI count, last, last beam address")
    time: tuple[float, float] = Field(description="first and last datation, GPS s")
    missing: list[tuple[int, int]] = Field(default_factory=list)
    gaps: list[dict[str, Any]] = Field(default_factory=list)
    closed: bool = False
    reason: str = ""
    updated: float = 0.0
    stamps: tuple[str | None, str | None, str | None] = (None, None, None)


class ChannelAssemblerState(_State):
    """:class:`~streams.assemble.channel.ChannelAssembler` of one channel."""

    key: str
    block_lines: int
    burst_timeout_s: float
    relative_orbit: int = 0
    anx: list[list[float]] | None = None
    scanner: ScannerState
    aux: list[tuple[int, int, AuxState]] = Field(default_factory=list)
    open: dict[str, OpenBurstState] = Field(default_factory=dict)
    current_swath: list[tuple[int, int, int]] = Field(default_factory=list)
    after_gap: list[tuple[int, int, list[dict[str, Any]]]] = Field(default_factory=list)
    first_echo_pri: list[tuple[int, int, int, int]] = Field(default_factory=list)
    longest: list[tuple[int, int, int]] = Field(default_factory=list)
    emitted: list[str] = Field(default_factory=list)
    packets: int = 0
    finished: bool = False


class PartitionSnapshot(_State):
    """Everything the assembler keeps for one ``raw-chunks`` partition."""

    format: int = Field(default=1, description="snapshot format (1 when absent)")
    saved_at: AwareDatetime | None = None
    stream: StreamState
    assemblers: dict[str, ChannelAssemblerState] = Field(default_factory=dict)


def parse_snapshot(raw: bytes, name: str) -> PartitionSnapshot:
    """Read a snapshot; refuse one of an unknown format clearly.

    Raises
    ------
    SnapshotFormatError
        Unknown format (a newer eoport wrote it) or not a snapshot at all.
    """
    import json

    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise SnapshotFormatError(f"snapshot {name} is not JSON: {exc}") from exc
    fmt = data.get("format", 1) if isinstance(data, dict) else None
    if fmt not in KNOWN_FORMATS:
        raise SnapshotFormatError(
            f"snapshot {name} has format {fmt!r}; this eoport reads formats {KNOWN_FORMATS} "
            "(written by a newer version? run that version, or move the snapshot away to "
            "restart the partition from its committed offset)"
        )
    try:
        return PartitionSnapshot.model_validate(data)
    except ValueError as exc:
        first = str(exc).splitlines()
        raise SnapshotFormatError(
            f"snapshot {name} (format {fmt}) is malformed: {first[0]}"
            + (f" ({first[1].strip()}...)" if len(first) > 1 else "")
        ) from exc
