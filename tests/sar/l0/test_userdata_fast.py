"""The table-driven user data decoder against the previous decoder and against the truth.

Random FDBAQ fields are packed here, independently of the project's encoder, from random
BRC, THIDX, signs and M-codes with the Huffman codes of S1-IF-ASD-PL-0007 section 3.3.4;
bypass and BAQ fields are random bytes (every bit pattern is valid there). The new
decoder must give bit-identical samples, statuses and block parameters to the previous
one (``reference=True``), and the FDBAQ samples must be the reconstruction (section 5.2)
of the packed symbols.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt
import pytest

from sar.errors import Level0Error
from sar.l0.huffman import FDBAQ_MULTI, FDBAQ_SINGLE, MULTI_BITS, MULTI_SYMBOLS, SINGLE_BITS
from sar.l0.luts import FDBAQ_RECON, HUFFMAN_CODES
from sar.l0.simd import lut_interleave16, lut_interleave16_generic
from sar.l0.userdata import BAD_BRC, OK, TOO_SHORT, decode_user_data_blocks, pair_schedule

Field = tuple[bytes, int, int]
"""(user data bytes, NQ, BAQ mode)."""

Int64s = npt.NDArray[np.int64]
Ranges = tuple[Int64s, Int64s, Int64s, Int64s]
"""(starts, ends, number_of_quads, baq_modes) of the fields in a buffer."""

EDGE_QUADS = (1, 2, 3, 4, 5, 17, 127, 128, 129, 255, 256, 257, 700)
"""NQ of one block, a last block shorter than 128, exactly full blocks, several blocks."""


def _pack(channels: list[str]) -> bytes:
    """Channel bit strings, each padded to 16 bits, all padded to 4 octets (section 4)."""
    bits = "".join(c + "0" * (-len(c) % 16) for c in channels)
    bits += "0" * (-len(bits) % 32)
    return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""


def _fdbaq_field(
    rng: np.random.Generator, nq: int, brc: int | None = None, pick: str = "uniform"
) -> tuple[bytes, npt.NDArray[np.float32]]:
    """A random FDBAQ field and the float32 samples it must decode to (IE, QE, IO, QO)."""
    nblocks = (nq + 127) // 128
    brcs = rng.integers(0, 5, nblocks) if brc is None else np.full(nblocks, brc)
    thidxs = rng.integers(0, 256, nblocks)
    expected = np.zeros(4 * nq, dtype=np.float32)
    channels = []
    for ch, slot in enumerate((0, 2, 1, 3)):
        bits = []
        for b in range(nblocks):
            if ch == 0:
                bits.append(format(int(brcs[b]), "03b"))
            elif ch == 2:
                bits.append(format(int(thidxs[b]), "08b"))
            codes = HUFFMAN_CODES[int(brcs[b])]
            longest = max(len(c) for c in codes)
            for k in range(b * 128, min(nq, (b + 1) * 128)):
                if pick == "longest":
                    m = int(rng.choice([i for i, c in enumerate(codes) if len(c) == longest]))
                else:
                    m = int(rng.integers(len(codes)))
                sign = int(rng.integers(2))
                bits.append(str(sign) + codes[m])
                level = FDBAQ_RECON[brcs[b], thidxs[b], m]
                expected[4 * k + slot] = -level if sign else level
        channels.append("".join(bits))
    return _pack(channels), expected


def _stream(fields: list[Field]) -> tuple[npt.NDArray[np.uint8], Ranges]:
    """One buffer of the fields (with a few bytes of garbage between), and their ranges."""
    rng = np.random.default_rng(len(fields))
    chunks, starts, ends = [], [], []
    at = 0
    for data, _, _ in fields:
        gap = bytes(rng.integers(0, 256, 6, dtype=np.uint8))
        chunks += [gap, data]
        starts.append(at + len(gap))
        at += len(gap) + len(data)
        ends.append(at)
    buf = np.frombuffer(b"".join(chunks), dtype=np.uint8)
    quads = np.array([nq for _, nq, _ in fields], dtype=np.int64)
    modes = np.array([mode for _, _, mode in fields], dtype=np.int64)
    return buf, (np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64), quads, modes)


def _assert_same_as_reference(
    buf: npt.NDArray[np.uint8], ranges: Ranges, n_columns: int | None = None
) -> tuple[npt.NDArray[np.complex64], Int64s]:
    new = decode_user_data_blocks(buf, *ranges, n_columns)
    old = decode_user_data_blocks(buf, *ranges, n_columns, reference=True)
    np.testing.assert_array_equal(new[1], old[1])
    ok = new[1] == OK
    # bit-identical samples (also -0.0 against +0.0) of every packet that decoded
    np.testing.assert_array_equal(new[0][ok].view(np.uint32), old[0][ok].view(np.uint32))
    np.testing.assert_array_equal(new[2][ok], old[2][ok])
    np.testing.assert_array_equal(new[3][ok], old[3][ok])
    return new[0], new[1]


def _tree_walk(bits: str, brc: int, max_symbols: int) -> tuple[list[int], int]:
    """Samples at the start of a bit string, decoded code by code."""
    decode = {code: m for m, code in enumerate(HUFFMAN_CODES[brc])}
    symbols: list[int] = []
    pos = 0
    while len(symbols) < max_symbols:
        code = ""
        end = pos + 1
        while end < len(bits) and code not in decode:
            code += bits[end]
            end += 1
        if code not in decode:
            break
        symbols.append(int(bits[pos]) << 4 | decode[code])
        pos = end
    return symbols, pos


@pytest.mark.parametrize(
    ("table", "bits", "max_symbols"),
    [(FDBAQ_MULTI, MULTI_BITS, MULTI_SYMBOLS), (FDBAQ_SINGLE, SINGLE_BITS, 1)],
)
def test_tables_match_a_tree_walk(
    table: npt.NDArray[np.uint64], bits: int, max_symbols: int
) -> None:
    for brc in range(5):
        for window in range(1 << bits):
            symbols, used = _tree_walk(format(window, f"0{bits}b"), brc, max_symbols)
            entry = int(table[brc, window])
            assert (entry >> 32) & 7 == len(symbols) >= 1
            assert entry >> 40 == used
            assert [(entry >> (8 * j)) & 0xFF for j in range(len(symbols))] == symbols
            assert entry & ((1 << 32) - (1 << (8 * len(symbols)))) == 0


@pytest.mark.parametrize("brc", [0, 1, 2, 3, 4, None])
def test_fdbaq_random_symbols_decode_to_truth(brc: int | None) -> None:
    rng = np.random.default_rng(7 if brc is None else brc)
    quads = list(EDGE_QUADS) + [129, 129, 700, 1, 1]  # equal NQ: decoded in pairs
    rng.shuffle(quads)
    made = [(_fdbaq_field(rng, nq, brc), nq) for nq in quads]
    fields = [(data, nq, 12 + i % 3) for i, ((data, _), nq) in enumerate(made)]
    buf, ranges = _stream(fields)
    iq, status = _assert_same_as_reference(buf, ranges)
    assert np.all(status == OK)
    for row, ((_, expected), nq) in enumerate(made):
        np.testing.assert_array_equal(iq[row, : 2 * nq].view(np.float32), expected)
        assert np.all(iq[row, 2 * nq :] == 0)


@pytest.mark.parametrize("brc", [3, 4])
def test_fdbaq_packets_of_longest_codes(brc: int) -> None:
    """Every sample a maximum-length code (8 / 9 bits + sign): 10-bit windows, 1 per window."""
    rng = np.random.default_rng(brc)
    made = [(_fdbaq_field(rng, nq, brc, pick="longest"), nq) for nq in (1, 128, 300, 300)]
    buf, ranges = _stream([(data, nq, 12) for (data, _), nq in made])
    iq, status = _assert_same_as_reference(buf, ranges)
    assert np.all(status == OK)
    for row, ((_, expected), nq) in enumerate(made):
        np.testing.assert_array_equal(iq[row, : 2 * nq].view(np.float32), expected)


def _baq_size(nq: int, mode: int) -> int:
    bits = 10 if mode == 0 else mode
    nblocks = (nq + 127) // 128
    words = (bits * nq + 15) // 16
    words_qe = words if mode == 0 else (bits * nq + 8 * nblocks + 15) // 16
    return ((2 * (3 * words + words_qe) + 3) // 4) * 4


@pytest.mark.parametrize("mode", [0, 3, 4, 5])
def test_bypass_and_baq_random_bits(mode: int) -> None:
    rng = np.random.default_rng(mode)
    fields = [
        (bytes(rng.integers(0, 256, _baq_size(nq, mode), dtype=np.uint8)), nq, mode)
        for nq in EDGE_QUADS + (1000, 1000)
    ]
    buf, ranges = _stream(fields)
    iq, status = _assert_same_as_reference(buf, ranges, n_columns=2100)
    assert np.all(status == OK) and iq.shape == (len(fields), 2100)
    assert np.any(iq.real < 0) and np.any(iq.imag > 0)


def test_mixed_modes_in_any_order() -> None:
    rng = np.random.default_rng(11)
    fields: list[Field] = []
    for _ in range(60):
        mode = int(rng.choice([0, 3, 4, 5, 12, 13, 14, 12, 12]))
        nq = int(rng.choice([64, 200, 200, 385]))
        if mode >= 12:
            fields.append((_fdbaq_field(rng, nq)[0], nq, mode))
        else:
            size = _baq_size(nq, mode)
            fields.append((bytes(rng.integers(0, 256, size, dtype=np.uint8)), nq, mode))
    buf, ranges = _stream(fields)
    _, status = _assert_same_as_reference(buf, ranges)
    assert np.all(status == OK)
    first, second = pair_schedule(ranges[2], ranges[3])
    assert sorted(np.r_[first, second[second >= 0]].tolist()) == list(range(60))
    pairs = second >= 0
    assert np.all(ranges[2][first[pairs]] == ranges[2][second[pairs]])
    assert np.all(ranges[3][second[pairs]] >= 12)


def test_errors_are_those_of_the_reference() -> None:
    rng = np.random.default_rng(5)
    fields: list[Field] = []
    for nq in (300, 300, 300, 300, 129, 129, 40, 40):
        data, _ = _fdbaq_field(rng, nq)
        fields.append((data, nq, 12))
    # truncated: lose the end of the last channel, or most of the field
    fields[0] = (fields[0][0][:-8], 300, 12)
    fields[4] = (fields[4][0][: len(fields[4][0]) // 3], 129, 12)
    # BRC 7 in the first block of IE
    bad = bytearray(fields[2][0])
    bad[0] |= 0xE0  # first block's BRC -> 7
    fields[2] = (bytes(bad), 300, 13)
    # an unknown mode next to a good packet of the same NQ
    fields[6] = (fields[6][0], 40, 7)
    buf, ranges = _stream(fields)
    _, status = _assert_same_as_reference(buf, ranges)
    assert status.tolist() == [TOO_SHORT, OK, BAD_BRC, OK, TOO_SHORT, OK, 3, OK]


def test_random_garbage_gives_the_reference_statuses() -> None:
    rng = np.random.default_rng(9)
    fields: list[Field] = []
    for _ in range(120):
        nq = int(rng.choice([1, 50, 128, 200]))
        size = int(rng.integers(0, 5 * nq // 2 + 16)) // 4 * 4
        fields.append((bytes(rng.integers(0, 256, size, dtype=np.uint8)), nq, 12))
    buf, ranges = _stream(fields)
    _, status = _assert_same_as_reference(buf, ranges)
    assert {OK, TOO_SHORT, BAD_BRC} <= set(status.tolist())


def test_byte_ranges_outside_the_buffer_raise() -> None:
    buf = np.zeros(64, dtype=np.uint8)
    one = np.array([1], dtype=np.int64)
    with pytest.raises(Level0Error, match="inside"):
        decode_user_data_blocks(buf, np.array([0]), np.array([65]), one, np.array([12]))
    with pytest.raises(Level0Error, match="n_columns"):
        decode_user_data_blocks(buf, np.array([0]), np.array([8]), one, np.array([12]), 1)


@nb.njit(cache=True)
def _interleave_both(
    codes: npt.NDArray[np.uint8], lut: npt.NDArray[np.float32], nq: int,
    vector: npt.NDArray[np.float32], generic: npt.NDArray[np.float32],
) -> None:  # fmt: skip
    lut16 = lut.ctypes.data
    for k in range(0, nq - 15, 16):
        lut_interleave16(vector.ctypes.data + 16 * k, codes.ctypes.data + k, nq, lut16)
        lut_interleave16_generic(generic.ctypes.data + 16 * k, codes.ctypes.data + k, nq, lut16)


def test_vector_reconstruction_step_equals_the_generic_one() -> None:
    rng = np.random.default_rng(1)
    nq = 64
    codes = rng.integers(0, 32, 4 * nq, dtype=np.uint8)
    lut = np.r_[FDBAQ_RECON[4, 200], -FDBAQ_RECON[4, 200]].astype(np.float32)
    vector = np.full(4 * nq, np.nan, dtype=np.float32)
    generic = vector.copy()
    _interleave_both(codes, lut, nq, vector, generic)
    expected = lut[codes.reshape(4, nq)[[0, 2, 1, 3]].T.ravel()]
    np.testing.assert_array_equal(generic.view(np.uint32), expected.view(np.uint32))
    np.testing.assert_array_equal(vector.view(np.uint32), expected.view(np.uint32))
