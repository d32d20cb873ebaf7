"""Integer codes of the Level-0 packet header (S1-IF-ASD-PL-0007 issue 13, section 3.2).

Each enum mirrors one code table of the specification. Header records
(:data:`sar.l0.fields.HEADER_DTYPE`) keep the raw integers; these enums give them names.
"""

from __future__ import annotations

from enum import IntEnum


class SignalType(IntEnum):
    """SIGTYP code, SES SSB message (S1-IF-ASD-PL-0007 section 3.2.5.14, table 3.2-20).

    Codes 11, 12 and 15 name S-1A/B calibration types (11 is Tx Cal Iso on S-1C/D).
    """

    ECHO = 0
    NOISE = 1
    TX_CAL = 8
    RX_CAL = 9
    EPDN_CAL = 10
    TA_CAL = 11
    APDN_CAL = 12
    TXH_CAL_ISO = 15


CALIBRATION_SIGNAL_TYPES: frozenset[int] = frozenset({8, 9, 10, 11, 12, 15})
"""Signal-type codes of internal calibration packets."""


class BaqMode(IntEnum):
    """BAQ mode code (S1-IF-ASD-PL-0007 section 3.2.5.2, table 3.2-13)."""

    BYPASS = 0
    BAQ_3BIT = 3
    BAQ_4BIT = 4
    BAQ_5BIT = 5
    FDBAQ_MODE_0 = 12
    FDBAQ_MODE_1 = 13
    FDBAQ_MODE_2 = 14


FDBAQ_MODES: frozenset[int] = frozenset({12, 13, 14})
"""BAQ-mode codes that carry FDBAQ (Huffman-coded, data format D) user data."""

BAQ_MODES: frozenset[int] = frozenset({3, 4, 5})
"""BAQ-mode codes of fixed-rate BAQ (data format C) user data."""

VALID_BAQ_MODES: frozenset[int] = frozenset({0}) | BAQ_MODES | FDBAQ_MODES
"""All BAQ-mode codes a decoder accepts."""


class Polarisation(IntEnum):
    """POL code of the SAS SSB message (S1-IF-ASD-PL-0007 section 3.2.5.13, table 3.2-16)."""

    TX_H = 0
    HH = 1
    HV = 2
    H_VH = 3
    TX_V = 4
    VH = 5
    VV = 6
    V_VH = 7


class RxChannelId(IntEnum):
    """Rx channel id (S1-IF-ASD-PL-0007 section 3.2.2.5)."""

    RX_V = 0
    RX_H = 1


class TestMode(IntEnum):
    """TSTMOD code (S1-IF-ASD-PL-0007 section 3.2.2.4)."""

    DEFAULT = 0
    CONTINGENCY_OPER = 4
    CONTINGENCY_BYPASS = 5
    OPER = 6
    BYPASS = 7


class CalMode(IntEnum):
    """CALMOD code of the SES SSB message (S1-IF-ASD-PL-0007 section 3.2.5.14)."""

    INTERLEAVED_PCC2 = 0
    PREAMBLE_POSTAMBLE_PCC2 = 1
    PCC32 = 2
    RF672 = 3


class CalType(IntEnum):
    """CALTYP code of the SAS SSB message when the SSB flag is 1 (section 3.2.5.13)."""

    TX_CAL = 0
    RX_CAL = 1
    EPDN_CAL = 2
    TA_CAL = 3
    APDN_CAL = 4
    TXH_CAL_ISO = 7


class TemperatureCompensation(IntEnum):
    """TCMP code: front-end (FE) and tile-amplifier (TA) compensation (section 3.2.5.13)."""

    FE_OFF_TA_OFF = 0
    FE_ON_TA_OFF = 1
    FE_OFF_TA_ON = 2
    FE_ON_TA_ON = 3


class EccNumber(IntEnum):
    """ECC number: the measurement mode (S1-IF-ASD-PL-0007 section 3.2.2.3, table 3.2-4).

    Codes 0, 7, 28-30, 36 and 47 are contingency codes and have no member.
    """

    S1 = 1
    S2 = 2
    S3 = 3
    S4 = 4
    S5_N = 5
    S6 = 6
    IW = 8
    WV = 9
    S5_S = 10
    S1_NO_ICAL = 11
    S2_NO_ICAL = 12
    S3_NO_ICAL = 13
    S4_NO_ICAL = 14
    RFC = 15
    TEST = 16
    ELEVATION_NOTCH_S3 = 17
    AZIMUTH_NOTCH_S1 = 18
    AZIMUTH_NOTCH_S2 = 19
    AZIMUTH_NOTCH_S3 = 20
    AZIMUTH_NOTCH_S4 = 21
    AZIMUTH_NOTCH_S5_N = 22
    AZIMUTH_NOTCH_S5_S = 23
    AZIMUTH_NOTCH_S6 = 24
    S5_N_NO_ICAL = 25
    S5_S_NO_ICAL = 26
    S6_NO_ICAL = 27
    ELEVATION_NOTCH_S3_NO_ICAL = 31
    EW = 32
    AZIMUTH_NOTCH_S1_NO_ICAL = 33
    AZIMUTH_NOTCH_S3_NO_ICAL = 34
    AZIMUTH_NOTCH_S6_NO_ICAL = 35
    NOISE_S1 = 37
    NOISE_S2 = 38
    NOISE_S3 = 39
    NOISE_S4 = 40
    NOISE_S5_N = 41
    NOISE_S5_S = 42
    NOISE_S6 = 43
    NOISE_EW = 44
    NOISE_IW = 45
    NOISE_WV = 46


TOPS_ECC = frozenset({int(EccNumber.IW), int(EccNumber.EW)})
"""ECC numbers of the TOPS modes (IW, EW), whose echoes come in bursts."""


def signal_type_name(code: int) -> str:
    """Return the lower-case name of a signal-type code (``"echo"``, ``"tx_cal"``, ...).

    Unknown codes give ``"signal_type_<code>"``.
    """
    try:
        return SignalType(code).name.lower()
    except ValueError:
        return f"signal_type_{code}"


def polarisation_name(code: int) -> str:
    """Return the polarisation name of a POL code (``"VV"``, ``"VH"``, ``"TX_H"`` ...)."""
    try:
        return Polarisation(code).name
    except ValueError:
        return f"pol_{code}"
