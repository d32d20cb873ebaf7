"""Vectorised decoding and encoding of the 68-byte packet headers.

Layout: S1-IF-ASD-PL-0007 issue 13, section 3.1 (6-byte primary header) and 3.2
(62-byte secondary header: datation 3.2.1, fixed ancillary 3.2.2, sub-commutated
ancillary 3.2.3, counters 3.2.4, radar configuration support 3.2.5, radar sample
count 3.2.6, one filler octet). All fields are big-endian bit fields; the table
:data:`BIT_LAYOUT` gives each field's first bit (from the packet's first bit) and width.

In calibration packets (SAS SSB flag 1) the bits of ``elevation_beam_address`` hold
the SAS test flag and calibration type, and ``azimuth_beam_address`` holds the
calibration beam address (section 3.2.5.13.2); the raw bits are kept either way in the
header record, and :func:`sas_fields` reads them as the specification lays them out.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sar.constants import PRIMARY_HEADER_BYTES, SECONDARY_HEADER_BYTES, SYNC_MARKER
from sar.errors import CorruptPacketError, SyncMarkerError, TruncatedPacketError
from sar.l0.enums import VALID_BAQ_MODES
from sar.l0.fields import HEADER_DTYPE, SPEC_FIELD_NAMES, HeaderArray, empty_headers

HEADER_BYTES = PRIMARY_HEADER_BYTES + SECONDARY_HEADER_BYTES
"""Bytes of primary + secondary header (68)."""

BIT_LAYOUT: dict[str, tuple[int, int]] = {
    "packet_version_number": (0, 3),
    "packet_type": (3, 1),
    "secondary_header_flag": (4, 1),
    "process_id": (5, 7),
    "packet_category": (12, 4),
    "sequence_flags": (16, 2),
    "packet_sequence_count": (18, 14),
    "packet_data_length": (32, 16),
    "coarse_time": (48, 32),
    "fine_time": (80, 16),
    "sync_marker": (96, 32),
    "data_take_id": (128, 32),
    "ecc_number": (160, 8),
    "test_mode": (169, 3),
    "rx_channel_id": (172, 4),
    "instrument_configuration_id": (176, 32),
    "subcom_word_index": (208, 8),
    "subcom_word": (216, 16),
    "space_packet_count": (232, 32),
    "pri_count": (264, 32),
    "error_flag": (296, 1),
    "baq_mode": (299, 5),
    "baq_block_length": (304, 8),
    "range_decimation": (320, 8),
    "rx_gain": (328, 8),
    "tx_ramp_rate": (336, 16),
    "tx_pulse_start_frequency": (352, 16),
    "tx_pulse_length": (368, 24),
    "rank": (395, 5),
    "pri": (400, 24),
    "swst": (424, 24),
    "swl": (448, 24),
    "sas_ssb_flag": (472, 1),
    "polarisation": (473, 3),
    "temperature_compensation": (476, 2),
    "elevation_beam_address": (480, 4),
    "azimuth_beam_address": (486, 10),
    "cal_mode": (496, 2),
    "tx_pulse_number": (499, 5),
    "signal_type": (504, 4),
    "swap": (511, 1),
    "swath_number": (512, 8),
    "number_of_quads": (520, 16),
}
"""Field name -> (first bit, number of bits) inside the 68-byte header."""

assert set(BIT_LAYOUT) == set(SPEC_FIELD_NAMES)


NOT_APPLICABLE = -1
"""Value of a SAS field that the packet's SSB flag says it does not carry."""

SAS_CAL_TYPE = {8: 0, 9: 1, 10: 2, 11: 3, 12: 4, 15: 7}
"""SES signal type (table 3.2-20) -> SAS calibration type code (section 3.2.5.13.2.4: 0 Tx,
1 Rx, 2 EPDN, 3 TA, 4 APDN, 7 TxH Iso)."""

SAS_TEST_NOMINAL = 1
"""SAS test flag of a nominal calibration (0: SAS test mode active; section 3.2.5.13.2.3)."""


