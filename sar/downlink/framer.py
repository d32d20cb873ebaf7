"""The on-board side: space packets into AOS frames into CADUs (the simulator's downlink).

Steps, mirroring :mod:`sar.downlink.decoder`:

1. :func:`packetise`: the packets of one virtual channel are laid end to end in M_PDU
   packet zones (CCSDS 732.0-B 4.1.4), each zone's first header pointer giving the
   first packet starting in it; the last zone is completed with one idle packet
   (APID 0x7FF, CCSDS 133.0-B), which may spill into one more zone when fewer than 7
   octets are left;
2. :func:`build_frames`: AOS primary header (version '01', spacecraft id, VC id, VC
   frame count modulo 2^24, signalling field), optional fields of
   :class:`~sar.downlink.params.FramingParameters` (zeros), M_PDU header, packet zone,
   and the CRC-16 when the frame error control field is present;
3. :func:`encode_cadus`: Reed-Solomon check symbols (interleaved), pseudo-randomisation
   and the attached sync marker.

:func:`idle_frames` makes fill frames (VC 63).
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

from sar.downlink.aos import encode_frame_header, frame_crc16
from sar.downlink.errors import InvalidFramingError
from sar.downlink.params import (
    ASM_BYTES,
    FHP_IDLE_DATA,
    FHP_NO_PACKET_START,
    IDLE_APID,
    IDLE_VCID,
    MIN_PACKET_OCTETS,
    PACKET_HEADER_OCTETS,
    FramingParameters,
)
from sar.downlink.randomiser import pseudo_random_sequence
from sar.downlink.reed_solomon import encode_codeblocks

IDLE_FILL_OCTET = 0x55
"""Data octet of idle packets and idle frames (any pattern is allowed)."""


@nb.njit(cache=True)
def _packet_starts(buf: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.int64], int]:
    """Start offsets of the packets of a concatenated stream, and the octets they cover."""
    out = np.empty(buf.size // MIN_PACKET_OCTETS + 1, dtype=np.int64)
    n = 0
    p = 0
    while p + PACKET_HEADER_OCTETS <= buf.size:
        length = int((np.int64(buf[p + 4]) << 8) | np.int64(buf[p + 5])) + 7
        if p + length > buf.size:
            break
        out[n] = p
        n += 1
        p += length
    return out[:n], p


def packet_offsets(stream: bytes | npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Start offsets of the space packets of a stream (CCSDS 133.0-B 4.1.3.5.3 lengths).

    Raises
    ------
    InvalidFramingError
        If the stream does not end on a packet boundary.
    """
    buf = np.frombuffer(stream, dtype=np.uint8) if isinstance(stream, bytes) else stream
    starts, covered = _packet_starts(buf)
    if covered != buf.size:
        raise InvalidFramingError(
            f"packet stream does not end on a packet boundary (last packet at {covered})"
        )
    return starts


def idle_packet(n_octets: int) -> bytes:
    """An idle space packet of ``n_octets`` (>= 7) octets."""
    if n_octets < MIN_PACKET_OCTETS or n_octets > 65542:
        raise InvalidFramingError(f"idle packet length must be 7..65542 octets, got {n_octets}")
    header = (
        (IDLE_APID).to_bytes(2, "big")  # version 0, type 0, no secondary header
        + (0xC000).to_bytes(2, "big")  # unsegmented, count 0
        + (n_octets - 7).to_bytes(2, "big")
    )
    return header + bytes([IDLE_FILL_OCTET]) * (n_octets - PACKET_HEADER_OCTETS)


