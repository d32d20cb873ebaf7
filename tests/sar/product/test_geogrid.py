"""Geolocation tie points and footprint."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sar.errors import ProductError
from sar.product.geogrid import (
    compute_geolocation_grid,
    footprint,
    footprint_from_corners,
    footprint_geojson,
)
from sar.product.model import SlcImage


def _signed_area(ring: list[tuple[float, float]]) -> float:
    x = np.array([p[0] for p in ring])
    y = np.array([p[1] for p in ring])
    return float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]) / 2)


def test_footprint_ring(small_slc: SlcImage) -> None:
    ring = footprint(small_slc)
    assert len(ring) == 5 and ring[0] == ring[-1]
    assert _signed_area(ring) > 0  # counter-clockwise (RFC 7946)
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    assert min(lons) < 7.0 < max(lons)
    assert min(lats) < 45.0 < max(lats)
    # 278 valid samples x 2.33 m slant / sin(39.5) ~ 1 km; 83 lines x ~14 m ~ 1.2 km
    extent_lat_m = (max(lats) - min(lats)) * 111e3
    assert 1.0e3 < extent_lat_m < 5.0e3
    geo = footprint_geojson(small_slc)
    assert geo["type"] == "Polygon"
    assert geo["coordinates"][0] == [list(p) for p in ring]


def test_corners_follow_valid_area(small_slc: SlcImage) -> None:
    grid = compute_geolocation_grid(small_slc, n_lines=3, n_samples=4)
    full = compute_geolocation_grid(
        dataclasses.replace(small_slc, valid_lines=(0, 0), valid_samples=(0, 0)),
        n_lines=2,
        n_samples=2,
    )
    assert grid.latitude.shape == (3, 4)
    # with no valid area the corners are the image corners = the 2 x 2 tie points
    np.testing.assert_allclose(full.corners[0], [full.latitude[0, 0], full.longitude[0, 0]])
    np.testing.assert_allclose(full.corners[2], [full.latitude[1, 1], full.longitude[1, 1]])
    # the valid area lies strictly inside the image
    assert not np.allclose(grid.corners, full.corners, atol=1e-6)


def test_footprint_orientation_fixed() -> None:
    cw = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])  # lat, lon
    ring = footprint_from_corners(cw)
    assert _signed_area(ring) > 0
    across = np.array([[0.0, 179.9], [0.0, -179.9], [1.0, -179.9], [1.0, 179.9]])
    ring = footprint_from_corners(across)
    assert max(p[0] for p in ring) - min(p[0] for p in ring) == pytest.approx(0.2)
    with pytest.raises(ProductError):
        footprint_from_corners(np.zeros((3, 2)))


def test_grid_needs_two_points(small_slc: SlcImage) -> None:
    with pytest.raises(ProductError, match="2 x 2"):
        compute_geolocation_grid(small_slc, n_lines=1)
