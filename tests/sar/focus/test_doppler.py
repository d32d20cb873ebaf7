"""FM rate from the orbit, Doppler centroid estimation, polynomial fits."""

from __future__ import annotations

import numpy as np
import pytest

from sar.constants import SPEED_OF_LIGHT, WAVELENGTH
from sar.errors import FocusError
from sar.focus.doppler import (
    effective_velocity,
    estimate_doppler_centroid,
    fit_polynomial,
    fm_rate,
    geometry_doppler_centroid,
)
from sar.geo.geolocate import geolocate
from sar.geo.orbit import interpolate_orbit, make_orbit
from tests.sar.focus.scenes import FS, PRF, SCENE, SRT, make_raw


def test_fm_rate_straight_line_is_exact() -> None:
    orbit = SCENE.orbit(SCENE.t_ref - 10, SCENE.t_ref + 10)
    tau = np.array([5.4e-3, 5.6e-3, 5.8e-3])
    ka = fm_rate(orbit, SCENE.t_ref, tau)
    r = 0.5 * SPEED_OF_LIGHT * tau
    assert np.allclose(ka, -2 * SCENE.speed**2 / (WAVELENGTH * r), rtol=1e-9)
    assert np.allclose(effective_velocity(orbit, SCENE.t_ref, tau), SCENE.speed, rtol=1e-9)


def test_fm_rate_matches_range_history_on_real_orbit() -> None:
    t0 = 1.4e9
    orbit = make_orbit(t0, 45.0, 10.0, look_angle_deg=35.0).orbit
    tau = 5.6e-3
    r0 = 0.5 * SPEED_OF_LIGHT * tau
    point = geolocate(orbit, t0, r0)
    dt = np.linspace(-0.3, 0.3, 61)
    pos, _ = interpolate_orbit(orbit, t0 + dt)
    rng = np.linalg.norm(pos - point, axis=-1)
    rdd = 2.0 * np.polyfit(dt, rng, 4)[2]
    ka = fm_rate(orbit, t0, tau)[0]
    assert ka == pytest.approx(-2.0 * rdd / WAVELENGTH, rel=1e-5)
    v = effective_velocity(orbit, t0, tau)[0]
    assert 6800.0 < v < 7400.0  # V_eff between ground and orbital speed
    assert geometry_doppler_centroid(orbit, t0, tau)[0] == 0.0
    assert geometry_doppler_centroid(orbit, t0, tau, squint=1e-3)[0] == pytest.approx(
        2 * v * np.sin(1e-3) / WAVELENGTH)


@pytest.mark.parametrize("fdc", [0.0, 230.0, -380.0, 1400.0])
def test_doppler_centroid_estimate(fdc: float) -> None:
    raw = make_raw([(450.0, 300.0, 1.0), (600.0, 800.0, 1.0)], noise=0.05,
                   doppler_centroid=fdc - round(fdc / PRF) * PRF, samples=1300)
    reference = round(fdc / PRF) * PRF  # geometry picks the ambiguity
    poly = estimate_doppler_centroid(raw.echoes, PRF, SRT, FS, raw.line_times[512],
                                     reference=reference)
    assert poly.evaluate(SRT + 600 / FS) == pytest.approx(fdc, abs=6.0)


def test_doppler_estimate_rejects_bad_input() -> None:
    with pytest.raises(FocusError):
        estimate_doppler_centroid(np.zeros((1, 10), np.complex64), PRF, SRT, FS, 0.0)
    with pytest.raises(FocusError):
        estimate_doppler_centroid(np.ones((4, 10), np.complex64), 0.0, SRT, FS, 0.0)
    with pytest.raises(FocusError):
        estimate_doppler_centroid(np.zeros((4, 64), np.complex64), PRF, SRT, FS, 0.0)


def test_fit_polynomial_recovers_coefficients() -> None:
    tau = np.linspace(5e-3, 5.3e-3, 20)
    t0 = 0.5 * (tau[0] + tau[-1])
    values = 12.0 + 3e5 * (tau - t0) - 2e9 * (tau - t0) ** 2
    poly = fit_polynomial(7.0, tau, values, 2)
    assert poly.t0 == pytest.approx(t0)
    assert np.allclose(poly.coefficients, (12.0, 3e5, -2e9), rtol=1e-6)
    assert np.allclose(poly.evaluate(tau), values)
