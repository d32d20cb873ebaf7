"""The decode benchmark's bookkeeping on a small synthetic stream (no timing asserted)."""

from __future__ import annotations

import numpy as np

from benchmarks.decode import format_decode_table, run_decode_benchmark, sentinel1decoder_decode
from sar.l0.packets import decode_packets
from sar.l0.synthetic import SwathRun, synthetic_stream


def test_synthetic_stream_has_every_brc_and_noise_packets() -> None:
    data = synthetic_stream((SwathRun(20, 700, 10), SwathRun(9, 300, 11)), distinct=5)
    packets = decode_packets(data)
    assert len(packets) == 4 + 20 + 4 + 9
    np.testing.assert_array_equal(np.unique(packets.headers["baq_mode"]), [0, 12])
    assert packets.block_brc is not None
    assert set(np.unique(packets.block_brc[packets.block_brc >= 0]).tolist()) == {0, 1, 2, 3, 4}
    np.testing.assert_array_equal(packets.headers["space_packet_count"], np.arange(37))
    groups = sentinel1decoder_decode(data)
    assert sorted(g.shape for g in groups) == [(4, 600), (4, 1400), (9, 600), (20, 1400)]


def test_benchmark_reports_each_case_and_agrees() -> None:
    result = run_decode_benchmark(
        1, cases={"a": (SwathRun(6, 400),), "b": (SwathRun(3, 130, 11), SwathRun(3, 129, 12))}
    )
    assert list(result["cases"]) == ["a", "b"] and result["threads"] >= 1
    for case in result["cases"].values():
        assert case["agrees"] and case["identical"]
        assert case["eoport_mb_s"] > 0 and case["sentinel1decoder_mb_s"] > 0
        assert case["ratio"] > 0 and case["packets"] > 0
    assert result["min_ratio"] == min(result["ratios"].values())
    table = format_decode_table(result).splitlines()
    assert len(table) == 4 and table[1].startswith("a ")
