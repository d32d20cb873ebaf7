"""Azimuth processing of one range strip of an IW TOPS burst (steps 2-6 of
:mod:`sar.focus.tops.burst`).

A strip is held transposed (range bins x azimuth bins, azimuth contiguous) in the buffers
of a :class:`StripWorkspace` (one per worker thread, kept from burst to burst by a
:class:`~sar.focus.tops.workspace.FocusWorkspace`) with reusable FFTW plans;
:func:`strip_vectors` computes its phase vectors and :func:`process_strip` runs the chain
and writes the strip into the output burst.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sar.constants import SPEED_OF_LIGHT
from sar.focus.azimuth import antenna_gain
from sar.focus.fft import plan_effort
from sar.focus.tops import kernels as kern
from sar.focus.tops.setup import BurstSetup, raw_offsets_n
from sar.focus.windows import window_weights

try:  # pragma: no cover - depends on the environment
    import pyfftw

    HAVE_PYFFTW = True
except ImportError:  # pragma: no cover
    pyfftw = None
    HAVE_PYFFTW = False

ComplexArray = npt.NDArray[np.complex64]
Complex128Array = npt.NDArray[np.complex128]
FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------------------
# FFT workspaces: one per worker slot, reused from burst to burst (FocusWorkspace)
# --------------------------------------------------------------------------------------


ROW_BLOCK = 16
"""Rows (range bins) per cache block of the azimuth steps: 16 x N' x 8 B ~ 256 KiB."""


def _blocks(total: int, size: int) -> list[tuple[int, int]]:
    return [(lo, min(total, lo + size)) for lo in range(0, total, size)]


class StripWorkspace:
    """Aligned strip buffers and FFTW plans of one worker.

    ``shapes`` = (N', N'', strip span) of the burst's plan
    (:class:`sar.focus.tops.geometry.AzimuthPlan`); buffers and plans fit every burst of
    the same shapes. Exclusive to one thread while in use.

    ``a_rows``: (span, N') range (frequency) bins x mosaic/Doppler bins, the strip in
    transposed layout; ``lines``: (:data:`~sar.focus.tops.kernels.LOAD_LINES`, span) raw
    line block whose range FFT runs over contiguous rows before it is transposed into
    ``a_rows``; ``c_block``: (:data:`ROW_BLOCK`, N'') output range bins between the
    range-Doppler phase and the store. Buffers are C-contiguous with padded rows (numba
    vectorises only loops over C-contiguous arrays). The azimuth steps run on blocks of
    :data:`ROW_BLOCK` rows (each row is one range bin's azimuth signal), so FFT, chirp,
    FFT and phase screen of a block find it in the core's L2 cache; every block has its
    own FFTW plan (same shape, strides and alignment: planned once, executed without
    array checks). Only the range IFFT runs over the whole strip (along columns).
    """

    def __init__(self, shapes: tuple[int, int, int]) -> None:
        n1, n2, span = shapes
        self.a_rows = aligned_rows((span, n1))
        a = self.a_rows
        self.lines = aligned((kern.LOAD_LINES, span))
        self.lines_fwd = plan_fft(self.lines, 1, forward=True)
        self.a_blocks = _blocks(span, ROW_BLOCK)
        self.a_az_inv = [plan_fft(a[r0:r1, :n1], 1, forward=False) for r0, r1 in self.a_blocks]
        self.a_az_fwd = [plan_fft(a[r0:r1, :n1], 1, forward=True) for r0, r1 in self.a_blocks]
        self.a_rg_inv = plan_fft(a[:span, :n1], 0, forward=False)
        self.c_block = aligned_rows((ROW_BLOCK, n2))
        c = self.c_block
        self.c_head_inv = plan_fft(c[:, :n1], 1, forward=False)
        self.c_fwd = plan_fft(c[:, :n2], 1, forward=True)


