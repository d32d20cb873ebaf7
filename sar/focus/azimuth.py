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


def zero_doppler_offset(
    doppler: npt.ArrayLike, slant_range: npt.ArrayLike, v_eff: npt.ArrayLike, wavelength: float
) -> FloatArray:
    """Azimuth time (s) from zero Doppler at which the target's Doppler is ``doppler``.

    ``eta(f) = -lambda R0 f / (2 V_eff^2 D(f))`` on the hyperbola (negative ``f`` after
    the zero-Doppler time).
    """
    f = np.asarray(doppler, dtype=np.float64)
    v = np.asarray(v_eff, dtype=np.float64)
    d = migration_factor(f, v, wavelength)
    return -wavelength * np.asarray(slant_range, dtype=np.float64) * f / (2.0 * v * v * d)


def azimuth_reference(
    n: int,
    prf: float,
    slant_range: npt.ArrayLike,
    v_eff: npt.ArrayLike,
    doppler_centroid: npt.ArrayLike,
    *,
    window: WindowSpec | str,
    bandwidth: float,
    wavelength: float,
    antenna_length: float = 0.0,
    platform_speed: float = 0.0,
) -> npt.NDArray[np.complex128]:
    """Time-domain azimuth reference functions, one per range node, circularly placed.

    ``ref(eta) = w(eta) exp(-4j pi (R(eta) - R0) / lambda)`` with
    ``R(eta) = sqrt(R0^2 + V_eff^2 eta^2)`` and the window evaluated at the instantaneous
    Doppler ``f(eta) = -2 V_eff^2 eta / (lambda R(eta))`` over ``f_dc +- B / 2``; zero
    elsewhere, so the filter has compact support in azimuth time (one synthetic aperture)
    and blocks focused separately agree with whole-image focusing.

    Returns
    -------
    numpy.ndarray
        complex128 [n, nodes]; line ``k`` holds ``eta = k / PRF`` for ``k < n / 2`` and
        ``(k - n) / PRF`` otherwise.
    """
    spec = parse_window(window)
    r0 = np.asarray(slant_range, dtype=np.float64)[None, :]
    v = np.asarray(v_eff, dtype=np.float64)[None, :]
    fdc = np.asarray(doppler_centroid, dtype=np.float64)[None, :]
    lo = zero_doppler_offset(fdc + 0.5 * bandwidth, r0, v, wavelength)
    hi = zero_doppler_offset(fdc - 0.5 * bandwidth, r0, v, wavelength)
    if float(np.max(hi - lo)) * prf >= n - 1:
        raise FocusError(
            f"a block of {n} lines is shorter than the synthetic aperture "
            f"({float(np.max(hi - lo)) * prf:.0f} lines)"
        )
    k = np.fft.fftfreq(n, 1.0 / n)[:, None]
    eta = k / prf
    rng = np.sqrt(r0 * r0 + (v * eta) ** 2)
    f_inst = -2.0 * v * v * eta / (wavelength * rng)
    w = window_weights(spec, (f_inst - fdc) / bandwidth)
    w = w / antenna_gain(f_inst - fdc, antenna_length, platform_speed)
    ref: npt.NDArray[np.complex128] = w * np.exp((-4j * math.pi / wavelength) * (rng - r0))
    return ref


MIN_ANTENNA_GAIN = 0.05
"""Floor of the two-way gain divided out, so a band wider than the beam cannot blow up."""


