"""Frame synchronisation on the attached sync marker, at any bit offset, incrementally.

CCSDS 131.0-B-2 section 8 defines the 32-bit attached sync marker 0x1ACFFC1D that
precedes every codeblock; how a receiver acquires and keeps synchronisation is left to
the implementation (the informative annex on frame synchronisation describes search,
check, lock and flywheel states). This module implements that state machine on a
byte stream whose frames may sit at any *bit* offset (a demodulator that slipped bits,
garbage before the first frame, truncated frames):

* **search**: every bit position is tried until the marker matches with at most
  ``search_tolerance`` bit errors;
* **check**: the candidate is accepted after ``confirm`` further markers are found one
  CADU apart (with at most ``lock_tolerance`` bit errors), otherwise the search goes on
  from the next bit;
* **lock**: one frame per CADU length; the marker is looked for at the expected position
  and up to ``slip_window`` bits on either side, the best match (fewest bit errors,
  nearest on ties) wins if it has at most ``lock_tolerance`` bit errors; a match off the
  expected position is a bit slip: the stream re-aligns there and the slip is counted;
* **flywheel**: a missed marker does not lose lock at once; the frame is still delivered
  (flagged) and the Reed-Solomon decoder judges it; after more than ``flywheel``
  consecutive misses the lock is lost and the search restarts at the expected position.

:class:`FrameSynchroniser` keeps its state across :meth:`~FrameSynchroniser.feed` calls,
so input may arrive in chunks of any size (a TCP stream, object-store chunks); offsets
it reports are absolute positions in the whole input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numba as nb
import numpy as np
import numpy.typing as npt

from sar.downlink.errors import InvalidFramingError
from sar.downlink.params import ASM


class SyncState(IntEnum):
    """States of the synchroniser."""

    SEARCH = 0
    CHECK = 1
    LOCK = 2


class FrameFlag(IntEnum):
    """How a delivered frame was located."""

    LOCKED = 0
    """Its marker was found (possibly with up to ``lock_tolerance`` bit errors)."""
    FLYWHEEL = 1
    """Its marker was missed; the position was extrapolated."""
    UNCONFIRMED = 2
    """Found by the search at the very end of the input, where no following marker
    could confirm it."""


class SyncEventKind(IntEnum):
    """Events of the synchroniser."""

    LOCK = 1
    """Lock acquired; the bits searched before it are skipped input."""
    SYNC_LOSS = 2
    """Lock lost after too many missed markers."""
    BIT_SLIP = 3
    """The marker was found a few bits from its expected position."""


@dataclass(frozen=True)
class SyncParameters:
    """Tuning of the synchroniser.

    Parameters
    ----------
    search_tolerance
        Bit errors accepted in the marker while searching (and for a slipped marker).
    lock_tolerance
        Bit errors accepted in the marker at the expected position (check and lock).
    confirm
        Further markers, one CADU apart, that must be found before locking.
    flywheel
        Consecutive missed markers tolerated while locked.
    slip_window
        Bits searched on each side of the expected marker position for a bit slip.
    """

    search_tolerance: int = 0
    lock_tolerance: int = 3
    confirm: int = 1
    flywheel: int = 3
    slip_window: int = 4

    def __post_init__(self) -> None:
        if not 0 <= self.search_tolerance <= self.lock_tolerance < 16:
            raise InvalidFramingError(
                "need 0 <= search_tolerance <= lock_tolerance < 16 bit errors"
            )
        if self.confirm < 0 or self.flywheel < 0 or not 0 <= self.slip_window <= 64:
            raise InvalidFramingError("confirm, flywheel >= 0 and 0 <= slip_window <= 64")


@dataclass(frozen=True)
class SyncEvent:
    """One synchroniser event.

    Attributes
    ----------
    kind
        What happened.
    bit_offset
        Absolute bit position in the input (of the marker where it applies).
    value
        LOCK: absolute bit where the search started (skipped input is
        ``[value, bit_offset)``); BIT_SLIP: the slip in bits (negative: bits lost);
        SYNC_LOSS: 0.
    """

    kind: SyncEventKind
    bit_offset: int
    value: int


@dataclass
class SyncBatch:
    """Frames delivered by one :meth:`FrameSynchroniser.feed` or ``finish`` call.

    Attributes
    ----------
    codeblocks
        uint8, shape (n, L): the octets after each marker, re-aligned to octets.
    bit_offsets
        int64, shape (n,): absolute bit offset of each frame's marker in the input.
    flags
        int8, shape (n,): :class:`FrameFlag` of each frame.
    events
        Lock, loss and slip events, in input order.
    truncated
        Absolute (start, stop) octet range of a last frame cut short by the end of the
        input (``finish`` only), else ``None``.
    trailing_skipped_bits
        Bits at the end of the input that were searched without a lock (``finish``
        only).
    """

    codeblocks: npt.NDArray[np.uint8]
    bit_offsets: npt.NDArray[np.int64]
    flags: npt.NDArray[np.int8]
    events: list[SyncEvent] = field(default_factory=list)
    truncated: tuple[int, int] | None = None
    trailing_skipped_bits: int = 0


@nb.njit(cache=True, inline="always")
def _popcount32(x: int) -> int:
    x = x - ((x >> 1) & 0x55555555)
    x = (x & 0x33333333) + ((x >> 2) & 0x33333333)
    x = (x + (x >> 4)) & 0x0F0F0F0F
    return ((x * 0x01010101) & 0xFFFFFFFF) >> 24


@nb.njit(cache=True, inline="always")
def _word(buf: npt.NDArray[np.uint8], bit: int) -> int:
    """The 32 bits starting at bit ``bit`` (needs bit + 32 <= 8 len(buf))."""
    i = bit >> 3
    s = bit & 7
    v = (
        (np.int64(buf[i]) << 32)
        | (np.int64(buf[i + 1]) << 24)
        | (np.int64(buf[i + 2]) << 16)
        | (np.int64(buf[i + 3]) << 8)
    )
    if i + 4 < buf.size:
        v |= np.int64(buf[i + 4])
    return int((v >> (8 - s)) & 0xFFFFFFFF)


@nb.njit(cache=True, nogil=True)
def _run(
    buf: npt.NDArray[np.uint8],
    state_in: npt.NDArray[np.int64],
    asm: int,
    cadu_bits: int,
    search_tol: int,
    lock_tol: int,
    confirm: int,
    flywheel: int,
    slip_window: int,
    final: bool,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int8], npt.NDArray[np.int64], int, int]:
    """Advance the state machine over ``buf``.

    ``state_in`` = [state, pos, missed, confirmed, search_start] (bit positions relative
    to ``buf``), updated in place. Returns frame positions, flags, events (k, 3) and
    their counts.
    """
    nbits = buf.size * 8
    max_frames = nbits // cadu_bits + 2
    pos_out = np.empty(max_frames, dtype=np.int64)
    flag_out = np.empty(max_frames, dtype=np.int8)
    events = np.empty((2 * max_frames + 8, 3), dtype=np.int64)
    nf = 0
    ne = 0
    state = state_in[0]
    pos = state_in[1]
    missed = state_in[2]
    confirmed = state_in[3]
    search_start = state_in[4]
    while True:
        if state == 0:  # SEARCH
            found = -1
            p = pos
            while p + 32 <= nbits:
                if _popcount32(_word(buf, p) ^ asm) <= search_tol:
                    found = p
                    break
                p += 1
            if found < 0:
                pos = max(pos, nbits - 31)
                break
            pos = found
            confirmed = 0
            if confirm == 0:
                events[ne, 0] = 1
                events[ne, 1] = pos
                events[ne, 2] = search_start
                ne += 1
                state = 2
                missed = 0
            else:
                state = 1
            continue
        if state == 1:  # CHECK
            q = pos + (confirmed + 1) * cadu_bits
            if q + 32 > nbits:
                if final:
                    # end of input: deliver the candidate frames that are complete
                    k = 0
                    while k <= confirmed and pos + (k + 1) * cadu_bits <= nbits:
                        pos_out[nf] = pos + k * cadu_bits
                        flag_out[nf] = 2
                        nf += 1
                        k += 1
                    if k > 0:
                        events[ne, 0] = 1
                        events[ne, 1] = pos
                        events[ne, 2] = search_start
                        ne += 1
                        pos = pos + k * cadu_bits
                        state = 2
                break
            if _popcount32(_word(buf, q) ^ asm) <= lock_tol:
                confirmed += 1
                if confirmed >= confirm:
                    events[ne, 0] = 1
                    events[ne, 1] = pos
                    events[ne, 2] = search_start
                    ne += 1
                    state = 2
                    missed = 0
            else:
                state = 0
                pos = pos + 1
            continue
        # LOCK (flywheel when missed > 0)
        if pos + cadu_bits + slip_window > nbits and not final:
            break
        if pos + cadu_bits > nbits:
            break
        # best marker match within the slip window (ties: nearest the expected bit)
        best = _popcount32(_word(buf, pos) ^ asm)
        best_delta = 0
        for delta in range(1, slip_window + 1):
            for sign in (-1, 1):
                qq = pos + sign * delta
                if qq < 0 or qq + cadu_bits > nbits:
                    continue
                d = _popcount32(_word(buf, qq) ^ asm)
                if d < best:
                    best = d
                    best_delta = sign * delta
        good = best <= lock_tol
        if good and best_delta != 0:
            pos += best_delta
            events[ne, 0] = 3
            events[ne, 1] = pos
            events[ne, 2] = best_delta
            ne += 1
        if good:
            missed = 0
            pos_out[nf] = pos
            flag_out[nf] = 0
            nf += 1
        else:
            missed += 1
            if missed > flywheel:
                events[ne, 0] = 2
                events[ne, 1] = pos
                events[ne, 2] = 0
                ne += 1
                state = 0
                missed = 0
                search_start = pos
                continue
            pos_out[nf] = pos
            flag_out[nf] = 1
            nf += 1
        pos += cadu_bits
    state_in[0] = state
    state_in[1] = pos
    state_in[2] = missed
    state_in[3] = confirmed
    state_in[4] = search_start
    return pos_out, flag_out, events, nf, ne


@nb.njit(cache=True, nogil=True)
def _extract(
    buf: npt.NDArray[np.uint8], positions: npt.NDArray[np.int64], length: int
) -> npt.NDArray[np.uint8]:
    """Octets after each marker (at bit ``positions``), re-aligned."""
    out = np.empty((positions.size, length), dtype=np.uint8)
    for k in range(positions.size):
        b = positions[k] + 32
        i = b >> 3
        s = b & 7
        if s == 0:
            out[k, :] = buf[i : i + length]
        else:
            for j in range(length):
                out[k, j] = np.uint8(
                    ((np.int64(buf[i + j]) << s) | (np.int64(buf[i + j + 1]) >> (8 - s))) & 0xFF
                )
    return out


class FrameSynchroniser:
    """Incremental frame synchroniser of one physical channel.

    Parameters
    ----------
    codeblock_octets
        Octets after each marker (1020 for RS depth 4).
    params
        Search/lock tuning.
    asm
        The 32-bit attached sync marker.

    Examples
    --------
    >>> sync = FrameSynchroniser(1020)
    >>> batch = sync.feed(chunk)          # doctest: +SKIP
    >>> last = sync.finish()              # doctest: +SKIP
    """

    def __init__(
        self, codeblock_octets: int, params: SyncParameters | None = None, asm: int = ASM
    ) -> None:
        if codeblock_octets < 1:
            raise InvalidFramingError(f"codeblock length must be positive: {codeblock_octets}")
        self.codeblock_octets = codeblock_octets
        self.params = params or SyncParameters()
        self.asm = asm
        self._cadu_bits = 8 * (codeblock_octets + 4)
        self._buf = np.zeros(0, dtype=np.uint8)
        self._base = 0  # absolute octet offset of _buf[0]
        self._state = np.zeros(5, dtype=np.int64)
        self.bytes_in = 0
        self.finished = False

    @property
    def state(self) -> SyncState:
        """Current state (flywheel is :attr:`SyncState.LOCK` with missed markers)."""
        return SyncState(int(self._state[0]))

    def feed(self, data: bytes | bytearray | memoryview | npt.NDArray[np.uint8]) -> SyncBatch:
        """Add input octets; return the frames that became complete.

        Parameters
        ----------
        data
            The next octets of the input stream (any length, including 0).
        """
        if self.finished:
            raise InvalidFramingError("feed() after finish()")
        new = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
        self.bytes_in += int(new.size)
        self._buf = np.concatenate([self._buf, new]) if self._buf.size else new.copy()
        return self._advance(final=False)

    def finish(self) -> SyncBatch:
        """End of input: deliver what can still be delivered and report the tail."""
        if self.finished:
            raise InvalidFramingError("finish() called twice")
        batch = self._advance(final=True)
        self.finished = True
        pos = int(self._state[1])
        state = int(self._state[0])
        nbits = 8 * self._buf.size
        if state == SyncState.LOCK and pos < nbits:
            start = self._base + pos // 8
            batch.truncated = (start, self._base + self._buf.size)
        elif state != SyncState.LOCK:
            start_bit = min(int(self._state[4]), pos)
            batch.trailing_skipped_bits = max(0, nbits - start_bit)
        return batch

    def _advance(self, final: bool) -> SyncBatch:
        p = self.params
        buf = self._buf
        pos, flags, ev, nf, ne = _run(
            buf, self._state, self.asm, self._cadu_bits, p.search_tolerance,
            p.lock_tolerance, p.confirm, p.flywheel, p.slip_window, final,
        )  # fmt: skip
        positions = pos[:nf].copy()
        blocks = (
            _extract(buf, positions, self.codeblock_octets)
            if nf
            else np.zeros((0, self.codeblock_octets), dtype=np.uint8)
        )
        base_bit = 8 * self._base
        events = [
            SyncEvent(
                SyncEventKind(int(ev[i, 0])),
                base_bit + int(ev[i, 1]),
                int(ev[i, 2]) + (base_bit if ev[i, 0] == SyncEventKind.LOCK else 0),
            )
            for i in range(ne)
        ]
        batch = SyncBatch(blocks, positions + base_bit, flags[:nf].copy(), events)
        # drop consumed input, keeping a margin for negative slips
        keep_from = max(0, (int(self._state[1]) - 8 * 8) // 8)
        if keep_from > 0:
            self._buf = self._buf[keep_from:].copy()
            self._base += keep_from
            self._state[1] -= 8 * keep_from
            self._state[4] -= 8 * keep_from
        return batch
