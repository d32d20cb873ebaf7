"""What the downlink decoder reports: gaps and statistics (plain dataclasses).

A :class:`DownlinkGap` is the downlink counterpart of the stream's lost-chunk gap: it
says what was lost (frames by virtual-channel frame counter, packet bytes discarded
around them, input bytes that were not frames) and where (octet range of the *input*
link stream, and the offset in the channel's output packet stream where packets are
missing). The stream layer maps it onto its own event records; a natural mapping onto
``events`` is ``kind="gap"`` for LOST_FRAMES and TRUNCATED, ``kind="corrupt"`` for
UNCORRECTABLE, DISCARDED_PACKET and UNSYNCHRONISED, with :meth:`DownlinkGap.to_dict` as
the detail (``byte_start``/``byte_stop`` as in the stream's lost-chunk gaps). Note that
one uncorrectable data frame gives two records: the link-level UNCORRECTABLE one and,
when the next frame of its channel arrives, the channel's LOST_FRAMES one (its counter
range).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class GapKind(StrEnum):
    """Kinds of :class:`DownlinkGap`."""

    LOST_FRAMES = "lost-frames"
    """Frames missing by the VC frame counter (dropped on the link, uncorrectable, or
    out of sync); the partial packet around them is discarded."""
    DISCARDED_PACKET = "discarded-packet"
    """Packet bytes dropped because frames around them are missing or inconsistent
    (first header pointer disagreeing with the packet lengths, bad packet header)."""
    UNCORRECTABLE = "uncorrectable"
    """A frame whose Reed-Solomon codewords could not be corrected (link level)."""
    UNSYNCHRONISED = "unsynchronised"
    """Input octets outside any frame: before the first lock or after a sync loss."""
    TRUNCATED = "truncated"
    """The input ended inside a frame or a packet."""


@dataclass(frozen=True)
class DownlinkGap:
    """Something lost on the downlink.

    Attributes
    ----------
    kind
        What was lost.
    byte_start, byte_stop
        Octet range of the input link stream concerned, ``[byte_start, byte_stop)``.
    vcid
        Virtual channel, ``None`` for link-level gaps (or an uncorrectable frame whose
        header cannot be trusted).
    first_count, last_count
        VC frame counter range of the lost frames (inclusive), LOST_FRAMES only.
    frames
        Number of frames lost (LOST_FRAMES, UNCORRECTABLE), else 0.
    octets
        Packet octets discarded (DISCARDED_PACKET, TRUNCATED) or input octets skipped
        (UNSYNCHRONISED).
    output_offset
        Offset in the virtual channel's output packet stream where packets are missing,
        ``None`` for link-level gaps.
    reason
        One line for operators.
    """

    kind: GapKind
    byte_start: int
    byte_stop: int
    vcid: int | None = None
    first_count: int | None = None
    last_count: int | None = None
    frames: int = 0
    octets: int = 0
    output_offset: int | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (``kind`` as its string value)."""
        d = asdict(self)
        d["kind"] = self.kind.value
        return d


@dataclass
class ChannelStatistics:
    """Counters of one virtual channel (cumulative).

    Attributes
    ----------
    vcid
        Virtual channel id.
    frames
        Frames of this channel that were decoded (valid or corrected).
    corrected_frames, corrected_symbols
        Frames that needed Reed-Solomon correction, and symbols corrected in them.
    uncorrectable_frames
        Uncorrectable frames whose (unprotected) header named this channel.
    lost_frames
        Frames missing by the VC frame counter (includes uncorrectable ones).
    counter_discontinuities
        Counter jumps that are not forward losses (repeated or backwards counts).
    replay_frames
        Frames with the replay flag set.
    idle_only_frames
        Frames whose packet zone holds only idle data (FHP 0x7FE).
    packets, idle_packets
        Complete packets delivered; idle packets dropped.
    bytes_out
        Octets of packets delivered.
    discarded_octets
        Packet octets dropped around losses or inconsistencies.
    resync_skipped_octets
        Packet-zone octets skipped while waiting for a first header pointer.
    fhp_mismatches, bad_packet_headers
        Inconsistent first header pointers; packet headers that are not version 0.
    """

    vcid: int
    frames: int = 0
    corrected_frames: int = 0
    corrected_symbols: int = 0
    uncorrectable_frames: int = 0
    lost_frames: int = 0
    counter_discontinuities: int = 0
    replay_frames: int = 0
    idle_only_frames: int = 0
    packets: int = 0
    idle_packets: int = 0
    bytes_out: int = 0
    discarded_octets: int = 0
    resync_skipped_octets: int = 0
    fhp_mismatches: int = 0
    bad_packet_headers: int = 0


@dataclass
class LinkStatistics:
    """Counters of one physical (X-band) channel (cumulative).

    Attributes
    ----------
    bytes_in
        Input octets received.
    frames
        Frames delivered by the synchroniser (including flywheel ones).
    valid_frames
        Frames that decoded (no error or corrected).
    fill_frames
        Idle frames (VC 63), skipped.
    corrected_frames, corrected_symbols
        Frames that needed correction, and symbols corrected (all channels).
    uncorrectable_frames
        Frames with at least one uncorrectable codeword (dropped).
    crc_failures
        Frames failing the frame error control field, when present (dropped).
    wrong_spacecraft, bad_version
        Frames of another spacecraft id, or not AOS version 2 (dropped).
    flywheel_frames
        Frames delivered while their marker was missed.
    sync_losses, bit_slips, locks
        Synchroniser events.
    unsynchronised_octets
        Input octets outside any frame.
    channels
        Statistics per virtual channel id.
    """

    bytes_in: int = 0
    frames: int = 0
    valid_frames: int = 0
    fill_frames: int = 0
    corrected_frames: int = 0
    corrected_symbols: int = 0
    uncorrectable_frames: int = 0
    crc_failures: int = 0
    wrong_spacecraft: int = 0
    bad_version: int = 0
    flywheel_frames: int = 0
    sync_losses: int = 0
    bit_slips: int = 0
    locks: int = 0
    unsynchronised_octets: int = 0
    channels: dict[int, ChannelStatistics] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)
