"""Extend an orbit beyond its state vectors by numerical propagation.

The packets of a data-take carry 1 Hz GPS state vectors (S1-IF-ASD-PL-0007 section
3.2.3, sub-commutated ancillary data), dated at the last whole second. The zero-Doppler
times of a focused burst or data-take reach half a synthetic aperture beyond the
packets, i.e. beyond the last state vector, and a near-real-time processor should not
wait for the next data-take to get them. The state at each end is propagated
(two-body + J2, DOP853) a few seconds outward; over such spans the model error is far
below the few-centimetre noise of the GNSS solutions themselves.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from sar.constants import EARTH_ROTATION_RATE
from sar.errors import GeometryError
from sar.geo.orbit import FloatArray, Orbit, _derivative, _eci_to_ecef

MAX_EXTENSION = 120.0
"""Longest propagation accepted on either side, s."""


def _propagate(
    t0: float, pos: FloatArray, vel: FloatArray, times: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Propagate one ECEF state to ``times`` (all on one side of ``t0``)."""
    omega = np.array([0.0, 0.0, EARTH_ROTATION_RATE])
    # inertial frame aligned with ECEF at t0
    y0 = np.concatenate([pos, vel + np.cross(omega, pos)])
    rel = times - t0
    order = np.argsort(np.abs(rel))
    sol = solve_ivp(
        _derivative(True),
        (0.0, float(rel[order[-1]])),
        y0,
        method="DOP853",
        t_eval=rel[order],
        rtol=1e-12,
        atol=1e-6,
    )
    if not sol.success:  # pragma: no cover - DOP853 on a smooth problem
        raise GeometryError(f"orbit propagation failed: {sol.message}")
    states = np.empty((rel.size, 6))
    states[order] = sol.y.T
    return _eci_to_ecef(rel, states[:, :3], states[:, 3:])


def extend_orbit(orbit: Orbit, start: float, stop: float, *, step: float = 1.0) -> Orbit:
    """Return ``orbit`` extended so that it covers ``[start, stop]``.

    Parameters
    ----------
    orbit
        State vectors (ECEF, GPS s).
    start, stop
        Interval that must be covered, GPS s. Nothing is added where the orbit already
        covers it.
    step
        Spacing of the added state vectors, s.

    Returns
    -------
    Orbit
        The original state vectors plus propagated ones before and after.

    Raises
    ------
    GeometryError
        If the extension would exceed :data:`MAX_EXTENSION` on either side.
    """
    if stop < start:
        raise GeometryError(f"orbit extension interval is reversed: {start} > {stop}")
    if orbit.start - start > MAX_EXTENSION or stop - orbit.stop > MAX_EXTENSION:
        raise GeometryError(
            f"orbit [{orbit.start:.3f}, {orbit.stop:.3f}] GPS s is too far from "
            f"[{start:.3f}, {stop:.3f}] to extend by propagation (> {MAX_EXTENSION:.0f} s)"
        )
    before = np.arange(orbit.start - step, start - step, -step)[::-1]
    after = np.arange(orbit.stop + step, stop + step, step)
    times = [orbit.times]
    positions = [orbit.positions]
    velocities = [orbit.velocities]
    if before.size:
        p, v = _propagate(orbit.start, orbit.positions[0], orbit.velocities[0], before)
        times.insert(0, before)
        positions.insert(0, p)
        velocities.insert(0, v)
    if after.size:
        p, v = _propagate(orbit.stop, orbit.positions[-1], orbit.velocities[-1], after)
        times.append(after)
        positions.append(p)
        velocities.append(v)
    if len(times) == 1:
        return orbit
    return Orbit(np.concatenate(times), np.concatenate(positions), np.concatenate(velocities))
