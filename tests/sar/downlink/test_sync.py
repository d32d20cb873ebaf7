"""Frame synchronisation: garbage, bit offsets, slips, chunk boundaries, flywheel, truncation."""

from __future__ import annotations

import numpy as np
import pytest

from sar.downlink.impairments import _bitcat
from sar.downlink.params import ASM_BYTES
from sar.downlink.sync import (
    FrameFlag,
    FrameSynchroniser,
    SyncBatch,
    SyncEventKind,
    SyncParameters,
    SyncState,
)

BODY = 60  # short codeblocks keep the tests small


def _cadus(n: int, seed: int = 0) -> tuple[bytes, np.ndarray]:
    rng = np.random.default_rng(seed)
    bodies = rng.integers(0, 256, (n, BODY), dtype=np.uint8)
    return b"".join(ASM_BYTES + b.tobytes() for b in bodies), bodies


def _shift(data: bytes, bits: int, rng: np.random.Generator) -> bytes:
    """``bits`` random bits followed by ``data`` (a non-octet-aligned stream)."""
    noise = rng.integers(0, 256, 1, dtype=np.uint8)
    buf = np.concatenate([np.frombuffer(data, np.uint8), noise])
    starts = np.array([8 * len(data), 0], dtype=np.int64)
    lengths = np.array([bits, 8 * len(data)], dtype=np.int64)
    return _bitcat(buf, starts, lengths).tobytes()


def _run(data: bytes, sizes: list[int] | None = None, **kw: int) -> list[SyncBatch]:
    sync = FrameSynchroniser(BODY, SyncParameters(**kw))
    out = []
    if sizes is None:
        out.append(sync.feed(data))
    else:
        pos = 0
        for n in sizes:
            out.append(sync.feed(data[pos : pos + n]))
            pos += n
        out.append(sync.feed(data[pos:]))
    out.append(sync.finish())
    return out


def _blocks(batches: list[SyncBatch]) -> np.ndarray:
    return np.concatenate([b.codeblocks for b in batches])


def _offsets(batches: list[SyncBatch]) -> np.ndarray:
    return np.concatenate([b.bit_offsets for b in batches])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_leading_garbage_and_bit_offset(seed: int) -> None:
    rng = np.random.default_rng(seed)
    clean, bodies = _cadus(40, seed)
    garbage = rng.integers(0, 256, int(rng.integers(0, 500)), dtype=np.uint8).tobytes()
    bits = int(rng.integers(0, 8))
    data = _shift(garbage + clean, bits, rng)
    batches = _run(data)
    assert np.array_equal(_blocks(batches), bodies)
    first = 8 * len(garbage) + bits
    assert _offsets(batches).tolist() == [first + 8 * 64 * k for k in range(40)]
    locks = [e for b in batches for e in b.events if e.kind == SyncEventKind.LOCK]
    assert len(locks) == 1 and locks[0].bit_offset == first and locks[0].value == 0


def test_chunks_of_random_sizes_give_the_same_frames() -> None:
    rng = np.random.default_rng(7)
    clean, bodies = _cadus(60, 7)
    data = _shift(rng.integers(0, 256, 123, dtype=np.uint8).tobytes() + clean, 5, rng)
    whole = _run(data)
    sizes = [int(x) for x in rng.integers(1, 90, 200)]
    pieces = _run(data, sizes)
    assert np.array_equal(_blocks(pieces), _blocks(whole))
    assert np.array_equal(_offsets(pieces), _offsets(whole))
    assert np.array_equal(_blocks(pieces), bodies)
    byte_sized = _run(data, [1] * len(data))
    assert np.array_equal(_blocks(byte_sized), bodies)


