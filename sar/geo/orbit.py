"""Orbit state vectors.

The :class:`Orbit` record is shared by the simulator, the focusing core, products
and quality analysis. Positions and velocities are Earth-centred Earth-fixed
(ECEF, WGS84), in m and m/s; times are GPS seconds (:mod:`sar.timeutil`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from sar.constants import EARTH_GM, EARTH_ROTATION_RATE, WGS84_A
from sar.errors import GeometryError
from sar.geo.ellipsoid import ecef_to_geodetic, ellipsoid_normal, geodetic_to_ecef

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Orbit:
    """Orbit state vectors, sorted by time.

    Attributes
    ----------
    times
        Sample times, GPS seconds, shape (n,), strictly increasing.
    positions
        ECEF positions, m, shape (n, 3).
    velocities
        ECEF velocities, m/s, shape (n, 3).
    """

    times: FloatArray
    positions: FloatArray
    velocities: FloatArray

    def __post_init__(self) -> None:
        n = self.times.shape[0]
        if self.times.ndim != 1 or n < 2:
            raise GeometryError("an orbit needs at least 2 state vectors")
        if self.positions.shape != (n, 3) or self.velocities.shape != (n, 3):
            raise GeometryError("orbit positions and velocities must have shape (n, 3)")
        if not np.all(np.diff(self.times) > 0):
            raise GeometryError("orbit times must be strictly increasing")
        if not (np.all(np.isfinite(self.positions)) and np.all(np.isfinite(self.velocities))):
            raise GeometryError("orbit contains non-finite state vectors")

    @property
    def start(self) -> float:
        """First state-vector time, GPS s."""
        return float(self.times[0])

    @property
    def stop(self) -> float:
        """Last state-vector time, GPS s."""
        return float(self.times[-1])


_LAGRANGE_POINTS = 8
_TIME_TOLERANCE = 1e-6


def _lagrange_weights(
    orbit: Orbit, t: FloatArray
) -> tuple[npt.NDArray[np.intp], FloatArray, FloatArray]:
    """Window start indices, value weights and derivative weights for Lagrange interpolation.

    The window holds ``min(8, n)`` consecutive samples, centred on ``t`` where possible.
    """
    times = orbit.times
    n = times.shape[0]
    m = min(_LAGRANGE_POINTS, n)
    if t.size and (
        float(t.min()) < orbit.start - _TIME_TOLERANCE
        or float(t.max()) > orbit.stop + _TIME_TOLERANCE
    ):
        raise GeometryError(
            f"time outside the orbit [{orbit.start:.6f}, {orbit.stop:.6f}] GPS s: "
            f"{float(t.min()):.6f} .. {float(t.max()):.6f}"
        )
    idx = np.searchsorted(times, t, side="right") - 1
    start = np.clip(idx - (m // 2 - 1), 0, n - m)
    nodes = times[start[:, None] + np.arange(m)[None, :]]
    scale = (times[-1] - times[0]) / (n - 1)
    x = (nodes - nodes[:, :1]) / scale
    u = ((t - nodes[:, 0]) / scale)[:, None]
    diff = u - x  # (k, m)
    weights = np.ones_like(x)
    dweights = np.zeros_like(x)
    for j in range(m):
        for k in range(m):
            if k == j:
                continue
            weights[:, j] *= diff[:, k] / (x[:, j] - x[:, k])
        # derivative: sum over l != j of 1/(x_j - x_l) * prod_{k != j, l} (u - x_k)/(x_j - x_k)
        for ell in range(m):
            if ell == j:
                continue
            term = 1.0 / (x[:, j] - x[:, ell])
            for k in range(m):
                if k in (j, ell):
                    continue
                term = term * diff[:, k] / (x[:, j] - x[:, k])
            dweights[:, j] += term
    return start, weights, dweights / scale


def interpolate_orbit_full(
    orbit: Orbit, t: float | npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Interpolate position, velocity and acceleration at times ``t``.

    Position and velocity come from 8-point Lagrange interpolation of the sampled
    positions and velocities (fewer points for shorter orbits); acceleration is the
    derivative of the velocity interpolant.

    Parameters
    ----------
    orbit
        State vectors.
    t
        GPS seconds, scalar or array of any shape.

    Returns
    -------
    tuple of numpy.ndarray
        Position (m), velocity (m/s), acceleration (m/s^2), each ``shape(t) + (3,)``.

    Raises
    ------
    GeometryError
        If any time lies outside the orbit's span.
    """
    tt = np.asarray(t, dtype=np.float64)
    flat = tt.reshape(-1)
    start, w, dw = _lagrange_weights(orbit, flat)
    m = w.shape[1]
    index = start[:, None] + np.arange(m)[None, :]
    pos_nodes = orbit.positions[index]  # (k, m, 3)
    vel_nodes = orbit.velocities[index]
    pos = np.einsum("km,kmc->kc", w, pos_nodes)
    vel = np.einsum("km,kmc->kc", w, vel_nodes)
    acc = np.einsum("km,kmc->kc", dw, vel_nodes)
    shape = tt.shape + (3,)
    return pos.reshape(shape), vel.reshape(shape), acc.reshape(shape)


