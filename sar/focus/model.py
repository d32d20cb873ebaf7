"""Input of the focusing core: one block of raw echoes with its radar parameters.

:class:`RawData` is built from decoded Level-0 packets by
:func:`sar.focus.raw.raw_from_packets` or directly by the simulator's tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from sar.constants import RADAR_FREQUENCY
from sar.geo.orbit import Orbit


@dataclass(frozen=True)
class ChirpParameters:
    """Transmitted linear FM pulse (S1-IF-ASD-PL-0007 section 3.2.5.6-3.2.5.8).

    Attributes
    ----------
    ramp_rate
        TXPRR, chirp rate, Hz/s.
    start_frequency
        TXPSF, start frequency relative to the carrier, Hz.
    pulse_length
        TXPL, s.
    """

    ramp_rate: float
    start_frequency: float
    pulse_length: float

    @property
    def bandwidth(self) -> float:
        """Chirp bandwidth |ramp_rate| * pulse_length, Hz."""
        return abs(self.ramp_rate) * self.pulse_length


@dataclass(frozen=True)
class RawData:
    """A block of raw echo lines on a common range grid.

    Attributes
    ----------
    echoes
        complex64 [lines, samples], one line per PRI, samples in fast time.
    line_times
        Transmit time of each line's pulse, GPS s, shape (lines,).
    slant_range_time
        Two-way time from transmit to sample 0 of every line, s (after aligning SWST).
    range_sampling_rate
        Complex sampling rate after decimation, Hz.
    prf
        Pulse repetition frequency, Hz.
    chirp
        Transmitted pulse.
    orbit
        Orbit covering the block with margin.
    radar_frequency
        Carrier frequency, Hz.
    mode, swath, polarisation
        E.g. ``"S3"``/``"IW"``, ``"S3"``/``"IW1"``, ``"VV"``.
    azimuth_steering_rate
        TOPS beam steering rate, rad/s (0 for stripmap).
    burst_id
        ESA burst ID label for IW (e.g. ``"t117_250312_iw1"``), empty for stripmap.
    data_take_id
        Data-take identifier from the packets.
    extra
        Additional metadata carried into the product (str/int/float values).
    missing_lines
        Half-open ``(first, stop)`` ranges of lines that were missing in the input and are
        zero-filled in ``echoes`` (lost packets inside a burst).
    """

    echoes: npt.NDArray[np.complex64]
    line_times: npt.NDArray[np.float64]
    slant_range_time: float
    range_sampling_rate: float
    prf: float
    chirp: ChirpParameters
    orbit: Orbit
    radar_frequency: float = RADAR_FREQUENCY
    mode: str = "SM"
    swath: str = ""
    polarisation: str = "VV"
    azimuth_steering_rate: float = 0.0
    burst_id: str = ""
    data_take_id: int = 0
    extra: dict[str, str | int | float] = field(default_factory=dict)
    missing_lines: tuple[tuple[int, int], ...] = ()

    @property
    def lines(self) -> int:
        """Number of echo lines."""
        return int(self.echoes.shape[0])

    @property
    def samples(self) -> int:
        """Number of range samples per line."""
        return int(self.echoes.shape[1])

    @property
    def sensing_duration(self) -> float:
        """Sensing time spanned by the block, lines / PRF, s."""
        return self.lines / self.prf
