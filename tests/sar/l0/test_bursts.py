from __future__ import annotations

import numpy as np

from sar.l0.bursts import burst_indices, channel_polarisation, is_burst_break, split_bursts
from sar.l0.fields import empty_headers


def _iw_headers() -> np.ndarray:
    """Two IW cycles: 3 swaths x 5 PRIs each, dual polarisation, plus noise packets."""
    rows = []
    pri = 0
    for _cycle in range(2):
        for swath in (10, 11, 12):
            for line in range(5):
                for pol in (5, 6):
                    rows.append((0, swath, pol, pri, 100 + 10 * line))
                pri += 1
            rows.append((1, swath, 5, pri, 0))  # a noise packet between bursts
    headers = empty_headers(len(rows))
    for name, col in zip(
        ("signal_type", "swath_number", "polarisation", "pri_count", "azimuth_beam_address"),
        zip(*rows, strict=True),
        strict=True,
    ):
        headers[name] = col
    return headers


def test_iw_bursts() -> None:
    headers = _iw_headers()
    bursts = split_bursts(headers)
    assert len(bursts) == 12  # 2 cycles x 3 swaths x 2 polarisations
    assert [(b.swath_number, b.polarisation) for b in bursts[:4]] == [
        (10, 5), (10, 6), (11, 5), (11, 6)
    ]  # fmt: skip
    for burst in bursts:
        idx = burst_indices(headers, burst)
        assert idx.size == 5
        assert np.all(np.diff(headers["pri_count"][idx]) == 1)


def test_beam_restart_splits() -> None:
    headers = empty_headers(6)
    headers["pri_count"] = np.arange(6)
    headers["azimuth_beam_address"] = [1, 2, 3, 1, 2, 3]
    bursts = split_bursts(headers)
    assert [(b.start, b.stop) for b in bursts] == [(0, 3), (3, 6)]
    assert split_bursts(headers, min_packets=4) == []


def _burst_series(pri: list[int], beam: list[int], pri_code: int = 21859) -> np.ndarray:
    headers = empty_headers(len(pri))
    headers["pri_count"] = pri
    headers["azimuth_beam_address"] = beam
    headers["swath_number"] = 10
    headers["polarisation"] = 6
    headers["pri"] = pri_code  # 0.582 ms
    return headers


def test_short_hole_does_not_split_a_burst() -> None:
    # 100 lost PRIs (58 ms) in the middle of a burst: one burst
    pri = list(range(0, 400)) + list(range(500, 900))
    beam = list(range(0, 800))
    headers = _burst_series(pri, beam)
    bursts = split_bursts(headers)
    assert [(b.start, b.stop) for b in bursts] == [(0, 800)]
    assert burst_indices(headers, bursts[0]).size == 800


def test_long_hole_or_beam_restart_splits() -> None:
    # a jump of 1.7 s worth of PRIs (the same swath's next burst, > 1.4 s) ends the burst
    gap = int(1.7 / (21859 / 37.53472224e6))
    headers = _burst_series(list(range(100)) + list(range(100 + gap, 200 + gap)), list(range(200)))
    assert len(split_bursts(headers)) == 2
    # a beam-address restart ends it even without a hole
    headers = _burst_series(list(range(200)), list(range(100)) + list(range(100)))
    assert len(split_bursts(headers)) == 2


def test_is_burst_break_rule() -> None:
    pri_s = 0.6e-3
    assert not is_burst_break(10, 11, 5, 6, pri_s)
    assert not is_burst_break(10, 11 + 1800, 5, 6, pri_s)  # 1.08 s hole: a whole IW2 slot
    assert not is_burst_break(10, 11 + 2300, 5, 6, pri_s)  # 1.38 s hole
    assert is_burst_break(10, 11 + 2400, 5, 6, pri_s)  # 1.44 s hole
    assert is_burst_break(10, 11 + 2800, 5, 6, pri_s)  # 1.68 s: the next burst
    assert is_burst_break(10, 10, 5, 6, pri_s)  # repeated PRI
    assert is_burst_break(10, 9, 5, 6, pri_s)  # backwards
    assert is_burst_break(10, 11, 6, 5, pri_s)  # beam restart
    assert is_burst_break(10, 11, 5, 6, pri_s, interrupted=True)
    # the PRI counter wraps at 2^32
    assert not is_burst_break(2**32 - 1, 0, 5, 6, pri_s)
    out = is_burst_break(np.array([1, 1]), np.array([2, 1]), 0, 0, pri_s)
    assert out.tolist() == [False, True]


def test_dual_polarisation_channels_are_separate_bursts() -> None:
    # V/V+H code 7 on both receive channels, sharing every PRI count
    n = 50
    headers = empty_headers(2 * n)
    headers["pri_count"] = np.repeat(np.arange(n), 2)
    headers["azimuth_beam_address"] = np.repeat(np.arange(n), 2)
    headers["polarisation"] = 7
    headers["rx_channel_id"] = np.tile([0, 1], n)
    headers["swath_number"] = 11
    assert channel_polarisation(headers)[:2].tolist() == [6, 5]  # VV, VH
    bursts = split_bursts(headers)
    assert sorted(b.polarisation for b in bursts) == [5, 6]
    for b in bursts:
        idx = burst_indices(headers, b)
        assert idx.size == n
        assert np.all(np.diff(headers["pri_count"][idx]) == 1)