@pytest.mark.parametrize("slip", [-3, -1, 1, 2, 4])
def test_bit_slip_within_window_keeps_every_frame(slip: int) -> None:
    clean, bodies = _cadus(20, 3)
    cut = 10 * 64 * 8  # bit position of frame 10's marker
    buf = np.frombuffer(clean + bytes(1), np.uint8)
    if slip > 0:
        noise = np.frombuffer(clean, np.uint8)[5:6]  # any bits
        buf = np.concatenate([buf, noise])
        starts = [0, 8 * (len(clean) + 1), cut]
        lengths = [cut, slip, 8 * len(clean) - cut]
    else:
        starts = [0, cut - slip]
        lengths = [cut, 8 * len(clean) - cut + slip]
    data = _bitcat(buf, np.array(starts), np.array(lengths)).tobytes()
    batches = _run(data)
    got = _blocks(batches)
    slips = [e for b in batches for e in b.events if e.kind == SyncEventKind.BIT_SLIP]
    assert [e.value for e in slips] == [slip]
    assert got.shape[0] == 20
    # the marker found where it slipped to: every frame intact (a negative slip removes
    # bits of the marker itself, which the lock tolerance absorbs)
    assert np.array_equal(got, bodies)


def test_large_slip_loses_lock_then_reacquires() -> None:
    clean, bodies = _cadus(30, 4)
    cut = 10 * 64 * 8
    buf = np.frombuffer(clean + bytes(1), np.uint8)
    data = _bitcat(buf, np.array([0, cut + 13]), np.array([cut, 8 * len(clean) - cut - 13]))
    batches = _run(data.tobytes())
    kinds = [e.kind for b in batches for e in b.events]
    assert kinds.count(SyncEventKind.SYNC_LOSS) == 1
    assert kinds.count(SyncEventKind.LOCK) == 2
    flags = np.concatenate([b.flags for b in batches])
    got = _blocks(batches)
    # 10 good frames; the markers of frames 10.. are 13 bits early, outside the slip
    # window: 3 flywheel frames (garbage, for the RS decoder to reject), the 4th miss
    # (at frame 13's expected position) loses lock, the search re-acquires frame 14
    assert (
        flags.tolist()
        == [FrameFlag.LOCKED] * 10 + [FrameFlag.FLYWHEEL] * 3 + [FrameFlag.LOCKED] * 16
    )
    assert np.array_equal(got[:10], bodies[:10])
    assert not (got[10:13] == bodies[10:13]).all(axis=1).any()
    assert np.array_equal(got[13:], bodies[14:])
    loss = [e for b in batches for e in b.events if e.kind == SyncEventKind.SYNC_LOSS]
    assert loss[0].bit_offset == 13 * 64 * 8


def test_flywheel_delivers_frames_with_corrupt_markers() -> None:
    clean, bodies = _cadus(12, 5)
    data = bytearray(clean)
    for k in (4, 5):  # two consecutive markers destroyed
        data[64 * k : 64 * k + 4] = b"\x00\x00\x00\x00"
    data[64 * 8] ^= 0x07  # three bit errors: still within lock tolerance
    batches = _run(bytes(data))
    flags = np.concatenate([b.flags for b in batches])
    assert flags.tolist() == [0] * 4 + [FrameFlag.FLYWHEEL] * 2 + [0] * 6
    assert np.array_equal(_blocks(batches), bodies)


def test_false_marker_in_garbage_is_not_confirmed() -> None:
    clean, bodies = _cadus(10, 6)
    garbage = bytes(100) + ASM_BYTES + bytes(50)  # a lone marker, nothing one CADU later
    batches = _run(garbage + clean)
    assert np.array_equal(_blocks(batches), bodies)
    assert _offsets(batches)[0] == 8 * len(garbage)


def test_truncated_last_frame_and_trailing_garbage() -> None:
    clean, bodies = _cadus(8, 8)
    sync = FrameSynchroniser(BODY)
    first = sync.feed(clean[:-20])
    assert sync.state == SyncState.LOCK
    last = sync.finish()
    assert np.array_equal(np.concatenate([first.codeblocks, last.codeblocks]), bodies[:7])
    assert last.truncated == (7 * 64, len(clean) - 20)
    sync = FrameSynchroniser(BODY)
    sync.feed(bytes(range(200)))
    tail = sync.finish()
    assert tail.trailing_skipped_bits == 8 * 200 and tail.codeblocks.shape[0] == 0


def test_unconfirmed_single_frame_at_end_is_delivered_and_flagged() -> None:
    clean, bodies = _cadus(1, 9)
    batches = _run(bytes(7) + clean)
    flags = np.concatenate([b.flags for b in batches])
    assert flags.tolist() == [FrameFlag.UNCONFIRMED]
    assert np.array_equal(_blocks(batches), bodies)
