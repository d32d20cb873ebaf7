"""Point-target (impulse-response) analysis of a focused SLC.

Method (facts from isce3 ``point_target_info``, ``docs/tops.md`` section 6; no code
reused):

1. Find the brightest pixel within ``search`` pixels of the expected position and take a
   ``chip x chip`` window centred on it.
2. Estimate the linear phase ramp in each direction from the phase of the lag-1
   autocorrelation (Madsen, IEEE TGRS 27(1), 1989, Doppler-centroid estimator) and
   remove it. In TOPS SLCs the local Doppler centroid reaches several kHz against a
   486 Hz line rate, so the target spectrum is far from baseband; without this step the
   band-limited interpolation below would be wrong.
3. Upsample by ``upsample`` with a zero-padded FFT, splitting the Nyquist bin between
   the positive and negative halves so that real-valued responses stay real.
4. Locate the peak on the upsampled grid and refine it to a fraction of the grid step
   with a parabola through the log-power of the neighbours (exact for a Gaussian peak,
   within 1e-3 pixel for sinc-like ones at 32x).
5. Cut through the peak in range (along a line) and azimuth (along a column) and
   measure 3 dB width, PSLR and ISLR with :func:`sar.quality.cuts.measure_cut`; also a
   2-D ISLR over the ±``islr_extent`` box around the null-to-null main-lobe rectangle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.fft

from sar.errors import QualityError
from sar.quality.cuts import DEFAULT_ISLR_EXTENT, CutMetrics, find_lobes, measure_cut

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complexfloating[Any, Any]]


@dataclass(frozen=True)
class PointTargetResult:
    """Impulse-response analysis of one point target.

    Attributes
    ----------
    line, sample
        Peak position, fractional image line and sample.
    peak_amplitude
        |peak| after interpolation (image units).
    contrast_db
        Peak power over mean power of the chip, dB.
    range, azimuth
        Figures of merit of the range cut (along the line through the peak) and the
        azimuth cut (along the column); widths in pixels.
    islr_2d_db
        2-D ISLR, dB.
    range_frequency, azimuth_frequency
        Linear phase ramps removed before interpolation, cycles per pixel in [-0.5, 0.5).
    range_profile, azimuth_profile
        Normalised power along the cuts (peak 1), grid step ``1 / upsample`` pixel,
        centred on the peak grid index ``profile_centre``.
    """

    line: float
    sample: float
    peak_amplitude: float
    contrast_db: float
    range: CutMetrics
    azimuth: CutMetrics
    islr_2d_db: float
    range_frequency: float
    azimuth_frequency: float
    upsample: int
    range_profile: FloatArray = field(repr=False, compare=False)
    azimuth_profile: FloatArray = field(repr=False, compare=False)
    profile_centre: tuple[int, int] = (0, 0)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (profiles omitted)."""
        return {
            "line": self.line,
            "sample": self.sample,
            "peak_amplitude": self.peak_amplitude,
            "contrast_db": self.contrast_db,
            "range": self.range.to_dict(),
            "azimuth": self.azimuth.to_dict(),
            "islr_2d_db": self.islr_2d_db,
            "range_frequency": self.range_frequency,
            "azimuth_frequency": self.azimuth_frequency,
            "upsample": self.upsample,
        }


def estimate_phase_ramp(chip: ComplexArray, axis: int) -> float:
    """Linear phase ramp along ``axis`` from the lag-1 autocorrelation, cycles/pixel.

    ``f = arg(sum x[k+1] conj(x[k])) / (2 pi)`` (Madsen 1989), in [-0.5, 0.5].
    """
    x = np.asarray(chip)
    n = x.shape[axis]
    a = np.take(x, np.arange(1, n), axis=axis)
    b = np.take(x, np.arange(0, n - 1), axis=axis)
    r = complex(np.sum(a * np.conj(b)))
    return float(np.angle(r) / (2.0 * np.pi))


