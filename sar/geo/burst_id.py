"""ESA burst IDs: ascending-node time from the orbit and the burst number it implies.

Burst ID definition: S1-TN-MDA-52-7445 (Sentinel-1 IPF DPM) section 9.25, eq. 9-89/9-91,
as used by the public Sentinel-1 burst ID map: with ``t_b`` the mid-burst sensing time
of the IW2 burst of a cycle, ``t_ANX`` the last ascending-node crossing and ``r`` the
relative orbit,

    dt_b = t_b - t_ANX + (r - 1) T_orb,     id = 1 + floor((dt_b - T_pre) / T_beam)

with T_orb = 12 days / 175, T_pre = 2.299849 s and T_beam = 2.758273 s. Labels follow
the burst-map convention ``t{track:03d}_{id:06d}_iw{n}``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp

from sar.constants import EARTH_ROTATION_RATE, IW_BURST_CYCLE, ORBIT_PERIOD_NOMINAL
from sar.errors import GeometryError
from sar.geo.orbit import FloatArray, Orbit, _derivative

BURST_ID_T_PRE = 2.299849
"""T_pre of the burst ID definition, s (S1-TN-MDA-52-7445 section 9.25)."""

IW_CYCLE_OFFSETS: dict[str, float] = {"IW1": 0.0, "IW2": 0.832, "IW3": 0.832 + 1.078}
"""Start of each sub-swath's burst after the IW1 burst start of the same cycle, s."""

IW2_BURST_DURATION = 1.078
"""Duration of the IW2 burst slot, s (IW2 -> IW3 offset)."""


def ascending_node_time(orbit: Orbit, before: float | None = None) -> float:
    """Time of the last ascending-node crossing at or before ``before``, GPS s.

    The ECEF state at ``before`` (default: the orbit start) is moved to the inertial frame
    aligned with ECEF at that instant and propagated backwards (two-body + J2, DOP853)
    until the z coordinate crosses zero upwards; at most one nominal orbit back.

    Raises
    ------
    GeometryError
        If no crossing is found within one orbital period.
    """
    from sar.geo.orbit import interpolate_orbit

    t0 = orbit.start if before is None else float(before)
    pos, vel = interpolate_orbit(orbit, t0)
    pos = np.asarray(pos, dtype=np.float64)
    omega = np.array([0.0, 0.0, EARTH_ROTATION_RATE])
    y0 = np.concatenate([pos, np.asarray(vel, dtype=np.float64) + np.cross(omega, pos)])
    if abs(y0[2]) < 1e-6 and y0[5] > 0:
        return t0

    def node(_t: float, y: FloatArray) -> float:
        return float(y[2])

    node.terminal = True  # type: ignore[attr-defined]
    node.direction = -1  # type: ignore[attr-defined]  # backwards: z goes from + to -
    sol = solve_ivp(
        _derivative(True),
        (0.0, -1.05 * ORBIT_PERIOD_NOMINAL),
        y0,
        method="DOP853",
        events=node,
        rtol=1e-11,
        atol=1e-6,
    )
    if sol.t_events is None or len(sol.t_events[0]) == 0:
        raise GeometryError("no ascending-node crossing within one orbit before the data")
    return t0 + float(sol.t_events[0][0])


def esa_burst_id(mid_burst_time_iw2: float, anx_time: float, relative_orbit: int) -> int:
    """ESA burst number of an IW burst cycle (eq. 9-89/9-91).

    Parameters
    ----------
    mid_burst_time_iw2
        Mid-burst sensing time of the cycle's IW2 burst, GPS s.
    anx_time
        Last ascending-node crossing before it, GPS s.
    relative_orbit
        Relative orbit (track) 1..175.
    """
    dt = mid_burst_time_iw2 - anx_time + (relative_orbit - 1) * ORBIT_PERIOD_NOMINAL
    return 1 + math.floor((dt - BURST_ID_T_PRE) / IW_BURST_CYCLE)


def iw2_mid_time(swath: str, burst_start: float) -> float:
    """Mid-burst sensing time of the IW2 burst in the cycle of a burst of ``swath``, GPS s."""
    if swath not in IW_CYCLE_OFFSETS:
        raise GeometryError(f"burst IDs are defined for IW1/IW2/IW3, not {swath!r}")
    cycle_start = burst_start - IW_CYCLE_OFFSETS[swath]
    return cycle_start + IW_CYCLE_OFFSETS["IW2"] + 0.5 * IW2_BURST_DURATION


def burst_label(relative_orbit: int, burst_id: int, swath: str) -> str:
    """Burst-map label such as ``t117_250312_iw1`` (``t000`` when the track is unknown)."""
    return f"t{relative_orbit:03d}_{burst_id:06d}_{swath.lower()}"


def identify_iw_burst(
    first_line_time: float, swath: str, anx_time: float, relative_orbit: int | None
) -> tuple[int, int, str]:
    """ESA burst number, track and burst-map label of the IW burst of ``swath`` whose
    first line is at ``first_line_time`` (GPS s), given the last ANX before it (GPS s).

    A ``relative_orbit`` outside 1..175 (or ``None``) is unknown: track 0, the number
    counted from the ANX of the current orbit and the label ``t000_...``.

    Raises
    ------
    GeometryError
        For a swath other than IW1..IW3.
    """
    track = relative_orbit if relative_orbit is not None and 1 <= relative_orbit <= 175 else 0
    number = esa_burst_id(iw2_mid_time(swath, first_line_time), anx_time, max(track, 1))
    return number, track, burst_label(track, number, swath)
