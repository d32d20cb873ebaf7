"""IW TOPS burst focusing: raw echoes of one burst to an SLC on the common zero-Doppler grid.

Algorithm (derived for eoport from the TOPS burst model of tops-notes sections 1-3; the
steps are those of the baseband-azimuth-scaling family, Prats et al., TGRS 48(2), 2010,
and SPECAN, but every step here is an exact identity for chirp signals, so only the
hyperbolic range model is an approximation). Per raw line ``n`` at ``s_n`` seconds from
the steering centre and per range strip:

1. Range compression (:func:`sar.focus.replica.make_range_filter`), whole lines.
2. Mosaicking (unfolding): ``w = r (*) exp(-j pi k_s' t^2)``, a chirp convolution
   computed as deramp, inverse FFT of length N', chirp multiply. ``w`` holds the whole
   unfolded Doppler band (``PRF' = k_s' N' / PRF >= k_s T_B + PRF``) in a short time
   window: no L-times upsampling of the burst.
3. Azimuth FFT: the exact full-band Doppler spectrum ``W(f) = R(f) C(f)``.
4. Range FFT of the strip, bulk RCMC + SRC + matched filter of the strip centre range in
   the 2-D frequency domain, range IFFT (range migration varies little within a strip).
5. Per range bin: hyperbolic matched filter ``exp(j 4 pi R0 (D(f) - 1) / lambda)``
   (differential to the bulk one), bistatic time shift ``tau / 2``, and a residual chirp
   ``exp(j pi f^2 / k_x)`` with ``k_x = k_t``: every target is left as a chirp of the
   TOPS Doppler-centroid rate centred on one common time, the TN-deramped domain.
6. Azimuth IFFT, azimuth window over the processed bandwidth (exact: this domain is the
   spectrum of the TN-deramped output), then SPECAN: chirp multiply and FFT of length N''
   whose output spacing is exactly the common azimuth time interval, on a grid aligned
   to multiples of it. A final chirp multiply reramps the image.

Azimuth FFT work is 3 transforms of N' (~1.3 N) and one of N'' (~1.6 N) per column.
The Doppler centroid and FM-rate polynomials stored in the product make the TN deramp
function (:mod:`sar.focus.tops_deramp`) exact for this output.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sar.constants import SPEED_OF_LIGHT
from sar.errors import FocusError
from sar.focus import tops_kernels as kern
from sar.focus.doppler import fit_polynomial
from sar.focus.model import RawData
from sar.focus.replica import chirp_centre_frequency, make_range_filter, replica_samples
from sar.focus.tops_geometry import (
    IW_AZIMUTH_TIME_INTERVAL,
    PROCESSED_BANDWIDTH,
    AzimuthPlan,
    BurstGeometry,
    burst_geometry,
    plan_azimuth,
)
from sar.focus.windows import WindowSpec, parse_window, window_weights
from sar.product.model import Polynomial, SlcImage

try:  # pragma: no cover - depends on the environment
    import pyfftw

    HAVE_PYFFTW = True
except ImportError:  # pragma: no cover
    pyfftw = None
    HAVE_PYFFTW = False

ComplexArray = npt.NDArray[np.complex64]
Complex128Array = npt.NDArray[np.complex128]
FloatArray = npt.NDArray[np.float64]

DEFAULT_STRIP_WIDTH = 768
RANGE_BLOCK_LINES = 32
_MIN_LINES = 64


# --------------------------------------------------------------------------------------
# FFT workspaces: one per worker slot, reused from burst to burst
# --------------------------------------------------------------------------------------


class _Workspace:
    """Aligned transposed strip buffers and FFTW plans of one worker.

    ``a``: (span, N') range bins x mosaic/Doppler bins; ``b``: (width, N'); ``c``:
    (width, N''). Azimuth transforms run along contiguous rows (axis 1).
    """

    def __init__(self, shapes: tuple[int, ...]) -> None:
        _, n1, n2, span, width, _ = shapes
        self.a = _aligned((span, n1))
        self.b = _aligned((width, n1))
        self.c = _aligned((width, n2))
        self.a_az_inv = _plan(self.a, 1, forward=False)
        self.a_az_fwd = _plan(self.a, 1, forward=True)
        self.a_rg_fwd = _plan(self.a, 0, forward=True)
        self.a_rg_inv = _plan(self.a, 0, forward=False)
        self.b_az_inv = _plan(self.b, 1, forward=False)
        self.c_az_fwd = _plan(self.c, 1, forward=True)


def _aligned(shape: tuple[int, int]) -> ComplexArray:
    """Aligned complex64 block; rows padded so the row stride is not a multiple of 1 KiB
    (column FFTs over power-of-two strides thrash the cache)."""
    rows, cols = shape
    pad = 8 if (cols * 8) % 1024 == 0 else 0
    if HAVE_PYFFTW:
        full: ComplexArray = pyfftw.empty_aligned((rows, cols + pad), dtype=np.complex64)
    else:  # pragma: no cover
        full = np.empty((rows, cols + pad), dtype=np.complex64)
    return full[:, :cols]


def _plan(buf: ComplexArray, axis: int, *, forward: bool) -> Callable[[], None]:
    """In-place unnormalised FFT of ``buf`` along ``axis`` (FFTW plan or numpy fallback)."""
    if HAVE_PYFFTW:
        plan = pyfftw.FFTW(
            buf, buf, axes=(axis,), direction="FFTW_FORWARD" if forward else "FFTW_BACKWARD",
            flags=("FFTW_MEASURE", "FFTW_DESTROY_INPUT"), threads=1,
        )  # fmt: skip

        def run() -> None:
            plan.execute()

        return run

    def run_numpy() -> None:  # pragma: no cover - without pyfftw
        if forward:
            buf[...] = np.fft.fft(buf, axis=axis)
        else:
            buf[...] = np.fft.ifft(buf, axis=axis, norm="forward")

    return run_numpy


_workspaces: dict[tuple[int, tuple[int, ...]], _Workspace] = {}
_ws_lock = threading.Lock()


def _workspace(slot: int, shapes: tuple[int, ...]) -> _Workspace:
    key = (slot, shapes)
    with _ws_lock:
        ws = _workspaces.get(key)
        if ws is None:
            if len(_workspaces) > 16:
                _workspaces.clear()
            ws = _Workspace(shapes)
            _workspaces[key] = ws
        return ws


def clear_workspaces() -> None:
    """Drop cached buffers and FFT plans."""
    with _ws_lock:
        _workspaces.clear()


# --------------------------------------------------------------------------------------
# Burst set-up
# --------------------------------------------------------------------------------------


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
    first_idx = math.floor((t_mid + float(lo.min())) / interval)
    last_idx = math.ceil((t_mid + float(hi.max())) / interval)
    first = first_idx * interval
    lines = last_idx - first_idx + 1
    # parity: put the burst centre (l = lines / 2) as close as possible to the centre of
    # the Doppler history so that the TN reference offset stays small
    eta_c0 = float(offset[0])
    best = min((abs(first + 0.5 * m * interval - t_mid - eta_c0), m) for m in (lines, lines + 1))
    lines = best[1]
    v0 = max(0, math.ceil((t_mid + float(v_lo.max()) - first) / interval))
    v1 = min(lines, math.floor((t_mid + float(v_hi.min()) - first) / interval) + 1)
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
    rc: ComplexArray | None = None,
) -> BurstSetup:
    """Validate ``raw`` and fix the processing parameters of one burst.

    ``rc`` (range-compressed echoes) is needed only to estimate the Doppler centroid.
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
        doppler_centroid = 0.0 if rc is None else estimate_raw_doppler(rc, raw, geometry)
    tau_nodes = np.linspace(tau0, tau_last, 5)
    shift = 0.5 * tau_nodes if bistatic else np.zeros_like(tau_nodes)
    doppler_eff = doppler_centroid - geometry.k_s * shift
    first, lines, _ = _output_grid(
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
        bistatic=bistatic,
    )  # fmt: skip


