"""RCMC interpolator and migration model."""

from __future__ import annotations

import numpy as np
import pytest

from sar.constants import SPEED_OF_LIGHT, WAVELENGTH
from sar.errors import FocusError
from sar.focus.rcmc import (
    correct_range_migration,
    interpolation_table,
    migration_factor,
    migration_samples,
    node_count,
    secondary_compression_phase,
)


def test_table_rows_sum_to_one() -> None:
    t = interpolation_table(8)
    assert t.shape == (2049, 8) and t.dtype == np.float32
    assert np.allclose(t.sum(axis=1), 1.0, atol=1e-6)
    assert t[0, 3] == pytest.approx(1.0) and t[-1, 4] == pytest.approx(1.0)
    with pytest.raises(FocusError):
        interpolation_table(7)


@pytest.mark.parametrize("taps", [8, 16])
@pytest.mark.parametrize("shift", [0.0, 0.25, 1.5, -2.7, 5.93])
def test_fractional_shift_of_band_limited_signal(taps: int, shift: float) -> None:
    n = 512
    r = np.arange(n)
    rng = np.random.default_rng(1)
    freqs = rng.uniform(-0.3, 0.3, 6)  # within 60 % of the band (S1: fs / B ~ 1.15-1.5)
    def signal(x: np.ndarray) -> np.ndarray:
        return np.sum(np.exp(2j * np.pi * freqs[:, None] * x[None, :]), axis=0)
    data = np.stack([signal(r)] * 2).astype(np.complex64)
    nodes = np.full((2, node_count(n, 32)), shift)
    out = correct_range_migration(data, nodes, 32, taps=taps)
    inner = slice(40, n - 40)
    err = np.abs(out[0, inner] - signal(r + shift)[inner]).max() / 6
    assert err < (1e-2 if taps == 8 else 3e-3)


def test_filter_phase_and_weight_applied() -> None:
    n = 256
    data = np.ones((1, n), dtype=np.complex64)
    k = node_count(n, 32)
    phase = np.linspace(0.0, 3.0, k)[None, :]
    weight = (np.linspace(1.0, 2.0, k) * np.exp(0.5j))[None, :]
    out = correct_range_migration(data, np.zeros((1, k)), 32, phase=phase, weight=weight)
    grid = np.arange(k) * 32
    r = np.arange(20, n - 20)
    expected = np.interp(r, grid, weight[0].real) + 1j * np.interp(r, grid, weight[0].imag)
    expected = expected * np.exp(1j * np.interp(r, grid, phase[0]))
    assert np.abs(out[0, r] - expected).max() < 1e-5


def test_shape_errors() -> None:
    data = np.ones((2, 64), dtype=np.complex64)
    assert node_count(64, 32) == 3
    with pytest.raises(FocusError):
        correct_range_migration(data, np.zeros((2, 5)), 32)
    with pytest.raises(FocusError):
        correct_range_migration(data, np.zeros((2, 3)), 32, phase=np.zeros((2, 3)))
    with pytest.raises(FocusError):
        correct_range_migration(data.astype(np.complex128), np.zeros((2, 3)), 32)


def test_migration_model() -> None:
    v = 7000.0
    f = np.array([0.0, 500.0, -500.0])
    d = migration_factor(f, v, WAVELENGTH)
    assert d[0] == 1.0 and d[1] == d[2] < 1.0
    r0 = 850e3
    shift = migration_samples(f, r0, v, WAVELENGTH, 64e6)
    expected = r0 * (1 / np.sqrt(1 - (WAVELENGTH * 500 / (2 * v)) ** 2) - 1) * 2 * 64e6 \
        / SPEED_OF_LIGHT
    assert shift[1] == pytest.approx(expected) and shift[0] == 0.0
    with pytest.raises(FocusError):
        migration_factor(3e5, v, WAVELENGTH)


def test_secondary_range_compression_is_negligible_for_s1() -> None:
    # IW1-like: 850 km, PRF / 2 = 858 Hz, 56.5 MHz, V_eff 7000 m/s
    err = secondary_compression_phase(858.0, 850e3, 7000.0, 56.5e6, 5.405e9)
    assert 0.005 < err < 0.1
    assert secondary_compression_phase(0.0, 850e3, 7000.0, 56.5e6, 5.405e9) == 0.0