def packetise(
    stream: bytes, zone_octets: int
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Lay a packet stream into M_PDU packet zones.

    Parameters
    ----------
    stream
        Concatenated space packets of one virtual channel.
    zone_octets
        Packet zone length, octets.

    Returns
    -------
    zones
        uint8, shape (n, zone_octets).
    first_header_pointers
        int64, shape (n,): offset of the first packet starting in each zone, or 0x7FF.
    """
    starts = packet_offsets(stream)
    rest = (-len(stream)) % zone_octets
    fill = b""
    if rest:
        fill = idle_packet(rest if rest >= MIN_PACKET_OCTETS else rest + zone_octets)
        starts = np.append(starts, len(stream))
    data = np.frombuffer(stream + fill, dtype=np.uint8)
    zones = data.reshape(-1, zone_octets)
    zone_starts = np.arange(zones.shape[0], dtype=np.int64) * zone_octets
    k = np.searchsorted(starts, zone_starts)
    first = np.where(k < starts.size, starts[np.minimum(k, starts.size - 1)], -1)
    inside = (first >= zone_starts) & (first < zone_starts + zone_octets) & (k < starts.size)
    fhp = np.where(inside, first - zone_starts, FHP_NO_PACKET_START).astype(np.int64)
    return zones, fhp


def build_frames(
    zones: npt.NDArray[np.uint8],
    first_header_pointers: npt.NDArray[np.int64],
    params: FramingParameters,
    *,
    vcid: int,
    spacecraft_id: int = 0,
    first_count: int = 0,
    replay: bool = False,
) -> npt.NDArray[np.uint8]:
    """Transfer frames around packet zones.

    Parameters
    ----------
    zones, first_header_pointers
        From :func:`packetise`.
    params
        Frame layout.
    vcid
        Virtual channel id (0..62).
    spacecraft_id
        Spacecraft id written in every frame.
    first_count
        VC frame count of the first frame (counts wrap modulo 2^24).
    replay
        Replay flag of every frame.

    Returns
    -------
    numpy.ndarray
        uint8, shape (n, transfer frame octets).
    """
    if not 0 <= vcid < IDLE_VCID:
        raise InvalidFramingError(f"virtual channel id must be 0..62 for data, got {vcid}")
    n = zones.shape[0]
    if zones.shape[1] != params.packet_zone_octets:
        raise InvalidFramingError(
            f"zones of {zones.shape[1]} octets, the layout has {params.packet_zone_octets}"
        )
    frames = np.zeros((n, params.transfer_frame_octets), dtype=np.uint8)
    head = np.frombuffer(encode_frame_header(spacecraft_id, vcid, 0, replay=replay), np.uint8)
    frames[:, :6] = head
    counts = (first_count + np.arange(n, dtype=np.int64)) % (1 << 24)
    frames[:, 2] = (counts >> 16) & 0xFF
    frames[:, 3] = (counts >> 8) & 0xFF
    frames[:, 4] = counts & 0xFF
    m = params.header_octets
    frames[:, m] = (first_header_pointers >> 8) & 0x07
    frames[:, m + 1] = first_header_pointers & 0xFF
    z0 = params.packet_zone_offset
    frames[:, z0 : z0 + params.packet_zone_octets] = zones
    if params.frame_error_control:
        crc = frame_crc16(frames[:, :-2])
        frames[:, -2] = crc >> 8
        frames[:, -1] = crc & 0xFF
    return frames


def idle_frames(
    n: int, params: FramingParameters, *, spacecraft_id: int = 0, first_count: int = 0
) -> npt.NDArray[np.uint8]:
    """``n`` idle transfer frames (VC 63, FHP 0x7FE, fill octets)."""
    zones = np.full((n, params.packet_zone_octets), IDLE_FILL_OCTET, dtype=np.uint8)
    fhp = np.full(n, FHP_IDLE_DATA, dtype=np.int64)
    frames = build_frames(
        zones, fhp, params, vcid=0, spacecraft_id=spacecraft_id, first_count=first_count
    )
    frames[:, 1] = (frames[:, 1] & 0xC0) | IDLE_VCID
    if params.frame_error_control:
        crc = frame_crc16(frames[:, :-2])
        frames[:, -2] = crc >> 8
        frames[:, -1] = crc & 0xFF
    return frames


def encode_cadus(frames: npt.NDArray[np.uint8], params: FramingParameters) -> bytes:
    """Reed-Solomon encode, randomise and prefix the sync marker.

    Parameters
    ----------
    frames
        uint8, shape (n, transfer frame octets).
    params
        Frame layout and coding.

    Returns
    -------
    bytes
        ``n`` CADUs of ``params.cadu_octets`` octets.
    """
    if frames.ndim != 2 or frames.shape[1] != params.transfer_frame_octets:
        raise InvalidFramingError(
            f"frames must have shape (n, {params.transfer_frame_octets}), got {frames.shape}"
        )
    blocks = (
        encode_codeblocks(frames, params.interleave_depth, dual_basis=params.dual_basis)
        if params.reed_solomon
        else np.array(frames, dtype=np.uint8, copy=True)
    )
    if params.randomised:
        blocks ^= pseudo_random_sequence(blocks.shape[1])
    out = np.empty((blocks.shape[0], params.cadu_octets), dtype=np.uint8)
    out[:, :4] = np.frombuffer(ASM_BYTES, dtype=np.uint8)
    out[:, 4:] = blocks
    return out.tobytes()
