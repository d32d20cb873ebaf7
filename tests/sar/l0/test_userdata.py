"""Hand-built user data vectors checked against the tables of S1-IF-ASD-PL-0007 section 5.2."""

from __future__ import annotations

import numpy as np
import pytest
from sentinel1decoder._sentinel1decoder import (
    decode_single_baq_packet,
    decode_single_bypass_packet,
    decode_single_fdbaq_packet,
)

from sar.l0.encoders import encode_user_data, split_channels
from sar.l0.userdata import BAD_BRC, OK, TOO_SHORT, decode_user_data


def _bits_to_bytes(channels: list[str]) -> bytes:
    """Concatenate channel bit strings, each padded to 16 bits, total padded to 4 octets."""
    bits = "".join(c + "0" * (-len(c) % 16) for c in channels)
    bits += "0" * (-len(bits) % 32)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def _decode(data: bytes, nq: int, mode: int) -> tuple[np.ndarray, int]:
    iq, status = decode_user_data(
        np.frombuffer(data, np.uint8), np.array([0]), np.array([len(data)]),
        np.array([nq]), np.array([mode]),
    )  # fmt: skip
    return iq[0], int(status[0])


def test_fdbaq_normal_reconstruction_brc0() -> None:
    # BRC 0, THIDX 10: value = NRL(BRC0, M) * SF(10) = NRL * 6.27 (tables 5.2-2, 5.2-3)
    ie = "000" + "0" + "10"  # BRC 0, +M1
    io = "1" + "110"  # -M2
    qe = format(10, "08b") + "0" + "0"  # THIDX 10, +M0
    qo = "1" + "111"  # -M3
    iq, status = _decode(_bits_to_bytes([ie, io, qe, qo]), 1, 12)
    assert status == OK
    expected = np.array([1.0915 * 6.27 + 1j * 0.3637 * 6.27, -1.8208 * 6.27 - 1j * 2.6406 * 6.27])
    np.testing.assert_allclose(iq, expected, rtol=1e-6)


def test_fdbaq_simple_reconstruction_brc4() -> None:
    # BRC 4, THIDX 7 <= 8: M < 15 -> M itself, M = 15 -> B(BRC4, 7) = 15.50 (table 5.2-1)
    ie = "100" + "0" + "111111111"  # BRC 4, +M15
    io = "1" + "1101"  # -M6
    qe = format(7, "08b") + "1" + "00"  # THIDX 7, -M0
    qo = "0" + "11111100"  # +M10
    iq, status = _decode(_bits_to_bytes([ie, io, qe, qo]), 1, 13)
    assert status == OK
    np.testing.assert_allclose(iq, [15.5 - 0j, -6 + 10j], rtol=1e-6)
    assert np.signbit(iq[0].imag)  # the sign bit of M0 gives -0.0


def test_fdbaq_brc3_normal() -> None:
    # BRC 3, THIDX 100: SF 62.98; codes M9 ("11111111") and M3 ("110")
    ie = "011" + "0" + "11111111"
    io = "0" + "110"
    qe = format(100, "08b") + "1" + "01"
    qo = "1" + "00"
    iq, _ = _decode(_bits_to_bytes([ie, io, qe, qo]), 1, 14)
    sf = 62.98
    np.testing.assert_allclose(
        iq, [3.3744 * sf - 1j * 0.5107 * sf, 1.1916 * sf - 1j * 0.1702 * sf], rtol=1e-6
    )


def test_bypass_sign_magnitude() -> None:
    ie, io, qe, qo = "0000000101", "1000000011", "0111111111", "1111111111"
    iq, status = _decode(_bits_to_bytes([ie, io, qe, qo]), 1, 0)
    assert status == OK
    np.testing.assert_array_equal(iq, [5 + 511j, -3 - 511j])


def test_baq3_normal_and_simple() -> None:
    # BAQ 3-bit, THIDX 20 (SF 12.53): NRL 3-bit (table 5.2-2)
    ie, io, qo = "011", "101", "000"
    qe = format(20, "08b") + "110"
    iq, _ = _decode(_bits_to_bytes([ie, io, qe, qo]), 1, 3)
    sf = 12.53
    np.testing.assert_allclose(
        iq, [2.1864 * sf - 1j * 1.3655 * sf, -0.7681 * sf + 1j * 0.2490 * sf], rtol=1e-6
    )
    # THIDX 3 <= 3: simple reconstruction, M3 -> A(3-bit, 3) = 3.55
    iq, _ = _decode(_bits_to_bytes(["011", "001", format(3, "08b") + "111", "010"]), 1, 3)
    np.testing.assert_allclose(iq, [3.55 - 3.55j, 1 + 2j], rtol=1e-6)