def encode_calibration_sas(
    headers: HeaderArray, cal_type: npt.ArrayLike, beam_address: npt.ArrayLike = 0,
    sas_test: npt.ArrayLike = SAS_TEST_NOMINAL,
) -> None:  # fmt: skip
    """Write the calibration layout of the SAS field (flag 1, SAS test, calibration type,
    calibration beam address) into ``headers`` in place (the raw bits live in
    ``elevation_beam_address`` and ``azimuth_beam_address``)."""
    headers["sas_ssb_flag"] = 1
    test = np.asarray(sas_test, dtype=np.int64) & 1
    kind = np.asarray(cal_type, dtype=np.int64) & 0x7
    headers["elevation_beam_address"] = (test << 3) | kind
    headers["azimuth_beam_address"] = np.asarray(beam_address, dtype=np.int64) & 0x3FF


def sas_fields(headers: HeaderArray) -> dict[str, npt.NDArray[np.int16]]:
    """The SAS SSB data fields as the SSB flag lays them out (section 3.2.5.13).

    Imaging packets (``sas_ssb_flag`` 0) carry the elevation beam address (4 bits) and the
    azimuth beam address (10 bits); calibration packets (flag 1) carry in the same bits
    the SAS test flag (1 bit: 0 test mode, 1 normal), the calibration type (3 bits) and
    the calibration beam address (10 bits). Fields a packet does not carry are
    :data:`NOT_APPLICABLE`.

    Returns
    -------
    dict
        int16 arrays ``elevation_beam_address``, ``azimuth_beam_address``, ``sas_test``,
        ``cal_type``, ``calibration_beam_address``, one value per packet.
    """
    cal = headers["sas_ssb_flag"].astype(bool)
    elevation = headers["elevation_beam_address"].astype(np.int16)
    azimuth = headers["azimuth_beam_address"].astype(np.int16)
    na = np.int16(NOT_APPLICABLE)
    return {
        "elevation_beam_address": np.where(cal, na, elevation),
        "azimuth_beam_address": np.where(cal, na, azimuth),
        "sas_test": np.where(cal, elevation >> 3, na).astype(np.int16),
        "cal_type": np.where(cal, elevation & 0x7, na).astype(np.int16),
        "calibration_beam_address": np.where(cal, azimuth, na),
    }


def header_rows(
    data: bytes | npt.NDArray[np.uint8], offsets: npt.ArrayLike
) -> npt.NDArray[np.uint8]:
    """Gather the 68 header bytes of each packet into an ``[n, 68]`` array.

    Raises
    ------
    TruncatedPacketError
        If a header runs past the end of ``data``.
    """
    buf = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes | bytearray) else data
    offs = np.asarray(offsets, dtype=np.int64)
    if offs.size and (offs.min() < 0 or offs.max() + HEADER_BYTES > buf.size):
        bad = int(offs[(offs < 0) | (offs + HEADER_BYTES > buf.size)][0])
        raise TruncatedPacketError("packet header runs past the end of the data", bad)
    rows: npt.NDArray[np.uint8] = buf[offs[:, None] + np.arange(HEADER_BYTES)[None, :]]
    return rows


def _extract(rows: npt.NDArray[np.uint8], bit: int, width: int) -> npt.NDArray[np.uint64]:
    first = bit // 8
    nbytes = (bit % 8 + width + 7) // 8
    value = np.zeros(rows.shape[0], dtype=np.uint64)
    for k in range(nbytes):
        value = (value << np.uint64(8)) | rows[:, first + k].astype(np.uint64)
    shift = nbytes * 8 - bit % 8 - width
    return (value >> np.uint64(shift)) & np.uint64((1 << width) - 1)