def interpolate_orbit(orbit: Orbit, t: float | npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Interpolate ECEF position and velocity at times ``t`` (8-point Lagrange).

    Accurate to far below 1 mm for a real orbit sampled every 10 s (the interpolation
    error scales as (omega * step)^8 * r, omega = 1.06e-3 rad/s).

    Parameters
    ----------
    orbit
        State vectors.
    t
        GPS seconds, scalar or array of any shape.

    Returns
    -------
    tuple of numpy.ndarray
        Position (m) and velocity (m/s), each of shape ``shape(t) + (3,)``.

    Raises
    ------
    GeometryError
        If any time lies outside the orbit's span.
    """
    pos, vel, _ = interpolate_orbit_full(orbit, t)
    return pos, vel


# --------------------------------------------------------------------------------------
# Orbit design for simulation
# --------------------------------------------------------------------------------------

J2 = 1.08262668e-3
"""Earth's second zonal harmonic (EGM96/WGS84, unnormalised)."""

NOMINAL_ALTITUDE = 693_000.0
"""Sentinel-1 reference altitude above the equatorial radius, m (ESA mission page)."""

NOMINAL_INCLINATION = 98.18
"""Sentinel-1 orbit inclination, degrees (sun-synchronous)."""


@dataclass(frozen=True)
class SimulatedOrbit:
    """A designed orbit and the facts used to place it.

    Attributes
    ----------
    orbit
        ECEF state vectors.
    anx_time
        Time of the last ascending-node crossing at or before ``reference_time``, GPS s.
    reference_time
        Time at which the placement holds, GPS s.
    ascending
        Pass direction at ``reference_time``.
    look_angle_deg
        Off-nadir angle of the reference point at ``reference_time`` (0 if at nadir).
    reference_xyz
        ECEF position of the reference point, m.
    """

    orbit: Orbit
    anx_time: float
    reference_time: float
    ascending: bool
    look_angle_deg: float
    reference_xyz: FloatArray


def _eci_state(
    radius: float, inc: float, raan: float, arg_lat: float
) -> tuple[FloatArray, FloatArray]:
    """Position and velocity of a circular orbit in the inertial frame."""
    speed = np.sqrt(EARTH_GM / radius)
    cu, su, co, so, ci, si = (
        np.cos(arg_lat),
        np.sin(arg_lat),
        np.cos(raan),
        np.sin(raan),
        np.cos(inc),
        np.sin(inc),
    )
    pos = radius * np.array([co * cu - so * su * ci, so * cu + co * su * ci, su * si])
    vel = speed * np.array([-co * su - so * cu * ci, -so * su + co * cu * ci, cu * si])
    return pos, vel


def _eci_to_ecef(dt: FloatArray, pos: FloatArray, vel: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Rotate inertial states (frames aligned at ``dt = 0``) into ECEF."""
    theta = EARTH_ROTATION_RATE * dt
    c, s = np.cos(theta), np.sin(theta)
    omega = np.array([0.0, 0.0, EARTH_ROTATION_RATE])
    vrel = vel - np.cross(omega, pos)
    out_p = np.stack([c * pos[:, 0] + s * pos[:, 1], -s * pos[:, 0] + c * pos[:, 1], pos[:, 2]], 1)
    out_v = np.stack(
        [c * vrel[:, 0] + s * vrel[:, 1], -s * vrel[:, 0] + c * vrel[:, 1], vrel[:, 2]], 1
    )
    return out_p, out_v


def _placement_residual(
    params: FloatArray, radius: float, inc: float, target: FloatArray, look: float
) -> tuple[FloatArray, float]:
    """Zero-Doppler and look-angle residuals of the state (raan, arg_lat) at t_ref."""
    pos, vel = _eci_state(radius, inc, float(params[0]), float(params[1]))
    p, v = _eci_to_ecef(np.zeros(1), pos[None, :], vel[None, :])
    s, ve = p[0], v[0]
    los = target - s
    rng = float(np.linalg.norm(los))
    lat, lon, _ = ecef_to_geodetic(s)
    down = -ellipsoid_normal(lat, lon)
    cos_look = float(los @ down) / rng
    doppler = float(los @ ve) / (rng * float(np.linalg.norm(ve)))
    cross = np.cross(ve, s)
    side = float(los @ cross)
    if look == 0.0:  # nadir: cos(look) is flat at 0, use the cross-track component
        return np.array([doppler, side / (rng * float(np.linalg.norm(cross)))]), side
    return np.array([doppler, cos_look - np.cos(look)]), side


def _place(
    radius: float, inc: float, target: FloatArray, look: float, ascending: bool
) -> tuple[float, float]:
    """Find (raan, arg_lat) at t_ref putting ``target`` at zero Doppler, right-looking."""
    lat_t, lon_t, _ = ecef_to_geodetic(target)
    sin_u = np.clip(np.sin(np.radians(float(lat_t))) / np.sin(inc), -1.0, 1.0)
    u0 = float(np.arcsin(sin_u)) if ascending else float(np.pi - np.arcsin(sin_u))
    lon_node = np.arctan2(np.cos(inc) * np.sin(u0), np.cos(u0))
    raan0 = float(np.radians(float(lon_t)) - lon_node)
    # Earth-centre angle between nadir and target (spherical estimate), as a RAAN offset
    inc_angle = np.arcsin(min(1.0, radius / WGS84_A * np.sin(look)))
    gamma = float(inc_angle - look) / max(0.2, np.cos(np.radians(float(lat_t))))
    for offset in (-gamma, gamma) if look > 0 else (0.0,):
        x = np.array([raan0 + offset, u0])
        for _ in range(50):
            f, _side = _placement_residual(x, radius, inc, target, look)
            jac = np.empty((2, 2))
            for k in range(2):
                dx = np.zeros(2)
                dx[k] = 1e-7
                jac[:, k] = (_placement_residual(x + dx, radius, inc, target, look)[0] - f) / 1e-7
            step = np.linalg.solve(jac, -f)
            x = x + step
            if np.max(np.abs(step)) < 1e-13:
                break
        f, side = _placement_residual(x, radius, inc, target, look)
        if np.max(np.abs(f)) < 1e-10 and (side > 0 or look == 0.0):
            return float(x[0]), float(x[1])
    raise GeometryError(
        f"cannot place an orbit with the point at look angle {np.degrees(look):.3f} deg"
    )


def _derivative(with_j2: bool) -> Callable[[float, FloatArray], FloatArray]:
    """Two-body (+ J2) equations of motion in the inertial frame."""

    def rhs(_t: float, y: FloatArray) -> FloatArray:
        r = y[:3]
        rn2 = float(r @ r)
        rn = np.sqrt(rn2)
        acc = -EARTH_GM * r / (rn2 * rn)
        if with_j2:
            z2 = r[2] ** 2 / rn2
            k = 1.5 * J2 * EARTH_GM * WGS84_A**2 / rn**5
            acc = acc + k * np.array(
                [r[0] * (5 * z2 - 1), r[1] * (5 * z2 - 1), r[2] * (5 * z2 - 3)]
            )
        return np.concatenate([y[3:], acc])

    return rhs


def make_orbit(
    reference_time: float,
    lat_deg: float,
    lon_deg: float,
    *,
    height_m: float = 0.0,
    look_angle_deg: float = 0.0,
    ascending: bool = True,
    before: float = 60.0,
    after: float = 60.0,
    step: float = 1.0,
    altitude_m: float = NOMINAL_ALTITUDE,
    inclination_deg: float = NOMINAL_INCLINATION,
    j2: bool = True,
) -> SimulatedOrbit:
    """Design a near-circular sun-synchronous orbit seeing a point at a given geometry.

    At ``reference_time`` the point (``lat_deg``, ``lon_deg``, ``height_m``) lies at zero
    Doppler, on the right of the track (Sentinel-1 looks right), at off-nadir angle
    ``look_angle_deg`` measured from the ellipsoid normal under the satellite
    (``0``: the point is at nadir). The state at ``reference_time`` is a circular
    orbit of radius ``WGS84_A + altitude_m`` in an inertial frame aligned with ECEF at
    ``reference_time``; it is propagated (two-body, plus J2 when ``j2``; DOP853, rtol
    1e-12) and rotated into ECEF with ``EARTH_ROTATION_RATE``.

    Parameters
    ----------
    reference_time
        GPS seconds of the zero-Doppler crossing of the point.
    lat_deg, lon_deg, height_m
        Reference point, geodetic deg and m.
    look_angle_deg
        Off-nadir angle of the point, deg.
    ascending
        Pass direction (S1 inclination 98.18 deg: ascending passes head north-north-west).
    before, after
        Span of state vectors around ``reference_time``, s.
    step
        State-vector spacing, s (sample times are multiples of ``step``).
    altitude_m, inclination_deg
        Orbit radius above the equatorial radius (m) and inclination (deg).
    j2
        Include the J2 perturbation.

    Returns
    -------
    SimulatedOrbit
        The ECEF orbit, the ascending-node time and the placement.

    Raises
    ------
    GeometryError
        If no right-looking placement exists.
    """
    if step <= 0 or before < 0 or after < 0:
        raise GeometryError("orbit step must be positive and the span non-negative")
    radius = WGS84_A + altitude_m
    inc = np.radians(inclination_deg)
    look = np.radians(look_angle_deg)
    target = np.asarray(geodetic_to_ecef(lat_deg, lon_deg, height_m), dtype=np.float64)
    raan, arg_lat = _place(radius, inc, target, look, ascending)
    pos0, vel0 = _eci_state(radius, inc, raan, arg_lat)
    y0 = np.concatenate([pos0, vel0])
    rhs = _derivative(j2)

    first = np.floor((reference_time - before) / step) * step
    last = np.ceil((reference_time + after) / step) * step
    times = np.arange(first, last + 0.5 * step, step)
    rel = times - reference_time
    states = np.empty((times.size, 6))
    backward = rel < 0
    for mask, order in ((backward, -1), (~backward, 1)):
        if not np.any(mask):
            continue
        t_eval = rel[mask][::order]
        end = float(t_eval[-1]) if t_eval[-1] != 0.0 else 1.0
        sol = solve_ivp(rhs, (0.0, end), y0, method="DOP853", t_eval=t_eval, rtol=1e-12, atol=1e-6)
        states[mask] = sol.y.T[::order]
    pos, vel = _eci_to_ecef(rel, states[:, :3], states[:, 3:])

    # ascending node: z crosses zero upward, about arg_lat / n before reference_time
    mean_motion = np.sqrt(EARTH_GM / radius**3)
    u = arg_lat % (2 * np.pi)
    guess = -u / mean_motion
    sol = solve_ivp(
        rhs, (0.0, guess - 120.0), y0, method="DOP853", dense_output=True, rtol=1e-12, atol=1e-6
    )
    lo, hi = guess - 120.0, min(guess + 120.0, 0.0)
    if hi <= lo + 1.0:
        hi = 0.0
    anx_rel = brentq(lambda s: float(sol.sol(s)[2]), lo, hi, xtol=1e-9) if u > 1e-9 else 0.0

    return SimulatedOrbit(
        orbit=Orbit(times=times, positions=pos, velocities=vel),
        anx_time=reference_time + float(anx_rel),
        reference_time=reference_time,
        ascending=ascending,
        look_angle_deg=look_angle_deg,
        reference_xyz=target,
    )
