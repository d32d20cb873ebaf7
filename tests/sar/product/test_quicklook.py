"""Quick-look PNG: size from the looks, dB stretch, transparency of empty blocks, and a
PNG that decodes (chunks, CRCs, zlib stream) to the expected pixels."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt
import pytest

from sar.errors import ProductError
from sar.product.quicklook import (
    PNG_SIGNATURE,
    encode_png,
    looks_for,
    make_quicklook,
    multilook_intensity,
)


def decode_png(data: bytes) -> tuple[int, npt.NDArray[np.uint8]]:
    """(colour type, pixels [rows, cols, channels]) of an 8-bit, filter-0 PNG."""
    assert data[:8] == PNG_SIGNATURE
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(ctype + body) & 0xFFFFFFFF == crc
        chunks.append((ctype, body))
        pos += 12 + length
    assert [c[0] for c in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour, _, _, _ = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 8
    channels = {0: 1, 4: 2}[colour]
    raw = np.frombuffer(zlib.decompress(chunks[1][1]), dtype=np.uint8)
    rows = raw.reshape(height, 1 + width * channels)
    assert np.all(rows[:, 0] == 0)  # filter type 0 on every row
    return colour, rows[:, 1:].reshape(height, width, channels)


def test_encode_png_round_trip() -> None:
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    colour, pixels = decode_png(encode_png(grey))
    assert colour == 0 and np.array_equal(pixels[..., 0], grey)
    alpha = np.full((3, 4), 255, dtype=np.uint8)
    alpha[0, 0] = 0
    colour, pixels = decode_png(encode_png(grey, alpha))
    assert colour == 4
    assert np.array_equal(pixels[..., 0], grey) and np.array_equal(pixels[..., 1], alpha)


def test_looks_bring_the_longest_side_to_max_size() -> None:
    assert looks_for((1500, 20000), 512) == (3, 40)
    assert looks_for((100, 200), 512) == (1, 1)
    # with ground spacings (14 m azimuth, 2.3 m range) the output pixels are square-ish
    la, lr = looks_for((1500, 20000), 512, spacing=(14.0, 2.3))
    assert abs(la * 14.0 - lr * 2.3) <= 14.0
    assert max(-(-1500 // la), -(-20000 // lr)) <= 512
    with pytest.raises(ProductError, match="max_size"):
        looks_for((10, 10), 0)
    with pytest.raises(ProductError, match="spacing"):
        looks_for((10, 10), 8, spacing=(0.0, 1.0))


def test_multilook_averages_intensity_and_ignores_zeros() -> None:
    image = np.zeros((5, 7), dtype=np.complex64)
    image[:4, :6] = 2.0 + 0.0j  # intensity 4
    image[0, 0] = 0.0  # one hole inside a block: left out of its mean
    intensity, valid = multilook_intensity(image, (2, 3))
    assert intensity.shape == (3, 3)
    assert np.allclose(intensity[:2, :2], 4.0)
    assert not valid[2].any() and not valid[:, 2].any()  # the all-zero margin blocks
    assert np.all(intensity[~valid] == 0.0)


def test_quicklook_of_a_ramp_is_monotonic_and_transparent_outside_data() -> None:
    rng = np.random.default_rng(3)
    lines, samples = 600, 2000
    amp = np.linspace(1.0, 100.0, samples)[None, :] * np.ones((lines, 1))
    image = (amp * np.exp(1j * rng.uniform(0, 2 * np.pi, (lines, samples)))).astype(np.complex64)
    image[:, :200] = 0.0  # unfocused margin
    png = make_quicklook(image, max_size=100, spacing=(1.0, 1.0))
    colour, pixels = decode_png(png)
    assert colour == 4 and pixels.shape[:2] == (30, 100)  # looks (20, 20)
    grey, alpha = pixels[..., 0].astype(int), pixels[..., 1]
    assert np.all(alpha[:, :10] == 0) and np.all(alpha[:, 10:] == 255)
    assert np.all(grey[:, :10] == 0)
    row = grey[15, 10:]
    assert np.all(np.diff(row) >= 0)  # brighter to the far range, dB-scaled
    assert row[0] == 0 and row[-1] == 255  # stretched between the percentiles
    # dB scale: intensity rises by 40 dB over the ramp; the middle column (amplitude
    # ~50.5, 34 dB above the start) sits near 34/40 of the stretch, not 1/4 (linear)
    mid = grey[15, 10 + 45]
    assert 180 <= mid <= 240


def test_quicklook_of_an_empty_image_is_fully_transparent() -> None:
    colour, pixels = decode_png(make_quicklook(np.zeros((64, 64), dtype=np.complex64)))
    assert colour == 4 and np.all(pixels[..., 1] == 0)


def test_quicklook_rejects_bad_input() -> None:
    with pytest.raises(ProductError, match="2-D"):
        make_quicklook(np.zeros((3,), dtype=np.complex64))
    with pytest.raises(ProductError, match="2-D"):
        make_quicklook(np.zeros((0, 5), dtype=np.complex64))
    with pytest.raises(ProductError, match="uint8"):
        encode_png(np.zeros((2, 2), dtype=np.float32))