def decode_headers(
    data: bytes | npt.NDArray[np.uint8], offsets: npt.ArrayLike, *, validate: bool = True
) -> HeaderArray:
    """Decode the headers of the packets starting at ``offsets``.

    Parameters
    ----------
    data
        The byte stream (bytes or a uint8 array).
    offsets
        Byte offset of each packet's first byte, shape (n,).
    validate
        Check each header with :func:`validate_headers` (raises on the first bad one).

    Returns
    -------
    HeaderArray
        One :data:`~sar.l0.fields.HEADER_DTYPE` record per packet; ``byte_offset`` is the
        offset, ``n_samples`` is ``2 * number_of_quads``.
    """
    offs = np.asarray(offsets, dtype=np.int64)
    rows = header_rows(data, offs)
    out = empty_headers(offs.size)
    for name, (bit, width) in BIT_LAYOUT.items():
        out[name] = _extract(rows, bit, width).astype(HEADER_DTYPE[name])
    out["byte_offset"] = offs
    out["n_samples"] = 2 * out["number_of_quads"].astype(np.int32)
    if validate:
        validate_headers(out)
    return out


def encode_headers(headers: HeaderArray) -> npt.NDArray[np.uint8]:
    """Encode header records to bytes, the exact inverse of :func:`decode_headers`.

    Values wider than their field raise :class:`CorruptPacketError`; spare bits and the
    filler octet are zero.

    Returns
    -------
    numpy.ndarray
        uint8 array of shape (n, 68).
    """
    n = headers.shape[0]
    rows = np.zeros((n, HEADER_BYTES), dtype=np.uint8)
    for name, (bit, width) in BIT_LAYOUT.items():
        value = headers[name].astype(np.uint64)
        if n and int(value.max()) >= (1 << width):
            raise CorruptPacketError(f"header field {name} does not fit in {width} bits")
        first = bit // 8
        nbytes = (bit % 8 + width + 7) // 8
        shifted = value << np.uint64(nbytes * 8 - bit % 8 - width)
        for k in range(nbytes):
            byte = (shifted >> np.uint64(8 * (nbytes - 1 - k))) & np.uint64(0xFF)
            rows[:, first + k] |= byte.astype(np.uint8)
    return rows


def validate_headers(headers: HeaderArray) -> None:
    """Check header invariants of S1-IF-ASD-PL-0007 sections 3.1 and 3.2.

    Raises
    ------
    SyncMarkerError
        If a sync marker is not 0x352EF853.
    CorruptPacketError
        On a wrong version/type/secondary-header flag, a packet length that is not a
        multiple of 4 octets or shorter than the header, or an unknown BAQ mode.
        The message carries the byte offset of the first bad packet.
    """
    checks: tuple[tuple[npt.NDArray[np.bool_], str, type[CorruptPacketError]], ...] = (
        (headers["packet_version_number"] != 0, "packet version number is not 0",
         CorruptPacketError),
        (headers["packet_type"] != 0, "packet type is not 0", CorruptPacketError),
        (headers["secondary_header_flag"] != 1, "secondary header flag is not 1",
         CorruptPacketError),
        (headers["sync_marker"] != SYNC_MARKER, "sync marker is not 0x352EF853",
         SyncMarkerError),
        ((headers["packet_data_length"].astype(np.int64) + 7) % 4 != 0,
         "packet length is not a multiple of 4 octets", CorruptPacketError),
        (headers["packet_data_length"].astype(np.int64) + 7 < HEADER_BYTES,
         "packet length is shorter than the headers", CorruptPacketError),
        (~np.isin(headers["baq_mode"], np.array(sorted(VALID_BAQ_MODES))),
         "unknown BAQ mode", CorruptPacketError),
    )  # fmt: skip
    for bad, message, error in checks:
        if np.any(bad):
            i = int(np.argmax(bad))
            raise error(f"packet {i}: {message}", int(headers["byte_offset"][i]))


def packet_lengths(headers: HeaderArray) -> npt.NDArray[np.int64]:
    """Total packet lengths in bytes (``packet_data_length + 7``, section 3.1)."""
    return headers["packet_data_length"].astype(np.int64) + 7
