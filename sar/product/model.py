"""A focused single-look complex (SLC) image and its metadata, in memory.

Produced by :mod:`sar.focus`, written and read by :mod:`sar.product.slc`, analysed by
:mod:`sar.quality`. The on-disk HDF5 layout is documented in README.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from sar.geo.orbit import Orbit


@dataclass(frozen=True)
class Polynomial:
    """A polynomial in two-way slant-range time, as in S1 annotation (DC and FM rate).

    ``value(tau) = sum(coefficients[k] * (tau - t0)**k)``

    Attributes
    ----------
    azimuth_time
        Azimuth time the polynomial refers to, GPS s.
    t0
        Reference two-way slant-range time, s.
    coefficients
        Coefficients, lowest order first (Hz, Hz/s, Hz/s^2 ... for DC; Hz/s ... for FM rate).
    """

    azimuth_time: float
    t0: float
    coefficients: tuple[float, ...]

    def evaluate(self, tau: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Evaluate at two-way slant-range time(s) ``tau`` (s)."""
        x = np.asarray(tau, dtype=np.float64) - self.t0
        out = np.zeros_like(x)
        for c in reversed(self.coefficients):
            out = out * x + c
        return out


@dataclass(frozen=True)
class MissingLines:
    """Raw echo lines (PRIs) missing from the data a product was focused from.

    The raw lines of a burst (or stripmap block) form a regular grid of ``lines`` PRIs,
    line ``k`` transmitted at ``first_line_time + k * line_interval``; the lines in
    ``ranges`` were lost (e.g. a chunk lost on the downlink) and focused as zeros.

    Attributes
    ----------
    ranges
        Half-open ``(first, stop)`` raw-line index ranges, in increasing order.
    lines
        Raw lines of the grid, missing ones included.
    first_line_time
        Transmit time of raw line 0, GPS s.
    line_interval
        PRI, s.
    """

    ranges: tuple[tuple[int, int], ...] = ()
    lines: int = 0
    first_line_time: float = 0.0
    line_interval: float = 0.0

    @property
    def count(self) -> int:
        """Number of missing lines."""
        return sum(b - a for a, b in self.ranges)


@dataclass(frozen=True)
class SlcImage:
    """Focused SLC image on a zero-Doppler azimuth x slant-range grid.

    Attributes
    ----------
    image
        complex64 [lines, samples].
    first_line_time
        Zero-Doppler azimuth time of line 0, GPS s.
    azimuth_time_interval
        Line spacing, s.
    slant_range_time
        Two-way slant-range time of sample 0, s.
    range_sampling_rate
        Sample spacing in two-way time is 1 / range_sampling_rate, Hz.
    radar_frequency
        Carrier, Hz.
    range_bandwidth, azimuth_bandwidth
        Processed bandwidths, Hz.
    range_window, azimuth_window
        Window labels such as ``"hamming 0.75"``, ``"kaiser 2.5"``, ``"none"``.
    mode, swath, polarisation
        Acquisition mode (``"SM"``, ``"IW"``), swath (``"S3"``, ``"IW1"``), polarisation.
    orbit
        Orbit used for focusing.
    doppler_centroid
        Doppler centroid polynomials (Hz) in slant-range time.
    fm_rate
        Azimuth FM-rate polynomials (Hz/s) in slant-range time.
    azimuth_steering_rate
        TOPS steering rate, rad/s (0 for stripmap).
    burst_id
        ESA burst ID label (IW), else empty.
    data_take_id
        Data-take id.
    valid_lines, valid_samples
        Half-open [first, stop) ranges of fully focused lines and samples.
    metadata
        More attributes written to the product root (processing history, etc.).
    missing
        Raw lines that were missing and zero-filled (``None``: none, or not recorded).
    """

    image: npt.NDArray[np.complex64]
    first_line_time: float
    azimuth_time_interval: float
    slant_range_time: float
    range_sampling_rate: float
    radar_frequency: float
    range_bandwidth: float
    azimuth_bandwidth: float
    range_window: str
    azimuth_window: str
    mode: str
    swath: str
    polarisation: str
    orbit: Orbit
    doppler_centroid: tuple[Polynomial, ...] = ()
    fm_rate: tuple[Polynomial, ...] = ()
    azimuth_steering_rate: float = 0.0
    burst_id: str = ""
    data_take_id: int = 0
    valid_lines: tuple[int, int] = (0, 0)
    valid_samples: tuple[int, int] = (0, 0)
    metadata: dict[str, str | int | float] = field(default_factory=dict)
    missing: MissingLines | None = None

    @property
    def complete(self) -> bool:
        """Whether every raw line of the input was present."""
        return self.missing is None or not self.missing.ranges

    @property
    def lines(self) -> int:
        """Number of azimuth lines."""
        return int(self.image.shape[0])

    @property
    def samples(self) -> int:
        """Number of range samples."""
        return int(self.image.shape[1])

    def line_time(self, line: float) -> float:
        """Zero-Doppler time of (fractional) line index ``line``, GPS s."""
        return self.first_line_time + line * self.azimuth_time_interval

    def sample_range_time(self, sample: float) -> float:
        """Two-way slant-range time of (fractional) sample index ``sample``, s."""
        return self.slant_range_time + sample / self.range_sampling_rate