def test_errors_are_reported() -> None:
    data = _bits_to_bytes(["101" + "0" * 20, "0", "0", "0"])
    assert _decode(data, 1, 12)[1] == BAD_BRC
    assert _decode(b"\x00" * 8, 100, 12)[1] == TOO_SHORT
    assert _decode(b"\x00" * 8, 100, 0)[1] == TOO_SHORT


def _noise(n: int, sigma: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, sigma, n) + 1j * rng.normal(0, sigma, n)
    x[: n // 4] *= 0.02  # a weak stretch exercises simple reconstruction
    return x.astype(np.complex64)


@pytest.mark.parametrize("mode", [0, 3, 4, 5, 12])
@pytest.mark.parametrize("sigma", [3.0, 40.0, 180.0])
def test_round_trip_is_exact(mode: int, sigma: float) -> None:
    x = _noise(1001, sigma, seed=int(sigma))
    brc = None if mode != 12 else 3
    data, nq = encode_user_data(x, mode, brc=brc)
    assert len(data) % 4 == 0
    iq, status = _decode(data, nq, mode)
    assert status == OK
    again, _ = encode_user_data(iq, mode, brc=brc)
    assert again == data
    y, _ = _decode(again, nq, mode)
    np.testing.assert_array_equal(y, iq)
    # quantisation error is bounded: 10-bit bypass rounds, BAQ/FDBAQ stay near sigma/2
    err = np.abs(iq[:1001] - x)
    if mode == 0:
        assert err.max() <= np.sqrt(0.5) + 1e-6 or sigma * 4 > 511
    else:
        assert np.sqrt(np.mean(err[250:] ** 2)) < 0.45 * sigma


@pytest.mark.parametrize("brc", [0, 1, 2, 3, 4])
def test_fdbaq_each_brc_round_trip(brc: int) -> None:
    x = _noise(2000, 60.0, seed=brc)
    data, nq = encode_user_data(x, 12, brc=brc)
    iq, _ = _decode(data, nq, 12)
    assert encode_user_data(iq, 12, brc=brc)[0] == data
    # more bits, less error
    rms = float(np.sqrt(np.mean(np.abs(iq[500:2000] - x[500:]) ** 2)))
    assert rms < (0.75, 0.6, 0.45, 0.33, 0.22)[brc] * 60.0 * np.sqrt(2)


@pytest.mark.parametrize("mode", [0, 3, 4, 5, 12])
def test_sentinel1decoder_reads_the_same_samples(mode: int) -> None:
    x = _noise(3000, 50.0, seed=mode)
    data, nq = encode_user_data(x, mode)
    ours, _ = _decode(data, nq, mode)
    if mode == 0:
        theirs = decode_single_bypass_packet(data, nq)
    elif mode < 12:
        theirs = decode_single_baq_packet(data, nq, mode)
    else:
        theirs = decode_single_fdbaq_packet(data, nq)
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-4)


def test_split_channels_order() -> None:
    chans = split_channels(np.array([1 + 2j, 3 + 4j, 5 + 6j], dtype=np.complex64))
    np.testing.assert_array_equal(chans, [[1, 5], [3, 0], [2, 6], [4, 0]])


@pytest.mark.parametrize("mode", [3, 4, 5, 12])
@pytest.mark.parametrize("seed", range(6))
def test_default_choices_re_encode_exactly(mode: int, seed: int) -> None:
    """Default THIDX (and FDBAQ BRC) choices are reproduced from decoded samples.

    Low-level blocks hit simple reconstruction, where several THIDX reproduce a block.
    """
    rng = np.random.default_rng(seed)
    sigma = (0.4, 2.0, 5.3, 11.0, 40.0, 150.0)[seed]
    x = (rng.normal(0, sigma, 3000) + 1j * rng.normal(0, sigma, 3000)).astype(np.complex64)
    x[1000:2000] *= np.linspace(0.1, 3, 1000).astype(np.float32)
    data, nq = encode_user_data(x, mode)
    iq, _ = _decode(data, nq, mode)
    assert encode_user_data(iq, mode)[0] == data


def test_default_brc_follows_block_power() -> None:
    rng = np.random.default_rng(3)
    weak = rng.normal(0, 5, 512) + 1j * rng.normal(0, 5, 512)
    strong = rng.normal(0, 300, 512) + 1j * rng.normal(0, 300, 512)
    data, nq = encode_user_data(np.concatenate([weak, strong]).astype(np.complex64), 12)
    first_brc = data[0] >> 5
    assert first_brc == 0  # RMS 5 < 16
    iq, _ = _decode(data, nq, 12)
    np.testing.assert_allclose(np.std(iq[512:].real), 300, rtol=0.15)