def raw_offsets(raw: RawData) -> FloatArray:
    """Raw line times relative to the steering centre (middle of the burst), s."""
    n = raw.lines
    return (np.arange(n, dtype=np.float64) - 0.5 * (n - 1)) / raw.prf


def estimate_raw_doppler(rc: ComplexArray, raw: RawData, geometry: BurstGeometry) -> float:
    """Doppler centroid of the steering-deramped echoes ``f_u0`` (Hz), lag-one correlation.

    The echoes deramped by ``exp(-j pi k_s s^2)`` have a stationary spectrum centred on the
    beam Doppler at the steering centre (Madsen's correlation Doppler estimator).
    """
    s = raw_offsets(raw)
    ramp = np.exp(-1j * np.pi * geometry.k_s * s * s)
    corr, power = kern.lag_one_sum(rc, ramp, 8)
    if not power > 0.0 or abs(corr) == 0.0:
        return 0.0
    return float(np.angle(corr) * raw.prf / (2.0 * np.pi))


# --------------------------------------------------------------------------------------
# Range compression
# --------------------------------------------------------------------------------------


def _compress_block(
    raw: RawData, filt: ComplexArray, rc: ComplexArray, first: int, ws: _RangeWorkspace
) -> None:
    last = min(raw.lines, first + RANGE_BLOCK_LINES)
    buf = ws.rng_buf
    m = last - first
    buf[:m] = raw.echoes[first:last]
    if m < buf.shape[0]:
        buf[m:] = 0
    ws.rng_fwd()
    buf *= filt[None, :]
    ws.rng_inv()
    rc[first:last] = buf[:m]


