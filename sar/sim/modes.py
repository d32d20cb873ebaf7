"""Radar parameters of the simulated Sentinel-1 swaths (stripmap S1-S6, IW1-IW3).

Sources (see also ``docs/tops.md`` and ``docs/sentinel1-facts.md``):

* IW1/IW2/IW3 PRF, range decimation code, pulse length, chirp rate, rank and azimuth
  steering rate: real IW annotation values and decoded PRI codes quoted in
  ``docs/tops.md`` section 1 (IW3 rank not public: derived from the geometry). The
  resulting TXPRR, TXPSF, TXPL and PRI codes equal those of a real S1A IW RAW product
  (jmfriedt/sentinel1_level0 issue #3; checked in the tests).
* Stripmap off-nadir angles: ESA Sentinel-1 SAR user guide, "Stripmap" page, table 2
  (at minimum orbit altitude). Stripmap chirp bandwidths span 87.6-42.2 MHz (S1 user
  guide figures); per beam we use the bandwidth of the decimation filter that the beam
  needs (S1-IF-ASD-PL-0007 table 3.2-14), falling with incidence (derived).
* Stripmap PRFs are not public per beam: chosen in 1.6-1.9 kHz (derived), with the
  pulse length from the SM transmit duty cycle of 8.5 % (S1 user guide).
* IW off-nadir spans: derived from the IW incidence range 29.1-46.0 deg.
* Azimuth antenna 12.3 m, elevation 0.821 m (S1 user guide); elevation beam addresses
  and the SES swath numbers of S1-S6 are not public (IW: 10/11/12, ``docs/tops.md``
  section 4).

All coded quantities are quantised exactly as the packet header carries them
(:mod:`sar.l0.radar`), so the simulated echoes use the same values a decoder reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sar.constants import F_REF
from sar.errors import SimulationError
from sar.focus.model import ChirpParameters
from sar.l0.enums import EccNumber
from sar.l0.radar import (
    encode_ref_clock,
    encode_tx_pulse_start_frequency,
    encode_tx_ramp_rate,
    pri_s,
    range_sampling_rate,
    tx_pulse_length_s,
    tx_pulse_start_frequency_hz,
    tx_ramp_rate_hz_per_s,
)

STRIPMAP_DUTY_CYCLE = 0.085
"""Stripmap transmit duty cycle (S1 user guide: SM 8.5 %)."""

IW_BURST_OFFSETS: dict[str, float] = {"IW1": 0.832, "IW2": 1.078, "IW3": 0.848}
"""Time from the start of a sub-swath's burst to the start of the next sub-swath's, s."""

AZIMUTH_BEAM_ANGLE_PER_ADDRESS = 0.018 / 512
"""Assumed steering angle per azimuth beam address step, rad (+-0.018 rad over 1024
addresses; unconfirmed convention of open decoders, ``docs/tops.md`` section 4)."""


@dataclass(frozen=True)
class _Nominal:
    prf: float
    decimation: int
    bandwidth: float
    pulse_length: float
    look_near: float
    look_far: float
    steering_rate_deg: float
    ecc: int
    swath_number: int
    elevation_beam: int
    rank: int | None


def _sm(prf: float, dec: int, bw: float, near: float, far: float, ecc: int, n: int) -> _Nominal:
    return _Nominal(prf, dec, bw, STRIPMAP_DUTY_CYCLE / prf, near, far, 0.0, ecc, n, n, None)


_NOMINAL: dict[str, _Nominal] = {
    "S1": _sm(1890.0, 1, 87.6e6, 17.93, 23.53, EccNumber.S1, 1),
    "S2": _sm(1790.0, 3, 74.2e6, 21.00, 26.33, EccNumber.S2, 2),
    "S3": _sm(1730.0, 4, 59.4e6, 26.18, 30.99, EccNumber.S3, 3),
    "S4": _sm(1670.0, 5, 50.6e6, 30.87, 35.15, EccNumber.S4, 4),
    "S5": _sm(1640.0, 6, 44.8e6, 35.07, 38.85, EccNumber.S5_N, 5),
    "S6": _sm(1610.0, 9, 42.2e6, 37.53, 41.01, EccNumber.S6, 6),
    "IW1": _Nominal(1717.13, 8, 52.40e-6 * 1.078e12, 52.40e-6, 26.0, 31.6, 1.590368784,
                    EccNumber.IW, 10, 7, 9),
    "IW2": _Nominal(1451.63, 11, 62.0e-6 * 7.79e11, 62.0e-6, 31.4, 36.3, 0.979863325,
                    EccNumber.IW, 11, 8, 8),
    "IW3": _Nominal(1685.8, 9, 53.4e-6 * 8.01e11, 53.4e-6, 36.1, 40.4, 1.397440818,
                    EccNumber.IW, 12, 9, None),
}  # fmt: skip

MODES: dict[str, tuple[str, ...]] = {
    **{f"S{i}": (f"S{i}",) for i in range(1, 7)},
    "IW": ("IW1", "IW2", "IW3"),
}
"""Acquisition modes and their swaths."""


@dataclass(frozen=True)
class SwathParameters:
    """Radar parameters of one swath, with their packet-header codes.

    Attributes
    ----------
    name
        ``"S1"`` .. ``"S6"``, ``"IW1"`` .. ``"IW3"``.
    pri_code, prf
        PRI in ``1/f_ref`` counts and the PRF it gives, Hz.
    range_decimation, sampling_rate
        Decimation code and complex sampling rate, Hz.
    txprr_code, txpsf_code, txpl_code
        Chirp codes (S1-IF-ASD-PL-0007 sections 3.2.5.6-3.2.5.8).
    chirp
        The decoded chirp (ramp rate Hz/s, start frequency Hz, length s).
    look_near_deg, look_far_deg
        Off-nadir span of the swath, deg.
    azimuth_steering_rate
        TOPS steering rate, rad/s (0 for stripmap).
    ecc_number, swath_number, elevation_beam_address
        Header codes of the mode and swath.
    nominal_rank
        Rank from real data where known, else ``None`` (derived from the geometry).
    """

    name: str
    pri_code: int
    prf: float
    range_decimation: int
    sampling_rate: float
    txprr_code: int
    txpsf_code: int
    txpl_code: int
    chirp: ChirpParameters
    look_near_deg: float
    look_far_deg: float
    azimuth_steering_rate: float
    ecc_number: int
    swath_number: int
    elevation_beam_address: int
    nominal_rank: int | None

    @property
    def pri(self) -> float:
        """Pulse repetition interval, s."""
        return pri_s(self.pri_code)

    @property
    def is_tops(self) -> bool:
        """True for IW sub-swaths."""
        return self.azimuth_steering_rate != 0.0

    @property
    def look_mid_deg(self) -> float:
        """Off-nadir angle of the swath centre, deg."""
        return 0.5 * (self.look_near_deg + self.look_far_deg)


def swath_parameters(name: str) -> SwathParameters:
    """Radar parameters of swath ``name`` with header codes and quantised values.

    Raises
    ------
    SimulationError
        For an unknown swath.
    """
    try:
        nom = _NOMINAL[name]
    except KeyError:
        raise SimulationError(
            f"unknown swath {name!r}; expected one of {', '.join(_NOMINAL)}"
        ) from None
    pri_code = encode_ref_clock(1.0 / nom.prf)
    txpl_code = encode_ref_clock(nom.pulse_length)
    txpl = tx_pulse_length_s(txpl_code)
    txprr_code = encode_tx_ramp_rate(nom.bandwidth / txpl)
    txprr = tx_ramp_rate_hz_per_s(txprr_code)
    # start frequency: chirp centred on baseband
    txpsf_code = encode_tx_pulse_start_frequency(-0.5 * txprr * txpl, txprr_code)
    txpsf = tx_pulse_start_frequency_hz(txpsf_code, txprr_code)
    return SwathParameters(
        name=name,
        pri_code=pri_code,
        prf=F_REF / pri_code,
        range_decimation=nom.decimation,
        sampling_rate=range_sampling_rate(nom.decimation),
        txprr_code=txprr_code,
        txpsf_code=txpsf_code,
        txpl_code=txpl_code,
        chirp=ChirpParameters(ramp_rate=txprr, start_frequency=txpsf, pulse_length=txpl),
        look_near_deg=nom.look_near,
        look_far_deg=nom.look_far,
        azimuth_steering_rate=math.radians(nom.steering_rate_deg),
        ecc_number=int(nom.ecc),
        swath_number=nom.swath_number,
        elevation_beam_address=nom.elevation_beam,
        nominal_rank=nom.rank,
    )


def mode_swaths(mode: str) -> tuple[SwathParameters, ...]:
    """Parameters of every swath of an acquisition mode (``"S1"``..``"S6"``, ``"IW"``).

    Raises
    ------
    SimulationError
        For an unknown mode.
    """
    try:
        names = MODES[mode]
    except KeyError:
        raise SimulationError(
            f"unknown mode {mode!r}; expected one of {', '.join(MODES)}"
        ) from None
    return tuple(swath_parameters(n) for n in names)


def azimuth_beam_address(steering_angle: npt.ArrayLike) -> npt.NDArray[np.uint16]:
    """10-bit azimuth beam address of a steering angle (rad), 512 at boresight (assumed
    linear mapping, :data:`AZIMUTH_BEAM_ANGLE_PER_ADDRESS`)."""
    addr = np.rint(512 + np.asarray(steering_angle) / AZIMUTH_BEAM_ANGLE_PER_ADDRESS)
    return np.clip(addr, 0, 1023).astype(np.uint16)
