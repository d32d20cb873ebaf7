"""Tests of sar.geo.ellipsoid."""

from __future__ import annotations

import numpy as np

from sar.constants import WGS84_A, WGS84_B
from sar.geo.ellipsoid import ecef_to_geodetic, geodetic_to_ecef


def test_known_points() -> None:
    np.testing.assert_allclose(geodetic_to_ecef(0.0, 0.0, 0.0), [WGS84_A, 0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(
        geodetic_to_ecef(90.0, 0.0, 10.0), [0.0, 0.0, WGS84_B + 10.0], atol=1e-6
    )
    np.testing.assert_allclose(geodetic_to_ecef(0.0, 90.0, 0.0), [0.0, WGS84_A, 0.0], atol=1e-6)


def test_round_trip_sub_millimetre() -> None:
    rng = np.random.default_rng(1)
    lat = rng.uniform(-90, 90, 5000)
    lon = rng.uniform(-180, 180, 5000)
    h = rng.uniform(-500, 800_000, 5000)
    xyz = geodetic_to_ecef(lat, lon, h)
    lat2, lon2, h2 = ecef_to_geodetic(xyz)
    back = geodetic_to_ecef(lat2, lon2, h2)
    assert np.max(np.linalg.norm(back - xyz, axis=-1)) < 1e-3
    assert np.max(np.abs(h2 - h)) < 1e-3
    assert np.max(np.abs(lat2 - lat)) < 1e-10


def test_poles_and_shapes() -> None:
    lat, lon, h = ecef_to_geodetic(np.array([[0.0, 0.0, -WGS84_B - 5.0]]))
    assert lat.shape == (1,)
    assert abs(lat[0] + 90.0) < 1e-12
    assert abs(h[0] - 5.0) < 1e-6