# --------------------------------------------------------------------------------------
# Strip processing
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StripVectors:
    """Row vectors and recursion coefficients of one strip."""

    ramp_in: Complex128Array
    ramp_mosaic: Complex128Array
    rg_a0: Complex128Array
    rg_a1: Complex128Array
    rg_a2: Complex128Array
    rg_start: int
    rd_a0: Complex128Array
    rd_a1: Complex128Array
    rd_a2: Complex128Array
    specan_in: Complex128Array
    specan_out: Complex128Array


def _quadratic_coefficients(
    phi0: FloatArray, phi1: FloatArray, phi2: FloatArray, h: float
) -> tuple[Complex128Array, Complex128Array, Complex128Array]:
    """Recursion factors of the quadratic through phases at indices 0, h, 2h."""
    c2 = (phi0 - 2.0 * phi1 + phi2) / (2.0 * h * h)
    c1 = (phi1 - phi0) / h - c2 * h
    return np.exp(1j * phi0), np.exp(1j * (c1 + c2)), np.exp(2j * c2)


def strip_vectors(setup: BurstSetup, first_bin: int, width: int) -> StripVectors:
    """Compute the phase vectors of the strip whose output bins are ``first_bin + [0, width)``.

    All phases follow the derivation in the module docstring; times are relative to the
    steering centre ``t_mid``.
    """
    g = setup.geometry
    p = setup.plan
    lam = g.wavelength
    c = SPEED_OF_LIGHT
    prf = setup.prf
    n = p.n_in
    n1 = p.n_mosaic
    n2 = p.n_specan
    fs = setup.fs
    span = p.strip_span

    centre = first_bin + 0.5 * (width - 1)
    tau_c = setup.tau0 + centre / fs
    r_ref = 0.5 * c * tau_c
    v_ref = float(g.effective_velocity(tau_c))
    k_t = float(g.centroid_rate(tau_c))
    # mosaicking rate: exact output spacing with k_x = k_t at the strip centre
    k_m = k_t * n2 * setup.interval * prf / n1
    dt1 = prf / (k_m * n1)  # sample spacing of the mosaicked domain
    prf1 = 1.0 / dt1
    k_x = prf1 / (n2 * setup.interval)
    # 1. deramp of the raw lines, with the (-1)^n that centres the mosaic window
    s = raw_offsets_n(n, prf)
    m_c = 0.5 * n1
    n_c = 0.5 * (n - 1)
    ramp_in = np.exp(-1j * np.pi * k_m * s * s - 2j * np.pi * m_c * np.arange(n) / n1)
    # 2. chirp after the inverse FFT
    m = np.arange(n1, dtype=np.float64)
    t1 = (m - m_c) * dt1
    ramp_mosaic = np.exp(-1j * np.pi * k_m * t1 * t1 - 2j * np.pi * (m - m_c) * n_c / n1)
    # Doppler frequency of each bin, unwrapped around the burst-centre beam Doppler
    f_dc = float(setup.doppler_effective(tau_c))
    k = np.arange(n1, dtype=np.float64)
    f = k / n1 * prf1
    f = f_dc + np.mod(f - f_dc + 0.5 * prf1, prf1) - 0.5 * prf1
    # 3. bulk 2-D phase of the strip centre range (RCMC, SRC, azimuth compression)
    q = np.arange(span, dtype=np.float64)
    f_tau = q / span * fs
    fc = setup.chirp_centre
    f_tau = fc + np.mod(f_tau - fc + 0.5 * fs, fs) - 0.5 * fs
    rg_start = int(np.argmin(f_tau))
    f_lo = float(f_tau[rg_start])
    g_f = (c * f / (2.0 * v_ref)) ** 2
    h = 0.5 * (span - 1)

    def bulk(ft: float) -> FloatArray:
        big_f = setup.f0 + ft
        return np.asarray(
            4.0 * np.pi * r_ref / c * (np.sqrt(big_f * big_f - g_f) - big_f), dtype=np.float64
        )

    step = fs / span
    rg = _quadratic_coefficients(bulk(f_lo), bulk(f_lo + h * step), bulk(f_lo + 2 * h * step), h)
    # 4. per-bin hyperbolic filter, bistatic shift, residual chirp, window-domain origin
    t_z0 = -f_dc / g.k_s * (k_t / k_x)
    m_z = m_c - t_z0 / dt1
    d_ref = np.sqrt(1.0 - (lam * f / (2.0 * v_ref)) ** 2)
    row = (
        -4.0 * np.pi / lam * r_ref * (d_ref - 1.0)
        + np.pi * f * f * (1.0 / k_x - 1.0 / k_m)
        + 2.0 * np.pi * f * dt1 * (m_c - m_z)
    )
    hw = 0.5 * (width - 1)

    def per_bin(i: float) -> FloatArray:
        tau = setup.tau0 + (first_bin + i) / fs
        r0 = 0.5 * c * tau
        v = float(g.effective_velocity(tau))
        d = np.sqrt(1.0 - (lam * f / (2.0 * v)) ** 2)
        phi = 4.0 * np.pi / lam * r0 * (d - 1.0) + row
        if setup.bistatic:
            phi = phi - np.pi * f * tau + 0.5 * np.pi / lam * (v * v / r0) * tau * tau
        return np.asarray(phi, dtype=np.float64)

    rd = _quadratic_coefficients(per_bin(0.0), per_bin(hw), per_bin(2.0 * hw), max(hw, 0.5))
    # 5. window (processed band around each target's Doppler centroid) and SPECAN chirps
    l_c = (g.t_mid - setup.first_line_time) / setup.interval
    t2 = (m - m_z) * dt1
    delta = k_x * (t_z0 - t2)
    win = window_weights(setup.window, delta / setup.bandwidth)
    specan_in = np.asarray(
        win * np.exp(1j * np.pi * k_x * t2 * t2 + 2j * np.pi * l_c * m / n2), dtype=np.complex128
    )
    ll = np.arange(setup.lines_out, dtype=np.float64)
    eta = (ll - l_c) * setup.interval
    scale = 1.0 / (float(n1) * float(span) * float(n2))
    specan_out = np.asarray(
        scale * np.exp(2j * np.pi * (ll - l_c) * m_z / n2 + 1j * np.pi * k_x * eta * eta),
        dtype=np.complex128,
    )
    return StripVectors(
        ramp_in=ramp_in, ramp_mosaic=ramp_mosaic, rg_a0=rg[0], rg_a1=rg[1], rg_a2=rg[2],
        rg_start=rg_start, rd_a0=rd[0], rd_a1=rd[1], rd_a2=rd[2], specan_in=specan_in,
        specan_out=specan_out,
    )  # fmt: skip


