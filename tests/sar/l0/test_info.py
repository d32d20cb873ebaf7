from __future__ import annotations

import json

from sar.l0.info import summarize_level0, summarize_packets
from sar.l0.packets import decode_packets

from .conftest import build_stream


def test_summary() -> None:
    data, _, _ = build_stream(modes=(12, 0, 12, 4), signal_types=(0, 1, 0, 8))
    summary = summarize_level0(b"junk" + data)
    assert summary.packets == 4
    assert summary.signal_types == {"echo": 2, "noise": 1, "tx_cal": 1}
    assert summary.swaths == [10] and summary.polarisations == ["VV"]
    assert summary.baq_modes == ["BYPASS", "BAQ_4BIT", "FDBAQ_MODE_0"]
    assert summary.data_take_ids == [0xABCDEF]
    assert summary.skipped_bytes == 4 and summary.dropped_packets == 1
    assert summary.sensing_start is not None and summary.sensing_start.startswith("2024-05-")
    assert summary.quads_min == 298 and summary.quads_max == 300
    json.dumps(summary.to_dict())


def test_summarize_decoded_packets() -> None:
    data, _, _ = build_stream(modes=(12, 0), signal_types=(0, 1))
    summary = summarize_packets(decode_packets(b"xx" + data, strict=False))
    assert summary.packets == 2 and summary.bytes_total == len(data) + 2
    assert summary.skipped_bytes == 2 and summary.signal_types == {"echo": 1, "noise": 1}


def test_lenient_summary_lists_skipped_byte_ranges() -> None:
    data, _, _ = build_stream(modes=(12, 0, 12), signal_types=(0, 0, 0))
    packets = decode_packets(data)
    lengths = packets.headers["packet_data_length"].astype(int) + 7
    cut = int(lengths[0])
    # garbage before the first packet and inside the second one (its header is damaged)
    damaged = bytearray(b"junk" + data)
    damaged[4 + cut + 12] ^= 0xFF  # sync marker of packet 1
    lenient = decode_packets(bytes(damaged), strict=False)
    summary = summarize_packets(lenient, len(damaged))
    assert summary.packets == 2 and summary.dropped_packets == 2
    assert summary.skipped_ranges[0] == [0, 4]
    assert summary.skipped_ranges[1] == [4 + cut, 4 + cut + int(lengths[1])]
    assert sum(b - a for a, b in summary.skipped_ranges) == summary.skipped_bytes
    assert summarize_packets(packets).skipped_ranges == []
