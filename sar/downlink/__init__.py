"""Sentinel-1 X-band downlink framing: CADUs to space packets and back.

The data layer below Level-0 (CCSDS 131.0-B TM synchronisation and channel coding,
CCSDS 732.0-B AOS space data link protocol, CCSDS 133.0-B space packets):

* :mod:`~sar.downlink.sync`: frame synchronisation on the sync marker (bit offsets,
  incremental);
* :mod:`~sar.downlink.randomiser`: CCSDS pseudo-randomiser;
* :mod:`~sar.downlink.galois`, :mod:`~sar.downlink.reed_solomon`: RS(255,223),
  interleaved, dual basis;
* :mod:`~sar.downlink.aos`, :mod:`~sar.downlink.mpdu`: frame headers, packet
  reassembly per virtual channel;
* :mod:`~sar.downlink.decoder`: :class:`CaduDecoder` (incremental) and
  :func:`decode_cadu_stream`;
* :mod:`~sar.downlink.framer`, :mod:`~sar.downlink.simulation`,
  :mod:`~sar.downlink.channels`, :mod:`~sar.downlink.impairments`: the on-board side
  for the simulator, channel split/merge and test impairments;
* :mod:`~sar.downlink.detect`: CADU or plain packet stream?
* :mod:`~sar.downlink.params`: layout, with the Sentinel-1 assumptions documented.
"""

from sar.downlink.channels import merge_packet_streams, split_packets
from sar.downlink.decoder import CaduDecoder, DecodedChunk, DecodedStream, decode_cadu_stream
from sar.downlink.detect import detect_format, detect_framing
from sar.downlink.impairments import ImpairmentReport, Impairments, impair_cadus
from sar.downlink.params import FramingParameters
from sar.downlink.records import ChannelStatistics, DownlinkGap, GapKind, LinkStatistics
from sar.downlink.simulation import downlink_packets, frame_channel
from sar.downlink.sync import SyncParameters

__all__ = [
    "CaduDecoder",
    "ChannelStatistics",
    "DecodedChunk",
    "DecodedStream",
    "DownlinkGap",
    "FramingParameters",
    "GapKind",
    "ImpairmentReport",
    "Impairments",
    "LinkStatistics",
    "SyncParameters",
    "decode_cadu_stream",
    "detect_format",
    "detect_framing",
    "downlink_packets",
    "frame_channel",
    "impair_cadus",
    "merge_packet_streams",
    "split_packets",
]
