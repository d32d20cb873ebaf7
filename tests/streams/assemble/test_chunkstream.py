"""ChunkStream: routing, rejection, snapshot/restore with commits on a real broker."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from streams._infra.bus import KafkaBus
from streams._infra.objectstore import ObjectStore
from streams._infra.records import Record
from streams._infra.topics import TopicSpec, ensure_topics
from streams.assemble.chunkstream import ChannelOutput, ChunkStream
from streams.assemble.reassembly import Gap, Segment
from streams.assemble.snapshots import SnapshotStore, partition_snapshot_name
from streams.assemble.state import SNAPSHOT_FORMAT, PartitionSnapshot
from streams.ingest.replay import replay_pass
from streams.messages.chunks import encode_chunk, split_into_chunks

T0 = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


def as_records(values: list[bytes], key: str, partition: int = 0) -> list[Record]:
    return [Record("raw-chunks", partition, i, key, v, {}, None) for i, v in enumerate(values)]


def collect(outputs: list[ChannelOutput], streams: dict[str, bytearray]) -> None:
    for out in outputs:
        if isinstance(out.output, Segment):
            streams.setdefault(out.key, bytearray()).extend(out.output.data)


def test_routes_channels_and_rejects_corrupt_records() -> None:
    a = random.Random(1).randbytes(5000)
    b = random.Random(2).randbytes(3000)
    chunks_a = split_into_chunks(a, "MAT", "p1", 1, T0, chunk_size=1000)
    chunks_b = split_into_chunks(b, "MAT", "p1", 2, T0, chunk_size=1000)
    values = [encode_chunk(c) for pair in zip(chunks_a, chunks_b, strict=False) for c in pair]
    values += [encode_chunk(c) for c in chunks_a[3:]]
    corrupt = bytearray(values[0])
    corrupt[-1] ^= 0xFF
    records = [Record("raw-chunks", 0, i, None, v, {}, None) for i, v in enumerate(values)]
    records.insert(2, Record("raw-chunks", 0, 99, None, bytes(corrupt), {}, None))
    stream = ChunkStream()
    out: dict[str, bytearray] = {}
    rejected = []
    for r in records:
        outputs, bad = stream.process(r, 0.0)
        collect(outputs, out)
        if bad is not None:
            rejected.append(bad)
    assert out == {"MAT/p1/1": bytearray(a), "MAT/p1/2": bytearray(b)}
    assert [(r.record.offset, "payload corrupt" in str(r.error)) for r in rejected] == [(99, True)]
    assert stream.forget_complete() == ["MAT/p1/1", "MAT/p1/2"]


def test_snapshot_restore_resumes_with_duplicates_dropped(tmp_path: Path) -> None:
    data = random.Random(3).randbytes(10_000)
    values = [encode_chunk(c) for c in split_into_chunks(data, "MAT", "p1", 1, T0, 1000)]
    records = as_records(values, "MAT/p1/1")
    first = ChunkStream(gap_timeout_s=5.0)
    out: dict[str, bytearray] = {}
    for r in records[:4] + records[5:7]:  # record 4 not yet arrived: 5, 6 buffered
        collect(first.process(r, 0.0)[0], out)
    snapshots = SnapshotStore(ObjectStore(str(tmp_path)), "state/assembler")
    name = partition_snapshot_name("raw-chunks", 0)
    snapshots.save(name, PartitionSnapshot(stream=first.snapshot("raw-chunks", 0)))
    assert first.positions() == {("raw-chunks", 0): 7}
    second = ChunkStream(gap_timeout_s=5.0)
    state = snapshots.load(name)
    assert state is not None and snapshots.load("nothing") is None
    assert state.format == SNAPSHOT_FORMAT and state.saved_at is not None
    second.restore(state.stream)
    for r in records[2:]:  # re-delivery from an older commit: 2, 3, 5, 6 are duplicates
        collect(second.process(r, 1.0)[0], out)
    assert out["MAT/p1/1"] == bytearray(data)
    channel = dict(second.channels())["MAT/p1/1"]
    assert channel.stats.duplicates == 4 and channel.complete


def test_gap_timeout_is_reported_through_poll() -> None:
    values = [encode_chunk(c) for c in split_into_chunks(b"x" * 3000, "S", "p", 1, T0, 1000)]
    stream = ChunkStream(gap_timeout_s=2.0)
    stream.process(as_records(values, "S/p/1")[0], 0.0)
    stream.process(as_records(values, "S/p/1")[2], 0.0)
    outputs = stream.poll(3.0)
    assert outputs[0] == ChannelOutput("S/p/1", Gap(1, 1, 1000, 2000, "timeout"))


def done(stream: ChunkStream) -> bool:
    channels = [c for _, c in stream.channels()]
    return len(channels) == 2 and all(c.complete for c in channels)


@pytest.mark.broker
def test_assembler_front_restarts_from_snapshot_and_commit(bus: KafkaBus, tmp_path: Path) -> None:
    """Two channels on a real broker; the first member snapshots and commits half-way,
    processes more without committing, and dies; the second resumes exactly."""
    topic = f"raw-chunks-{time.monotonic_ns()}"
    ensure_topics(bus, [TopicSpec(topic, 2)])
    passes = {ch: random.Random(ch).randbytes(400_000) for ch in (1, 2)}
    for ch, data in passes.items():
        replay_pass(
            data,
            bus.producer(),
            topic=topic,
            station="MAT",
            pass_id="p7",
            channel=ch,
            chunk_size=20_000,
        )
    snapshots = SnapshotStore(ObjectStore(str(tmp_path)), "state")
    out: dict[str, bytearray] = {}
    first = ChunkStream()
    consumer = bus.consumer("g-assembler", [topic])
    seen = 0
    try:
        while seen < 30:
            for record in consumer.poll(0.2):
                collect(first.process(record, 0.0)[0], out)
                seen += 1
        for (t, p), position in first.positions().items():
            snapshots.save(
                partition_snapshot_name(t, p), PartitionSnapshot(stream=first.snapshot(t, p))
            )
            consumer.commit_offsets({(t, p): position})
        for record in consumer.poll(1.0):  # processed, never snapshotted nor committed
            first.process(record, 0.0)
    finally:
        consumer.close()
    second = ChunkStream()
    for p in (0, 1):
        state = snapshots.load(partition_snapshot_name(topic, p))
        if state is not None:
            second.restore(state.stream)
    consumer = bus.consumer("g-assembler", [topic])
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline and not done(second):
            for record in consumer.poll(0.2):
                collect(second.process(record, 0.0)[0], out)
    finally:
        consumer.close()
    assert {k: bytes(v) for k, v in out.items()} == {
        f"MAT/p7/{ch}": data for ch, data in passes.items()
    }
