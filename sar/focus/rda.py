"""Stripmap range-Doppler focusing: raw echo block to SLC on the zero-Doppler grid.

Chain (Cumming & Wong, *Digital Processing of SAR Data*, 2005, chapter 6): range FFT,
range matched filter (:mod:`sar.focus.replica`), range IFFT, azimuth FFT, RCMC with a
windowed-sinc interpolator fused with the hyperbolic azimuth matched filter and window
(:mod:`sar.focus.rcmc`, :mod:`sar.focus.azimuth`), azimuth IFFT. Every step works in
place on one complex64 block with reusable FFTW plans and numba kernels.

Output grid. Line ``l`` is at zero-Doppler time ``line_times[0] + tau_ref / 2 + l / PRF``:
the echo of a pulse sent at ``t`` returns at ``t + tau`` and the range history is centred
on ``t + tau / 2``; the bulk part ``tau_ref / 2`` (mid-swath) goes into the time tag and
the residual ``(tau - tau_ref) / 2`` is removed per range by a linear azimuth phase.
Sample ``k`` is at two-way time ``slant_range_time + k / fs`` (replica referenced to its
leading edge). Secondary range compression is omitted: for Sentinel-1 geometry (squint
near zero, ``K_r ~ 1e12 Hz/s``) ``K_src`` exceeds ``K_r`` by four orders of magnitude.

Long inputs are focused in azimuth blocks that overlap by one synthetic aperture and are
mosaicked without seams (:func:`plan_blocks`), so lines can be focused as they stream in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from sar.constants import AZIMUTH_ANTENNA_LENGTH, SPEED_OF_LIGHT
from sar.errors import FocusError
from sar.focus.azimuth import aperture_lines, azimuth_filter_nodes
from sar.focus.doppler import (
    effective_velocity,
    estimate_doppler_centroid,
    fit_polynomial,
    fm_rate,
)
from sar.focus.fft import empty_block, transform
from sar.focus.model import RawData
from sar.focus.range_compress import multiply_rows
from sar.focus.raw import missing_record
from sar.focus.rcmc import DEFAULT_TAPS, correct_range_migration, node_count
from sar.focus.replica import check_chirp, make_range_filter, replica_samples
from sar.focus.sizes import smooth_size
from sar.focus.windows import WindowSpec, parse_window
from sar.geo.orbit import interpolate_orbit
from sar.product.model import Polynomial, SlcImage

ComplexArray = npt.NDArray[np.complex64]
FloatArray = npt.NDArray[np.float64]

NODE_STEP = 32
"""Range samples between the nodes where migration, filter phase and window are computed."""

ANTENNA_LENGTH = AZIMUTH_ANTENNA_LENGTH
"""Sentinel-1 antenna length, m (ESA SAR instrument page), for the default Doppler band."""

EDGE_LINES = 8
"""Extra lines dropped at each block edge beyond the aperture (filter ringing)."""


def next_fast_length(n: int) -> int:
    """Smallest 7-smooth integer >= ``n``: the stripmap block's FFT lengths.

    Not :func:`sar.focus.sizes.fast_length`: its lengths favour many factors 2, and the
    stripmap block's rows are not padded, so its azimuth (column) FFTs would run over a
    row stride that is a multiple of 4 KiB and thrash the cache (1,500 x 20,480 block:
    0.90 s per column pass against 0.12 s at 20,000, ``FFTW_ESTIMATE``, measured).
    """
    return smooth_size(n, (2, 3, 5, 7))


@dataclass
class FocusPlan:
    """Everything range-dependent that focusing a block of one swath needs.

    Built once per swath by :func:`plan_focus`; blocks of the same length reuse the
    filter nodes (cached by azimuth FFT length).
    """

    raw_samples: int
    range_fft_length: int
    prf: float
    wavelength: float
    range_sampling_rate: float
    slant_range_time: float
    range_filter: ComplexArray
    node_slant_range: FloatArray
    node_v_eff: FloatArray
    node_doppler: FloatArray
    node_delay: FloatArray
    reference_delay: float
    azimuth_window: WindowSpec
    range_window: WindowSpec
    azimuth_bandwidth: float
    range_bandwidth: float
    lines_before: int
    lines_after: int
    valid_samples: tuple[int, int]
    doppler_centroid: Polynomial
    fm_rate: Polynomial
    taps: int = DEFAULT_TAPS
    node_step: int = NODE_STEP
    antenna_length: float = 0.0
    platform_speed: float = 0.0
    _filters: dict[int, tuple[FloatArray, FloatArray, npt.NDArray[np.complex128]]] = field(
        default_factory=dict, repr=False
    )

    def block_shape(self, lines: int) -> tuple[int, int]:
        """Shape of the working block (FFT lengths) for a block of ``lines`` lines."""
        return next_fast_length(lines), self.range_fft_length

    @property
    def overlap_lines(self) -> int:
        """Lines lost at the two edges of a block (one synthetic aperture plus margins)."""
        return self.lines_before + self.lines_after

    def filter_nodes(
        self, n_az: int
    ) -> tuple[FloatArray, FloatArray, npt.NDArray[np.complex128]]:
        """(shift, phase, weight) on the nodes for an azimuth FFT of length ``n_az``."""
        nodes = self._filters.get(n_az)
        if nodes is None:
            nodes = azimuth_filter_nodes(
                n_az, self.prf, self.node_slant_range, self.node_v_eff, self.node_doppler,
                self.node_delay, window=self.azimuth_window,
                bandwidth=self.azimuth_bandwidth, wavelength=self.wavelength,
                range_sampling_rate=self.range_sampling_rate,
                antenna_length=self.antenna_length, platform_speed=self.platform_speed,
            )
            self._filters.clear()  # keep at most one full-size table alive
            self._filters[n_az] = nodes
        return nodes


def check_raw(raw: RawData) -> None:
    """Raise :class:`FocusError` on raw data that cannot be focused."""
    if raw.echoes.ndim != 2:
        raise FocusError(f"echoes must be 2-D [lines, samples], got shape {raw.echoes.shape}")
    if not np.iscomplexobj(raw.echoes):
        raise FocusError("echoes must be complex")
    if raw.line_times.shape != (raw.lines,):
        raise FocusError(
            f"{raw.line_times.shape[0] if raw.line_times.ndim else 0} line times for "
            f"{raw.lines} echo lines"
        )
    if not (math.isfinite(raw.prf) and raw.prf > 0.0):
        raise FocusError(f"PRF must be positive, got {raw.prf}")
    if not (math.isfinite(raw.slant_range_time) and raw.slant_range_time > 0.0):
        raise FocusError(f"slant-range time must be positive, got {raw.slant_range_time}")
    if not (math.isfinite(raw.radar_frequency) and raw.radar_frequency > 0.0):
        raise FocusError(f"radar frequency must be positive, got {raw.radar_frequency}")
    check_chirp(raw.chirp, raw.range_sampling_rate)
    if raw.lines < 2:
        raise FocusError(f"need at least 2 lines, got {raw.lines}")
    dt = np.diff(raw.line_times)
    if np.any(np.abs(dt * raw.prf - 1.0) > 1e-3):
        raise FocusError("line times are not spaced by 1 / PRF (missing lines or wrong PRF)")
    if raw.samples < replica_samples(raw.chirp, raw.range_sampling_rate) + 8:
        raise FocusError(
            f"{raw.samples} samples per line do not hold one "
            f"{replica_samples(raw.chirp, raw.range_sampling_rate)}-sample pulse"
        )


def default_azimuth_bandwidth(v_eff: float, prf: float) -> float:
    """Processed Doppler bandwidth: the antenna's ``0.886 * 2 V / L_a``, at most 0.9 PRF."""
    return float(min(0.886 * 2.0 * v_eff / ANTENNA_LENGTH, 0.9 * prf))


