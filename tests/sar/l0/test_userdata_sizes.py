"""The table-driven decoder at real sizes: a full IW burst and a simulated IW pass.

Both are decoded with the new kernels and with the previous ones (``reference=True``,
:mod:`sar.l0.userdata_reference`) and must agree bit for bit (samples, headers, per-block
BRC/THIDX); the pass is also decoded burst by burst, as the focusing workers do.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt
import pytest

from sar.l0.bursts import burst_indices, split_bursts
from sar.l0.headers import packet_lengths
from sar.l0.packets import Level0Packets, decode_packets
from sar.l0.synthetic import IW_BURST_RUNS, synthetic_stream
from sar.sim.datatake import simulate_datatake
from sar.sim.scene import Target


def _digest(packets: Level0Packets) -> list[str]:
    """Hashes of every part of a decode (keeps one ~290 MB burst in memory at a time)."""
    parts: list[npt.NDArray[np.generic]] = [packets.iq.view(np.uint32), packets.headers]
    parts += [packets.block_brc, packets.block_thidx]  # type: ignore[list-item]
    return [hashlib.blake2b(np.ascontiguousarray(p).data).hexdigest() for p in parts]


def test_full_iw_burst_matches_the_reference() -> None:
    data = synthetic_stream(IW_BURST_RUNS, distinct=24, seed=3)
    new = decode_packets(data)
    assert new.iq.shape == (1504, 24_000)  # 4 bypass noise packets + 1,500 echoes
    assert new.block_brc is not None and set(np.unique(new.block_brc)) == {-1, 0, 1, 2, 3, 4}
    mine = _digest(new)
    del new
    assert _digest(decode_packets(data, reference=True)) == mine


@pytest.mark.slow  # ~20 s quiet, ~50 s on a loaded 2-core machine (mostly simulation)
def test_simulated_iw_pass_matches_the_reference_whole_and_burst_by_burst() -> None:
    sim = simulate_datatake(
        "IW", (45.0, 10.0), 8.0, [Target(45.0, 10.0, 0.0, 1.0)], snr_db=10.0,
        n_samples=500, noise_lines=2, cal_lines=1,
    )  # fmt: skip
    whole = decode_packets(sim.data)
    old = decode_packets(sim.data, reference=True)
    assert _digest(whole) == _digest(old)
    assert set(np.unique(whole.headers["baq_mode"])) >= {0, 12}
    bursts = split_bursts(whole.headers, min_packets=100)
    assert len(bursts) >= 9  # 3 burst cycles of IW1-IW3
    buf = np.frombuffer(sim.data, dtype=np.uint8)
    lengths = packet_lengths(whole.headers)
    for burst in bursts:
        rows = burst_indices(whole.headers, burst)
        offsets = whole.headers["byte_offset"][rows]
        spans = [buf[o : o + n] for o, n in zip(offsets, lengths[rows], strict=True)]
        alone = decode_packets(np.concatenate(spans))
        width = alone.iq.shape[1]
        np.testing.assert_array_equal(
            alone.iq.view(np.uint32), whole.iq[rows, :width].view(np.uint32)
        )
        assert np.all(whole.iq[rows, width:] == 0)
