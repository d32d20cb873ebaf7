"""Azimuth compression in the range-Doppler domain.

A target at closest slant range ``R0`` and zero-Doppler time ``eta0`` has, after RCMC,
the azimuth spectrum ``exp(-4j pi R0 D(f) / lambda - 2j pi f eta0)`` with
``D(f) = sqrt(1 - (lambda f / (2 V_eff))^2)`` (principle of stationary phase on the
hyperbolic range ``sqrt(R0^2 + V_eff^2 eta^2)``; Cumming & Wong 2005, section 6.4). The
matched filter ``exp(4j pi R0 (D(f) - 1) / lambda)`` removes all but the zero-Doppler
phase ``-4 pi R0 / lambda``, kept in the SLC as usual for interferometry. A linear phase
``-2 pi f delta`` moves the output by ``delta`` seconds (used for the bistatic delay).

The filter is weighted by the azimuth window over the processed bandwidth ``B``,
centred on the Doppler centroid ``f_dc``; each FFT bin stands for the frequency in
``[f_dc - PRF/2, f_dc + PRF/2)``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from sar.constants import SPEED_OF_LIGHT
from sar.errors import FocusError
from sar.focus.rcmc import migration_factor
from sar.focus.windows import WindowSpec, parse_window, window_weights

FloatArray = npt.NDArray[np.float64]


def azimuth_frequencies(n: int, prf: float, doppler_centroid: npt.ArrayLike) -> FloatArray:
    """Doppler frequency of each azimuth FFT bin at each range node, Hz.

    Parameters
    ----------
    n
        Azimuth FFT length.
    prf
        Hz.
    doppler_centroid
        Centroid at the range nodes, Hz, shape (nodes,).

    Returns
    -------
    numpy.ndarray
        [n, nodes], bin ``i`` unwrapped into ``[f_dc - PRF/2, f_dc + PRF/2)``.
    """
    fdc = np.asarray(doppler_centroid, dtype=np.float64)[None, :]
    fbin = np.fft.fftfreq(n, 1.0 / prf)[:, None]
    return fdc + np.mod(fbin - fdc + 0.5 * prf, prf) - 0.5 * prf


def azimuth_filter_nodes(
    n: int,
    prf: float,
    slant_range: npt.ArrayLike,
    v_eff: npt.ArrayLike,
    doppler_centroid: npt.ArrayLike,
    delay: npt.ArrayLike,
    *,
    window: WindowSpec | str,
    bandwidth: float,
    wavelength: float,
    range_sampling_rate: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """RCMC shift, matched-filter phase and window weight on the range nodes.

    Parameters
    ----------
    n
        Azimuth FFT length (the weight folds its ``1 / n``).
    prf
        Hz.
    slant_range
        One-way slant range ``R0`` at each node, m, shape (nodes,).
    v_eff
        Effective velocity at each node, m/s.
    doppler_centroid
        Centroid at each node, Hz.
    delay
        Output time shift at each node, s (positive: later lines).
    window
        Azimuth window.
    bandwidth
        Processed azimuth bandwidth, Hz (<= PRF).
    wavelength
        m.
    range_sampling_rate
        Hz.

    Returns
    -------
    tuple of numpy.ndarray
        ``shift`` (samples), ``phase`` (rad), ``weight``; each [n, nodes].
    """
    if not 0.0 < bandwidth <= prf:
        raise FocusError(f"azimuth bandwidth {bandwidth} Hz must be in (0, PRF = {prf} Hz]")
    spec = parse_window(window)
    r0 = np.asarray(slant_range, dtype=np.float64)[None, :]
    fdc = np.asarray(doppler_centroid, dtype=np.float64)
    f = azimuth_frequencies(n, prf, fdc)
    d = migration_factor(f, np.asarray(v_eff, dtype=np.float64)[None, :], wavelength)
    shift = r0 * (1.0 / d - 1.0) * (2.0 * range_sampling_rate / SPEED_OF_LIGHT)
    dly = np.asarray(delay, dtype=np.float64)[None, :]
    phase = (4.0 * math.pi / wavelength) * r0 * (d - 1.0) - 2.0 * math.pi * f * dly
    weight = window_weights(spec, (f - fdc[None, :]) / bandwidth) / n
    return shift, phase, weight


def aperture_lines(
    bandwidth: float, fm_rate: npt.ArrayLike, doppler_centroid: npt.ArrayLike, prf: float
) -> tuple[int, int]:
    """Raw lines needed before and after an output line for a full processed aperture.

    The filter of bandwidth ``B`` spans ``B / |K_a|`` seconds centred on the beam-centre
    offset ``eta_c = -f_dc / K_a``.

    Parameters
    ----------
    bandwidth
        Processed azimuth bandwidth, Hz.
    fm_rate
        Azimuth FM rate at the range nodes, Hz/s.
    doppler_centroid
        Doppler centroid at the nodes, Hz.
    prf
        Hz.

    Returns
    -------
    tuple of int
        (lines before, lines after), worst case over range.
    """
    ka = np.asarray(fm_rate, dtype=np.float64)
    if np.any(ka == 0.0):
        raise FocusError("azimuth FM rate is zero")
    half = 0.5 * bandwidth / np.abs(ka)
    centre = -np.asarray(doppler_centroid, dtype=np.float64) / ka
    before = int(math.ceil(float(np.max(half - centre)) * prf))
    after = int(math.ceil(float(np.max(half + centre)) * prf))
    return max(before, 0), max(after, 0)
