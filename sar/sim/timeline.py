"""Acquisition timeline of a simulated data-take: echo windows, bursts, line times.

Echo window (S1-IF-ASD-PL-0007 section 3.2.5.11): sample 0 of a packet is received
``rank * PRI + SWST + 320 / (8 f_ref)`` after the transmission of the pulse whose echo it
holds; the number of samples follows from SWL and the decimation code (section 5.1).

IW timing (``docs/tops.md`` sections 1 and 5): a burst cycle of ``T_beam = 2.758273 s`` visits
IW1, IW2, IW3 with start offsets 0.832 / 1.078 / 0.848 s; each burst holds the lines that
fit in its sub-swath's slot at that sub-swath's PRF; the beam is steered
``psi = k_psi (t - t_mid)`` about the burst's middle. ESA burst ID (S1-TN-MDA-52-7445
section 9.25): ``1 + floor((t_b - t_anx + (r - 1) T_orb - T_pre) / T_beam)``,
``t_b`` = IW2 mid-burst time of the cycle, ``T_pre = 2.299849 s``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sar.constants import (
    F_REF,
    IW_BURST_CYCLE,
    SPEED_OF_LIGHT,
    WGS84_A,
    WGS84_B,
)
from sar.errors import SimulationError
from sar.geo.burst_id import esa_burst_id
from sar.l0.radar import (
    DELTA_T_SUPPR,
    encode_ref_clock,
    range_time_of_first_sample,
    samples_after_decimation,
)
from sar.sim.modes import IW_BURST_OFFSETS, SwathParameters

FloatArray = npt.NDArray[np.float64]

@dataclass(frozen=True)
class EchoWindow:
    """Receive window of one swath.

    Attributes
    ----------
    rank, swst_code, swl_code
        Header codes.
    slant_range_time
        Two-way delay from transmission to sample 0, s.
    n_samples
        Complex samples per line (from SWL, section 5.1).
    """

    rank: int
    swst_code: int
    swl_code: int
    slant_range_time: float
    n_samples: int

    @property
    def swst(self) -> float:
        """Sampling window start time, s."""
        return self.swst_code / F_REF


@dataclass(frozen=True)
class Burst:
    """A block of consecutive lines of one swath (a burst, or the whole stripmap take).

    Attributes
    ----------
    swath
        Swath parameters.
    index
        Burst cycle index (0 for stripmap).
    first_line_time
        Transmit time of the first line, GPS s.
    n_lines
        Lines in the block.
    burst_id
        ESA burst ID (IW), 0 for stripmap.
    """

    swath: SwathParameters
    index: int
    first_line_time: float
    n_lines: int
    burst_id: int = 0

    @property
    def line_times(self) -> FloatArray:
        """Transmit times of the lines, GPS s (exactly PRI-spaced)."""
        out: FloatArray = (
            self.first_line_time + np.arange(self.n_lines, dtype=np.float64) * self.swath.pri
        )
        return out

    @property
    def mid_time(self) -> float:
        """Middle of the burst (steering reference time), GPS s."""
        return self.first_line_time + 0.5 * (self.n_lines - 1) * self.swath.pri

    def steering_angles(self) -> FloatArray:
        """TOPS steering angle of every line, rad (0 for stripmap)."""
        return self.swath.azimuth_steering_rate * (self.line_times - self.mid_time)


def slant_range_at_look(satellite_radius: float, lat_deg: float, look_deg: float) -> float:
    """Slant range to the ellipsoid at an off-nadir angle (local-sphere approximation), m.

    Raises
    ------
    SimulationError
        If the look direction misses the Earth.
    """
    lat = math.radians(lat_deg)
    a2, b2 = WGS84_A**2, WGS84_B**2
    rho = math.sqrt((a2**2 * math.cos(lat) ** 2 + b2**2 * math.sin(lat) ** 2)
                    / (a2 * math.cos(lat) ** 2 + b2 * math.sin(lat) ** 2))  # fmt: skip
    look = math.radians(look_deg)
    disc = rho**2 - (satellite_radius * math.sin(look)) ** 2
    if disc <= 0:
        raise SimulationError(f"look angle {look_deg} deg misses the Earth")
    return satellite_radius * math.cos(look) - math.sqrt(disc)


def design_window(swath: SwathParameters, near_delay: float, far_delay: float) -> EchoWindow:
    """Choose rank, SWST and SWL so the window covers two-way delays [near, far + TXPL].

    Raises
    ------
    SimulationError
        For an empty or negative window.
    """
    if not 0 < near_delay < far_delay:
        raise SimulationError("echo window needs 0 < near delay < far delay")
    pri = swath.pri
    rank = int(math.floor((near_delay - DELTA_T_SUPPR) / pri))
    if swath.nominal_rank is not None:
        swst_nominal = near_delay - DELTA_T_SUPPR - swath.nominal_rank * pri
        if 0 <= swst_nominal < pri:
            rank = swath.nominal_rank
    swst_code = encode_ref_clock(near_delay - DELTA_T_SUPPR - rank * pri)
    start = range_time_of_first_sample(rank, swath.pri_code, swst_code)
    wanted = int(math.ceil((far_delay + swath.chirp.pulse_length - start) * swath.sampling_rate))
    swl_code = max(1, int(math.floor(wanted / swath.sampling_rate * F_REF)))
    while samples_after_decimation(swl_code, swath.range_decimation) < wanted:
        swl_code += 1
    n = samples_after_decimation(swl_code, swath.range_decimation)
    return EchoWindow(rank, swst_code, swl_code, start, n)


def centred_window(swath: SwathParameters, centre_delay: float, n_samples: int) -> EchoWindow:
    """Window of about ``n_samples`` samples whose middle is ``centre_delay + TXPL / 2``."""
    if n_samples < 2:
        raise SimulationError("n_samples must be at least 2")
    half = 0.5 * n_samples / swath.sampling_rate
    mid = centre_delay + 0.5 * swath.chirp.pulse_length
    near = mid - half
    far = mid + half - swath.chirp.pulse_length
    if far <= near:  # window shorter than the pulse: cover [mid - half, mid + half]
        far = near + 1e-9
        win = design_window(swath, near, far)
        swl = win.swl_code
        while samples_after_decimation(swl, swath.range_decimation) > n_samples and swl > 1:
            swl -= 1
        n = samples_after_decimation(swl, swath.range_decimation)
        return EchoWindow(win.rank, win.swst_code, swl, win.slant_range_time, n)
    return design_window(swath, near, far)


def full_swath_window(
    swath: SwathParameters, satellite_radius: float, lat_deg: float
) -> EchoWindow:
    """Window covering the swath's off-nadir span (plus the pulse length)."""
    near = slant_range_at_look(satellite_radius, lat_deg, swath.look_near_deg)
    far = slant_range_at_look(satellite_radius, lat_deg, swath.look_far_deg)
    return design_window(swath, 2 * near / SPEED_OF_LIGHT, 2 * far / SPEED_OF_LIGHT)