def aligned_rows(shape: tuple[int, int]) -> ComplexArray:
    """Aligned C-contiguous complex64 block of ``shape[0]`` rows of at least ``shape[1]``
    samples; rows are padded so that the row stride is not a multiple of 1 KiB (column
    FFTs over power-of-two strides thrash the cache)."""
    rows, cols = shape
    pad = 8 if (cols * 8) % 1024 == 0 else 0
    if HAVE_PYFFTW:
        full: ComplexArray = pyfftw.empty_aligned((rows, cols + pad), dtype=np.complex64)
    else:  # pragma: no cover
        full = np.empty((rows, cols + pad), dtype=np.complex64)
    return full


def aligned(shape: tuple[int, int]) -> ComplexArray:
    """Aligned complex64 block of ``shape`` (a view of :func:`aligned_rows`)."""
    return aligned_rows(shape)[:, : shape[1]]


plan_lock = threading.Lock()
"""Serialises FFTW planning (the FFTW planner is not thread-safe)."""


def plan_fft(buf: ComplexArray, axis: int, *, forward: bool) -> Callable[[], None]:
    """In-place unnormalised FFT of ``buf`` along ``axis`` (FFTW plan or numpy fallback).

    The planner effort is :func:`sar.focus.fft.plan_effort` (at least ``FFTW_MEASURE``);
    wisdom loaded with :func:`sar.focus.fft.load_wisdom` makes planning instant. Planning
    holds :data:`plan_lock`, so workspaces may be created by several threads at once.
    """
    if HAVE_PYFFTW:
        with plan_lock:
            plan = pyfftw.FFTW(
                buf, buf, axes=(axis,),
                direction="FFTW_FORWARD" if forward else "FFTW_BACKWARD",
                flags=(plan_effort(), "FFTW_DESTROY_INPUT"), threads=1,
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


@dataclass(frozen=True)
class StripVectors:
    """Row vectors and phase-screen coefficients of one strip.

    ``rg_phase``: bulk 2-D phase (rad) per Doppler bin, quadratic in the cyclic
    range-frequency index ``i = (k - rg_start) mod span``; ``rd_phase``: range-Doppler phase
    (rad) per Doppler bin, quadratic in the output range bin of the strip.
    """

    ramp_in: Complex128Array
    ramp_mosaic: Complex128Array
    rg_phase: Quadratic
    rg_start: int
    rd_phase: Quadratic
    specan_in: Complex128Array
    specan_out: Complex128Array


Quadratic = tuple[FloatArray, FloatArray, FloatArray]
"""Coefficients ``(c0, c1, c2)`` of phases ``c0 + c1 i + c2 i^2`` (rad), one per column."""


def _quadratic_coefficients(
    phi0: FloatArray, phi1: FloatArray, phi2: FloatArray, h: float
) -> Quadratic:
    """``(c0, c1, c2)`` of the quadratic ``c0 + c1 i + c2 i^2`` through phases at indices
    0, h, 2h."""
    c2 = (phi0 - 2.0 * phi1 + phi2) / (2.0 * h * h)
    c1 = (phi1 - phi0) / h - c2 * h
    return phi0, c1, c2


def recursion_state(coefficients: Quadratic, i: float = 0.0) -> FloatArray:
    """Recursion state ``P = e^{j phi(i)}``, ``E = e^{j (phi(i + 1) - phi(i))}``,
    ``Q = e^{j 2 c2}`` of the quadratic ``phi`` at index ``i`` (float64, shape (6, cols))."""
    c0, c1, c2 = coefficients
    p = np.exp(1j * (c0 + c1 * i + c2 * i * i))
    e = np.exp(1j * (c1 + c2 * (2.0 * i + 1.0)))
    return kern.phase_state(p, e, np.exp(2j * c2))


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
        if setup.spectrum is not None:
            phi = phi - setup.spectrum.evaluate(tau, f)
        return np.asarray(phi, dtype=np.float64)

    rd = _quadratic_coefficients(per_bin(0.0), per_bin(hw), per_bin(2.0 * hw), max(hw, 0.5))
    # 5. window (processed band around each target's Doppler centroid) and SPECAN chirps
    l_c = (g.t_mid - setup.first_line_time) / setup.interval
    t2 = (m - m_z) * dt1
    delta = k_x * (t_z0 - t2)
    win = window_weights(setup.window, delta / setup.bandwidth)
    # antenna-pattern compensation: a target's Doppler offset d from its centroid sees the
    # two-way taper sinc^2(L_a alpha d / (2 v_s)) (docs/tops.md section 4)
    win = win / antenna_gain(float(g.scaling(tau_c)) * delta, setup.antenna_length, g.v_s)
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
        ramp_in=ramp_in, ramp_mosaic=ramp_mosaic, rg_phase=rg, rg_start=rg_start,
        rd_phase=rd, specan_in=specan_in, specan_out=specan_out,
    )  # fmt: skip


