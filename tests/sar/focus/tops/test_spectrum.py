"""Exact-minus-hyperbolic azimuth spectrum phase of squinted TOPS targets."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.tops import make_burst
from sar.constants import SPEED_OF_LIGHT
from sar.focus.tops.geometry import burst_geometry
from sar.focus.tops.spectrum import _stationary_phase, spectral_phase_correction
from sar.geo.geolocate import geolocate


def test_correction_matches_the_stationary_phase_and_grows_with_squint() -> None:
    raw = make_burst(64, 64)
    tau0, tau1 = 5.3e-3, 5.6e-3
    g = burst_geometry(raw, tau0, tau1)

    def centre(tau: np.ndarray) -> np.ndarray:
        return np.full(np.shape(tau), -6.0)

    corr = spectral_phase_correction(raw.orbit, g, tau0, tau1, centre, 1.6)
    assert corr.rms_fit < 0.002
    lam = g.wavelength
    tau = 5.45e-3
    k_t = float(g.centroid_rate(tau))
    values = []
    for eta in (-1.3, -0.4, 0.0, 0.9):
        f = -6.0 + k_t * eta
        r0 = 0.5 * SPEED_OF_LIGHT * tau
        p = np.asarray(geolocate(raw.orbit, g.t_mid + eta, r0)).reshape(1, 3)
        v = float(g.effective_velocity(tau))
        d = np.sqrt(1.0 - (lam * f / (2.0 * v)) ** 2)
        start = np.array([-lam * f * r0 / (2.0 * v * v * d)])
        exact = _stationary_phase(
            raw.orbit, p, np.array([g.t_mid + eta]), np.array([f]), start, lam
        )[0] + 4.0 * np.pi * r0 * d / lam
        fitted = float(corr.evaluate(tau, f))
        assert fitted == pytest.approx(exact, abs=0.003)
        values.append(fitted)
    # ~0 at the burst centre, tenths of a radian of opposite signs a second away
    assert abs(values[2]) < 0.003
    assert abs(values[0]) > 0.05 and abs(values[3]) > 0.02 and values[0] * values[3] < 0