def plan_focus(
    raw: RawData,
    *,
    range_window: WindowSpec | str = "hamming:0.75",
    azimuth_window: WindowSpec | str = "hamming:0.75",
    azimuth_bandwidth: float | None = None,
    doppler_centroid: Polynomial | float | None = None,
    taps: int = DEFAULT_TAPS,
    antenna_length: float = ANTENNA_LENGTH,
) -> FocusPlan:
    """Compute the range filter, Doppler, FM rate and filter nodes for ``raw``'s swath.

    Parameters
    ----------
    raw
        Raw block (only a few lines are read when the centroid is given).
    range_window, azimuth_window
        Windows over the chirp bandwidth and the processed Doppler bandwidth.
    azimuth_bandwidth
        Processed Doppler bandwidth, Hz; default :func:`default_azimuth_bandwidth`.
    doppler_centroid
        Centroid polynomial or constant (Hz); ``None`` estimates it from ``raw``.
    taps
        RCMC interpolator length.
    antenna_length
        Azimuth antenna length for antenna-pattern compensation, m (0 disables it).

    Returns
    -------
    FocusPlan
    """
    check_raw(raw)
    fs = raw.range_sampling_rate
    wavelength = SPEED_OF_LIGHT / raw.radar_frequency
    n_rep = replica_samples(raw.chirp, fs)
    n_r = next_fast_length(raw.samples)
    r_spec = parse_window(range_window)
    a_spec = parse_window(azimuth_window)
    h = make_range_filter(raw.chirp, fs, n_r, r_spec)
    t_mid = float(0.5 * (raw.line_times[0] + raw.line_times[-1]))
    n_nodes = node_count(n_r, NODE_STEP)
    node_tau = raw.slant_range_time + np.arange(n_nodes) * NODE_STEP / fs
    valid_stop = raw.samples - n_rep + 1
    tau_ref = raw.slant_range_time + 0.5 * max(valid_stop - 1, 0) / fs
    zd_mid = t_mid + 0.5 * tau_ref
    v_eff = effective_velocity(raw.orbit, zd_mid, node_tau)
    ka = -2.0 * v_eff**2 / (wavelength * 0.5 * SPEED_OF_LIGHT * node_tau)
    if doppler_centroid is None:
        dc = estimate_doppler_centroid(raw.echoes, raw.prf, raw.slant_range_time, fs, zd_mid)
    elif isinstance(doppler_centroid, Polynomial):
        dc = doppler_centroid
    else:
        dc = Polynomial(zd_mid, tau_ref, (float(doppler_centroid),))
    node_fdc = dc.evaluate(node_tau)
    v_mid = float(np.interp(tau_ref, node_tau, v_eff))
    bandwidth = (
        default_azimuth_bandwidth(v_mid, raw.prf) if azimuth_bandwidth is None
        else float(azimuth_bandwidth)
    )
    if not 0.0 < bandwidth <= raw.prf:
        raise FocusError(f"azimuth bandwidth {bandwidth} Hz must be in (0, PRF = {raw.prf} Hz]")
    valid = node_tau <= raw.slant_range_time + valid_stop / fs + NODE_STEP / fs
    before, after = aperture_lines(bandwidth, ka[valid], node_fdc[valid], raw.prf)
    margin = EDGE_LINES + taps
    fm_samples = np.linspace(raw.slant_range_time, raw.slant_range_time + raw.samples / fs, 9)
    fm_poly = fit_polynomial(zd_mid, fm_samples, fm_rate(raw.orbit, zd_mid, fm_samples,
                                                         wavelength=wavelength), 2)
    edge = 1  # one more sample for the fractional part of the migration
    shift_max = float(
        np.max(0.5 * SPEED_OF_LIGHT * node_tau
               * (1.0 / np.sqrt(1.0 - (wavelength * (np.abs(node_fdc) + 0.5 * raw.prf)
                                       / (2.0 * v_eff)) ** 2) - 1.0))
        * 2.0 * fs / SPEED_OF_LIGHT
    )
    stop = max(0, valid_stop - int(math.ceil(shift_max)) - taps // 2 - edge)
    return FocusPlan(
        raw_samples=raw.samples,
        range_fft_length=n_r,
        prf=raw.prf,
        wavelength=wavelength,
        range_sampling_rate=fs,
        slant_range_time=raw.slant_range_time,
        range_filter=h,
        node_slant_range=0.5 * SPEED_OF_LIGHT * node_tau,
        node_v_eff=v_eff,
        node_doppler=node_fdc,
        node_delay=0.5 * (node_tau - tau_ref),
        reference_delay=0.5 * tau_ref,
        azimuth_window=a_spec,
        range_window=r_spec,
        azimuth_bandwidth=bandwidth,
        range_bandwidth=raw.chirp.bandwidth,
        lines_before=before + margin,
        lines_after=after + margin,
        valid_samples=(taps // 2, stop),
        doppler_centroid=dc,
        fm_rate=fm_poly,
        taps=taps,
        antenna_length=float(antenna_length),
        platform_speed=float(np.linalg.norm(interpolate_orbit(raw.orbit, zd_mid)[1])),
    )


def focus_block(
    echoes: npt.NDArray[np.complexfloating],
    plan: FocusPlan,
    *,
    azimuth_padding: int = 0,
    out: ComplexArray | None = None,
) -> ComplexArray:
    """Focus one block of raw lines with a plan (fast path: FFTW plans, numba kernels).

    Parameters
    ----------
    echoes
        [lines, samples] raw echoes, ``samples == plan.raw_samples``.
    plan
        From :func:`plan_focus`.
    azimuth_padding
        Zero lines appended before the azimuth FFT (at least this many).
    out
        Working block to reuse, complex64 of shape ``plan.block_shape(lines)`` (e.g. the
        result of an earlier call when no padding was needed, in a stream of equal
        blocks; its content is overwritten); allocated if ``None`` or mismatched.

    Returns
    -------
    numpy.ndarray
        complex64 [lines, samples] (a view into the padded working block when FFT
        lengths were padded); line ``l`` at zero-Doppler time
        ``line_time(0) + plan.reference_delay + l / PRF``.
    """
    lines, samples = echoes.shape
    if samples != plan.raw_samples:
        raise FocusError(f"block has {samples} samples, plan expects {plan.raw_samples}")
    n_az, n_r = plan.block_shape(lines + max(0, azimuth_padding))
    work = _reusable(out, (n_az, n_r))
    if work is None:
        work = empty_block(n_az, n_r)
    if n_az == lines and n_r == samples and echoes.dtype == np.complex64 \
            and echoes.flags.c_contiguous:
        transform(echoes, 1, forward=True, out=work)  # copy fused into the range FFT
    else:
        work[:lines, :samples] = echoes
        if n_r > samples:
            work[:lines, samples:] = 0
        if n_az > lines:
            work[lines:] = 0
        transform(work, 1, forward=True)
    multiply_rows(work, plan.range_filter)
    transform(work, 1, forward=False)
    transform(work, 0, forward=True)
    shift, phase, weight = plan.filter_nodes(n_az)
    correct_range_migration(work, shift, plan.node_step, phase=phase, weight=weight,
                            taps=plan.taps)
    transform(work, 0, forward=False)
    if n_az == lines and n_r == samples:
        return work
    return work[:lines, :samples]


def _reusable(out: ComplexArray | None, shape: tuple[int, int]) -> ComplexArray | None:
    """``out`` if it can serve as the working block of ``shape``."""
    if (isinstance(out, np.ndarray) and out.shape == shape and out.dtype == np.complex64
            and out.flags.c_contiguous and out.flags.writeable):
        return out
    return None


@dataclass(frozen=True)
class BlockSpan:
    """One azimuth block: raw lines ``[start, stop)``, of which output lines
    ``[keep_start, keep_stop)`` (absolute indices) are kept in the mosaic."""

    start: int
    stop: int
    keep_start: int
    keep_stop: int


def plan_blocks(lines: int, block_lines: int, before: int, after: int) -> list[BlockSpan]:
    """Cut ``lines`` into blocks of ``block_lines`` overlapping by ``before + after``.

    Each block keeps its fully focused lines ``[start + before, stop - after)``; the kept
    ranges tile ``[before, lines - after)`` without gaps or overlaps.
    """
    if block_lines <= before + after:
        raise FocusError(
            f"block of {block_lines} lines is not longer than the aperture overlap "
            f"{before + after} lines"
        )
    step = block_lines - before - after
    spans = []
    start = 0
    while True:
        stop = min(start + block_lines, lines)
        spans.append(BlockSpan(start, stop, start + before, stop - after))
        if stop >= lines:
            break
        start += step
        if start + before + after >= lines:
            break
    return spans


def focus_stripmap(
    raw: RawData,
    *,
    range_window: WindowSpec | str = "hamming:0.75",
    azimuth_window: WindowSpec | str = "hamming:0.75",
    block_lines: int | None = None,
    azimuth_bandwidth: float | None = None,
    doppler_centroid: Polynomial | float | None = None,
    taps: int = DEFAULT_TAPS,
    antenna_length: float = ANTENNA_LENGTH,
) -> SlcImage:
    """Focus stripmap raw data into an SLC on the zero-Doppler grid.

    Parameters
    ----------
    raw
        Raw echoes with radar parameters and orbit.
    range_window, azimuth_window
        ``"hamming:0.75"`` (default), ``"kaiser:2.5"``, ``"none"``...
    block_lines
        Focus in azimuth blocks of this many lines (overlapping by one aperture);
        ``None`` focuses the whole input as one block.
    azimuth_bandwidth
        Processed Doppler bandwidth, Hz (default: antenna bandwidth, at most 0.9 PRF).
    doppler_centroid
        Polynomial or constant (Hz); ``None`` estimates it once from all of ``raw``.
    taps
        RCMC interpolator length (8 or 16).
    antenna_length
        Azimuth antenna length for antenna-pattern compensation, m (0 disables it):
        the processed azimuth spectrum is then weighted by exactly the chosen window.

    Returns
    -------
    SlcImage
        ``raw.lines x raw.samples``; ``valid_lines``/``valid_samples`` give the fully
        focused part.

    Raises
    ------
    FocusError
        Inconsistent input, or fewer lines than one synthetic aperture.
    """
    plan = plan_focus(raw, range_window=range_window, azimuth_window=azimuth_window,
                      azimuth_bandwidth=azimuth_bandwidth, doppler_centroid=doppler_centroid,
                      taps=taps, antenna_length=antenna_length)
    if raw.lines <= plan.overlap_lines:
        raise FocusError(
            f"{raw.lines} lines are too few: one synthetic aperture needs "
            f"{plan.overlap_lines} lines (PRF {raw.prf:.1f} Hz)"
        )
    if block_lines is None or block_lines >= raw.lines:
        image = focus_block(raw.echoes, plan)
        valid_lines = (plan.lines_before, raw.lines - plan.lines_after)
    else:
        spans = plan_blocks(raw.lines, block_lines, plan.lines_before, plan.lines_after)
        image = empty_block(raw.lines, raw.samples)
        image[: spans[0].keep_start] = 0
        for span in spans:
            block = focus_block(raw.echoes[span.start: span.stop], plan)
            image[span.keep_start: span.keep_stop] = block[
                span.keep_start - span.start: span.keep_stop - span.start
            ]
            del block
        image[spans[-1].keep_stop:] = 0
        valid_lines = (spans[0].keep_start, spans[-1].keep_stop)
    return make_slc(raw, plan, image, valid_lines)


def make_slc(
    raw: RawData, plan: FocusPlan, image: ComplexArray, valid_lines: tuple[int, int]
) -> SlcImage:
    """Wrap a focused block and its plan into an :class:`SlcImage`."""
    return SlcImage(
        missing=missing_record(raw),
        image=image,
        first_line_time=float(raw.line_times[0]) + plan.reference_delay,
        azimuth_time_interval=1.0 / raw.prf,
        slant_range_time=raw.slant_range_time,
        range_sampling_rate=raw.range_sampling_rate,
        radar_frequency=raw.radar_frequency,
        range_bandwidth=plan.range_bandwidth,
        azimuth_bandwidth=plan.azimuth_bandwidth,
        range_window=plan.range_window.label,
        azimuth_window=plan.azimuth_window.label,
        mode=raw.mode,
        swath=raw.swath,
        polarisation=raw.polarisation,
        orbit=raw.orbit,
        doppler_centroid=(plan.doppler_centroid,),
        fm_rate=(plan.fm_rate,),
        azimuth_steering_rate=raw.azimuth_steering_rate,
        burst_id=raw.burst_id,
        data_take_id=raw.data_take_id,
        valid_lines=valid_lines,
        valid_samples=plan.valid_samples,
        metadata={
            **raw.extra,
            "focus_algorithm": "range-doppler (hyperbolic RCMC, no SRC)",
            "rcmc_taps": plan.taps,
            "bistatic_delay_s": plan.reference_delay,
        },
    )
