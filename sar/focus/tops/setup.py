"""Per-burst set-up of IW TOPS focusing: output grid, Doppler centroid, transform sizes.

Used by :mod:`sar.focus.tops.burst`. The output grid holds the lines whose whole processed
azimuth bandwidth was observed plus ``EDGE_LINES`` partially focused lines on each side
(S1 SLC bursts carry ~19), on multiples of the azimuth time interval so that bursts of all
sub-swaths share one grid. Symbols as in :mod:`sar.focus.tops.geometry`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sar.constants import AZIMUTH_ANTENNA_LENGTH
from sar.errors import FocusError
from sar.focus.model import RawData
from sar.focus.replica import chirp_centre_frequency, replica_samples
from sar.focus.tops import kernels as kern
from sar.focus.tops.geometry import (
    PROCESSED_BANDWIDTH,
    RANGE_HALO_LEFT,
    AzimuthPlan,
    BurstGeometry,
    burst_geometry,
    plan_azimuth,
    range_halo_right,
)
from sar.focus.tops.spectrum import SpectralCorrection, spectral_phase_correction
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
    antenna_length
        Azimuth aperture whose two-way pattern is divided out, m.
    doppler
        How ``doppler_raw`` was chosen (:func:`choose_raw_doppler`).
    spectrum
        Exact-minus-hyperbolic azimuth spectrum phase
        (:func:`sar.focus.tops.spectrum.spectral_phase_correction`); ``None``: not applied.
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
    doppler: DopplerChoice | None = None
    spectrum: SpectralCorrection | None = None

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
    lag_sums: npt.NDArray[np.float64] | None = None,
    exact_spectrum: bool = True,
) -> BurstSetup:
    """Validate ``raw`` and fix the processing parameters of one burst.

    ``lag_sums`` (merged :class:`LagSums`, or ``rc``, the range-compressed echoes, from
    which they are computed) are needed only for the data Doppler estimate
    (:func:`choose_raw_doppler`).
    """
    fs = raw.range_sampling_rate
    n_out, tau_last = compressed_extent(raw)
    if n_out < 16:
        raise FocusError(
            f"{raw.samples} range samples leave {n_out} after range compression with a "
            f"{replica_samples(raw.chirp, fs)}-sample replica"
        )
    tau0 = raw.slant_range_time
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
    if doppler_centroid is None and lag_sums is None and rc is not None:
        lag_sums = lag_sums_of(rc, raw, geometry.k_s)
    tau_mid = 0.5 * (tau0 + tau_last)
    choice = choose_raw_doppler(
        lag_sums, raw.prf, float(geometry.geometric_doppler(tau_mid)), doppler_centroid
    )
    doppler_centroid = choice.value
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
    spectrum = None
    if exact_spectrum:
        eta_first = first - geometry.t_mid
        eta_span = max(abs(eta_first), abs(eta_first + lines * output_azimuth_time_interval))
        f_u0 = float(doppler_centroid)

        def centre(tau: FloatArray) -> FloatArray:
            # Doppler centroid of a target at the steering centre: f_eff / alpha
            shift = 0.5 * tau if bistatic else np.zeros_like(tau)
            return np.asarray((f_u0 - geometry.k_s * shift) / geometry.scaling(tau))

        spectrum = spectral_phase_correction(
            raw.orbit, geometry, tau0, tau_last, centre, eta_span + 0.2
        )
    return BurstSetup(
        geometry=geometry, plan=plan, prf=raw.prf, fs=fs, tau0=tau0, samples_out=n_out,
        doppler_raw=float(doppler_centroid), first_line_time=first, lines_out=lines,
        interval=output_azimuth_time_interval, bandwidth=float(azimuth_bandwidth),
        window=window, f0=raw.radar_frequency, chirp_centre=chirp_centre_frequency(raw.chirp),
        bistatic=bistatic, valid_lines=valid, antenna_length=antenna_length, doppler=choice,
        spectrum=spectrum,
    )  # fmt: skip


def compressed_extent(raw: RawData) -> tuple[int, float]:
    """Fully range-compressed samples of ``raw`` (the output's range extent: samples
    minus the replica's, plus one) and the two-way time of the last one, s."""
    fs = raw.range_sampling_rate
    n_out = raw.samples - replica_samples(raw.chirp, fs) + 1
    return n_out, raw.slant_range_time + (n_out - 1) / fs


def compressed_columns(
    raw: RawData, *, strip_width: int, doppler_centroid: float | None, bistatic: bool,
    output_azimuth_time_interval: float,
) -> int:  # fmt: skip
    """Range-compressed columns that the strips of ``raw`` can read, known before range
    compression (which the data Doppler estimate needs): the range-compressed scratch
    burst keeps only these (IW1 at full size: 23,172 of 25,408 samples, 9 % less memory).

    The strips read up to :func:`~sar.focus.tops.geometry.strip_reach` of the plan that
    :func:`setup_burst` will choose. Its right halo grows with the effective Doppler
    centroid ``|f_u0 - k_s tau / 2|``; ``f_u0`` is ``doppler_centroid`` when given, else
    the data estimate of :func:`choose_raw_doppler`, which lies within ``PRF / 2`` of the
    geometric centroid. With that bound on the halo ``h``, the strip span is at most
    ``1.25 (strip_width + 8 + h) + 1`` (:func:`~sar.focus.tops.geometry.choose_strip_span`)
    and the last strip starts before ``samples_out``. Returns ``raw.samples`` when no
    tighter bound holds (a burst that :func:`setup_burst` will reject).
    """
    fs = raw.range_sampling_rate
    n_out, tau_last = compressed_extent(raw)
    if n_out < 16 or raw.lines < 2:
        return raw.samples
    tau0 = raw.slant_range_time
    try:
        geometry = burst_geometry(raw, tau0, tau_last)
        if doppler_centroid is None:
            tau_mid = 0.5 * (tau0 + tau_last)
            f_u0 = abs(float(geometry.geometric_doppler(tau_mid))) + 0.5 * raw.prf
        else:
            f_u0 = abs(float(doppler_centroid))
        shift = 0.5 * tau_last if bistatic else 0.0
        offset = f_u0 + abs(geometry.k_s) * shift
        n1 = plan_azimuth(
            geometry, raw.lines, raw.prf, output_azimuth_time_interval, tau0, tau_last, fs,
            0.0, strip_width,
        ).n_mosaic
        halo = range_halo_right(geometry, n1, raw.prf, offset, tau_last, fs)
    except (FocusError, ValueError, ArithmeticError):
        return raw.samples
    span = int((max(1, strip_width) + RANGE_HALO_LEFT + halo) * 1.25) + 1
    return min(raw.samples, n_out - 1 - RANGE_HALO_LEFT + span)


def raw_offsets(raw: RawData) -> FloatArray:
    """Raw line times relative to the steering centre (middle of the burst), s."""
    n = raw.lines
    return (np.arange(n, dtype=np.float64) - 0.5 * (n - 1)) / raw.prf


LAG_BLOCK_LINES = 8
"""Lines per block of range compression; the Doppler estimator uses the line pairs
within blocks, summed while a block is in cache (:class:`LagSums`)."""

LAG_PAIR_STEP = 2
"""Every other line pair of a block enters the Doppler estimate (half the work, same lag)."""

DOPPLER_RANGE_BLOCKS = 16
"""Range blocks of the data Doppler estimate (consistency and coverage checks)."""

DOPPLER_MIN_COVERAGE = 0.5
"""Effective fraction of range blocks that must carry the coherent signal for the data
estimate to be used (:class:`DopplerChoice` ``coverage``)."""

DOPPLER_MIN_COHERENCE = 0.05
"""Lag-one coherence above which a range block counts as carrying signal (thermal noise
gives ~1 / sqrt(samples), distributed clutter seen through the IW azimuth pattern 0.3-0.7)."""

DOPPLER_MAX_RMS = 30.0
"""Largest RMS spread (Hz) of the range-block estimates about the data estimate for it to
be used. A 40 Hz error of the raw Doppler centroid costs < 0.15 dB of azimuth ISLR
(measured on full-size IW1/IW2 bursts)."""


def lag_weights(raw: RawData, k_s: float) -> npt.NDArray[np.complex128]:
    """Weights of the line pairs ``(n, n + 1)`` of the estimator: the steering deramp
    ``exp(-j pi k_s s^2)`` enters a pair as ``ramp[n + 1] conj(ramp[n])``."""
    s = raw_offsets(raw)
    ramp = np.exp(-1j * np.pi * k_s * s * s)
    return np.asarray(ramp[1:] * np.conj(ramp[:-1]), dtype=np.complex128)


@dataclass
class LagSums:
    """Steering-deramped lag-one products and power, per line block and range block.

    ``rows[k, 0] + j rows[k, 1]`` = sum over the line pairs ``n`` of line block ``k``
    (:data:`LAG_BLOCK_LINES` lines, every :data:`LAG_PAIR_STEP`-th pair; pairs across
    blocks are skipped) and the columns of
    each of the :data:`DOPPLER_RANGE_BLOCKS` range blocks of ``w[n] rc[n + 1, c]
    conj(rc[n, c])``, ``rows[k, 2]`` the power ``|rc[n, c]|^2``; ``w`` from
    :func:`lag_weights`. Threads fill disjoint line blocks (:meth:`add_block`, with their
    own scratch from :meth:`scratch`); :meth:`total` sums them in a fixed order, so the
    estimate does not depend on the thread schedule.
    """

    rows: npt.NDArray[np.float64]
    weights: npt.NDArray[np.complex128]
    edges: npt.NDArray[np.int64]

    @classmethod
    def empty(cls, lines: int, samples: int, weights: npt.NDArray[np.complex128]) -> LagSums:
        blocks = -(-lines // LAG_BLOCK_LINES)
        edges = np.linspace(0, samples, DOPPLER_RANGE_BLOCKS + 1).astype(np.int64)
        rows = np.zeros((blocks, 3, DOPPLER_RANGE_BLOCKS), dtype=np.float64)
        return cls(rows, weights, edges)

    def scratch(self) -> npt.NDArray[np.float32]:
        """Per-thread column accumulators for :meth:`add_block`."""
        return np.empty((3, int(self.edges[-1])), dtype=np.float32)

    def add_block(
        self, block: ComplexArray, first: int, scratch: npt.NDArray[np.float32]
    ) -> None:
        """Sum the pairs of lines ``first .. first + len(block) - 1`` (``first`` a multiple
        of :data:`LAG_BLOCK_LINES`, ``block`` C-contiguous; columns beyond the burst's
        samples, such as range FFT padding, are ignored)."""
        m = block.shape[0]
        if m < 2:
            return
        view = np.ascontiguousarray(block).view(np.float32)
        out = self.rows[first // LAG_BLOCK_LINES]
        kern.lag_block_sums(
            view, self.weights[first : first + m - 1], self.edges, out, scratch, LAG_PAIR_STEP
        )

    def total(self) -> npt.NDArray[np.float64]:
        """Sums over all line blocks: (3, range blocks) lag product real, imaginary, power."""
        return np.asarray(self.rows.sum(axis=0), dtype=np.float64)


def lag_sums_of(rc: ComplexArray, raw: RawData, k_s: float) -> npt.NDArray[np.float64]:
    """:meth:`LagSums.total` of a whole range-compressed burst (same pairs as the fast
    path)."""
    sums = LagSums.empty(rc.shape[0], rc.shape[1], lag_weights(raw, k_s))
    scratch = sums.scratch()
    for first in range(0, rc.shape[0], LAG_BLOCK_LINES):
        sums.add_block(rc[first : first + LAG_BLOCK_LINES], first, scratch)
    return sums.total()


@dataclass(frozen=True)
class DopplerChoice:
    """Raw-data Doppler centroid at the steering centre and where it comes from.

    Attributes
    ----------
    value
        The centroid used, Hz.
    source
        ``"data"``, ``"geometry"`` or ``"given"``.
    data
        Data estimate (Hz; NaN without signal), wrapped to within PRF / 2 of the
        geometric one.
    rms
        Power-weighted RMS spread of the range-block estimates about ``data``, Hz.
    coverage
        Effective number of range blocks carrying the coherent signal, ``(sum s)^2 / sum
        s^2`` over the blocks' coherent strengths ``s``, as a fraction of all blocks (1
        for a uniform scene, ~1 / blocks for one point target).
    geometry
        Geometric prediction, Hz (:meth:`BurstGeometry.geometric_doppler`).
    """

    value: float
    source: str
    data: float
    rms: float
    coverage: float
    geometry: float


def choose_raw_doppler(
    sums: npt.NDArray[np.float64] | None, prf: float, geometric: float,
    given: float | None = None,
) -> DopplerChoice:  # fmt: skip
    """Choose the raw-data Doppler centroid ``f_u0`` of a burst.

    ``sums`` is :meth:`LagSums.total` (lag products and power per range block).

    The data estimate is Madsen's lag-one correlation (IEEE TGRS 27(1), 1989) of the
    steering-deramped echoes, whose spectrum is centred on the beam Doppler at the
    steering centre; it is made per range block. Like the S1 IPF, which annotates
    ``dataDcRmsError`` and falls back to the orbit-and-attitude centroid when it is above
    threshold (``dcMethod``; S1 product specification S1-RS-MDA-52-7441, Doppler
    centroid records), the data estimate is used only when at least
    :data:`DOPPLER_MIN_COVERAGE` of the range blocks carry coherent signal and their
    estimates agree within :data:`DOPPLER_MAX_RMS`; otherwise the geometric centroid is
    used. A scene of a few point targets (nothing else) fails the coverage test: there,
    a target seen by only part of the antenna pattern at a burst edge would pull the
    data estimate by hundreds of Hz.
    """
    nan = float("nan")
    if given is not None:
        return DopplerChoice(float(given), "given", nan, nan, nan, geometric)
    if sums is None or sums.shape[1] == 0:
        return DopplerChoice(geometric, "geometry", nan, nan, 0.0, geometric)
    corr = sums[0] + 1j * sums[1]
    power = sums[2]
    coherent = (power > 0.0) & (np.abs(corr) >= DOPPLER_MIN_COHERENCE * power)
    strength = np.where(coherent, np.abs(corr), 0.0)
    # effective number of blocks carrying the coherent signal, (sum s)^2 / sum s^2
    norm = float(np.sum(strength**2))
    coverage = float(np.sum(strength) ** 2 / norm) / float(corr.size) if norm > 0 else 0.0
    total = complex(np.sum(corr[coherent]))
    if total == 0.0:
        return DopplerChoice(geometric, "geometry", nan, nan, coverage, geometric)
    scale = prf / (2.0 * np.pi)
    ref = 2.0 * np.pi * geometric / prf
    data = geometric + float(np.angle(total * np.exp(-1j * ref))) * scale
    offsets = np.angle(corr[coherent] * np.exp(-2j * np.pi * data / prf)) * scale
    weights = np.abs(corr[coherent])
    rms = float(np.sqrt(np.sum(weights * offsets**2) / np.sum(weights)))
    use = coverage >= DOPPLER_MIN_COVERAGE and rms <= DOPPLER_MAX_RMS
    return DopplerChoice(
        data if use else geometric, "data" if use else "geometry", data, rms, coverage,
        geometric,
    )  # fmt: skip


def raw_offsets_n(n: int, prf: float) -> FloatArray:
    """Offsets of ``n`` raw lines from their centre, s."""
    return (np.arange(n, dtype=np.float64) - 0.5 * (n - 1)) / prf