def process_strip(
    setup: BurstSetup, rc: ComplexArray, out: ComplexArray, first_bin: int, ws: StripWorkspace,
    prof: dict[str, float] | None = None,
) -> None:  # fmt: skip
    """Focus the output range bins ``first_bin + [0, width)`` of one burst into ``out``."""
    p = setup.plan
    n1 = p.n_mosaic
    width = min(p.strip_width, setup.samples_out - first_bin)
    clock = _Clock(prof)
    vec = strip_vectors(setup, first_bin, width)
    clock.tick("phase vectors")
    a, c = ws.a_rows, ws.c_block
    lines = p.n_in
    first = first_bin - p.range_halo_left
    # 1. per block of raw lines: window + deramp, range FFT (contiguous rows), transpose
    #    into the strip; zero padding to N'
    block = ws.lines
    for n0 in range(0, lines, kern.LOAD_LINES):
        kern.copy_window(rc, first, n0, block, vec.ramp_in)
        clock.tick("load + deramp")
        ws.lines_fwd()
        clock.tick("range FFT (lines)")
        kern.transpose_into(block, a, n0, min(kern.LOAD_LINES, lines - n0))
        clock.tick("load + deramp")
    kern.zero_columns(a, lines, n1)
    clock.tick("load + deramp")
    # 2. per block of range-frequency rows, while it is in cache: mosaic (IFFT, chirp),
    #    FFT to Doppler, bulk RCMC/SRC/matched filter; then the range IFFT of the strip.
    #    Rows k >= rg_start are i = k - rg_start of the screen, rows below wrap around.
    rg_a = recursion_state(vec.rg_phase)
    rg_b = recursion_state(vec.rg_phase, float(p.strip_span - vec.rg_start))
    rd_state = recursion_state(vec.rd_phase)
    clock.tick("phase vectors")
    for k, (r0, r1) in enumerate(ws.a_blocks):
        ws.a_az_inv[k]()
        clock.tick("azimuth FFT N' (mosaic)")
        kern.multiply_columns(a[r0:r1], vec.ramp_mosaic)
        clock.tick("chirp multiplies")
        ws.a_az_fwd[k]()
        clock.tick("azimuth FFT N' (to Doppler)")
        kern.quadratic_phase_block(a, r0, r1, vec.rg_start, rg_a, rg_b)
        clock.tick("2-D phase (RCMC/SRC/MF)")
    ws.a_rg_inv()
    clock.tick("range IFFT (strip)")
    # 3. per block of output bins: range-Doppler phase, IFFT, window, SPECAN, reramp + store
    for r0 in range(0, width, ROW_BLOCK):
        r1 = min(p.strip_span - p.range_halo_left, r0 + ROW_BLOCK)
        kern.quadratic_phase_rows(a, c, p.range_halo_left, r0, r1, rd_state)
        clock.tick("range-Doppler phase")
        ws.c_head_inv()
        clock.tick("azimuth FFT N' (to window domain)")
        kern.weight_columns_pad(c, vec.specan_in, p.n_specan)
        clock.tick("chirp multiplies")
        ws.c_fwd()
        clock.tick("azimuth FFT N'' (SPECAN)")
        kern.store_block(c, out, first_bin + r0, min(width, r1) - r0, vec.specan_out)
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
