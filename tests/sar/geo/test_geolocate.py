"""Tests of sar.geo.geolocate."""

from __future__ import annotations

import numpy as np
import pytest

from sar.constants import WAVELENGTH
from sar.errors import GeometryError
from sar.geo.ellipsoid import ecef_to_geodetic, geodetic_to_ecef
from sar.geo.geolocate import (
    geolocate,
    grid_geolocation,
    zero_doppler_time,
    zero_doppler_times,
)
from sar.geo.orbit import interpolate_orbit, make_orbit

T_REF = 1.4e9
SO = make_orbit(
    T_REF, 40.0, -3.0, height_m=0.0, look_angle_deg=33.0, before=40.0, after=40.0, step=10.0
)


def test_zero_doppler_of_reference_point() -> None:
    t, r = zero_doppler_time(SO.orbit, SO.reference_xyz, T_REF + 3.0)
    assert abs(t - T_REF) < 1e-9
    pos, vel = interpolate_orbit(SO.orbit, t)
    assert abs(r - np.linalg.norm(SO.reference_xyz - pos)) < 1e-9
    assert abs(vel @ (SO.reference_xyz - pos)) < 1e-3


def test_round_trip_within_1mm() -> None:
    rng = np.random.default_rng(3)
    lat = 40.0 + rng.uniform(-0.2, 0.2, 200)
    lon = -3.0 + rng.uniform(-0.3, 0.6, 200)
    h = rng.uniform(-100, 4000, 200)
    xyz = geodetic_to_ecef(lat, lon, h)
    t, r = zero_doppler_times(SO.orbit, xyz)
    back = geolocate(SO.orbit, t, r, height=h)
    assert np.max(np.linalg.norm(back - xyz, axis=-1)) < 1e-3
    _, _, h_back = ecef_to_geodetic(back)
    assert np.max(np.abs(h_back - h)) < 1e-4


def test_geolocate_with_doppler() -> None:
    t = T_REF - 5.0
    pos, vel = interpolate_orbit(SO.orbit, t)
    p = geolocate(SO.orbit, t, 850e3, height=100.0, doppler=-2000.0)
    los = p - pos
    fd = 2 * (vel @ los) / (WAVELENGTH * np.linalg.norm(los))
    assert abs(fd + 2000.0) < 1e-6
    assert abs(np.linalg.norm(los) - 850e3) < 1e-6


def test_grid_angles_increase_with_range() -> None:
    g = grid_geolocation(SO.orbit, [T_REF - 10, T_REF, T_REF + 10], [800e3, 850e3, 900e3])
    assert g.xyz.shape == (3, 3, 3)
    assert np.all(np.diff(g.incidence_angle, axis=1) > 0)
    assert np.all(g.incidence_angle > g.elevation_angle)
    assert np.allclose(g.height, 0.0, atol=1e-4)


def test_errors() -> None:
    with pytest.raises(GeometryError, match="does not reach"):
        geolocate(SO.orbit, T_REF, 500e3)
    with pytest.raises(GeometryError, match="outside the orbit"):
        geolocate(SO.orbit, T_REF + 1000.0, 850e3)
    far = geodetic_to_ecef(60.0, -3.0, 0.0)
    with pytest.raises(GeometryError, match="outside the orbit"):
        zero_doppler_time(SO.orbit, far)
    with pytest.raises(GeometryError, match="look must be"):
        geolocate(SO.orbit, T_REF, 850e3, look="up")
