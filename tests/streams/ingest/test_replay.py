"""Ground-station replay through a real broker: completeness, pacing, broker restart."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from streams._infra.broker import LocalBroker
from streams._infra.bus import KafkaBus
from streams._infra.topics import TopicSpec, ensure_topics
from streams.assemble.reassembly import ChannelReassembler, Segment
from streams.ingest.replay import X_BAND_CHANNEL_RATE_BYTES_PER_S, replay_channels, replay_pass
from streams.messages.chunks import Chunk, decode_chunk
from tests.conftest import make_test_bus

pytestmark = pytest.mark.broker


def read_topic(bus: KafkaBus, topic: str, group: str, n_min: int, timeout_s: float = 30.0
               ) -> list[Chunk]:
    """Every chunk on ``topic`` (at least ``n_min`` records, then until quiet)."""
    consumer = bus.consumer(group, [topic])
    chunks: list[Chunk] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            batch = consumer.poll(0.5)
            chunks += [decode_chunk(r.value) for r in batch]
            if not batch and len(chunks) >= n_min:
                break
    finally:
        consumer.close()
    return chunks


def reassemble(chunks: list[Chunk], key: str) -> tuple[bytes, ChannelReassembler]:
    r = ChannelReassembler(key, gap_timeout_s=1e9)
    data = b"".join(o.data for c in chunks for o in r.push(c, 0.0) if isinstance(o, Segment))
    return data, r


def test_replay_publishes_the_whole_pass(
    bus: KafkaBus, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    topic = new_topic(partitions=2)
    data = random.Random(3).randbytes(2_000_000 + 123)
    path = tmp_path / "pass.bin"
    path.write_bytes(data)
    seen: list[int] = []
    report = replay_pass(
        path, bus.producer(), topic=topic, station="MAT", pass_id="p1", channel=1,
        chunk_size=100_000, on_chunk=lambda c: seen.append(c.seq),
    )
    assert (report.chunks, report.n_bytes, report.acknowledged, report.resent) == (
        21, len(data), 21, 0
    )
    assert seen == list(range(21))
    chunks = read_topic(bus, topic, "g-replay", 21)
    assert [c.seq for c in chunks] == list(range(21))  # one key: one partition, in order
    rebuilt, r = reassemble(chunks, "MAT/p1/1")
    assert rebuilt == data and r.complete and chunks[-1].last


def test_two_channels_replay_concurrently(bus: KafkaBus, new_topic: Callable[..., str]) -> None:
    topic = new_topic(partitions=4)
    streams = {ch: random.Random(ch).randbytes(300_000 + ch) for ch in (1, 2)}
    reports = replay_channels(
        streams, bus.producer, station="MAT", pass_id="p4", topic=topic, chunk_size=50_000,
        speedup=1.0,
    )
    assert {ch: r.chunks for ch, r in reports.items()} == {1: 7, 2: 7}
    chunks = read_topic(bus, topic, "g-two", 14)
    for ch, data in streams.items():
        rebuilt, r = reassemble([c for c in chunks if c.channel == ch], f"MAT/p4/{ch}")
        assert rebuilt == data and r.complete


def test_replay_is_paced_at_the_requested_rate(bus: KafkaBus, new_topic: Callable[..., str]
                                               ) -> None:
    topic = new_topic()
    data = bytes(1_000_000)
    start = time.monotonic()
    report = replay_pass(
        data, bus.producer(), topic=topic, station="MAT", pass_id="p2", channel=2,
        chunk_size=100_000, rate_bytes_per_s=2e6,
    )
    elapsed = time.monotonic() - start
    # the last chunk starts at byte 900 000: not before 0.45 s at 2 MB/s
    assert elapsed >= 0.45 and report.chunks == 10
    fast = replay_pass(
        data, bus.producer(), topic=topic, station="MAT", pass_id="p3", channel=2,
        chunk_size=100_000, speedup=1000.0,
    )
    assert fast.chunks == 10 and X_BAND_CHANNEL_RATE_BYTES_PER_S == 32.5e6


def test_broker_restart_mid_replay_loses_nothing(durable_broker: LocalBroker) -> None:
    """Kill the (S3-backed) broker during a replay, restart it 3 s later on the same
    port: the replay completes, records acknowledged before the crash are still there,
    and after de-duplication every sequence number is present exactly once."""
    bus = make_test_bus(durable_broker, message_timeout_ms=2000)
    topic = "raw-chunks"
    ensure_topics(bus, [TopicSpec(topic, 2)])
    data = random.Random(5).randbytes(60 * 50_000)
    outage = threading.Thread(target=durable_broker.restart, kwargs={"down_s": 3.0})

    def crash_at_chunk(chunk: Chunk) -> None:
        if chunk.seq == 15:
            durable_broker.kill()
            outage.start()

    report = replay_pass(
        data, bus.producer(), topic=topic, station="SGS", pass_id="p9", channel=1,
        chunk_size=50_000, rate_bytes_per_s=1e6, max_outage_s=60.0, on_chunk=crash_at_chunk,
    )
    outage.join()
    assert report.chunks == 60 and report.acknowledged >= 60
    assert report.resent > 0  # the outage outlasted message.timeout.ms: resend path used
    chunks = read_topic(bus, topic, "g-restart", 60)
    seqs = [c.seq for c in chunks]
    assert sorted(set(seqs)) == list(range(60))
    rebuilt, r = reassemble(chunks, "SGS/p9/1")
    assert rebuilt == data and r.complete
    assert r.stats.duplicates == len(seqs) - 60 and r.stats.gaps == 0
    assert {0, 1, 2, 3, 4} <= set(seqs[:15])  # acknowledged before the crash, kept by S3
