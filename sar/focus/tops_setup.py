"""Per-burst set-up of IW TOPS focusing: output grid, Doppler centroid, transform sizes.

Used by :mod:`sar.focus.tops`. The output grid holds the lines whose whole processed
azimuth bandwidth was observed plus ``EDGE_LINES`` partially focused lines on each side
(S1 SLC bursts carry ~19), on multiples of the azimuth time interval so that bursts of all
sub-swaths share one grid. Symbols as in :mod:`sar.focus.tops_geometry`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sar.constants import AZIMUTH_ANTENNA_LENGTH
from sar.errors import FocusError
from sar.focus import tops_kernels as kern
from sar.focus.model import RawData
from sar.focus.replica import chirp_centre_frequency, replica_samples
from sar.focus.tops_geometry import (
    PROCESSED_BANDWIDTH,
    AzimuthPlan,
    BurstGeometry,
    burst_geometry,
    plan_azimuth,
)
from sar.focus.windows import WindowSpec, parse_window

ComplexArray = npt.NDArray[np.complex64]
FloatArray = npt.NDArray[np.float64]

EDGE_LINES = 20
"""Partially focused lines kept on each side of the fully focused ones."""


@dataclass(frozen=True)
class BurstSetup:
    """Everything the strip processing needs, fixed per burst.

    Attributes
    ----------
    geometry
        TOPS geometry.
    plan
        Transform sizes and range halos.
    prf, fs, tau0
        PRF (Hz), range sampling rate (Hz), two-way time of sample 0 (s).
    samples_out
        Output range samples (fully range-compressed part).
    doppler_raw
        Raw-data Doppler centroid at the steering centre ``f_u0`` (Hz, range-independent).
    first_line_time, lines_out, interval
        Output grid: GPS s of line 0, number of lines, spacing (s).
    bandwidth
        Processed azimuth bandwidth, Hz.
    window
        Azimuth window.
    f0
        Carrier, Hz.
    chirp_centre
        Range chirp centre frequency relative to the carrier, Hz.
    bistatic
        Correct the echo delay to the mid-point (``tau / 2``) time and its phase.
    valid_lines
        Half-open range of output lines whose whole processed bandwidth was observed.
    """

    geometry: BurstGeometry
    plan: AzimuthPlan
    prf: float
    fs: float
    tau0: float
    samples_out: int
    doppler_raw: float
    first_line_time: float
    lines_out: int
    interval: float
    bandwidth: float
    window: WindowSpec
    f0: float
    chirp_centre: float
    bistatic: bool
    valid_lines: tuple[int, int]
    antenna_length: float = 0.0

    def doppler_effective(self, tau: npt.ArrayLike) -> FloatArray:
        """Beam Doppler at the steering centre in the echo-midpoint time frame, Hz."""
        t = np.asarray(tau, dtype=np.float64)
        shift = 0.5 * t if self.bistatic else np.zeros_like(t)
        return self.doppler_raw - self.geometry.k_s * shift


def _output_grid(
    geometry: BurstGeometry, raw: RawData, tau: FloatArray, doppler_eff: FloatArray,
    interval: float, bandwidth: float, bistatic: bool,
) -> tuple[float, int, tuple[int, int]]:  # fmt: skip
    """Output first line time (on the global grid), line count and valid lines."""
    n = raw.lines
    s0 = -0.5 * (n - 1) / raw.prf
    s1 = 0.5 * (n - 1) / raw.prf
    ka = geometry.fm_rate(tau)
    alpha = geometry.scaling(tau)
    shift = 0.5 * tau if bistatic else np.zeros_like(tau)
    offset = -doppler_eff / ka
    lo = alpha * (s0 + shift) + offset
    hi = alpha * (s1 + shift) + offset
    half = 0.5 * bandwidth / np.abs(ka)
    v_lo = alpha * (s0 + shift + half) + offset
    v_hi = alpha * (s1 + shift - half) + offset
    t_mid = geometry.t_mid
    valid_lo, valid_hi = float(v_lo.max()), float(v_hi.min())
    if valid_hi > valid_lo:
        # fully focused lines plus a margin of partially focused ones (S1 SLC: ~19)
        first_idx = math.floor((t_mid + valid_lo) / interval) - EDGE_LINES
        last_idx = math.ceil((t_mid + valid_hi) / interval) + EDGE_LINES
    else:  # too short for any fully focused line: keep everything observed
        first_idx = math.floor((t_mid + float(lo.min())) / interval)
        last_idx = math.ceil((t_mid + float(hi.max())) / interval)
    first = first_idx * interval
    lines = last_idx - first_idx + 1
    # parity: put the burst centre (l = lines / 2) as close as possible to the centre of
    # the Doppler history so that the TN reference offset stays small
    eta_c0 = float(offset[0])
    best = min((abs(first + 0.5 * m * interval - t_mid - eta_c0), m) for m in (lines, lines + 1))
    lines = best[1]
    v0 = max(0, math.ceil((t_mid + valid_lo - first) / interval))
    v1 = min(lines, math.floor((t_mid + valid_hi - first) / interval) + 1)
    return first, lines, (v0, max(v0, v1))


def setup_burst(
    raw: RawData,
    *,
    range_window: WindowSpec | str,
    azimuth_window: WindowSpec | str | None,
    azimuth_bandwidth: float | None,
    output_azimuth_time_interval: float,
    doppler_centroid: float | None,
    strip_width: int,
    bistatic: bool,
    antenna_length: float = AZIMUTH_ANTENNA_LENGTH,
    rc: ComplexArray | None = None,
    lag_pairs: LagPairs | None = None,
) -> BurstSetup:
    """Validate ``raw`` and fix the processing parameters of one burst.

    ``lag_pairs`` (or ``rc``, the range-compressed echoes, from which they are computed)
    are needed only to estimate the Doppler centroid.
    """
    fs = raw.range_sampling_rate
    n_out = raw.samples - replica_samples(raw.chirp, fs) + 1
    if n_out < 16:
        raise FocusError(
            f"{raw.samples} range samples leave {n_out} after range compression with a "
            f"{replica_samples(raw.chirp, fs)}-sample replica"
        )
    tau0 = raw.slant_range_time
    tau_last = tau0 + (n_out - 1) / fs
    geometry = burst_geometry(raw, tau0, tau_last)
    if azimuth_window is None:
        azimuth_window = "hamming:0.70" if raw.swath.upper() == "IW1" else "hamming:0.75"
    window = parse_window(azimuth_window)
    if azimuth_bandwidth is None:
        azimuth_bandwidth = PROCESSED_BANDWIDTH.get(raw.swath.upper(), 327.0)
    if not 0.0 < azimuth_bandwidth < output_azimuth_time_interval**-1:
        raise FocusError(
            f"azimuth bandwidth {azimuth_bandwidth} Hz must be positive and below the "
            f"output line rate {1.0 / output_azimuth_time_interval:.1f} Hz"
        )
    if doppler_centroid is None:
        if lag_pairs is None and rc is not None:
            lag_pairs = lag_pairs_of(rc)
        doppler_centroid = (
            0.0 if lag_pairs is None else estimate_raw_doppler(lag_pairs, raw, geometry)
        )
    tau_nodes = np.linspace(tau0, tau_last, 9)
    shift = 0.5 * tau_nodes if bistatic else np.zeros_like(tau_nodes)
    doppler_eff = doppler_centroid - geometry.k_s * shift
    first, lines, valid = _output_grid(
        geometry, raw, tau_nodes, doppler_eff, output_azimuth_time_interval, azimuth_bandwidth,
        bistatic,
    )  # fmt: skip
    plan = plan_azimuth(
        geometry, raw.lines, raw.prf, output_azimuth_time_interval, tau0, tau_last, fs,
        float(np.max(np.abs(doppler_eff))), strip_width,
    )  # fmt: skip
    if lines > plan.n_specan:
        raise FocusError("output burst longer than the SPECAN transform (internal error)")
    _ = parse_window(range_window)
    return BurstSetup(
        geometry=geometry, plan=plan, prf=raw.prf, fs=fs, tau0=tau0, samples_out=n_out,
        doppler_raw=float(doppler_centroid), first_line_time=first, lines_out=lines,
        interval=output_azimuth_time_interval, bandwidth=float(azimuth_bandwidth),
        window=window, f0=raw.radar_frequency, chirp_centre=chirp_centre_frequency(raw.chirp),
        bistatic=bistatic, valid_lines=valid, antenna_length=antenna_length,
    )  # fmt: skip


def raw_offsets(raw: RawData) -> FloatArray:
    """Raw line times relative to the steering centre (middle of the burst), s."""
    n = raw.lines
    return (np.arange(n, dtype=np.float64) - 0.5 * (n - 1)) / raw.prf


LAG_BLOCK_LINES = 8
"""Lines per block of range compression; the Doppler estimator uses the line pairs
within blocks, summed while a block is in cache (:class:`LagPairs`)."""

LAG_COLUMN_STEP = 8
"""The Doppler estimator uses every 8th range sample."""


@dataclass
class LagPairs:
    """Lag-one products of consecutive range-compressed lines for the Doppler estimate.

    ``sums[n]`` = sum over every :data:`LAG_COLUMN_STEP`-th sample of ``rc[n + 1] *
    conj(rc[n])``, for pairs within blocks of :data:`LAG_BLOCK_LINES` lines (``valid``);
    ``power`` the power of the samples used.
    """

    sums: npt.NDArray[np.complex128]
    valid: npt.NDArray[np.bool_]
    power: float = 0.0

    @classmethod
    def empty(cls, lines: int) -> LagPairs:
        n = max(lines - 1, 0)
        return cls(np.zeros(n, dtype=np.complex128), np.zeros(n, dtype=bool))

    def add_block(self, block: ComplexArray, first: int) -> float:
        """Sum the pairs of lines ``first .. first + len(block) - 1``; returns their power
        (add it to :attr:`power`; threads keep their own subtotal)."""
        m = block.shape[0]
        if m < 2:
            return 0.0
        out = np.empty(m - 1, dtype=np.complex128)
        power = float(kern.lag_pair_sums(block, LAG_COLUMN_STEP, out))
        self.sums[first : first + m - 1] = out
        self.valid[first : first + m - 1] = True
        return power


def lag_pairs_of(rc: ComplexArray) -> LagPairs:
    """:class:`LagPairs` of a whole range-compressed burst (same blocks as the fast path)."""
    pairs = LagPairs.empty(rc.shape[0])
    for first in range(0, rc.shape[0], LAG_BLOCK_LINES):
        pairs.power += pairs.add_block(rc[first : first + LAG_BLOCK_LINES], first)
    return pairs


def estimate_raw_doppler(pairs: LagPairs, raw: RawData, geometry: BurstGeometry) -> float:
    """Doppler centroid of the steering-deramped echoes ``f_u0`` (Hz), lag-one correlation.

    The echoes deramped by ``exp(-j pi k_s s^2)`` have a stationary spectrum centred on the
    beam Doppler at the steering centre (Madsen's correlation Doppler estimator); the
    deramp enters the line-pair products as ``ramp[n + 1] conj(ramp[n])``.
    """
    s = raw_offsets(raw)
    ramp = np.exp(-1j * np.pi * geometry.k_s * s * s)
    w = ramp[1:] * np.conj(ramp[:-1])
    corr = complex(np.sum(pairs.sums[pairs.valid] * w[pairs.valid]))
    if not pairs.power > 0.0 or abs(corr) == 0.0:
        return 0.0
    return float(np.angle(corr) * raw.prf / (2.0 * np.pi))


def raw_offsets_n(n: int, prf: float) -> FloatArray:
    """Offsets of ``n`` raw lines from their centre, s."""
    return (np.arange(n, dtype=np.float64) - 0.5 * (n - 1)) / prf
