"""WGS84 ellipsoid: geodetic <-> Earth-centred Earth-fixed (ECEF) coordinates.

Constants from NIMA TR8350.2 (:mod:`sar.constants`). Both conversions are
vectorised over any leading shape; the inverse is an iteration on latitude that is
exact to well below 1 mm for heights from the Earth's centre region up to orbit.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sar.constants import WGS84_A, WGS84_E2

FloatArray = npt.NDArray[np.float64]
ArrayLike = float | npt.ArrayLike

_ITERATIONS = 8


def geodetic_to_ecef(
    lat_deg: ArrayLike, lon_deg: ArrayLike, height_m: ArrayLike = 0.0
) -> FloatArray:
    """Convert geodetic coordinates to ECEF.

    Parameters
    ----------
    lat_deg, lon_deg
        Geodetic latitude and longitude, degrees (broadcast together).
    height_m
        Height above the WGS84 ellipsoid, m.

    Returns
    -------
    numpy.ndarray
        ECEF coordinates, m, shape ``broadcast_shape + (3,)``.
    """
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    h = np.asarray(height_m, dtype=np.float64)
    lat, lon, h = np.broadcast_arrays(lat, lon, h)
    sin_lat = np.sin(lat)
    n = WGS84_A / np.sqrt(1.0 - WGS84_E2 * sin_lat**2)
    x = (n + h) * np.cos(lat) * np.cos(lon)
    y = (n + h) * np.cos(lat) * np.sin(lon)
    z = (n * (1.0 - WGS84_E2) + h) * sin_lat
    return np.stack([x, y, z], axis=-1)


def ecef_to_geodetic(xyz: npt.ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Convert ECEF coordinates to geodetic latitude, longitude and height.

    Fixed-point iteration on latitude, ``phi = atan2(z + e^2 N sin(phi), p)``, with the
    height computed as ``p cos(phi) + z sin(phi) - a sqrt(1 - e^2 sin^2(phi))``, which
    stays well conditioned at the poles. Eight iterations reach < 1 micrometre.

    Parameters
    ----------
    xyz
        ECEF coordinates, m, shape ``(..., 3)``.

    Returns
    -------
    tuple of numpy.ndarray
        Latitude (deg), longitude (deg), height above the ellipsoid (m), each of
        shape ``xyz.shape[:-1]``.
    """
    p_xyz = np.asarray(xyz, dtype=np.float64)
    x, y, z = p_xyz[..., 0], p_xyz[..., 1], p_xyz[..., 2]
    p = np.hypot(x, y)
    lat = np.arctan2(z, p * (1.0 - WGS84_E2))
    for _ in range(_ITERATIONS):
        sin_lat = np.sin(lat)
        n = WGS84_A / np.sqrt(1.0 - WGS84_E2 * sin_lat**2)
        lat = np.arctan2(z + WGS84_E2 * n * sin_lat, p)
    sin_lat = np.sin(lat)
    height = p * np.cos(lat) + z * sin_lat - WGS84_A * np.sqrt(1.0 - WGS84_E2 * sin_lat**2)
    lon = np.arctan2(y, x)
    return np.degrees(lat), np.degrees(lon), height


def ellipsoid_normal(lat_deg: ArrayLike, lon_deg: ArrayLike) -> FloatArray:
    """Unit outward normal to the WGS84 ellipsoid (local "up"), shape ``(..., 3)``."""
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    lat, lon = np.broadcast_arrays(lat, lon)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)
