"""Rebuild one downlink channel's byte stream from its chunks (pure logic, no I/O).

Chunks of one channel arrive mostly in order (one Kafka partition per key) but a
station reconnect, a producer retry or a replay can duplicate or reorder them, and a
lost record leaves a hole. :class:`ChannelReassembler` emits the stream as contiguous
:class:`Segment` s in byte order and a :class:`Gap` where data is declared lost:

- out-of-order chunks are buffered until their predecessors arrive;
- duplicates (same sequence number) are dropped after checking they carry the same
  payload checksum; a different checksum raises :class:`streams.errors.ChunkError`;
- a hole becomes a gap when the first chunk after it has waited ``gap_timeout_s``, when
  the buffer exceeds ``max_buffered_bytes``, or when :meth:`ChannelReassembler.finish`
  says the pass is over; a chunk of a hole that arrives after that is dropped as late;
- a *source gap*: a chunk whose offset lies beyond the end of its predecessor (consecutive
  sequence numbers, offset jumping forward) says the station lost those bytes before
  chunking (e.g. uncorrectable downlink frames, :mod:`streams.ingest.cadu`); it becomes a
  gap with reason ``"source"`` and an empty sequence range (``last_seq = first_seq - 1``)
  as soon as the chunk is in order. An offset going backwards is still an error.

The caller passes the clock (``now``, seconds, e.g. ``time.time()``) so the logic is
deterministic; :meth:`ChannelReassembler.to_state` / :meth:`~ChannelReassembler.from_state`
give a JSON-compatible snapshot for restarting without re-reading the pass.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from streams._infra.errors import ChunkError
from streams.assemble.state import ReassemblerState, ReassemblyStatsState
from streams.messages.chunks import Chunk, decode_chunk, encode_chunk


@dataclass(frozen=True, slots=True)
class Segment:
    """Contiguous bytes of the channel stream, ready for packet extraction.

    Parameters
    ----------
    offset
        Byte offset of ``data`` in the pass stream.
    data
        The bytes (one or more chunk payloads joined).
    first_seq, last_seq
        Chunk sequence numbers covered, inclusive.
    """

    offset: int
    data: bytes
    first_seq: int
    last_seq: int

    @property
    def end(self) -> int:
        """Byte offset just after ``data``."""
        return self.offset + len(self.data)


@dataclass(frozen=True, slots=True)
class Gap:
    """Chunks declared lost: the stream resumes after them (packet resync needed).

    Parameters
    ----------
    first_seq
        First missing sequence number.
    last_seq
        Last missing sequence number, ``None`` if the end of the pass is unknown.
    byte_start
        Offset of the first lost byte.
    byte_stop
        Offset just after the last lost byte, ``None`` if unknown (lost tail).
    reason
        ``"timeout"``, ``"buffer-full"``, ``"pass-end"`` or ``"source"`` (bytes the
        station declared lost: no chunk is missing, ``last_seq == first_seq - 1``).
    """

    first_seq: int
    last_seq: int | None
    byte_start: int
    byte_stop: int | None
    reason: str

    @property
    def n_bytes(self) -> int | None:
        """Bytes lost, if known."""
        return None if self.byte_stop is None else self.byte_stop - self.byte_start


Output = Segment | Gap

_OPEN_END = 2**63 - 1


@dataclass(slots=True)
class ReassemblyStats:
    """Counters of one channel (all monotonic)."""

    received: int = 0
    emitted_chunks: int = 0
    duplicates: int = 0
    late: int = 0
    gaps: int = 0
    missing_chunks: int = 0
    bytes_emitted: int = 0
    bytes_lost: int = 0


class ChannelReassembler:
    """Orders, de-duplicates and gap-checks the chunks of one channel of one pass.

    Parameters
    ----------
    key
        ``station/pass_id/channel``; chunks with another key raise ChunkError.
    gap_timeout_s
        How long the first chunk after a hole waits before the hole is declared a gap,
        seconds.
    max_buffered_bytes
        Out-of-order payload bytes held at most; beyond, the oldest hole becomes a gap.
    dup_window
        How many sequence numbers behind the stream head keep their checksum for
        duplicate verification.
    """

    def __init__(
        self,
        key: str,
        *,
        gap_timeout_s: float = 30.0,
        max_buffered_bytes: int = 256 * 1024 * 1024,
        dup_window: int = 4096,
    ) -> None:
        self.key = key
        self.gap_timeout_s = gap_timeout_s
        self.max_buffered_bytes = max_buffered_bytes
        self.dup_window = dup_window
        self.next_seq = 0
        self.next_offset = 0
        self.final_seq: int | None = None
        self.final_end: int | None = None
        self.stats = ReassemblyStats()
        self._buffer: dict[int, tuple[Chunk, float]] = {}
        self._buffered_bytes = 0
        self._recent: dict[int, int] = {}
        self._lost: list[tuple[int, int]] = []
        self._finished = False

    # -- queries ---------------------------------------------------------------------

    @property
    def complete(self) -> bool:
        """Whether the last chunk of the pass has been emitted (or the pass was finished)."""
        return self._finished or (self.final_seq is not None and self.next_seq > self.final_seq)

    @property
    def buffered_chunks(self) -> int:
        """Chunks waiting for a predecessor."""
        return len(self._buffer)

    @property
    def buffered_bytes(self) -> int:
        """Payload bytes waiting for a predecessor."""
        return self._buffered_bytes

    def missing(self) -> list[int]:
        """Sequence numbers currently awaited before a buffered chunk (holes so far)."""
        if not self._buffer:
            return []
        present = set(self._buffer)
        return [s for s in range(self.next_seq, max(present)) if s not in present]

    # -- input -----------------------------------------------------------------------

    def push(self, chunk: Chunk, now: float) -> list[Output]:
        """Add one chunk; return what became contiguous (and gaps that timed out).

        Raises
        ------
        ChunkError
            If the chunk contradicts what is known (another key, a duplicate with a
            different checksum, an offset inconsistent with its neighbours, a sequence
            number beyond the last chunk). The reassembler's state is unchanged.
        """
        self._validate(chunk)
        self.stats.received += 1
        seq = chunk.seq
        if self._finished:
            self.stats.late += 1
            return []
        if seq < self.next_seq:
            if self._is_lost(seq):
                self.stats.late += 1
            else:
                self.stats.duplicates += 1
            return self.poll(now)
        if seq in self._buffer:
            self.stats.duplicates += 1
            return self.poll(now)
        if chunk.last:
            self.final_seq, self.final_end = seq, chunk.end
        self._buffer[seq] = (chunk, now)
        self._buffered_bytes += len(chunk.payload)
        out = self._drain()
        out += self.poll(now)
        return out

    def _validate(self, chunk: Chunk) -> None:
        if chunk.key != self.key:
            raise ChunkError(f"chunk of {chunk.key} given to the reassembler of {self.key}")
        seq = chunk.seq
        if self._finished:
            return  # everything after finish() is late
        if self.final_seq is not None:
            if seq > self.final_seq:
                raise ChunkError(
                    f"{self.key}: chunk seq {seq} after the last chunk {self.final_seq}"
                )
            if chunk.last and seq != self.final_seq:
                raise ChunkError(f"{self.key}: second last chunk {seq} (first {self.final_seq})")
        known_crc = self._recent.get(seq)
        if known_crc is None and seq in self._buffer:
            known_crc = self._buffer[seq][0].crc
        if known_crc is not None:
            if known_crc != chunk.crc:
                raise ChunkError(
                    f"{self.key}: duplicate chunk seq {seq} with CRC {chunk.crc:08x} != "
                    f"{known_crc:08x} received before"
                )
            return
        if seq < self.next_seq:
            return  # late or old duplicate: dropped, nothing to check against
        prev_end = self.next_offset if seq == self.next_seq else None
        if seq - 1 in self._buffer:
            prev_end = self._buffer[seq - 1][0].end
        if prev_end is not None and chunk.offset < prev_end:  # beyond: a source gap
            raise ChunkError(
                f"{self.key}: chunk seq {seq} at offset {chunk.offset}, expected {prev_end} "
                "or later"
            )
        if chunk.offset < self.next_offset:
            raise ChunkError(
                f"{self.key}: chunk seq {seq} at offset {chunk.offset} before stream head "
                f"{self.next_offset}"
            )
        after = self._buffer.get(seq + 1)
        if after is not None and after[0].offset < chunk.end:
            raise ChunkError(
                f"{self.key}: chunk seq {seq} ends at {chunk.end}, chunk {seq + 1} starts at "
                f"{after[0].offset}"
            )

    def poll(self, now: float) -> list[Output]:
        """Declare gaps whose timeout expired (or that overflow the buffer)."""
        out: list[Output] = []
        while self._buffer:
            oldest_wait = min(arrival for _, arrival in self._buffer.values())
            if now - oldest_wait >= self.gap_timeout_s:
                out += self._skip_hole("timeout")
            elif self._buffered_bytes > self.max_buffered_bytes:
                out += self._skip_hole("buffer-full")
            else:
                break
        return out

    def finish(self, now: float) -> list[Output]:
        """The pass is over: declare every hole (and an unknown tail) lost, emit the rest."""
        out: list[Output] = []
        while self._buffer:
            out += self._skip_hole("pass-end")
        if not self.complete:
            gap = Gap(self.next_seq, self.final_seq, self.next_offset, self.final_end, "pass-end")
            self._record_gap(gap)
            out.append(gap)
            if self.final_seq is not None and self.final_end is not None:
                self.next_seq, self.next_offset = self.final_seq + 1, self.final_end
        self._finished = True
        return out

    # -- internals -------------------------------------------------------------------

    def _drain(self) -> list[Output]:
        out: list[Output] = []
        pieces: list[bytes] = []
        first = self.next_seq
        start = self.next_offset
        while self.next_seq in self._buffer:
            chunk, _ = self._buffer[self.next_seq]
            if chunk.offset > self.next_offset:  # source gap: flush, report, go on
                out += self._segment(pieces, first, start)
                gap = Gap(chunk.seq, chunk.seq - 1, self.next_offset, chunk.offset, "source")
                self._record_gap(gap)
                out.append(gap)
                pieces, first, start = [], chunk.seq, chunk.offset
            del self._buffer[self.next_seq]
            self._buffered_bytes -= len(chunk.payload)
            pieces.append(chunk.payload)
            self._recent[chunk.seq] = chunk.crc
            self.next_seq += 1
            self.next_offset = chunk.end
        out += self._segment(pieces, first, start)
        for old in [s for s in self._recent if s < self.next_seq - self.dup_window]:
            del self._recent[old]
        return out

    def _segment(self, pieces: list[bytes], first: int, start: int) -> list[Output]:
        if not pieces:
            return []
        data = b"".join(pieces)
        self.stats.emitted_chunks += len(pieces)
        self.stats.bytes_emitted += len(data)
        return [Segment(start, data, first, first + len(pieces) - 1)]

    def _skip_hole(self, reason: str) -> list[Output]:
        resume = min(self._buffer)
        chunk = self._buffer[resume][0]
        gap = Gap(self.next_seq, resume - 1, self.next_offset, chunk.offset, reason)
        self._record_gap(gap)
        self.next_seq, self.next_offset = resume, chunk.offset
        return [gap, *self._drain()]

    def _record_gap(self, gap: Gap) -> None:
        self.stats.gaps += 1
        if gap.last_seq is None:  # unknown tail: maybe nothing was lost at all
            self._lost.append((gap.first_seq, _OPEN_END))
        else:
            self._lost.append((gap.first_seq, gap.last_seq))
            self.stats.missing_chunks += gap.last_seq - gap.first_seq + 1
        if gap.n_bytes is not None:
            self.stats.bytes_lost += gap.n_bytes

    def _is_lost(self, seq: int) -> bool:
        return any(a <= seq <= b for a, b in self._lost)

    # -- persistence -----------------------------------------------------------------

    def to_state(self) -> ReassemblerState:
        """Typed snapshot (buffered chunks included)."""
        return ReassemblerState(
            key=self.key,
            gap_timeout_s=self.gap_timeout_s,
            max_buffered_bytes=self.max_buffered_bytes,
            dup_window=self.dup_window,
            next_seq=self.next_seq,
            next_offset=self.next_offset,
            final_seq=self.final_seq,
            final_end=self.final_end,
            finished=self._finished,
            recent=sorted(self._recent.items()),
            lost=list(self._lost),
            buffer=[(encode_chunk(c), arrival) for _, (c, arrival) in sorted(self._buffer.items())],
            stats=ReassemblyStatsState(**asdict(self.stats)),
        )

    @classmethod
    def from_state(cls, state: ReassemblerState) -> ChannelReassembler:
        """Rebuild a reassembler from :meth:`to_state` output.

        Raises
        ------
        ChunkError
            If a buffered chunk fails its checksum.
        """
        self = cls(
            state.key,
            gap_timeout_s=state.gap_timeout_s,
            max_buffered_bytes=state.max_buffered_bytes,
            dup_window=state.dup_window,
        )
        self.next_seq = state.next_seq
        self.next_offset = state.next_offset
        self.final_seq = state.final_seq
        self.final_end = state.final_end
        self._finished = state.finished
        self._recent = dict(state.recent)
        self._lost = list(state.lost)
        for encoded, arrival in state.buffer:
            chunk = decode_chunk(encoded)
            self._buffer[chunk.seq] = (chunk, arrival)
            self._buffered_bytes += len(chunk.payload)
        self.stats = ReassemblyStats(**state.stats.model_dump())
        return self