def raw_offsets_n(n: int, prf: float) -> FloatArray:
    """Offsets of ``n`` raw lines from their centre, s."""
    return (np.arange(n, dtype=np.float64) - 0.5 * (n - 1)) / prf


def _process_strip(
    setup: BurstSetup, rc: ComplexArray, out: ComplexArray, first_bin: int, ws: _Workspace,
    prof: dict[str, float] | None = None,
) -> None:  # fmt: skip
    p = setup.plan
    width = min(p.strip_width, setup.samples_out - first_bin)
    clock = _Clock(prof)
    vec = strip_vectors(setup, first_bin, width)
    clock.tick("phase vectors")
    kern.load_transposed(rc, first_bin - p.range_halo_left, ws.a, vec.ramp_in)
    clock.tick("load + deramp")
    ws.a_az_inv()
    clock.tick("azimuth FFT N' (mosaic)")
    kern.multiply_columns(ws.a, vec.ramp_mosaic)
    clock.tick("chirp multiplies")
    ws.a_az_fwd()
    clock.tick("azimuth FFT N' (to Doppler)")
    ws.a_rg_fwd()
    clock.tick("range FFT (strip)")
    kern.quadratic_phase_down(
        ws.a, ws.a, 0, p.strip_span, vec.rg_start, vec.rg_a0, vec.rg_a1, vec.rg_a2
    )
    clock.tick("2-D phase (RCMC/SRC/MF)")
    ws.a_rg_inv()
    clock.tick("range FFT (strip)")
    kern.quadratic_phase_down(
        ws.a, ws.b, p.range_halo_left, p.strip_width, 0, vec.rd_a0, vec.rd_a1, vec.rd_a2
    )
    clock.tick("range-Doppler phase")
    ws.b_az_inv()
    clock.tick("azimuth FFT N' (to window domain)")
    kern.copy_columns_weighted(ws.b, ws.c, vec.specan_in)
    clock.tick("chirp multiplies")
    ws.c_az_fwd()
    clock.tick("azimuth FFT N'' (SPECAN)")
    kern.store_transposed(ws.c, out, first_bin, width, vec.specan_out)
    clock.tick("reramp + store")


