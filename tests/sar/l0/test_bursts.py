from __future__ import annotations

import numpy as np

from sar.l0.bursts import burst_indices, split_bursts
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
