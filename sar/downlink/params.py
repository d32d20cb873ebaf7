"""Layout of the Sentinel-1 X-band downlink frames: CCSDS facts and Sentinel-1 assumptions.

A CADU (channel access data unit, CCSDS 131.0-B-2 sections 8-9) is the 32-bit attached
sync marker followed by a pseudo-randomised codeblock; with Reed-Solomon coding the
codeblock is an interleaved RS(255,223) block of 255 I octets whose first 223 I octets
are one AOS transfer frame (CCSDS 732.0-B-2/-3, section 4.1):

====================  ========  ===========================================================
field                  octets   content
====================  ========  ===========================================================
primary header         6        version '01', spacecraft id (8 bits), virtual channel id
                                (6 bits), VC frame count (24 bits), signalling field
                                (replay flag, VC frame count usage flag, 2 spare bits,
                                VC frame count cycle (4 bits))
header error control   0 or 2   optional RS(10,6) over GF(16) (not decoded here)
insert zone            0..      optional, fixed length per physical channel
data field             ...      M_PDU: 2-octet header (5 spare bits, 11-bit first header
                                pointer) and the packet zone
operational control    0 or 4   optional
frame error control    0 or 2   optional CRC-16 (CCSDS 732.0-B 4.1.6)
====================  ========  ===========================================================

Idle (fill) frames use virtual channel 63 (all ones). The first header pointer (FHP)
is 0x7FF when no packet starts in the packet zone and 0x7FE when the zone holds only
idle data (CCSDS 732.0-B 4.1.4.2.2). Space packets (CCSDS 133.0-B-1/-2 section 4.1)
carry a 6-octet primary header whose last field is the data length minus one; the
idle packet has APID 0x7FF.

What is *not* public for Sentinel-1 (S1-IF-ASD-PL-0007 describes the packets, not the
link; the Level-0 format specification S1PD.SP.00110.ASTR only shows that each ISP's
annotation records a frame count, missing frames, a CRC flag, the VCID and the X-band
channel) is a setting of :class:`FramingParameters`, with these **assumed** defaults:

* RS(255,223) with interleaving depth I = 4, dual basis, pseudo-randomiser on: a common
  CCSDS choice for high-rate EO downlinks, giving a 1024-octet CADU and an 892-octet
  transfer frame (I = 5 would give 1279-octet CADUs and 1115-octet frames;
  :func:`sar.downlink.detect.detect_framing` finds the depth from the stream itself);
* no frame header error control, no insert zone, no operational control field, no
  frame error control field (the RS code already detects errors);
* virtual channel ids 1 and 2 for the two X-band channels' SAR data;
* spacecraft id not checked (``None``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sar.downlink.errors import InvalidFramingError
from sar.downlink.reed_solomon import K, N

ASM = 0x1ACFFC1D
"""Attached sync marker of RS/uncoded/convolutional links (CCSDS 131.0-B-2 section 8.3)."""

ASM_BYTES = ASM.to_bytes(4, "big")
"""The marker as transmitted (first octet first)."""

PRIMARY_HEADER_OCTETS = 6
"""AOS transfer frame primary header without header error control (CCSDS 732.0-B 4.1.2)."""

MPDU_HEADER_OCTETS = 2
"""M_PDU header: 5 spare bits and the 11-bit first header pointer (732.0-B 4.1.4.2)."""

IDLE_VCID = 63
"""Virtual channel of idle (fill) transfer frames (CCSDS 732.0-B 4.1.2.3)."""

FHP_NO_PACKET_START = 0x7FF
"""First header pointer when no packet starts in the packet zone."""

FHP_IDLE_DATA = 0x7FE
"""First header pointer when the packet zone contains only idle data."""

IDLE_APID = 0x7FF
"""APID of idle space packets (CCSDS 133.0-B 4.1.3.3.4.4)."""

PACKET_HEADER_OCTETS = 6
"""Space packet primary header (CCSDS 133.0-B 4.1.3)."""

MIN_PACKET_OCTETS = 7
"""Smallest space packet: header plus one octet of data."""

DEFAULT_VCIDS = (1, 2)
"""Assumed virtual channel of the SAR data on X-band channel 1 and 2 (not public)."""


@dataclass(frozen=True)
class FramingParameters:
    """Layout of the CADUs of one physical (X-band) channel.

    Parameters
    ----------
    interleave_depth
        Reed-Solomon interleaving depth I (1, 2, 3, 4, 5, 8); default 4 (assumption).
    reed_solomon
        Frames are RS(255,223) codeblocks (True) or uncoded (False).
    dual_basis
        RS symbols in the dual basis (CCSDS) rather than conventional.
    randomised
        Codeblocks are pseudo-randomised (CCSDS 131.0-B-2 section 9).
    frame_octets
        Transfer frame length when ``reed_solomon`` is False, octets; ignored otherwise
        (the frame is then 223 I octets).
    header_error_control
        Frame header error control field present (2 octets, not checked).
    insert_zone_octets
        Length of the insert zone, octets.
    operational_control
        Operational control field present (4 octets).
    frame_error_control
        Frame error control field present (CRC-16 over the frame, checked).
    spacecraft_id
        Expected spacecraft id; frames of other spacecraft are counted and dropped.
        ``None`` accepts any.
    """

    interleave_depth: int = 4
    reed_solomon: bool = True
    dual_basis: bool = True
    randomised: bool = True
    frame_octets: int = 892
    header_error_control: bool = False
    insert_zone_octets: int = 0
    operational_control: bool = False
    frame_error_control: bool = False
    spacecraft_id: int | None = None

    def __post_init__(self) -> None:
        if self.reed_solomon and self.interleave_depth not in (1, 2, 3, 4, 5, 8):
            raise InvalidFramingError(
                f"interleave depth must be 1, 2, 3, 4, 5 or 8, got {self.interleave_depth}"
            )
        if self.insert_zone_octets < 0:
            raise InvalidFramingError("insert zone length must be >= 0")
        if self.spacecraft_id is not None and not 0 <= self.spacecraft_id < 256:
            raise InvalidFramingError(f"spacecraft id must be 0..255, got {self.spacecraft_id}")
        if self.packet_zone_octets < MIN_PACKET_OCTETS:
            raise InvalidFramingError(
                f"frame of {self.transfer_frame_octets} octets leaves no room for packets"
            )

    @property
    def transfer_frame_octets(self) -> int:
        """Transfer frame length, octets (223 I with Reed-Solomon)."""
        return K * self.interleave_depth if self.reed_solomon else self.frame_octets

    @property
    def codeblock_octets(self) -> int:
        """Octets after the sync marker (255 I with Reed-Solomon)."""
        return N * self.interleave_depth if self.reed_solomon else self.frame_octets

    @property
    def cadu_octets(self) -> int:
        """CADU length including the 4-octet sync marker (1024 by default)."""
        return 4 + self.codeblock_octets

    @property
    def header_octets(self) -> int:
        """Octets before the M_PDU: primary header, header error control, insert zone."""
        return (
            PRIMARY_HEADER_OCTETS
            + (2 if self.header_error_control else 0)
            + self.insert_zone_octets
        )

    @property
    def trailer_octets(self) -> int:
        """Octets after the data field: operational and frame error control fields."""
        return (4 if self.operational_control else 0) + (2 if self.frame_error_control else 0)

    @property
    def packet_zone_offset(self) -> int:
        """Offset of the M_PDU packet zone in the transfer frame, octets."""
        return self.header_octets + MPDU_HEADER_OCTETS

    @property
    def packet_zone_octets(self) -> int:
        """Length of the M_PDU packet zone, octets (884 by default)."""
        return (
            self.transfer_frame_octets
            - self.header_octets
            - MPDU_HEADER_OCTETS
            - self.trailer_octets
        )
