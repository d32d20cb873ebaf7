"""Assembler snapshots: typed, versioned; the previous format loads, an unknown one is
refused clearly.

``data/snapshot_v1_iw_mid_pass.json`` was written by eoport 0.1.0 (commit 32f6791, the
format before versions): the partition state of ``raw-chunks`` partition 0 after chunks
0-6 of a simulated 2.8 s IW pass (128 samples, seed 2, track 117, 50 kB chunks), when
the IW1 burst had been emitted and IW2 was open.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import pytest

from sar.sim.datatake import SimulatedDatatake, simulate_datatake
from sar.sim.scene import Target
from streams._infra.objectstore import ObjectStore
from streams._infra.records import Record
from streams.assemble.channel import ChannelAssembler, Context
from streams.assemble.chunkstream import ChunkStream
from streams.assemble.open_bursts import BurstOutput
from streams.assemble.snapshots import SnapshotStore
from streams.assemble.state import SNAPSHOT_FORMAT, PartitionSnapshot, SnapshotFormatError
from streams.messages.chunks import encode_chunk, split_into_chunks
from tests.streams.passdata import truth_bursts

DATA = Path(__file__).parent / "data"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
KEY = "MAT/p1/1"
CUT = 7


@lru_cache(maxsize=1)
def golden_pass() -> SimulatedDatatake:
    return simulate_datatake(
        "IW", (45.0, 10.0), 2.8, [Target(44.975, 10.0, 0.0, 1e4)], n_samples=128, seed=2,
        relative_orbit=117,
    )  # fmt: skip


def records() -> list[Record]:
    chunks = split_into_chunks(golden_pass().data, "MAT", "p1", 1, T0, chunk_size=50_000)
    return [Record("raw-chunks", 0, i, c.key, encode_chunk(c), {}, None) for i, c in
            enumerate(chunks)]  # fmt: skip


def run(stream: ChunkStream, asm: ChannelAssembler, recs: list[Record]) -> list[BurstOutput]:
    out: list[BurstOutput] = []
    for r in recs:
        outputs, rejected = stream.process(r, 0.0)
        assert rejected is None
        for o in outputs:
            out += asm.feed(o.output, Context(0.0))[0]
    out += asm.finish(Context(0.0))[0]
    return out


def store_with(tmp_path: Path, name: str, raw: bytes) -> SnapshotStore:
    target = tmp_path / "state" / f"{name}.json"
    target.parent.mkdir(parents=True)
    target.write_bytes(raw)
    return SnapshotStore(ObjectStore(str(tmp_path)), "state")


def test_a_version_1_snapshot_loads_and_the_pass_completes(tmp_path: Path) -> None:
    raw = (DATA / "snapshot_v1_iw_mid_pass.json").read_bytes()
    assert "format" not in json.loads(raw)  # written before snapshots had versions
    snap = store_with(tmp_path, "raw-chunks-0", raw).load("raw-chunks-0")
    assert snap is not None and snap.format == 1
    assert snap.stream.position == CUT
    stream = ChunkStream(gap_timeout_s=5.0)
    stream.restore(snap.stream)
    asm = ChannelAssembler.from_state(snap.assemblers[KEY])
    assert asm.relative_orbit == 117 and asm.emitted  # IW1 was emitted before the cut
    # resume from the snapshot position: the rest of the pass gives the other bursts
    rest = run(stream, asm, records()[CUT - 2 :])  # re-delivered records are duplicates
    truth = truth_bursts(golden_pass())
    clean = run(ChunkStream(gap_timeout_s=5.0), ChannelAssembler(KEY, relative_orbit=117),
                records())  # fmt: skip
    assert {o.key for o in clean} == set(truth)
    emitted_before = {k for k in truth if k.split("/")[1] == "IW1"}
    assert {o.key for o in rest} == set(truth) - emitted_before
    by_key = {o.key: o for o in clean}
    for o in rest:
        assert (o.status, o.data) == (by_key[o.key].status, by_key[o.key].data)


def test_snapshots_are_written_in_the_current_format(tmp_path: Path) -> None:
    stream = ChunkStream()
    for r in records()[:3]:
        stream.process(r, 0.0)
    snapshots = SnapshotStore(ObjectStore(str(tmp_path)), "state")
    snapshots.save("p0", PartitionSnapshot(stream=stream.snapshot("raw-chunks", 0)))
    doc = json.loads((tmp_path / "state" / "p0.json").read_bytes())
    assert doc["format"] == SNAPSHOT_FORMAT == 2 and doc["saved_at"].endswith("Z")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"format": 3, "stream": {}}', r"format 3; this eoport reads formats \(1, 2\)"),
        (b"not json", "is not JSON"),
        (b'{"format": 2, "stream": {"topic": "t"}}', r"format 2\) is malformed"),
    ],
)
def test_unknown_or_broken_snapshots_are_refused_clearly(
    tmp_path: Path, raw: bytes, message: str
) -> None:
    snapshots = store_with(tmp_path, "raw-chunks-0", raw)
    with pytest.raises(SnapshotFormatError, match=message) as info:
        snapshots.load("raw-chunks-0")
    assert "raw-chunks-0.json" in str(info.value)
    shutil.rmtree(tmp_path / "state")
