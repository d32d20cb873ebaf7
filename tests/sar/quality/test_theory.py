"""Theoretical impulse-response figures against textbook values."""

from __future__ import annotations

import pytest

from sar.errors import QualityError
from sar.quality.theory import (
    parse_window,
    theoretical_islr_2d,
    theoretical_response,
    window_weights,
)


def test_flat_window_textbook() -> None:
    width, pslr, islr = theoretical_response("none", 1.0)
    assert width == pytest.approx(0.886, abs=1e-3)
    assert pslr == pytest.approx(-13.26, abs=0.01)
    # bounded ISLR (+-10 null-to-peak widths) is lower than the unbounded -9.68 dB...
    assert islr == pytest.approx(-10.16, abs=0.02)
    # ...and approaches it as the span grows (tail energy falls as 1/extent)
    assert theoretical_response("none", 1.0, islr_extent=60)[2] == pytest.approx(-9.76, abs=0.03)


def test_width_scales_with_oversampling() -> None:
    w1 = theoretical_response("hamming 0.75", 1.0)[0]
    w2 = theoretical_response("hamming 0.75", 1.3)[0]
    assert w2 / w1 == pytest.approx(1.3, rel=1e-3)


@pytest.mark.parametrize(
    ("label", "pslr", "width"),
    [
        ("hamming 0.54", -42.7, 1.30),  # Harris 1978: -43 dB, 1.30 bins
        ("hann", -31.5, 1.44),  # Harris 1978: -32 dB, 1.44 bins
        ("hamming 0.75", -21.2, 1.00),  # S1 L1 requirement level (docs/sentinel1-facts.md)
    ],
)
def test_hamming_family(label: str, pslr: float, width: float) -> None:
    w, p, _ = theoretical_response(label, 1.0)
    assert p == pytest.approx(pslr, abs=0.1)
    assert w == pytest.approx(width, abs=0.01)


def test_kaiser_between_flat_and_hann() -> None:
    flat = theoretical_response("none", 1.0)
    k = theoretical_response("kaiser 2.5", 1.0)
    hann = theoretical_response("hann", 1.0)
    assert flat[0] < k[0] < hann[0]
    assert hann[1] < k[1] < flat[1]


def test_islr_2d_separable() -> None:
    # flat x flat: (T^2 - M^2) / M^2 from the 1-D energies
    value = theoretical_islr_2d("none", 1.0, "none", 1.0)
    assert value == pytest.approx(-6.94, abs=0.02)


def test_labels() -> None:
    assert parse_window("") == ("flat", 0.0)
    assert parse_window("Hamming 0.75") == ("hamming", 0.75)
    assert parse_window("kaiser 3") == ("kaiser", 3.0)
    assert parse_window("hamming:0.7") == ("hamming", 0.7)
    assert float(window_weights("hamming 0.75", 0.5)) == pytest.approx(0.5)
    assert float(window_weights("hamming 0.75", 0.6)) == 0.0
    for bad in ("blackman", "hamming x", "hamming 1.5", "kaiser -1"):
        with pytest.raises(QualityError):
            parse_window(bad)