class _Clock:
    """Accumulate seconds per named stage into ``prof`` (no-op when ``prof`` is None)."""

    def __init__(self, prof: dict[str, float] | None) -> None:
        self._prof = prof
        self._now = time.perf_counter
        self._last = self._now() if prof is not None else 0.0

    def tick(self, name: str) -> None:
        if self._prof is None:
            return
        now = self._now()
        self._prof[name] = self._prof.get(name, 0.0) + now - self._last
        self._last = now


# --------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------


def _run_slots(workers: int, job: Callable[[int], None]) -> None:
    if workers == 1:
        job(0)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(job, w) for w in range(workers)]
        for fut in futures:
            fut.result()


def focus_burst(
    raw: RawData,
    *,
    range_window: WindowSpec | str = "hamming:0.75",
    azimuth_window: WindowSpec | str | None = None,
    output_azimuth_time_interval: float = IW_AZIMUTH_TIME_INTERVAL,
    azimuth_bandwidth: float | None = None,
    doppler_centroid: float | None = None,
    strip_width: int = DEFAULT_STRIP_WIDTH,
    workers: int | None = None,
    bistatic: bool = True,
    timings: dict[str, float] | None = None,
    profile: dict[str, float] | None = None,
) -> SlcImage:
    """Focus one IW TOPS burst into an SLC on the common zero-Doppler grid.

    Parameters
    ----------
    raw
        One burst of raw echoes (``azimuth_steering_rate`` in rad/s, > 0).
    range_window
        Range window over the chirp bandwidth (S1 IPF: Hamming 0.75).
    azimuth_window
        Azimuth window over the processed bandwidth; ``None``: Hamming 0.70 for IW1,
        0.75 otherwise (S1 annotation).
    output_azimuth_time_interval
        Output line spacing, s (2.0555563 ms, common to IW1-3); line times are integer
        multiples of it, so bursts of all sub-swaths share one grid.
    azimuth_bandwidth
        Processed Doppler bandwidth, Hz; ``None``: 327/313/314 Hz for IW1/2/3.
    doppler_centroid
        Doppler centroid of the raw echoes at the steering centre, Hz; ``None``
        estimates it (lag-one correlation of the steering-deramped echoes).
    strip_width
        Range samples per azimuth strip (memory and cache footprint).
    workers
        Threads (strips are processed in parallel); default ``os.cpu_count()``.
    bistatic
        Tag each echo with the satellite position at the mid-point of its flight time
        (time shift ``tau / 2`` per range, phase of the bistatic range excess).
    timings
        If given, filled with wall-clock seconds of range compression, set-up, azimuth
        processing and total.
    profile
        If given, filled with thread-seconds per step of the strip processing (summed
        over workers).

    Returns
    -------
    SlcImage
        complex64 burst, ``doppler_centroid``/``fm_rate`` polynomials that make the TN
        deramp (:func:`sar.focus.tops_deramp.deramp_burst`) exact, valid lines where the
        whole processed bandwidth was observed, valid samples fully range compressed.

    Raises
    ------
    FocusError
        On inconsistent input (too few lines, non-TOPS data, bad windows or bandwidth).
    """
    t_start = time.perf_counter()
    _check_raw(raw)
    workers = max(1, int(workers if workers is not None else (os.cpu_count() or 1)))
    fs = raw.range_sampling_rate
    samples = raw.samples
    filt = make_range_filter(raw.chirp, fs, samples, range_window)
    rc = np.empty((raw.lines, samples), dtype=np.complex64)
    blocks = list(range(0, raw.lines, RANGE_BLOCK_LINES))

    def range_job(slot: int) -> None:
        if not blocks[slot::workers]:
            return
        ws = _range_workspace(slot, samples)
        for first in blocks[slot::workers]:
            _compress_block(raw, filt, rc, first, ws)

    _run_slots(workers, range_job)
    t_range = time.perf_counter()
    setup = setup_burst(
        raw, range_window=range_window, azimuth_window=azimuth_window,
        azimuth_bandwidth=azimuth_bandwidth,
        output_azimuth_time_interval=output_azimuth_time_interval,
        doppler_centroid=doppler_centroid, strip_width=strip_width, bistatic=bistatic, rc=rc,
    )  # fmt: skip
    p = setup.plan
    shapes = (p.n_in, p.n_mosaic, p.n_specan, p.strip_span, p.strip_width, samples)
    out = np.empty((setup.lines_out, setup.samples_out), dtype=np.complex64)
    strips = list(range(0, setup.samples_out, p.strip_width))

    profiles: list[dict[str, float]] = [{} for _ in range(workers)]

    def strip_job(slot: int) -> None:
        if not strips[slot::workers]:
            return
        ws = _workspace(slot, shapes)
        prof = profiles[slot] if profile is not None else None
        for first_bin in strips[slot::workers]:
            _process_strip(setup, rc, out, first_bin, ws, prof)

    t_setup = time.perf_counter()
    _run_slots(workers, strip_job)
    t_az = time.perf_counter()
    slc = make_product(raw, setup, out, range_window)
    if profile is not None:
        for prof in profiles:
            for name, sec in prof.items():
                profile[name] = profile.get(name, 0.0) + sec
    if timings is not None:
        timings.update(
            range_compression=t_range - t_start, setup=t_setup - t_range,
            azimuth=t_az - t_setup, total=time.perf_counter() - t_start,
        )  # fmt: skip
    return slc


