"""Geolocation tie-point grid and footprint of an SLC product.

The grid plays the role of the Sentinel-1 annotation ``geolocationGrid`` (S1 Product
Specification, S1-RS-MDA-52-7441 §6.2.x): for a coarse lattice of (line, sample) tie
points it gives zero-Doppler azimuth time, two-way slant-range time, geodetic latitude,
longitude and height, and the incidence angle. Points are found from the product's own
orbit by solving the range-Doppler equations on the WGS84 ellipsoid
(:func:`sar.geo.geolocate.grid_geolocation`; Curlander & McDonough 1991 §8.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sar.constants import SPEED_OF_LIGHT
from sar.errors import GeometryError, ProductError
from sar.geo.geolocate import grid_geolocation
from sar.product.model import SlcImage

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TiePointGrid:
    """Geolocation tie points of an SLC.

    Attributes
    ----------
    line, sample
        Tie-point image coordinates, pixels, shapes (n_lines,) and (n_samples,).
    azimuth_time
        Zero-Doppler time of each tie line, GPS s, shape (n_lines,).
    slant_range_time
        Two-way slant-range time of each tie sample, s, shape (n_samples,).
    latitude, longitude
        Geodetic coordinates, deg, shape (n_lines, n_samples).
    height
        Height above WGS84, m, shape (n_lines, n_samples).
    incidence_angle
        Angle between line of sight and ellipsoid normal, deg, shape (n_lines, n_samples).
    corners
        Latitude/longitude (deg) of the valid area's corners, shape (4, 2), in the order
        (first line, first sample), (first line, last sample), (last line, last sample),
        (last line, first sample).
    """

    line: FloatArray
    sample: FloatArray
    azimuth_time: FloatArray
    slant_range_time: FloatArray
    latitude: FloatArray
    longitude: FloatArray
    height: FloatArray
    incidence_angle: FloatArray
    corners: FloatArray


def _valid_extent(slc: SlcImage) -> tuple[float, float, float, float]:
    """First/last valid line and sample (pixel centres); whole image if unset or empty."""
    l0, l1 = slc.valid_lines
    s0, s1 = slc.valid_samples
    if not 0 <= l0 < l1 <= slc.lines:
        l0, l1 = 0, slc.lines
    if not 0 <= s0 < s1 <= slc.samples:
        s0, s1 = 0, slc.samples
    return float(l0), float(l1 - 1), float(s0), float(s1 - 1)


def _geolocate_pixels(
    slc: SlcImage, lines: FloatArray, samples: FloatArray, height: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Range-Doppler geolocation of a (lines x samples) lattice of pixels."""
    t_az = slc.first_line_time + lines * slc.azimuth_time_interval
    tau = slc.slant_range_time + samples / slc.range_sampling_rate
    try:
        grid = grid_geolocation(slc.orbit, t_az, 0.5 * SPEED_OF_LIGHT * tau, height=height)
    except GeometryError as exc:
        raise ProductError(f"cannot geolocate the image from its orbit: {exc}") from exc
    return t_az, tau, grid.latitude, grid.longitude, grid.height, grid.incidence_angle


def compute_geolocation_grid(
    slc: SlcImage, *, n_lines: int = 11, n_samples: int = 21, height: float = 0.0
) -> TiePointGrid:
    """Compute geolocation tie points over the whole image and the valid-area corners.

    Parameters
    ----------
    slc
        The image; its orbit must cover the image's azimuth times.
    n_lines, n_samples
        Tie points along azimuth and range (>= 2 each), evenly spread from the first to
        the last line/sample (pixel centres).
    height
        Height above WGS84 of the tie points, m.

    Returns
    -------
    TiePointGrid
        Tie points and corners.

    Raises
    ------
    ProductError
        If the image cannot be geolocated (orbit does not cover it, range misses Earth).
    """
    if n_lines < 2 or n_samples < 2:
        raise ProductError("a geolocation grid needs at least 2 x 2 tie points")
    if slc.lines < 1 or slc.samples < 1:
        raise ProductError("cannot geolocate an empty image")
    lines = np.linspace(0.0, slc.lines - 1.0, n_lines)
    samples = np.linspace(0.0, slc.samples - 1.0, n_samples)
    t_az, tau, lat, lon, h, inc = _geolocate_pixels(slc, lines, samples, height)
    fl, ll, fs, ls = _valid_extent(slc)
    _, _, clat, clon, _, _ = _geolocate_pixels(slc, np.array([fl, ll]), np.array([fs, ls]), height)
    corners = np.array(
        [
            [clat[0, 0], clon[0, 0]],
            [clat[0, 1], clon[0, 1]],
            [clat[1, 1], clon[1, 1]],
            [clat[1, 0], clon[1, 0]],
        ]
    )
    return TiePointGrid(lines, samples, t_az, tau, lat, lon, h, inc, corners)


def footprint_from_corners(corners: npt.ArrayLike) -> list[tuple[float, float]]:
    """Closed, counter-clockwise (lon, lat) ring from (4, 2) lat/lon corners.

    Counter-clockwise exterior rings follow GeoJSON (RFC 7946 §3.1.6), as used by STAC
    item geometries. Longitudes are unwrapped around the first corner so that a
    footprint crossing the antimeridian stays a small polygon.
    """
    c = np.asarray(corners, dtype=np.float64)
    if c.shape != (4, 2):
        raise ProductError(f"footprint corners must have shape (4, 2), got {c.shape}")
    lat = c[:, 0]
    lon = c[:, 1].copy()
    lon = lon[0] + (lon - lon[0] + 180.0) % 360.0 - 180.0
    x = np.append(lon, lon[0])
    y = np.append(lat, lat[0])
    area2 = float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))
    order = [0, 1, 2, 3] if area2 > 0 else [0, 3, 2, 1]
    ring = [(float(lon[k]), float(lat[k])) for k in order]
    ring.append(ring[0])
    return ring


def footprint(slc: SlcImage, *, height: float = 0.0) -> list[tuple[float, float]]:
    """Footprint of the valid area as a closed counter-clockwise ring of (lon, lat), deg.

    Corners are the pixel centres of the first/last valid line and sample (whole image
    when ``valid_lines``/``valid_samples`` are empty), geolocated at ``height``.
    """
    fl, ll, fs, ls = _valid_extent(slc)
    _, _, lat, lon, _, _ = _geolocate_pixels(slc, np.array([fl, ll]), np.array([fs, ls]), height)
    corners = np.array(
        [
            [lat[0, 0], lon[0, 0]],
            [lat[0, 1], lon[0, 1]],
            [lat[1, 1], lon[1, 1]],
            [lat[1, 0], lon[1, 0]],
        ]
    )
    return footprint_from_corners(corners)


def footprint_geojson(slc: SlcImage, *, height: float = 0.0) -> dict[str, Any]:
    """Footprint as a GeoJSON Polygon (RFC 7946): ``{"type": "Polygon", "coordinates": ...}``."""
    ring = [[lon, lat] for lon, lat in footprint(slc, height=height)]
    return {"type": "Polygon", "coordinates": [ring]}
