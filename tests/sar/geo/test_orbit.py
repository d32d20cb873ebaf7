"""Tests of sar.geo.orbit: interpolation and orbit design."""

from __future__ import annotations

import numpy as np
import pytest

from sar.constants import EARTH_GM, EARTH_ROTATION_RATE, WGS84_A
from sar.errors import GeometryError
from sar.geo.ellipsoid import ecef_to_geodetic, ellipsoid_normal
from sar.geo.orbit import Orbit, interpolate_orbit, interpolate_orbit_full, make_orbit


def _analytic(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Circular inclined two-body orbit seen in ECEF (exact derivative)."""
    r = WGS84_A + 693e3
    n = np.sqrt(EARTH_GM / r**3)
    inc = np.radians(98.18)
    u = n * t
    th = EARTH_ROTATION_RATE * t
    xi = r * np.cos(u)
    yi = r * np.sin(u) * np.cos(inc)
    zi = r * np.sin(u) * np.sin(inc)
    dxi = -r * n * np.sin(u)
    dyi = r * n * np.cos(u) * np.cos(inc)
    dzi = r * n * np.cos(u) * np.sin(inc)
    c, s, w = np.cos(th), np.sin(th), EARTH_ROTATION_RATE
    pos = np.stack([c * xi + s * yi, -s * xi + c * yi, zi], -1)
    vel = np.stack(
        [
            c * dxi + s * dyi - w * s * xi + w * c * yi,
            -s * dxi + c * dyi - w * c * xi - w * s * yi,
            dzi,
        ],
        -1,
    )
    return pos, vel


def test_interpolation_mm_on_10s_sampling() -> None:
    times = np.arange(0.0, 300.0 + 1, 10.0)
    pos, vel = _analytic(times)
    orbit = Orbit(times, pos, vel)
    t = np.linspace(0.0, 300.0, 1237)
    p_ref, v_ref = _analytic(t)
    p, v = interpolate_orbit(orbit, t)
    assert np.max(np.linalg.norm(p - p_ref, axis=1)) < 1e-3
    assert np.max(np.linalg.norm(v - v_ref, axis=1)) < 1e-5
    # acceleration against central differences of the analytic velocity
    _, _, a = interpolate_orbit_full(orbit, t[5:-5])
    h = 1e-3
    a_ref = (_analytic(t[5:-5] + h)[1] - _analytic(t[5:-5] - h)[1]) / (2 * h)
    assert np.max(np.linalg.norm(a - a_ref, axis=1)) < 1e-4


def test_interpolation_exact_at_nodes_and_scalar_shape() -> None:
    times = np.arange(0.0, 100.0, 10.0)
    pos, vel = _analytic(times)
    orbit = Orbit(times, pos, vel)
    p, v = interpolate_orbit(orbit, 30.0)
    assert p.shape == (3,)
    np.testing.assert_allclose(p, pos[3], atol=1e-6)
    np.testing.assert_allclose(v, vel[3], atol=1e-9)


def test_interpolation_outside_raises() -> None:
    times = np.arange(0.0, 100.0, 10.0)
    orbit = Orbit(times, *_analytic(times))
    with pytest.raises(GeometryError, match="outside the orbit"):
        interpolate_orbit(orbit, 95.0)


@pytest.mark.parametrize("ascending", [True, False])
def test_make_orbit_places_point(ascending: bool) -> None:
    t_ref = 1.4e9
    so = make_orbit(
        t_ref,
        52.0,
        5.0,
        look_angle_deg=35.0,
        ascending=ascending,
        before=20.0,
        after=20.0,
        step=1.0,
    )
    pos, vel = interpolate_orbit(so.orbit, t_ref)
    los = so.reference_xyz - pos
    # zero Doppler, right-looking, 35 deg off nadir
    assert abs(los @ vel) / (np.linalg.norm(los) * np.linalg.norm(vel)) < 1e-10
    assert los @ np.cross(vel, pos) > 0
    lat, lon, h = ecef_to_geodetic(pos)
    look = np.degrees(np.arccos(-(los @ ellipsoid_normal(lat, lon)) / np.linalg.norm(los)))
    assert abs(look - 35.0) < 1e-8
    assert 690e3 < h < 720e3
    assert (vel[2] > 0) == ascending
    assert 7500 < np.linalg.norm(vel) < 7700
    # the ascending node crossing precedes the reference time by less than one orbit
    assert t_ref - 6000 < so.anx_time <= t_ref
    assert np.all(np.diff(so.orbit.times) == 1.0)


def test_anx_time_is_node_crossing() -> None:
    t_ref = 1.4e9
    so = make_orbit(t_ref, 2.0, 0.0, look_angle_deg=30.0, before=400.0, after=10.0, step=10.0)
    p, v = interpolate_orbit(so.orbit, so.anx_time)
    assert abs(p[2]) < 1e-2
    assert v[2] > 0


def test_two_body_is_circular() -> None:
    so = make_orbit(
        1.0e9, 0.0, 0.0, look_angle_deg=20.0, j2=False, before=600, after=600, step=10.0
    )
    radius = np.linalg.norm(so.orbit.positions, axis=1)
    assert np.ptp(radius) < 1e-3


def test_nadir_placement() -> None:
    so = make_orbit(1.4e9, 30.0, 10.0, before=5.0, after=5.0)
    pos, vel = interpolate_orbit(so.orbit, 1.4e9)
    los = so.reference_xyz - pos
    assert abs(los @ vel) / np.linalg.norm(los) < 1e-6
    cross = np.cross(vel, pos)
    assert abs(los @ cross) / (np.linalg.norm(los) * np.linalg.norm(cross)) < 1e-10
    assert 690e3 < np.linalg.norm(los) < 720e3


def test_bad_orbit_span() -> None:
    with pytest.raises(GeometryError, match="step must be positive"):
        make_orbit(1.4e9, 0.0, 0.0, step=0.0)
