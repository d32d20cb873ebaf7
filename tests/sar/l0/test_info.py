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
