"""AOS transfer frame headers and M_PDU first header pointers (CCSDS 732.0-B section 4.1).

Primary header bit layout (48 bits, first transmitted bit first): transfer frame version
number (2, '01' for AOS), spacecraft id (8), virtual channel id (6), virtual channel
frame count (24), signalling field: replay flag (1), VC frame count usage flag (1),
reserved spare (2), VC frame count cycle (4). The M_PDU header that opens the data field
holds 5 spare bits and the 11-bit first header pointer (section 4.1.4.2).

The frame error control field, when present, is the CRC-16 of section 4.1.6 (generator
x^16 + x^12 + x^5 + 1, register preset to all ones, no final inversion) over all
preceding octets of the frame.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

from sar.downlink.params import PRIMARY_HEADER_OCTETS, FramingParameters

FRAME_HEADER_DTYPE = np.dtype(
    [
        ("version", np.uint8),
        ("spacecraft_id", np.uint8),
        ("vcid", np.uint8),
        ("vc_frame_count", np.uint32),
        ("replay", np.bool_),
        ("count_usage", np.bool_),
        ("count_cycle", np.uint8),
        ("first_header_pointer", np.uint16),
    ]
)
"""One decoded frame header (snake_case names of the CCSDS 732.0-B fields)."""

AOS_VERSION = 1
"""Transfer frame version number of AOS frames (binary '01')."""


def decode_frame_headers(
    frames: npt.NDArray[np.uint8], params: FramingParameters
) -> npt.NDArray[np.void]:
    """Decode primary headers and first header pointers of transfer frames.

    Parameters
    ----------
    frames
        uint8, shape (n, >= packet zone offset): transfer frames.
    params
        Frame layout (position of the M_PDU header).

    Returns
    -------
    numpy.ndarray
        Records of :data:`FRAME_HEADER_DTYPE`, shape (n,).
    """
    h = frames[:, :PRIMARY_HEADER_OCTETS].astype(np.uint32)
    out = np.empty(frames.shape[0], dtype=FRAME_HEADER_DTYPE)
    out["version"] = h[:, 0] >> 6
    out["spacecraft_id"] = ((h[:, 0] & 0x3F) << 2) | (h[:, 1] >> 6)
    out["vcid"] = h[:, 1] & 0x3F
    out["vc_frame_count"] = (h[:, 2] << 16) | (h[:, 3] << 8) | h[:, 4]
    out["replay"] = (h[:, 5] & 0x80) != 0
    out["count_usage"] = (h[:, 5] & 0x40) != 0
    out["count_cycle"] = h[:, 5] & 0x0F
    m = params.header_octets
    out["first_header_pointer"] = ((frames[:, m].astype(np.uint16) & 0x07) << 8) | frames[:, m + 1]
    return out


def encode_frame_header(
    spacecraft_id: int,
    vcid: int,
    count: int,
    *,
    replay: bool = False,
    count_cycle: int | None = None,
) -> bytes:
    """The 6-octet AOS primary header.

    Parameters
    ----------
    spacecraft_id
        0..255.
    vcid
        Virtual channel id, 0..63.
    count
        VC frame count; taken modulo 2^24 (the cycle field carries the next 4 bits when
        ``count_cycle`` is used).
    replay
        Replay flag.
    count_cycle
        ``None``: usage flag 0; else the 4-bit VC frame count cycle (usage flag 1).
    """
    first = (AOS_VERSION << 14) | (spacecraft_id << 6) | vcid
    signalling = (0x80 if replay else 0) | (
        0 if count_cycle is None else 0x40 | (count_cycle & 0x0F)
    )
    return first.to_bytes(2, "big") + (count & 0xFFFFFF).to_bytes(3, "big") + bytes([signalling])


def _crc_table() -> npt.NDArray[np.uint16]:
    table = np.zeros(256, dtype=np.uint16)
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        table[i] = crc & 0xFFFF
    return table


_CRC_TABLE = _crc_table()


@nb.njit(cache=True)
def _crc16_rows(
    data: npt.NDArray[np.uint8], table: npt.NDArray[np.uint16]
) -> npt.NDArray[np.uint16]:
    out = np.empty(data.shape[0], dtype=np.uint16)
    for r in range(data.shape[0]):
        crc = 0xFFFF
        for b in data[r]:
            crc = ((crc << 8) & 0xFFFF) ^ table[((crc >> 8) ^ b) & 0xFF]
        out[r] = crc
    return out


def frame_crc16(data: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint16]:
    """CRC-16 of each row (CCSDS 732.0-B 4.1.6: poly 0x1021, preset 0xFFFF).

    Parameters
    ----------
    data
        uint8, shape (n, m): the frame octets that precede the error control field.
    """
    rows = np.ascontiguousarray(np.atleast_2d(data), dtype=np.uint8)
    crc: npt.NDArray[np.uint16] = _crc16_rows(rows, _CRC_TABLE)
    return crc


def check_frame_crc(frames: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """True where the last two octets of a frame equal the CRC-16 of the others."""
    got = (frames[:, -2].astype(np.uint16) << 8) | frames[:, -1]
    ok: npt.NDArray[np.bool_] = frame_crc16(frames[:, :-2]) == got
    return ok
