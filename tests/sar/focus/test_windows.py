"""Spectral windows: parsing, labels, samples and theory figures."""

from __future__ import annotations

import numpy as np
import pytest

from sar.errors import FocusError
from sar.focus.windows import WindowSpec, make_window, parse_window, window_theory


def test_parse_and_label() -> None:
    assert parse_window("hamming:0.75") == WindowSpec("hamming", 0.75)
    assert parse_window("hamming:0.75").label == "hamming 0.75"
    assert parse_window("Hamming 0.7").label == "hamming 0.7"
    assert parse_window("kaiser:2.5").label == "kaiser 2.5"
    assert parse_window("none").label == "none"
    assert parse_window("hann") == WindowSpec("hamming", 0.5)
    spec = WindowSpec("kaiser", 3.0)
    assert parse_window(spec) is spec


@pytest.mark.parametrize("text", ["triangle", "hamming:1.5", "hamming:x", "kaiser:-1", "a:b:c"])
def test_bad_windows_raise(text: str) -> None:
    with pytest.raises(FocusError):
        parse_window(text)


def test_make_window_values() -> None:
    w = make_window("hamming:0.75", 1001)
    assert w[500] == pytest.approx(1.0)
    assert w[0] == pytest.approx(0.75 - 0.25 * np.cos(np.pi / 1001), rel=1e-9)
    assert np.allclose(w, w[::-1])
    assert np.all(make_window("none", 8) == 1.0)
    k = make_window("kaiser:2.5", 101)
    assert k[50] == pytest.approx(1.0) and k[0] == pytest.approx(1 / np.i0(2.5), rel=0.05)
    with pytest.raises(FocusError):
        make_window("none", 0)


def test_window_theory_numbers() -> None:
    flat = window_theory(parse_window("none"))
    assert flat.width_factor == pytest.approx(0.886, abs=0.002)
    assert flat.pslr_db == pytest.approx(-13.26, abs=0.05)
    assert flat.broadening == pytest.approx(1.0)
    ham = window_theory(parse_window("hamming:0.75"))
    assert ham.pslr_db == pytest.approx(-21.2, abs=0.3)  # docs/sentinel1-facts.md: about -21.5
    assert 1.10 < ham.broadening < 1.16
    assert ham.islr_db < flat.islr_db - 5.0
