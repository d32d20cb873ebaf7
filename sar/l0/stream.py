"""Incremental packet framing for streams that arrive in chunks.

:class:`PacketScanner` applies the framing rules of :mod:`sar.l0.framing`
(S1-IF-ASD-PL-0007 sections 3.1 and 3.2.2) to a byte stream fed piece by piece: it
buffers a packet that spans chunks, and on a corrupt position searches byte by byte for
the next plausible packet start, counting what it skips. Packets are emitted as soon as
they are complete (no look-ahead), so a header with a wrong but plausible length is
emitted as is and the damage shows as a corrupt event where the next packet should start;
:func:`sar.l0.packets.decode_packets` then rejects the bad packet's user data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sar.l0.framing import NEED_MORE, REASON, TRUNCATED, check_start, find_next_start
from sar.l0.headers import HEADER_BYTES


@dataclass
class CorruptEvent:
    """A corrupt region: absolute byte offset where it starts, and the reason."""

    offset: int
    reason: str


@dataclass
class PacketScanner:
    """Split a chunked byte stream into packets.

    Attributes
    ----------
    skipped_bytes
        Bytes discarded while resynchronising.
    dropped_packets
        Number of corrupt regions (each counts as one dropped packet).
    corrupt_events
        One :class:`CorruptEvent` per corrupt region.
    """

    skipped_bytes: int = 0
    dropped_packets: int = 0
    corrupt_events: list[CorruptEvent] = field(default_factory=list)
    _buffer: bytearray = field(default_factory=bytearray)
    _base: int = 0  # absolute offset of _buffer[0]
    _resyncing: bool = False

    @property
    def offset(self) -> int:
        """Absolute offset of the first byte not yet consumed."""
        return self._base

    @property
    def pending_bytes(self) -> int:
        """Bytes buffered, waiting for the rest of a packet."""
        return len(self._buffer)

    @property
    def buffered(self) -> bytes:
        """The bytes buffered (the start of a packet not yet complete)."""
        return bytes(self._buffer)

    @property
    def resyncing(self) -> bool:
        """Whether the scanner is searching for the next packet start."""
        return self._resyncing

    @classmethod
    def resume(
        cls,
        *,
        offset: int,
        buffered: bytes = b"",
        resyncing: bool = False,
        skipped_bytes: int = 0,
        dropped_packets: int = 0,
    ) -> PacketScanner:
        """A scanner continuing a stream at absolute ``offset`` (bytes), holding
        ``buffered`` bytes that start there (a restart from saved state, or a restart after
        a gap with ``resyncing=True``)."""
        return cls(
            skipped_bytes=skipped_bytes,
            dropped_packets=dropped_packets,
            _buffer=bytearray(buffered),
            _base=offset,
            _resyncing=resyncing,
        )

    def feed(self, chunk: bytes) -> list[tuple[int, bytes]]:
        """Add bytes; return the complete packets as ``(absolute offset, packet bytes)``."""
        self._buffer += chunk
        buf = np.frombuffer(self._buffer, dtype=np.uint8)  # released before the buffer changes
        end = buf.size
        pos = 0
        out: list[tuple[int, bytes]] = []
        while True:
            if self._resyncing:
                nxt = int(find_next_start(buf, pos, end))
                self.skipped_bytes += nxt - pos
                pos = nxt
                if pos + HEADER_BYTES > end:
                    break
                self._resyncing = False
            code = int(check_start(buf, pos, end))
            if code > 0:
                out.append((self._base + pos, bytes(self._buffer[pos : pos + code])))
                pos += code
            elif code in (NEED_MORE, TRUNCATED):
                break
            else:
                self.corrupt_events.append(CorruptEvent(self._base + pos, REASON[code]))
                self.dropped_packets += 1
                self._resyncing = True
                self.skipped_bytes += 1
                pos += 1
        del buf
        del self._buffer[:pos]
        self._base += pos
        return out

    def close(self) -> int:
        """End of stream: count buffered bytes (a truncated packet) as skipped; return them."""
        left = len(self._buffer)
        if left:
            if not self._resyncing:
                self.dropped_packets += 1
                self.corrupt_events.append(CorruptEvent(self._base, REASON[TRUNCATED]))
            self.skipped_bytes += left
            self._base += left
            self._buffer.clear()
        return left
