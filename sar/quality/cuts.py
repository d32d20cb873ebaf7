"""Measurements on a 1-D impulse-response cut: 3 dB width, PSLR, ISLR.

One definition serves both the measured responses (:mod:`sar.quality.point_target`)
and the theoretical ones (:mod:`sar.quality.theory`), so the two compare exactly:

* **3 dB width**: distance between the two points where the power falls to half the
  peak, linear interpolation in power between grid samples.
* **Main lobe**: from the first null (first local minimum of the power) left of the peak
  to the first null right of it.
* **PSLR**: highest power outside the main lobe, within the ISLR span, relative to
  the peak (dB).
* **ISLR**: energy outside the main lobe but within ``islr_extent`` null-to-peak widths
  on each side of the peak, over the main-lobe energy (dB). The ±10 widths convention
  follows isce3's ``point_target_info`` (facts only, see ``docs/tops.md`` section 6);
  the classical unbounded 1-D ISLR of a flat spectrum (-9.68 dB) is the limit of a
  large extent.

Reference: Curlander & McDonough, *Synthetic Aperture Radar: Systems and Signal
Processing* (1991), §3.2.3 (impulse-response figures of merit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sar.errors import QualityError

FloatArray = npt.NDArray[np.float64]

DEFAULT_ISLR_EXTENT = 10.0
"""ISLR span, in null-to-peak widths on each side of the peak."""


@dataclass(frozen=True)
class CutMetrics:
    """Figures of merit of one impulse-response cut.

    Attributes
    ----------
    width_3db
        -3 dB width, pixels.
    pslr_db
        Peak side-lobe ratio, dB.
    islr_db
        Integrated side-lobe ratio, dB.
    main_lobe_width
        Null-to-null width of the main lobe, pixels.
    main_energy
        Power summed over the main lobe (grid units; used for 2-D ISLR theory).
    span_energy
        Power summed over the whole ISLR span, main lobe included.
    """

    width_3db: float
    pslr_db: float
    islr_db: float
    main_lobe_width: float
    main_energy: float
    span_energy: float

    def to_dict(self) -> dict[str, float]:
        """Plain-JSON form (energies omitted)."""
        return {
            "width_3db": self.width_3db,
            "pslr_db": self.pslr_db,
            "islr_db": self.islr_db,
            "main_lobe_width": self.main_lobe_width,
        }


@dataclass(frozen=True)
class CutIndices:
    """Grid indices delimiting the lobes of a cut (half-open spans)."""

    peak: int
    null_left: int
    null_right: int
    span_start: int
    span_stop: int


def find_lobes(power: FloatArray, peak: int, islr_extent: float) -> CutIndices:
    """Locate the first nulls either side of ``peak`` and the ISLR span.

    Parameters
    ----------
    power
        Power along the cut (any unit), shape (n,).
    peak
        Grid index of the peak.
    islr_extent
        ISLR span in null-to-peak widths on each side.

    Returns
    -------
    CutIndices
        Nulls and span as grid indices; the span is clipped to the cut.
    """
    n = power.shape[0]
    left = peak
    while left > 0 and power[left - 1] < power[left]:
        left -= 1
    right = peak
    while right < n - 1 and power[right + 1] < power[right]:
        right += 1
    if left == 0 or right == n - 1:
        raise QualityError("impulse response has no null on one side of the peak (cut too short)")
    start = max(0, peak - math.ceil(islr_extent * (peak - left)))
    stop = min(n, peak + math.ceil(islr_extent * (right - peak)) + 1)
    return CutIndices(peak, left, right, start, stop)


def _half_power_crossing(power: FloatArray, peak: int, step: int) -> float:
    """Fractional index where ``power`` first drops below half the peak, walking by ``step``."""
    half = 0.5 * power[peak]
    i = peak
    n = power.shape[0]
    while 0 <= i + step < n and power[i + step] >= half:
        i += step
    j = i + step
    if not 0 <= j < n:
        raise QualityError("impulse response never falls 3 dB below its peak on one side")
    frac = (power[i] - half) / (power[i] - power[j])
    return i + step * float(frac)


def measure_cut(
    power: npt.ArrayLike,
    spacing: float,
    *,
    peak: int | None = None,
    islr_extent: float = DEFAULT_ISLR_EXTENT,
) -> CutMetrics:
    """Measure 3 dB width, PSLR and ISLR of a finely sampled power cut.

    Parameters
    ----------
    power
        |h|^2 along the cut, sampled finely (e.g. 32x oversampled), shape (n,).
    spacing
        Grid spacing, pixels per grid sample.
    peak
        Grid index of the peak; the maximum when omitted.
    islr_extent
        ISLR span in null-to-peak widths on each side of the peak.

    Returns
    -------
    CutMetrics
        Widths in pixels, ratios in dB.
    """
    p = np.asarray(power, dtype=np.float64)
    if p.ndim != 1 or p.shape[0] < 8:
        raise QualityError("a cut needs at least 8 samples")
    i0 = int(np.argmax(p)) if peak is None else int(peak)
    if not p[i0] > 0.0:
        raise QualityError("impulse response has no positive peak")
    lobes = find_lobes(p, i0, islr_extent)
    width = (_half_power_crossing(p, i0, 1) - _half_power_crossing(p, i0, -1)) * spacing
    span = p[lobes.span_start : lobes.span_stop]
    main = p[lobes.null_left : lobes.null_right + 1]
    main_energy = float(np.sum(main))
    span_energy = float(np.sum(span))
    sides = np.concatenate(
        [p[lobes.span_start : lobes.null_left], p[lobes.null_right + 1 : lobes.span_stop]]
    )
    if sides.size == 0:
        raise QualityError("cut holds no side lobes within the ISLR span")
    side_energy = max(span_energy - main_energy, np.finfo(np.float64).tiny)
    pslr = 10.0 * math.log10(max(float(np.max(sides)), np.finfo(np.float64).tiny) / p[i0])
    islr = 10.0 * math.log10(side_energy / main_energy)
    return CutMetrics(
        width_3db=float(width),
        pslr_db=pslr,
        islr_db=islr,
        main_lobe_width=float((lobes.null_right - lobes.null_left) * spacing),
        main_energy=main_energy,
        span_energy=span_energy,
    )