def upsample_fft(x: ComplexArray, factor: int, axis: int) -> ComplexArray:
    """Band-limited interpolation by ``factor`` along ``axis`` (zero-padded FFT).

    Output sample ``k`` sits at input position ``k / factor``. For even lengths the
    Nyquist bin is split in two halves placed at +N/2 and -N/2.
    """
    n = x.shape[axis]
    spec = scipy.fft.fft(x, axis=axis)
    m = n * factor
    shape = list(spec.shape)
    shape[axis] = m
    out = np.zeros(shape, dtype=spec.dtype)

    def put(dst: slice | int, src: slice | int, scale: float = 1.0) -> None:
        d: list[slice | int] = [slice(None)] * spec.ndim
        s: list[slice | int] = [slice(None)] * spec.ndim
        d[axis] = dst
        s[axis] = src
        if scale == 1.0:
            out[tuple(d)] = spec[tuple(s)]
        else:
            out[tuple(d)] = spec[tuple(s)] * scale

    half = n // 2
    if n % 2 == 0:
        put(slice(0, half), slice(0, half))
        put(half, half, 0.5)
        put(m - half, half, 0.5)
        put(slice(m - half + 1, m), slice(half + 1, n))
    else:
        put(slice(0, half + 1), slice(0, half + 1))
        put(slice(m - half, m), slice(half + 1, n))
    result: ComplexArray = scipy.fft.ifft(out, axis=axis) * factor
    return result


def _parabolic_offset(left: float, centre: float, right: float) -> float:
    """Vertex of the parabola through three equally spaced points, in steps from centre."""
    denom = left - 2.0 * centre + right
    if denom >= 0.0:
        return 0.0
    return float(np.clip(0.5 * (left - right) / denom, -0.5, 0.5))


def _refine(power: FloatArray, i: int, j: int) -> tuple[float, float]:
    """Sub-grid peak position from parabolas through the log-power of neighbours."""
    lp = np.log(np.maximum(power[i - 1 : i + 2, j - 1 : j + 2], np.finfo(np.float64).tiny))
    di = _parabolic_offset(lp[0, 1], lp[1, 1], lp[2, 1])
    dj = _parabolic_offset(lp[1, 0], lp[1, 1], lp[1, 2])
    return i + di, j + dj


def _find_chip_centre(
    image: ComplexArray, line: float, sample: float, chip: int, search: int
) -> tuple[int, int]:
    """Brightest pixel within ``search`` of the expected position; chip must fit."""
    lines, samples = image.shape
    l0, s0 = int(round(line)), int(round(sample))
    if not (0 <= l0 < lines and 0 <= s0 < samples):
        raise QualityError(
            f"expected target position (line {line:.1f}, sample {sample:.1f}) lies outside "
            f"the {lines} x {samples} image"
        )
    a0, a1 = max(0, l0 - search), min(lines, l0 + search + 1)
    b0, b1 = max(0, s0 - search), min(samples, s0 + search + 1)
    box = np.abs(image[a0:a1, b0:b1]) ** 2
    k = int(np.argmax(box))
    i, j = divmod(k, box.shape[1])
    if search > 0 and (
        (i == 0 and a0 > 0)
        or (i == box.shape[0] - 1 and a1 < lines)
        or (j == 0 and b0 > 0)
        or (j == box.shape[1] - 1 and b1 < samples)
    ):
        raise QualityError(
            f"no clear peak within {search} pixels of (line {line:.1f}, sample {sample:.1f}): "
            "the brightest pixel lies on the search border"
        )
    ci, cj = a0 + i, b0 + j
    h = chip // 2
    if ci - h < 0 or ci + h > lines or cj - h < 0 or cj + h > samples:
        raise QualityError(
            f"a {chip} x {chip} chip around (line {ci}, sample {cj}) does not fit in the "
            f"{lines} x {samples} image"
        )
    return ci, cj


