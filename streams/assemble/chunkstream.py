"""From ``raw-chunks`` records to per-channel contiguous byte streams, with restartable
state: the front half of the assembler (packet cutting and burst assembly plug in
behind it).

:class:`ChunkStream` decodes each record, routes it to the
:class:`~streams.reassembly.ChannelReassembler` of its key, and returns what became
contiguous. State is kept per input partition (a channel's chunks all live in the
partition of its key), so on a rebalance a member saves the state of a revoked
partition and the next owner loads it.

Commit protocol (nothing acknowledged is lost, nothing is redone twice in effect):

1. process records; outputs go downstream;
2. :meth:`ChunkStream.snapshot` of a partition -> :class:`SnapshotStore` (atomic object);
3. commit ``positions[partition]`` (the offset after the last processed record).

A crash between 2 and 3 re-delivers records the snapshot already holds: they come back
as duplicates (same sequence number and checksum) and are dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from streams._infra.errors import ChunkError
from streams._infra.records import Record
from streams.assemble.reassembly import ChannelReassembler, Output
from streams.assemble.state import StreamState
from streams.messages.chunks import decode_chunk


@dataclass(frozen=True, slots=True)
class ChannelOutput:
    """A segment or gap of channel ``key``."""

    key: str
    output: Output


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that is not a valid chunk (dead-letter it, then it may be committed)."""

    record: Record
    error: ChunkError


@dataclass(slots=True)
class _Partition:
    channels: dict[str, ChannelReassembler]
    position: int | None = None


class ChunkStream:
    """Reassembles every channel found on the assigned ``raw-chunks`` partitions.

    Parameters
    ----------
    gap_timeout_s, max_buffered_bytes
        Passed to each :class:`~streams.reassembly.ChannelReassembler`.
    """

    def __init__(
        self, *, gap_timeout_s: float = 30.0, max_buffered_bytes: int = 256 * 1024 * 1024
    ) -> None:
        self.gap_timeout_s = gap_timeout_s
        self.max_buffered_bytes = max_buffered_bytes
        self._partitions: dict[tuple[str, int], _Partition] = {}

    def process(self, record: Record, now: float) -> tuple[list[ChannelOutput], Rejected | None]:
        """Feed one record; return the outputs it released, or why it was rejected.

        A rejected record still advances the partition position (after dead-lettering,
        it is done with).
        """
        part = self._partitions.setdefault((record.topic, record.partition), _Partition({}))
        part.position = record.offset + 1
        try:
            chunk = decode_chunk(record.value)
            if record.key is not None and record.key != chunk.key:
                raise ChunkError(f"record key {record.key!r} != chunk key {chunk.key!r}")
            channel = part.channels.get(chunk.key)
            if channel is None:
                channel = ChannelReassembler(
                    chunk.key,
                    gap_timeout_s=self.gap_timeout_s,
                    max_buffered_bytes=self.max_buffered_bytes,
                )
                part.channels[chunk.key] = channel
            outputs = channel.push(chunk, now)
        except ChunkError as exc:
            return [], Rejected(record, exc)
        return [ChannelOutput(chunk.key, o) for o in outputs], None

    def poll(self, now: float) -> list[ChannelOutput]:
        """Gaps whose timeout expired, on every channel."""
        return [
            ChannelOutput(key, o)
            for part in self._partitions.values()
            for key, channel in part.channels.items()
            for o in channel.poll(now)
        ]

    def channels(self) -> Iterator[tuple[str, ChannelReassembler]]:
        """Every channel being reassembled, with its key."""
        for part in self._partitions.values():
            yield from part.channels.items()

    def finish(self, key: str, now: float) -> list[ChannelOutput]:
        """Declare the pass of channel ``key`` over (holes and unknown tail become gaps)."""
        for part in self._partitions.values():
            channel = part.channels.get(key)
            if channel is not None:
                return [ChannelOutput(key, o) for o in channel.finish(now)]
        return []

    def forget_complete(self) -> list[str]:
        """Drop channels whose pass is complete (after their state is no longer needed)."""
        dropped = []
        for part in self._partitions.values():
            for key in [k for k, c in part.channels.items() if c.complete]:
                del part.channels[key]
                dropped.append(key)
        return dropped

    # -- per-partition state ---------------------------------------------------------

    def positions(self) -> dict[tuple[str, int], int]:
        """Offset after the last processed record, per partition (what to commit)."""
        return {tp: p.position for tp, p in self._partitions.items() if p.position is not None}

    def snapshot(self, topic: str, partition: int) -> StreamState:
        """Typed state of one partition: its channels and position."""
        part = self._partitions.get((topic, partition), _Partition({}))
        return StreamState(
            topic=topic,
            partition=partition,
            position=part.position,
            channels={k: c.to_state() for k, c in part.channels.items()},
        )

    def restore(self, state: StreamState) -> None:
        """Load a partition's state saved by :meth:`snapshot` (on assignment)."""
        channels = {k: ChannelReassembler.from_state(s) for k, s in state.channels.items()}
        self._partitions[(state.topic, state.partition)] = _Partition(channels, state.position)

    def drop(self, topic: str, partition: int) -> None:
        """Forget a partition (on revocation, after saving it)."""
        self._partitions.pop((topic, partition), None)
