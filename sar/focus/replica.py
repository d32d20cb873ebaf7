"""Transmitted chirp replica and the range matched filter.

The Sentinel-1 pulse is a linear FM chirp defined by the radar configuration support
service (S1-IF-ASD-PL-0007 section 3.2.5: TXPRR ramp rate 3.2.5.6, TXPSF start frequency
3.2.5.7, TXPL pulse length 3.2.5.8); in complex baseband

    s(t) = exp(2j pi (TXPSF t + TXPRR t^2 / 2)),  0 <= t < TXPL.

The replica is referenced to the pulse's leading edge (t = 0 at sample 0): correlating an
echo with it puts the peak of a target at two-way delay ``tau`` at fast time ``tau``, i.e.
sample ``(tau - slant_range_time) * fs`` of the line.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from sar.errors import FocusError
from sar.focus.model import ChirpParameters
from sar.focus.windows import WindowSpec, parse_window, window_weights

ComplexArray = npt.NDArray[np.complex64]


def check_chirp(chirp: ChirpParameters, fs: float) -> None:
    """Raise :class:`FocusError` unless the chirp can be sampled at ``fs`` (Hz)."""
    if not (math.isfinite(fs) and fs > 0.0):
        raise FocusError(f"range sampling rate must be positive, got {fs}")
    if not (chirp.pulse_length > 0.0 and math.isfinite(chirp.pulse_length)):
        raise FocusError(f"pulse length must be positive, got {chirp.pulse_length}")
    if not (chirp.ramp_rate != 0.0 and math.isfinite(chirp.ramp_rate)):
        raise FocusError(f"chirp ramp rate must be non-zero, got {chirp.ramp_rate}")
    if chirp.bandwidth > fs:
        raise FocusError(
            f"chirp bandwidth {chirp.bandwidth / 1e6:.3f} MHz exceeds the sampling rate "
            f"{fs / 1e6:.3f} MHz"
        )


def replica_samples(chirp: ChirpParameters, fs: float) -> int:
    """Number of replica samples, ``ceil(TXPL * fs)``."""
    return int(math.ceil(chirp.pulse_length * fs - 1e-9))


def make_replica(chirp: ChirpParameters, fs: float) -> ComplexArray:
    """Sample the transmitted chirp at the range sampling rate.

    Parameters
    ----------
    chirp
        TXPRR (Hz/s), TXPSF (Hz), TXPL (s).
    fs
        Complex range sampling rate, Hz.

    Returns
    -------
    numpy.ndarray
        complex64, ``ceil(TXPL fs)`` samples, sample k at ``t = k / fs``.
    """
    check_chirp(chirp, fs)
    t = np.arange(replica_samples(chirp, fs), dtype=np.float64) / fs
    phase = 2.0 * np.pi * (chirp.start_frequency * t + 0.5 * chirp.ramp_rate * t * t)
    out: ComplexArray = np.exp(1j * phase).astype(np.complex64)
    return out


def chirp_centre_frequency(chirp: ChirpParameters) -> float:
    """Centre of the chirp band relative to the carrier, ``TXPSF + TXPRR TXPL / 2`` (Hz)."""
    return chirp.start_frequency + 0.5 * chirp.ramp_rate * chirp.pulse_length


def make_range_filter(
    chirp: ChirpParameters, fs: float, n: int, window: WindowSpec | str = "hamming:0.75"
) -> ComplexArray:
    """Frequency-domain range matched filter for lines of ``n`` samples.

    ``H(f) = conj(FFT(replica))(f) * W((f - f_c) / B) / g`` with ``W`` the window over the
    chirp band (zero outside), ``f_c`` the chirp centre, ``B = |TXPRR| TXPL`` and ``g``
    the gain that makes a unit-amplitude echo compress to a unit peak; it also folds the
    ``1 / n`` of the unnormalised inverse FFT.

    Parameters
    ----------
    chirp
        Transmitted pulse.
    fs
        Range sampling rate, Hz.
    n
        FFT length (>= replica length).
    window
        Range window.

    Returns
    -------
    numpy.ndarray
        complex64, shape (n,), in FFT bin order.
    """
    rep = make_replica(chirp, fs)
    if n < rep.shape[0]:
        raise FocusError(
            f"lines of {n} samples are shorter than the {rep.shape[0]}-sample replica"
        )
    spec = parse_window(window)
    spectrum = np.fft.fft(rep.astype(np.complex128), n)
    f = np.fft.fftfreq(n, 1.0 / fs)
    fc = chirp_centre_frequency(chirp)
    f = fc + np.mod(f - fc + 0.5 * fs, fs) - 0.5 * fs  # bins unwrapped around the band
    w = window_weights(spec, (f - fc) / chirp.bandwidth)
    h = np.conj(spectrum) * w
    gain = float(np.sum(np.abs(spectrum) ** 2 * w)) / n
    return (h / (gain * n)).astype(np.complex64)