def _range_workspace(slot: int, samples: int) -> _RangeWorkspace:
    key = (slot, samples)
    with _ws_lock:
        ws = _range_ws.get(key)
        if ws is None:
            if len(_range_ws) > 16:
                _range_ws.clear()
            ws = _RangeWorkspace(samples)
            _range_ws[key] = ws
        return ws


class _RangeWorkspace:
    """Line-block buffer and range FFT plans of one worker."""

    def __init__(self, samples: int) -> None:
        self.rng_buf = _aligned((RANGE_BLOCK_LINES, samples))
        self.rng_fwd = _plan(self.rng_buf, 1, forward=True)
        self.rng_inv = _plan(self.rng_buf, 1, forward=False)


_range_ws: dict[tuple[int, int], _RangeWorkspace] = {}


def _check_raw(raw: RawData) -> None:
    echoes = raw.echoes
    if echoes.ndim != 2 or echoes.dtype != np.complex64:
        raise FocusError("raw echoes must be a 2-D complex64 array")
    if raw.lines < _MIN_LINES:
        raise FocusError(f"a TOPS burst needs at least {_MIN_LINES} lines, got {raw.lines}")
    if not raw.prf > 0.0 or not raw.range_sampling_rate > 0.0:
        raise FocusError("PRF and range sampling rate must be positive")
    times = np.asarray(raw.line_times, dtype=np.float64)
    if times.shape != (raw.lines,):
        raise FocusError("one line time per echo line is required")
    dt = np.diff(times)
    if np.any(np.abs(dt * raw.prf - 1.0) > 1e-3):
        raise FocusError("line times must be uniformly spaced at 1 / PRF within a burst")
    if not raw.azimuth_steering_rate > 0.0:
        raise FocusError(
            f"azimuth_steering_rate must be positive for TOPS, got {raw.azimuth_steering_rate}"
        )


