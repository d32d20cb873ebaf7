"""Range cell migration correction (RCMC) in the range-Doppler domain.

After the azimuth FFT, the energy of a target at closest range ``R0`` sits, in Doppler bin
``f``, at range ``R0 / D(f)`` with the migration factor
``D(f) = sqrt(1 - (lambda f / (2 V_eff))^2)`` of the hyperbolic range model (Cumming &
Wong 2005, section 6.3). RCMC reads every range-Doppler line at ``r + shift(f, r)``
samples, ``shift = (R0 / D - R0) * 2 fs / c``, with a short windowed-sinc interpolator
(``taps`` points, Kaiser window, tabulated at ``resolution`` fractional positions).

The kernel optionally multiplies each corrected sample by ``weight * exp(1j phase)``
(the azimuth matched filter and window, :mod:`sar.focus.azimuth`), so RCMC and azimuth
filtering take a single pass over the block. The three parameters are given on range
nodes every ``node_step`` samples and linearly interpolated between nodes; the phase is
advanced by a phasor recurrence inside each node interval.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from sar.constants import SPEED_OF_LIGHT
from sar.errors import FocusError

FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
ComplexArray = npt.NDArray[np.complex64]

DEFAULT_TAPS = 8
TABLE_RESOLUTION = 2048


@lru_cache(maxsize=8)
def interpolation_table(
    taps: int = DEFAULT_TAPS, resolution: int = TABLE_RESOLUTION, beta: float = 4.5
) -> Float32Array:
    """Kaiser-windowed sinc weights, shape (resolution + 1, taps), float32.

    Row ``j`` interpolates at fractional offset ``x = j / resolution`` (0 <= x <= 1; the
    kernels interpolate linearly between rows)
    from samples ``floor(pos) - taps/2 + 1 ... floor(pos) + taps/2``; rows sum to 1.
    """
    if taps < 2 or taps % 2 or resolution < 2:
        raise FocusError(f"interpolator needs an even number of taps >= 2, got {taps}")
    x = np.arange(resolution + 1, dtype=np.float64)[:, None] / resolution
    k = np.arange(-taps // 2 + 1, taps // 2 + 1, dtype=np.float64)[None, :]
    d = x - k
    w = np.sinc(d) * np.i0(beta * np.sqrt(np.clip(1.0 - (d / (taps / 2)) ** 2, 0.0, None)))
    w /= np.i0(beta)
    w /= w.sum(axis=1, keepdims=True)
    return w.astype(np.float32)


def migration_factor(
    doppler: npt.ArrayLike, v_eff: npt.ArrayLike, wavelength: float
) -> FloatArray:
    """``D(f) = sqrt(1 - (lambda f / (2 V_eff))^2)`` (dimensionless)."""
    x = wavelength * np.asarray(doppler, dtype=np.float64) / (2.0 * np.asarray(v_eff))
    arg = 1.0 - x * x
    if np.any(arg <= 0.0):
        raise FocusError("Doppler frequency beyond 2 V_eff / lambda: PRF or velocity wrong")
    return np.sqrt(arg)


def migration_samples(
    doppler: npt.ArrayLike,
    slant_range: npt.ArrayLike,
    v_eff: npt.ArrayLike,
    wavelength: float,
    range_sampling_rate: float,
) -> FloatArray:
    """Range cell migration ``(R0 / D - R0) 2 fs / c`` in samples (>= 0)."""
    d = migration_factor(doppler, v_eff, wavelength)
    r0 = np.asarray(slant_range, dtype=np.float64)
    return r0 * (1.0 / d - 1.0) * 2.0 * range_sampling_rate / SPEED_OF_LIGHT


@numba.njit(parallel=True, cache=True, fastmath=True)
def _rcmc_rows(
    data: Float32Array,
    shift: FloatArray,
    phase: FloatArray,
    weight_re: FloatArray,
    weight_im: FloatArray,
    node_step: int,
    table: Float32Array,
    apply_filter: bool,
) -> None:  # pragma: no cover - jit
    # ``data`` is the complex64 block viewed as float32 [lines, 2 * samples]. Within a node
    # interval the migration is constant (its range derivative is ~1e-5 sample/sample), so
    # the interpolator is one fixed FIR over a contiguous run of samples.
    lines = data.shape[0]
    samples = data.shape[1] // 2
    taps = table.shape[1]
    half = taps // 2 - 1
    res = table.shape[0] - 1
    n_nodes = shift.shape[1]
    offset = 64
    padded = samples + 2 * offset
    for i in numba.prange(lines):
        row = np.zeros(2 * padded, dtype=np.float32)
        row[2 * offset: 2 * (offset + samples)] = data[i]
        out = data[i]
        gr = np.empty(node_step, dtype=np.float32)
        gi = np.empty(node_step, dtype=np.float32)
        tw = np.zeros(max(taps, 8), dtype=np.float32)
        for j in range(n_nodes - 1):
            r0 = j * node_step
            if r0 >= samples:
                break
            r1 = min(r0 + node_step, samples)
            sc = 0.5 * (shift[i, j] + shift[i, j + 1])
            whole = int(np.floor(sc))
            x = (sc - whole) * res
            k = int(x)
            if k >= res:
                k = res - 1
            a = np.float32(x - k)
            b1 = np.float32(1.0) - a
            start = offset + whole - half
            if start < -r0:
                start = -r0
            elif start > padded - taps - r1 + 1:
                start = padded - taps - r1 + 1
            for m in range(taps):
                tw[m] = b1 * table[k, m] + a * table[k + 1, m]
            t0 = tw[0]
            t1 = tw[1]
            t2 = tw[2]
            t3 = tw[3]
            t4 = tw[4]
            t5 = tw[5]
            t6 = tw[6]
            t7 = tw[7]
            if apply_filter:
                w0 = weight_re[i, j]
                dw = (weight_re[i, j + 1] - w0) / node_step
                v0 = weight_im[i, j]
                dv = (weight_im[i, j + 1] - v0) / node_step
                p0 = phase[i, j]
                dp = (phase[i, j + 1] - p0) / node_step
                c = np.cos(p0)
                s = np.sin(p0)
                cs = np.cos(dp)
                sn = np.sin(dp)
                for u in range(r1 - r0):
                    g = w0 + dw * u
                    h = v0 + dv * u
                    gr[u] = c * g - s * h
                    gi[u] = c * h + s * g
                    c, s = c * cs - s * sn, c * sn + s * cs
            for r in range(r0, r1):
                b = 2 * (start + r)
                if taps == 8:
                    are = (t0 * row[b] + t1 * row[b + 2] + t2 * row[b + 4] + t3 * row[b + 6]
                           + t4 * row[b + 8] + t5 * row[b + 10] + t6 * row[b + 12]
                           + t7 * row[b + 14])
                    aim = (t0 * row[b + 1] + t1 * row[b + 3] + t2 * row[b + 5]
                           + t3 * row[b + 7] + t4 * row[b + 9] + t5 * row[b + 11]
                           + t6 * row[b + 13] + t7 * row[b + 15])
                else:
                    are = np.float32(0.0)
                    aim = np.float32(0.0)
                    for m in range(taps):
                        are += tw[m] * row[b + 2 * m]
                        aim += tw[m] * row[b + 2 * m + 1]
                if apply_filter:
                    u = r - r0
                    out[2 * r] = are * gr[u] - aim * gi[u]
                    out[2 * r + 1] = are * gi[u] + aim * gr[u]
                else:
                    out[2 * r] = are
                    out[2 * r + 1] = aim


def node_count(samples: int, node_step: int) -> int:
    """Number of range nodes ``0, node_step, ...`` covering ``samples`` samples."""
    return (samples - 1) // node_step + 2


def correct_range_migration(
    data: ComplexArray,
    shift: FloatArray,
    node_step: int,
    *,
    phase: FloatArray | None = None,
    weight: npt.NDArray[np.floating[Any] | np.complexfloating[Any, Any]] | None = None,
    taps: int = DEFAULT_TAPS,
) -> ComplexArray:
    """RCMC (and optionally a filter) on a range-Doppler block, in place.

    Parameters
    ----------
    data
        complex64 [doppler bins, samples], C-contiguous; line ``i`` is Doppler bin ``i``.
    shift
        Migration in samples at the range nodes, float64 [bins, nodes]; sample ``r`` is
        read at ``r + shift``.
    node_step
        Samples between nodes (nodes at ``0, node_step, ...``, see :func:`node_count`).
    phase, weight
        Optional filter phase (rad) and real or complex weight at the nodes, same shape
        as ``shift``;
        both or neither.
    taps
        Interpolator length (even).

    Returns
    -------
    numpy.ndarray
        ``data``, corrected.
    """
    lines, samples = data.shape
    if data.dtype != np.complex64 or not data.flags.c_contiguous:
        raise FocusError("RCMC needs a C-contiguous complex64 block")
    n_nodes = node_count(samples, node_step)
    if shift.shape != (lines, n_nodes):
        raise FocusError(f"shift nodes must have shape {(lines, n_nodes)}, got {shift.shape}")
    apply = phase is not None or weight is not None
    if apply and (phase is None or weight is None or phase.shape != shift.shape
                  or weight.shape != shift.shape):
        raise FocusError("phase and weight nodes must both be given with the shift's shape")
    ph = phase if phase is not None else shift
    wt = np.asarray(weight) if weight is not None else shift
    _rcmc_rows(data.view(np.float32), np.ascontiguousarray(shift, dtype=np.float64),
               np.ascontiguousarray(ph, dtype=np.float64),
               np.ascontiguousarray(wt.real, dtype=np.float64),
               np.ascontiguousarray(np.imag(wt), dtype=np.float64), int(node_step),
               interpolation_table(taps), bool(apply))
    return data


def secondary_compression_phase(
    doppler: float,
    slant_range: float,
    v_eff: float,
    range_bandwidth: float,
    radar_frequency: float,
) -> float:
    """Peak phase error (rad) at the range band edge from omitting secondary range compression.

    The range-azimuth coupling adds a range chirp of rate
    ``K_src = 2 V^2 f0^3 D^3 / (c R0 f^2)`` (Cumming & Wong 2005, eq. 6.22); leaving it out
    gives a quadratic phase error ``pi (B / 2)^2 / K_src`` at the band edge. For Sentinel-1
    (``R0 ~ 850 km``, ``f ~ 850 Hz``, ``B = 56.5 MHz``) this is about 0.03 rad, far below
    the ``pi / 4`` of visible defocus, so the focusing chain does not apply SRC.
    """
    wavelength = SPEED_OF_LIGHT / radar_frequency
    d = float(migration_factor(doppler, v_eff, wavelength))
    if doppler == 0.0:
        return 0.0
    k_src = (2.0 * v_eff**2 * radar_frequency**3 * d**3
             / (SPEED_OF_LIGHT * slant_range * doppler**2))
    return float(np.pi * (0.5 * range_bandwidth) ** 2 / k_src)