def analyse_point_target(
    image: npt.ArrayLike,
    line: float,
    sample: float,
    *,
    chip: int = 64,
    upsample: int = 32,
    search: int = 8,
    islr_extent: float = DEFAULT_ISLR_EXTENT,
    min_contrast_db: float = 15.0,
) -> PointTargetResult:
    """Measure the impulse response of a point target near (``line``, ``sample``).

    Parameters
    ----------
    image
        Complex SLC, [lines, samples] (azimuth, range).
    line, sample
        Expected target position, fractional pixels.
    chip
        Side of the square analysis window, pixels (even, >= 16).
    upsample
        Interpolation factor (>= 2); the peak is located to a small fraction of
        ``1 / upsample`` pixel.
    search
        The chip is centred on the brightest pixel within this many pixels of the
        expected position.
    islr_extent
        ISLR span in null-to-peak widths on each side of the peak (isce3 uses 10).
    min_contrast_db
        Minimum peak-to-mean power ratio of the chip; below it there is no clear peak.

    Returns
    -------
    PointTargetResult
        Peak position, widths (pixels), PSLR and ISLR (dB) in range and azimuth.

    Raises
    ------
    QualityError
        The target or its chip lies outside the image, or the chip holds no clear peak.
    """
    img = np.asarray(image)
    if img.ndim != 2 or not np.iscomplexobj(img):
        raise QualityError("point-target analysis needs a 2-D complex image")
    if chip < 16 or chip % 2:
        raise QualityError(f"chip must be an even number >= 16, got {chip}")
    if upsample < 2:
        raise QualityError(f"upsample must be >= 2, got {upsample}")
    if not (math.isfinite(line) and math.isfinite(sample)):
        raise QualityError("expected target position is not finite")
    ci, cj = _find_chip_centre(img, line, sample, chip, search)
    h = chip // 2
    top, left = ci - h, cj - h
    x = img[top : top + chip, left : left + chip].astype(np.complex128)
    power0 = np.abs(x) ** 2
    mean_power = float(np.mean(power0))
    peak_power = float(power0[h, h])
    if not mean_power > 0.0:
        raise QualityError(f"image is zero around (line {line:.1f}, sample {sample:.1f})")
    contrast = 10.0 * math.log10(peak_power / mean_power)
    if contrast < min_contrast_db:
        raise QualityError(
            f"no clear peak near (line {line:.1f}, sample {sample:.1f}): peak-to-mean "
            f"{contrast:.1f} dB < {min_contrast_db:.1f} dB"
        )
    f_az = estimate_phase_ramp(x, axis=0)
    f_rg = estimate_phase_ramp(x, axis=1)
    k = np.arange(chip) - h
    x = x * np.exp(-2j * np.pi * f_az * k)[:, None] * np.exp(-2j * np.pi * f_rg * k)[None, :]
    up = upsample_fft(upsample_fft(x.astype(np.complex64), upsample, 0), upsample, 1)
    power = (up.real.astype(np.float64) ** 2) + (up.imag.astype(np.float64) ** 2)
    n = chip * upsample
    i, j = divmod(int(np.argmax(power)), n)
    if not (0 < i < n - 1 and 0 < j < n - 1):
        raise QualityError(
            f"no clear peak near (line {line:.1f}, sample {sample:.1f}): maximum on the chip edge"
        )
    fi, fj = _refine(power, i, j)
    step = 1.0 / upsample
    rg_cut = power[i, :]
    az_cut = power[:, j]
    rg = measure_cut(rg_cut, step, peak=j, islr_extent=islr_extent)
    az = measure_cut(az_cut, step, peak=i, islr_extent=islr_extent)
    lr = find_lobes(rg_cut, j, islr_extent)
    la = find_lobes(az_cut, i, islr_extent)
    box = float(np.sum(power[la.span_start : la.span_stop, lr.span_start : lr.span_stop]))
    main = float(np.sum(power[la.null_left : la.null_right + 1, lr.null_left : lr.null_right + 1]))
    islr_2d = 10.0 * math.log10(max(box - main, np.finfo(np.float64).tiny) / main)
    peak = float(power[i, j])
    return PointTargetResult(
        line=top + fi * step,
        sample=left + fj * step,
        peak_amplitude=math.sqrt(peak),
        contrast_db=contrast,
        range=rg,
        azimuth=az,
        islr_2d_db=islr_2d,
        range_frequency=f_rg,
        azimuth_frequency=f_az,
        upsample=upsample,
        range_profile=rg_cut / peak,
        azimuth_profile=az_cut / peak,
        profile_centre=(j, i),
    )