def make_product(
    raw: RawData, setup: BurstSetup, image: ComplexArray, range_window: WindowSpec | str
) -> SlcImage:
    """Wrap a focused burst and its TN metadata into an :class:`SlcImage`."""
    g = setup.geometry
    fs = setup.fs
    tau0 = setup.tau0
    tau_last = tau0 + (setup.samples_out - 1) / fs
    tau = np.linspace(tau0, tau_last, 9)
    interval = setup.interval
    centre_time = setup.first_line_time + 0.5 * setup.lines_out * interval
    ka = g.fm_rate(tau)
    fm = fit_polynomial(centre_time, tau, ka, 2)
    # Doppler centroid making the TN phase exact: f_DC(tau) = f_eff(tau) + k_s (D + f0/ka0)
    ka0 = float(fm.evaluate(tau0))
    alpha0 = 1.0 - g.k_s / ka0
    dd = centre_time - g.t_mid
    f_eff0 = float(setup.doppler_effective(tau0))
    f_dc0 = (f_eff0 + g.k_s * dd) / alpha0
    slope = -0.5 * g.k_s if setup.bistatic else 0.0
    dc = Polynomial(azimuth_time=centre_time, t0=tau0, coefficients=(f_dc0, slope))
    _, _, valid = _output_grid(
        g, raw, tau, setup.doppler_effective(tau), interval, setup.bandwidth, setup.bistatic
    )
    halo = setup.plan.range_halo_right
    rng_spec = parse_window(range_window)
    metadata: dict[str, str | int | float] = {
        "processor": "eoport sar.focus.tops",
        "tops_steering_doppler_rate": g.k_s,
        "tops_raw_doppler_centroid": setup.doppler_raw,
        "tops_steering_centre_time": g.t_mid,
        "tops_mosaic_length": setup.plan.n_mosaic,
        "tops_specan_length": setup.plan.n_specan,
        "bistatic_correction": int(setup.bistatic),
    }
    metadata.update(raw.extra)
    return SlcImage(
        image=image, first_line_time=setup.first_line_time, azimuth_time_interval=interval,
        slant_range_time=tau0, range_sampling_rate=fs, radar_frequency=setup.f0,
        range_bandwidth=raw.chirp.bandwidth, azimuth_bandwidth=setup.bandwidth,
        range_window=rng_spec.label, azimuth_window=setup.window.label, mode=raw.mode,
        swath=raw.swath, polarisation=raw.polarisation, orbit=raw.orbit,
        doppler_centroid=(dc,), fm_rate=(fm,), azimuth_steering_rate=raw.azimuth_steering_rate,
        burst_id=raw.burst_id, data_take_id=raw.data_take_id, valid_lines=valid,
        valid_samples=(0, max(0, setup.samples_out - halo)), metadata=metadata,
    )  # fmt: skip