def antenna_gain(
    doppler_offset: npt.ArrayLike, antenna_length: float, platform_speed: float
) -> FloatArray:
    """Two-way azimuth amplitude pattern of a uniform aperture, as a function of Doppler.

    A target seen at angle theta from the beam centre has Doppler offset
    ``2 V_s (sin theta - sin theta_c) / lambda`` (``V_s``: platform speed relative to the
    Earth-fixed frame), so the two-way pattern ``sinc^2(L_a (sin theta - sin theta_c) /
    lambda)`` is ``sinc^2(L_a f / (2 V_s))`` in Doppler. Dividing it out inside the
    processed band leaves exactly the chosen window as spectral weighting, so the
    impulse response matches the window's theory (as antenna-pattern compensation does
    in operational azimuth processors).

    Parameters
    ----------
    doppler_offset
        Doppler minus the beam-centre Doppler (centroid), Hz.
    antenna_length
        Azimuth antenna length L_a, m (12.3 m for Sentinel-1); 0 disables (gain 1).
    platform_speed
        V_s, m/s.

    Returns
    -------
    numpy.ndarray
        Gain in (MIN_ANTENNA_GAIN, 1].
    """
    f = np.asarray(doppler_offset, dtype=np.float64)
    if antenna_length <= 0.0 or platform_speed <= 0.0:
        return np.ones_like(f)
    g: FloatArray = np.sinc(antenna_length * f / (2.0 * platform_speed)) ** 2
    return np.maximum(g, MIN_ANTENNA_GAIN)


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
    reference: str = "time",
    antenna_length: float = 0.0,
    platform_speed: float = 0.0,
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.complex128]]:
    """RCMC shift, matched-filter phase and complex weight on the range nodes.

    The filter at node ``j`` and Doppler bin ``i`` is ``weight * exp(1j * phase)``: the
    smooth analytic phase ``4 pi R0 (D - 1) / lambda`` (minus the delay ramp) is kept
    apart from the slowly varying complex residual (window and Fresnel ripple), so that
    both interpolate linearly between nodes.

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
    reference
        ``"time"``: conjugate spectrum of the time-domain reference of
        :func:`azimuth_reference` (compact in time, seamless blocks); ``"frequency"``: the
        analytic stationary-phase filter ``W exp(4j pi R0 (D - 1) / lambda)``.
    antenna_length, platform_speed
        Antenna-pattern compensation (:func:`antenna_gain`); 0 disables it.

    Returns
    -------
    tuple of numpy.ndarray
        ``shift`` (samples), ``phase`` (rad), complex ``weight``; each [n, nodes].
    """
    if not 0.0 < bandwidth <= prf:
        raise FocusError(f"azimuth bandwidth {bandwidth} Hz must be in (0, PRF = {prf} Hz]")
    if reference not in ("time", "frequency"):
        raise FocusError(f"azimuth reference must be 'time' or 'frequency', got {reference!r}")
    spec = parse_window(window)
    r0 = np.asarray(slant_range, dtype=np.float64)[None, :]
    v = np.asarray(v_eff, dtype=np.float64)[None, :]
    fdc = np.asarray(doppler_centroid, dtype=np.float64)
    f = azimuth_frequencies(n, prf, fdc)
    d = migration_factor(f, v, wavelength)
    shift = r0 * (1.0 / d - 1.0) * (2.0 * range_sampling_rate / SPEED_OF_LIGHT)
    dly = np.asarray(delay, dtype=np.float64)[None, :]
    analytic = (4.0 * math.pi / wavelength) * r0 * (d - 1.0)
    if reference == "frequency":
        phase = analytic
        w = window_weights(spec, (f - fdc[None, :]) / bandwidth)
        w = w / antenna_gain(f - fdc[None, :], antenna_length, platform_speed)
        weight = (w / n).astype(complex)
    else:
        ref = azimuth_reference(n, prf, r0[0], v[0], fdc, window=spec, bandwidth=bandwidth,
                                wavelength=wavelength, antenna_length=antenna_length,
                                platform_speed=platform_speed)
        h = np.conj(np.fft.fft(ref, axis=0))
        del ref
        phase = analytic
        # |FFT| of a unit chirp sampled at the PRF is PRF / sqrt(|K_a|): divide it out.
        ka = 2.0 * v * v / (wavelength * r0)
        weight = h * np.exp(-1j * analytic) * (np.sqrt(ka) / (n * prf))
    phase -= 2.0 * math.pi * f * dly
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
