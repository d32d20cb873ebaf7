"""Theoretical impulse-response figures for a windowed, band-limited spectrum.

The response of a spectrum of bandwidth ``B`` weighted by a window ``w`` is the Fourier
transform of ``w``; on an image sampled at ``fs = oversampling * B`` its width in pixels
scales with ``oversampling``. Rather than quoting textbook numbers, the figures are
computed numerically (FFT of the densely sampled, heavily zero-padded window) and measured
with :func:`sar.quality.cuts.measure_cut`, so they hold for exactly the definitions used
on real data. Textbook values for comparison (Harris, Proc. IEEE 66(1), 1978; Curlander &
McDonough 1991 table 3.1): flat window 3 dB width 0.886 / B, PSLR -13.26 dB, unbounded
ISLR -9.68 dB; Hamming (alpha 0.54) PSLR -42.7 dB.

Window labels are those of :class:`sar.product.model.SlcImage`: ``"none"`` (also
``"flat"``, ``"rect"``, ``""``), ``"hamming ALPHA"`` (generalised Hamming
``alpha + (1 - alpha) cos(2 pi f / B)``), ``"hann"``, ``"kaiser BETA"``; the
``kind:PARAM`` spelling of :mod:`sar.focus.windows` is accepted too.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from sar.errors import QualityError
from sar.quality.cuts import DEFAULT_ISLR_EXTENT, CutMetrics, measure_cut

FloatArray = npt.NDArray[np.float64]

_BAND_SAMPLES = 2048
_GRID_PER_PIXEL = 512


def parse_window(label: str) -> tuple[str, float]:
    """Split a window label into (kind, parameter).

    Returns ``("flat", 0.0)``, ``("hamming", alpha)`` or ``("kaiser", beta)``.
    """
    parts = label.strip().lower().replace(":", " ").split()
    if not parts or parts[0] in {"none", "flat", "rect", "rectangular", "boxcar"}:
        return ("flat", 0.0)
    kind = parts[0]
    if kind in {"hann", "hanning"} and len(parts) == 1:
        return ("hamming", 0.5)
    if kind in {"hamming", "kaiser"}:
        if len(parts) == 1:
            return (kind, 0.54 if kind == "hamming" else 2.5)
        try:
            value = float(parts[1])
        except ValueError:
            raise QualityError(f"window label {label!r}: parameter is not a number") from None
        if kind == "hamming" and not 0.0 < value <= 1.0:
            raise QualityError(f"window label {label!r}: Hamming alpha must be in (0, 1]")
        if kind == "kaiser" and value < 0.0:
            raise QualityError(f"window label {label!r}: Kaiser beta must be >= 0")
        return (kind, value)
    raise QualityError(f"unknown window label {label!r} (use none, hamming A, hann, kaiser B)")


def window_weights(label: str, u: npt.ArrayLike) -> FloatArray:
    """Window amplitude at normalised frequency ``u = f / B`` in [-0.5, 0.5].

    Parameters
    ----------
    label
        Window label, e.g. ``"hamming 0.75"``.
    u
        Frequency over processed bandwidth (dimensionless).

    Returns
    -------
    numpy.ndarray
        Weights, 1 at band centre for every window; 0 outside the band.
    """
    kind, param = parse_window(label)
    x = np.asarray(u, dtype=np.float64)
    inside = np.abs(x) <= 0.5
    if kind == "flat":
        w = np.ones_like(x)
    elif kind == "hamming":
        w = param + (1.0 - param) * np.cos(2.0 * np.pi * x)
    else:
        arg = np.sqrt(np.clip(1.0 - (2.0 * x) ** 2, 0.0, None))
        w = np.i0(param * arg) / np.i0(param)
    return np.where(inside, w, 0.0)


@lru_cache(maxsize=64)
def _response_power(label: str, oversampling: float) -> tuple[FloatArray, float]:
    """Densely sampled |h|^2 around the peak and its grid spacing in pixels."""
    m = _BAND_SAMPLES
    u = (np.arange(m) + 0.5) / m - 0.5
    w = window_weights(label, u)
    # Frequency step B/m cycles/px with B = 1/oversampling; FFT of length L gives a
    # time step of m * oversampling / L pixels.
    length = 1 << math.ceil(math.log2(m * oversampling * _GRID_PER_PIXEL))
    spacing = m * oversampling / length
    h = np.fft.fft(w, n=length)
    p = np.abs(h) ** 2
    half = min(length // 2 - 1, int(80.0 * oversampling / spacing))
    cut = np.concatenate([p[-half:], p[: half + 1]])
    return cut, spacing


def theoretical_cut(
    window_label: str, oversampling: float, *, islr_extent: float = DEFAULT_ISLR_EXTENT
) -> CutMetrics:
    """Figures of merit of the ideal response, with the measurement definitions of data.

    Parameters
    ----------
    window_label
        Spectral weighting, e.g. ``"hamming 0.75"``.
    oversampling
        Sampling rate over processed bandwidth (``fs / B``), >= 1 for unaliased data.
    islr_extent
        ISLR span in null-to-peak widths on each side.

    Returns
    -------
    CutMetrics
        Width in pixels of the image grid; PSLR and ISLR in dB.
    """
    if not oversampling > 0.0:
        raise QualityError(f"oversampling must be positive, got {oversampling}")
    if islr_extent > 70.0:
        raise QualityError("islr_extent above 70 null-to-peak widths is not tabulated")
    parse_window(window_label)
    power, spacing = _response_power(window_label.strip().lower(), float(oversampling))
    return measure_cut(power, spacing, islr_extent=islr_extent)


def theoretical_response(
    window_label: str, oversampling: float, *, islr_extent: float = DEFAULT_ISLR_EXTENT
) -> tuple[float, float, float]:
    """Return (3 dB width in pixels, PSLR dB, ISLR dB) of the ideal 1-D response.

    See :func:`theoretical_cut`.
    """
    m = theoretical_cut(window_label, oversampling, islr_extent=islr_extent)
    return (m.width_3db, m.pslr_db, m.islr_db)


def theoretical_islr_2d(
    range_window: str,
    range_oversampling: float,
    azimuth_window: str,
    azimuth_oversampling: float,
    *,
    islr_extent: float = DEFAULT_ISLR_EXTENT,
) -> float:
    """2-D ISLR (dB) of a separable response, main lobe = null-to-null rectangle.

    Energy within the ±``islr_extent`` box outside the main-lobe rectangle over the energy
    inside it: ``(T_r T_a - M_r M_a) / (M_r M_a)`` with ``T`` the span and ``M`` the
    main-lobe energies of the 1-D cuts.
    """
    r = theoretical_cut(range_window, range_oversampling, islr_extent=islr_extent)
    a = theoretical_cut(azimuth_window, azimuth_oversampling, islr_extent=islr_extent)
    main = r.main_energy * a.main_energy
    return 10.0 * math.log10((r.span_energy * a.span_energy - main) / main)