def plan_bursts(
    swaths: tuple[SwathParameters, ...],
    start_time: float,
    duration: float,
    *,
    anx_time: float = 0.0,
    relative_orbit: int = 1,
) -> list[Burst]:
    """Line blocks of a data-take in time order.

    Stripmap: one block of ``round(duration * PRF)`` lines from ``start_time``. IW:
    ``max(1, round(duration / T_beam))`` burst cycles; the IW1 burst of cycle ``c``
    starts at ``start_time + c T_beam`` and each sub-swath fills its slot
    (0.832 / 1.078 / 0.848 s) with lines at its PRF.

    Raises
    ------
    SimulationError
        For a non-positive duration.
    """
    if not duration > 0:
        raise SimulationError(f"duration must be positive, got {duration}")
    if len(swaths) == 1 and not swaths[0].is_tops:
        n = int(round(duration * swaths[0].prf))
        return [Burst(swaths[0], 0, start_time, max(1, n))]
    cycles = max(1, int(round(duration / IW_BURST_CYCLE)))
    bursts: list[Burst] = []
    for c in range(cycles):
        t = start_time + c * IW_BURST_CYCLE
        t_b = t + IW_BURST_OFFSETS["IW1"] + 0.5 * IW_BURST_OFFSETS["IW2"]
        bid = esa_burst_id(t_b, anx_time, relative_orbit)
        for sw in swaths:
            slot = IW_BURST_OFFSETS[sw.name]
            n = int(math.floor(slot / sw.pri - 1e-9))
            bursts.append(Burst(sw, c, t, n, bid))
            t += slot
    return bursts
