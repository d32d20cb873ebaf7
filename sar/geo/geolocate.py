"""Range-Doppler geolocation on the WGS84 ellipsoid.

A point ``P`` fixed on the Earth is seen from the satellite ``S(t)``, ``V(t)`` (ECEF) at
slant range ``R = |P - S|`` with Doppler ``f = 2 V.(P - S) / (lambda R)`` (positive when
the point is ahead). Zero-Doppler time solves ``V(t).(P - S(t)) = 0`` (Curlander &
McDonough, *Synthetic Aperture Radar*, 1991, section 8.2); the inverse problem
intersects the range sphere, the Doppler cone and the ellipsoid raised by a height.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sar.constants import WAVELENGTH, WGS84_A, WGS84_B
from sar.errors import GeometryError
from sar.geo.ellipsoid import ecef_to_geodetic, ellipsoid_normal
from sar.geo.orbit import FloatArray, Orbit, interpolate_orbit, interpolate_orbit_full

_MAX_ITER = 50


def zero_doppler_times(
    orbit: Orbit, xyz: npt.ArrayLike, t_guess: float | npt.ArrayLike | None = None
) -> tuple[FloatArray, FloatArray]:
    """Zero-Doppler times and slant ranges of ground points (vectorised).

    Newton iteration on ``g(t) = V(t).(P - S(t))`` with ``g'(t) = A.(P - S) - |V|^2``,
    until every step is below 1e-9 s or the float64 resolution of ``t``
    (2.4e-7 s at today's GPS seconds, 1.8 mm of orbit).

    Parameters
    ----------
    orbit
        ECEF state vectors.
    xyz
        Points, ECEF m, shape ``(..., 3)``.
    t_guess
        Starting times, GPS s (scalar or broadcastable to ``xyz.shape[:-1]``); by
        default the state-vector time nearest to each point.

    Returns
    -------
    tuple of numpy.ndarray
        Zero-Doppler times (GPS s) and slant ranges (m), shape ``xyz.shape[:-1]``.

    Raises
    ------
    GeometryError
        If the zero-Doppler time of a point falls outside the orbit.
    """
    p = np.asarray(xyz, dtype=np.float64)
    if p.shape[-1:] != (3,):
        raise GeometryError(f"points must have shape (..., 3), got {p.shape}")
    shape = p.shape[:-1]
    pts = p.reshape(-1, 3)
    if t_guess is None:
        t = np.empty(pts.shape[0])
        for i0 in range(0, pts.shape[0], 4096):  # bounded memory for large point sets
            chunk = pts[i0 : i0 + 4096]
            d2 = np.sum((orbit.positions[None, :, :] - chunk[:, None, :]) ** 2, axis=-1)
            t[i0 : i0 + 4096] = orbit.times[np.argmin(d2, axis=1)]
    else:
        t = np.broadcast_to(np.asarray(t_guess, dtype=np.float64), shape).reshape(-1).copy()
    for _ in range(_MAX_ITER):
        t = np.clip(t, orbit.start, orbit.stop)
        s, v, a = interpolate_orbit_full(orbit, t)
        los = pts - s
        g = np.einsum("kc,kc->k", v, los)
        dg = np.einsum("kc,kc->k", a, los) - np.einsum("kc,kc->k", v, v)
        dt = -g / dg
        t = t + dt
        if np.any((t < orbit.start - 1e-3) | (t > orbit.stop + 1e-3)):
            raise GeometryError("zero-Doppler time of a point lies outside the orbit")
        # 1e-9 s, or the float64 resolution of GPS seconds (2.4e-7 s in 2020s)
        if np.all(np.abs(dt) <= np.maximum(1e-9, 2 * np.spacing(np.abs(t)))):
            break
    else:
        raise GeometryError("zero-Doppler iteration did not converge")
    s, _ = interpolate_orbit(orbit, t)
    rng = np.linalg.norm(pts - s, axis=1)
    return t.reshape(shape), rng.reshape(shape)


def zero_doppler_time(
    orbit: Orbit, xyz: npt.ArrayLike, t_guess: float | None = None
) -> tuple[float, float]:
    """Zero-Doppler time (GPS s) and slant range (m) of one ECEF point.

    See :func:`zero_doppler_times`.

    Raises
    ------
    GeometryError
        If the point's zero-Doppler time falls outside the orbit.
    """
    p = np.asarray(xyz, dtype=np.float64)
    if p.shape != (3,):
        raise GeometryError(f"a point must have shape (3,), got {p.shape}")
    t, r = zero_doppler_times(orbit, p, t_guess)
    return float(t), float(r)


def _side_sign(look: str) -> float:
    if look == "right":
        return 1.0
    if look == "left":
        return -1.0
    raise GeometryError(f"look must be 'right' or 'left', got {look!r}")


def geolocate(
    orbit: Orbit,
    t: float | npt.ArrayLike,
    slant_range: float | npt.ArrayLike,
    height: float | npt.ArrayLike = 0.0,
    look: str = "right",
    doppler: float | npt.ArrayLike = 0.0,
    wavelength: float = WAVELENGTH,
) -> FloatArray:
    """Solve the range-Doppler equations on the ellipsoid raised by ``height``.

    Newton iteration in ECEF on ``|P - S|^2 = R^2``, ``V.(P - S) = lambda f R / 2``,
    ``(x^2 + y^2)/(a + h')^2 + z^2/(b + h')^2 = 1``, started from a spherical-Earth
    look direction; an outer loop adjusts ``h'`` until the geodetic height of ``P``
    equals ``height`` (to 1e-5 m).

    Parameters
    ----------
    orbit
        ECEF state vectors.
    t
        Azimuth times, GPS s.
    slant_range
        One-way slant ranges, m.
    height
        Height above the WGS84 ellipsoid, m.
    look
        ``"right"`` (Sentinel-1) or ``"left"``.
    doppler
        Doppler frequency, Hz (0: zero-Doppler geometry).
    wavelength
        Radar wavelength, m.

    Returns
    -------
    numpy.ndarray
        ECEF points, m, shape ``broadcast(t, slant_range, height, doppler).shape + (3,)``.

    Raises
    ------
    GeometryError
        If a time lies outside the orbit or the range sphere misses the surface.
    """
    side = _side_sign(look)
    tb, rb, hb, fb = np.broadcast_arrays(
        np.asarray(t, dtype=np.float64),
        np.asarray(slant_range, dtype=np.float64),
        np.asarray(height, dtype=np.float64),
        np.asarray(doppler, dtype=np.float64),
    )
    shape = tb.shape
    tt, rr, hh, ff = (a.reshape(-1) for a in (tb, rb, hb, fb))
    s, v = interpolate_orbit(orbit, tt)
    s_norm = np.linalg.norm(s, axis=1)
    up = s / s_norm[:, None]
    along = v - np.einsum("kc,kc->k", v, up)[:, None] * up
    along /= np.linalg.norm(along, axis=1)[:, None]
    right = np.cross(along, up)
    h_eff = hh.copy()
    p = np.zeros_like(s)
    for outer in range(10):
        a_ax = WGS84_A + h_eff
        b_ax = WGS84_B + h_eff
        if outer == 0:
            # spherical start: local geocentric radius of the raised ellipsoid below S
            sin2 = up[:, 2] ** 2
            rho = a_ax * b_ax / np.sqrt(b_ax**2 * (1 - sin2) + a_ax**2 * sin2)
            cos_look = (s_norm**2 + rr**2 - rho**2) / (2 * s_norm * rr)
            if np.any(np.abs(cos_look) >= 1.0) or np.any(rr <= 0):
                raise GeometryError("slant range does not reach the Earth's surface")
            sin_look = np.sqrt(1 - cos_look**2)
            p = s + rr[:, None] * (-cos_look[:, None] * up + side * sin_look[:, None] * right)
        for _ in range(_MAX_ITER):
            los = p - s
            f = np.stack(
                [
                    np.einsum("kc,kc->k", los, los) - rr**2,
                    np.einsum("kc,kc->k", v, los) - 0.5 * wavelength * ff * rr,
                    (p[:, 0] ** 2 + p[:, 1] ** 2) / a_ax**2 + p[:, 2] ** 2 / b_ax**2 - 1.0,
                ],
                axis=1,
            )
            jac = np.stack(
                [
                    2 * los,
                    v,
                    np.stack(
                        [2 * p[:, 0] / a_ax**2, 2 * p[:, 1] / a_ax**2, 2 * p[:, 2] / b_ax**2],
                        axis=1,
                    ),
                ],
                axis=1,
            )
            delta = np.linalg.solve(jac, -f[:, :, None])[:, :, 0]
            p = p + delta
            if not np.all(np.isfinite(p)):
                raise GeometryError("range-Doppler geolocation diverged")
            if float(np.max(np.abs(delta))) < 1e-7:
                break
        else:
            raise GeometryError("range-Doppler geolocation did not converge (no intersection?)")
        _, _, h_geo = ecef_to_geodetic(p)
        err = hh - h_geo
        if float(np.max(np.abs(err))) < 1e-5:
            break
        h_eff = h_eff + err
    if np.any(side * np.einsum("kc,kc->k", p - s, right) <= 0):
        raise GeometryError(f"geolocated point is not on the {look} side")
    return p.reshape(shape + (3,))


@dataclass(frozen=True)
class GeolocationGrid:
    """Tie-point grid of geolocation (as in the S1 annotation ``geolocationGrid``).

    Attributes
    ----------
    azimuth_times
        GPS s, shape (n_az,).
    slant_ranges
        One-way slant range, m, shape (n_rg,).
    xyz
        ECEF points, m, shape (n_az, n_rg, 3).
    latitude, longitude, height
        Geodetic coordinates, deg, deg, m, shape (n_az, n_rg).
    incidence_angle
        Angle between the line of sight and the ellipsoid normal at the point, deg.
    elevation_angle
        Off-nadir (look) angle at the satellite from the ellipsoid normal, deg.
    """

    azimuth_times: FloatArray
    slant_ranges: FloatArray
    xyz: FloatArray
    latitude: FloatArray
    longitude: FloatArray
    height: FloatArray
    incidence_angle: FloatArray
    elevation_angle: FloatArray


def grid_geolocation(
    orbit: Orbit,
    azimuth_times: npt.ArrayLike,
    slant_ranges: npt.ArrayLike,
    height: float = 0.0,
    look: str = "right",
    doppler: float = 0.0,
) -> GeolocationGrid:
    """Geolocate a grid of (azimuth time, slant range) tie points.

    Parameters
    ----------
    orbit
        ECEF state vectors.
    azimuth_times
        GPS s, shape (n_az,).
    slant_ranges
        One-way slant ranges, m, shape (n_rg,).
    height
        Height above the ellipsoid, m.
    look
        ``"right"`` or ``"left"``.
    doppler
        Doppler frequency of the geometry, Hz.

    Returns
    -------
    GeolocationGrid
        Points and angles on the (n_az, n_rg) grid.

    Raises
    ------
    GeometryError
        If a tie point cannot be geolocated.
    """
    ta = np.asarray(azimuth_times, dtype=np.float64).reshape(-1)
    rg = np.asarray(slant_ranges, dtype=np.float64).reshape(-1)
    tt, rr = np.meshgrid(ta, rg, indexing="ij")
    xyz = geolocate(orbit, tt, rr, height=height, look=look, doppler=doppler)
    lat, lon, h = ecef_to_geodetic(xyz)
    s, _ = interpolate_orbit(orbit, tt)
    los = (xyz - s) / rr[..., None]
    normal_p = ellipsoid_normal(lat, lon)
    inc = np.degrees(np.arccos(np.clip(-np.sum(los * normal_p, axis=-1), -1, 1)))
    slat, slon, _ = ecef_to_geodetic(s)
    normal_s = ellipsoid_normal(slat, slon)
    elev = np.degrees(np.arccos(np.clip(-np.sum(los * normal_s, axis=-1), -1, 1)))
    return GeolocationGrid(ta, rg, xyz, lat, lon, h, inc, elev)
