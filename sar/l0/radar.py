"""Radar parameters of the packet header in physical units, and back to integer codes.

Codings of S1-IF-ASD-PL-0007 issue 13 section 3.2 (f_ref = 37.53472224 MHz,
:data:`sar.constants.F_REF`):

* fine time (3.2.1.2): ``(F + 0.5) * 2**-16`` s after the coarse time (GPS seconds);
* range decimation (3.2.5.4): sampling rate ``L/M * 4 f_ref``; samples after decimation
  from the sampling window length (section 5.1, tables 5.1-1 and 5.1-2);
* Rx gain (3.2.5.5): ``-0.5 dB`` per step;
* Tx ramp rate TXPRR (3.2.5.6): sign bit (1 = positive) + 15-bit magnitude,
  ``f_ref**2 / 2**21`` Hz/s per step;
* Tx pulse start frequency TXPSF (3.2.5.7): ``TXPRR / (4 f_ref)`` + sign bit + 15-bit
  magnitude times ``f_ref / 2**14`` Hz;
* Tx pulse length, PRI, SWST, SWL (3.2.5.8-3.2.5.12): counts of ``1 / f_ref`` s.

The echo window: sample 0 of a packet is received ``rank * PRI + SWST + 320 / (8 f_ref)``
after the transmission of its pulse (section 3.2.5.11; the last term is the decimation
filter transient Delta t_suppr).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from sar.constants import F_REF
from sar.errors import CorruptPacketError
from sar.l0.fields import HeaderArray
from sar.l0.luts import D_VALUES, DECIMATION_RATIO, FILTER_OUTPUT_OFFSET

FloatLike = float | npt.NDArray[np.float64]

FINE_TIME_STEP = 2.0**-16
"""Fine-time unit, s."""

DELTA_T_SUPPR = 320.0 / (8.0 * F_REF)
"""Decimation filter transient added to SWST for the first sample, s (section 3.2.5.11)."""


def range_sampling_rate(range_decimation: int) -> float:
    """Complex sampling rate after decimation, Hz (section 3.2.5.4)."""
    try:
        return float(DECIMATION_RATIO[int(range_decimation)] * 4) * F_REF
    except KeyError:
        raise CorruptPacketError(f"unknown range decimation code {range_decimation}") from None


def samples_after_decimation(swl: int, range_decimation: int) -> int:
    """Complex samples in the packet for a sampling window of ``swl`` (section 5.1).

    ``N3_rx = 2 * (L * floor(B / M) + D(C) + 1)`` with ``B = 2 SWL - offset - 17`` and
    ``C = B - M floor(B / M)`` (tables 5.1-1 and 5.1-2).
    """
    code = int(range_decimation)
    if code not in DECIMATION_RATIO:
        raise CorruptPacketError(f"unknown range decimation code {range_decimation}")
    ratio = DECIMATION_RATIO[code]
    b = 2 * int(swl) - FILTER_OUTPUT_OFFSET[code] - 17
    c = b - ratio.denominator * (b // ratio.denominator)
    return 2 * (ratio.numerator * (b // ratio.denominator) + D_VALUES[code][c] + 1)


def rx_gain_db(code: int) -> float:
    """Receiver gain, dB (section 3.2.5.5)."""
    return -0.5 * int(code)


def encode_rx_gain(gain_db: float) -> int:
    """Integer code of a receiver gain in dB (rounded to 0.5 dB)."""
    return int(round(-2.0 * gain_db))


def _signed(code: int) -> int:
    magnitude = int(code) & 0x7FFF
    return magnitude if int(code) >> 15 else -magnitude


def _unsigned(value: int) -> int:
    if abs(value) > 0x7FFF:
        raise CorruptPacketError(f"value {value} does not fit 15 bits + sign")
    return (1 << 15) | value if value >= 0 else -value


def tx_ramp_rate_hz_per_s(code: int) -> float:
    """Tx pulse ramp rate (chirp rate), Hz/s (section 3.2.5.6)."""
    return _signed(code) * F_REF**2 / 2**21


def encode_tx_ramp_rate(rate_hz_per_s: float) -> int:
    """TXPRR code of a ramp rate in Hz/s (nearest step)."""
    return _unsigned(int(round(rate_hz_per_s * 2**21 / F_REF**2)))


def tx_pulse_start_frequency_hz(code: int, ramp_rate_code: int) -> float:
    """Tx pulse start frequency relative to the carrier, Hz (section 3.2.5.7)."""
    return tx_ramp_rate_hz_per_s(ramp_rate_code) / (4 * F_REF) + _signed(code) * F_REF / 2**14


def encode_tx_pulse_start_frequency(frequency_hz: float, ramp_rate_code: int) -> int:
    """TXPSF code of a start frequency in Hz, given the TXPRR code (nearest step)."""
    offset = tx_ramp_rate_hz_per_s(ramp_rate_code) / (4 * F_REF)
    return _unsigned(int(round((frequency_hz - offset) * 2**14 / F_REF)))


def tx_pulse_length_s(code: int) -> float:
    """Tx pulse length, s (section 3.2.5.8)."""
    return int(code) / F_REF


def pri_s(code: int) -> float:
    """Pulse repetition interval, s (section 3.2.5.10)."""
    return int(code) / F_REF


def swst_s(code: int) -> float:
    """Sampling window start time, s (section 3.2.5.11)."""
    return int(code) / F_REF


def swl_s(code: int) -> float:
    """Sampling window length, s (section 3.2.5.12)."""
    return int(code) / F_REF


def encode_ref_clock(seconds: float) -> int:
    """Count of ``1 / f_ref`` for a duration in s (TXPL, PRI, SWST, SWL codes)."""
    return int(round(seconds * F_REF))


def range_time_of_first_sample(rank: int, pri_code: int, swst_code: int) -> float:
    """Delay from the pulse transmission to sample 0 of its echo window, s.

    ``rank * PRI + SWST + 320 / (8 f_ref)`` (section 3.2.5.11): the echo received in this
    packet belongs to the pulse sent ``rank`` PRIs earlier.
    """
    return int(rank) * pri_s(pri_code) + swst_s(swst_code) + DELTA_T_SUPPR


def packet_time(coarse: FloatLike, fine: FloatLike) -> FloatLike:
    """Packet datation, GPS seconds: ``coarse + (fine + 0.5) * 2**-16`` (section 3.2.1)."""
    fraction = (np.asarray(fine, dtype=np.float64) + 0.5) * FINE_TIME_STEP
    out: FloatLike = np.asarray(coarse, dtype=np.float64) + fraction
    return out


def encode_packet_time(gps_seconds: float) -> tuple[int, int]:
    """Coarse and fine time codes of a GPS time (nearest fine step)."""
    coarse = math.floor(gps_seconds)
    fine = int(round((gps_seconds - coarse) / FINE_TIME_STEP - 0.5))
    if fine < 0:
        coarse, fine = coarse - 1, fine + (1 << 16)
    if fine >= 1 << 16:
        coarse, fine = coarse + 1, fine - (1 << 16)
    return int(coarse), fine


def physical_header_fields(headers: HeaderArray) -> dict[str, npt.NDArray[np.float64]]:
    """Header fields in physical units, one float64 array per quantity (NaN where undefined).

    Keys: ``time_s`` (GPS s), ``rx_gain_db``, ``tx_ramp_rate_hz_per_s``,
    ``tx_pulse_start_frequency_hz``, ``tx_pulse_length_s``, ``pri_s``, ``swst_s``, ``swl_s``,
    ``range_sampling_rate_hz`` (NaN for unknown decimation codes) and
    ``range_time_first_sample_s`` (:func:`range_time_of_first_sample`).
    """

    def signed(values: npt.NDArray[np.generic]) -> npt.NDArray[np.float64]:
        codes = values.astype(np.int64)
        magnitude = (codes & 0x7FFF).astype(np.float64)
        out: npt.NDArray[np.float64] = np.where(codes >> 15 == 1, magnitude, -magnitude)
        return out

    ramp = signed(headers["tx_ramp_rate"]) * F_REF**2 / 2**21
    pri = headers["pri"].astype(np.float64) / F_REF
    swst = headers["swst"].astype(np.float64) / F_REF
    rates = np.array(
        [float(DECIMATION_RATIO[int(c)] * 4) * F_REF if int(c) in DECIMATION_RATIO else np.nan
         for c in headers["range_decimation"]],
        dtype=np.float64,
    )  # fmt: skip
    return {
        "time_s": np.asarray(packet_time(headers["coarse_time"], headers["fine_time"])),
        "rx_gain_db": -0.5 * headers["rx_gain"].astype(np.float64),
        "tx_ramp_rate_hz_per_s": ramp,
        "tx_pulse_start_frequency_hz": ramp / (4 * F_REF)
        + signed(headers["tx_pulse_start_frequency"]) * F_REF / 2**14,
        "tx_pulse_length_s": headers["tx_pulse_length"].astype(np.float64) / F_REF,
        "pri_s": pri,
        "swst_s": swst,
        "swl_s": headers["swl"].astype(np.float64) / F_REF,
        "range_sampling_rate_hz": rates,
        "range_time_first_sample_s": headers["rank"].astype(np.float64) * pri
        + swst
        + DELTA_T_SUPPR,
    }
