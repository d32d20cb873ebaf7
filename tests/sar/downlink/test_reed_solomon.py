"""RS(255,223) of CCSDS 131.0-B-2 section 4: encoding, correction up to t, detection beyond."""

from __future__ import annotations

import numpy as np
import pytest
import reedsolo

from sar.downlink.errors import InvalidFramingError
from sar.downlink.galois import power
from sar.downlink.reed_solomon import UNCORRECTABLE, decode_codeblocks, encode_codeblocks


def test_parity_matches_reedsolo_configured_for_ccsds() -> None:
    # reedsolo (maintained, pure Python) with the CCSDS field 0x187, generator element
    # alpha^11 and first consecutive root 112, conventional representation
    codec = reedsolo.RSCodec(32, nsize=255, fcr=112, prim=0x187, generator=power(11))
    rng = np.random.default_rng(0)
    for _ in range(5):
        msg = rng.integers(0, 256, 223, dtype=np.uint8)
        ours = encode_codeblocks(msg[None, :], 1, dual_basis=False)[0]
        assert ours.tobytes() == bytes(codec.encode(msg.tobytes()))


def _corrupt(
    blocks: np.ndarray, frame: int, codeword: int, n_err: int, depth: int, rng: np.random.Generator
) -> None:
    for pos in rng.choice(255, n_err, replace=False):
        blocks[frame, codeword + depth * int(pos)] ^= int(rng.integers(1, 256))


@pytest.mark.parametrize("depth", [1, 4, 5])
def test_corrects_up_to_16_and_reports_beyond(depth: int) -> None:
    rng = np.random.default_rng(depth)
    frames = rng.integers(0, 256, (6, 223 * depth), dtype=np.uint8)
    clean = encode_codeblocks(frames, depth)
    assert np.array_equal(clean[:, : 223 * depth], frames)  # systematic
    work = clean.copy()
    plan = {(0, 0): 1, (1, depth - 1): 16, (2, 0): 17, (3, depth // 2): 30, (4, 0): 8}
    for (f, c), n in plan.items():
        _corrupt(work, f, c, n, depth, rng)
    received = work.copy()
    counts = decode_codeblocks(work, depth)
    expected = np.zeros((6, depth), dtype=np.int16)
    for (f, c), n in plan.items():
        expected[f, c] = n if n <= 16 else UNCORRECTABLE
    assert np.array_equal(counts, expected)
    for f in (0, 1, 4, 5):
        assert np.array_equal(work[f], clean[f])
    # an uncorrectable codeword is left as received (never "fixed" into wrong data)
    for f, c in ((2, 0), (3, depth // 2)):
        assert np.array_equal(work[f, c::depth], received[f, c::depth])


def test_errors_in_check_symbols_are_corrected() -> None:
    rng = np.random.default_rng(5)
    clean = encode_codeblocks(rng.integers(0, 256, (1, 892), dtype=np.uint8), 4)
    work = clean.copy()
    work[0, 892:] ^= 0xFF  # all 128 check octets: 32 per codeword, beyond t
    assert (decode_codeblocks(work, 4) == UNCORRECTABLE).all()
    work = clean.copy()
    work[0, 892 : 892 + 64] ^= 0x01  # 16 check symbols per codeword
    assert decode_codeblocks(work, 4).tolist() == [[16, 16, 16, 16]]
    assert np.array_equal(work, clean)


def test_many_random_patterns_never_return_wrong_data() -> None:
    rng = np.random.default_rng(11)
    frames = rng.integers(0, 256, (400, 223), dtype=np.uint8)
    clean = encode_codeblocks(frames, 1)
    work = clean.copy()
    n_err = rng.integers(0, 40, 400)
    for f in range(400):
        _corrupt(work, f, 0, int(n_err[f]), 1, rng)
    counts = decode_codeblocks(work, 1)[:, 0]
    ok = counts >= 0
    assert np.array_equal(counts[ok], n_err[ok])
    assert np.array_equal(ok, n_err <= 16)
    assert np.array_equal(work[ok], clean[ok])


def test_conventional_and_dual_codes_differ() -> None:
    frames = np.arange(223, dtype=np.uint8)[None, :]
    dual = encode_codeblocks(frames, 1)
    conv = encode_codeblocks(frames, 1, dual_basis=False)
    assert not np.array_equal(dual[0, 223:], conv[0, 223:])
    assert decode_codeblocks(conv.copy(), 1, dual_basis=False).tolist() == [[0]]
    assert decode_codeblocks(conv.copy(), 1).tolist() == [[UNCORRECTABLE]]


def test_bad_shapes_raise() -> None:
    with pytest.raises(InvalidFramingError, match="depth"):
        encode_codeblocks(np.zeros((1, 223 * 6), np.uint8), 6)
    with pytest.raises(InvalidFramingError, match="shape"):
        encode_codeblocks(np.zeros((1, 100), np.uint8), 1)
    with pytest.raises(InvalidFramingError, match="uint8"):
        decode_codeblocks(np.zeros((1, 255), np.int16), 1)  # type: ignore[arg-type]
