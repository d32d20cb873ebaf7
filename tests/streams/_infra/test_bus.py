"""KafkaBus against a real Tansu broker: round trip, big records, commits, lag, failures."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from streams._infra.broker import LocalBroker
from streams._infra.bus import MAX_RECORD_BYTES, KafkaBus, KafkaConsumer, records_by_partition
from streams._infra.errors import DeliveryError, PermanentError
from streams._infra.lag import end_offsets, group_lag
from streams._infra.records import Record
from streams._infra.topics import DEFAULT_TOPICS, ensure_topics
from streams.messages.chunks import MAX_CHUNK_PAYLOAD, Chunk, decode_chunk, encode_chunk
from tests.conftest import make_test_bus

pytestmark = pytest.mark.broker


def consume(consumer: KafkaConsumer, n: int, timeout_s: float = 20.0) -> list[Record]:
    """Poll until ``n`` records arrived (or fail after ``timeout_s``)."""
    got: list[Record] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < n and time.monotonic() < deadline:
        got += consumer.poll(0.2)
    assert len(got) == n, f"got {len(got)} of {n} records in {timeout_s} s"
    return got


def test_round_trip_keeps_keys_values_headers_and_order(
    bus: KafkaBus, new_topic: Callable[..., str]
) -> None:
    topic = new_topic(partitions=3)
    producer = bus.producer()
    acks: list[Record] = []
    for i in range(30):
        producer.send(
            topic,
            f"station/pass/{i % 3}",
            f"value-{i}".encode(),
            {"n": str(i).encode()},
            on_delivery=lambda _o, rec, err: acks.append(rec) if rec else None,
        )
    producer.flush(10)
    assert len(acks) == 30 and producer.in_flight == 0
    consumer = bus.consumer("g-roundtrip", [topic])
    try:
        records = consume(consumer, 30)
    finally:
        consumer.close()
    by_key: dict[str | None, list[int]] = {}
    for r in records:
        assert r.value == f"value-{int(r.headers['n'])}".encode()
        by_key.setdefault(r.key, []).append(int(r.headers["n"]))
    # one key stays in one partition, in send order
    assert by_key == {f"station/pass/{k}": list(range(k, 30, 3)) for k in range(3)}
    for part in records_by_partition(records).values():
        assert [r.offset for r in part] == list(range(part[0].offset, part[0].offset + len(part)))
    stamp = records[0].timestamp
    assert stamp is not None and abs((datetime.now(UTC) - stamp).total_seconds()) < 120


def test_900kb_chunks_round_trip(bus: KafkaBus, new_topic: Callable[..., str]) -> None:
    topic = new_topic()
    producer = bus.producer()
    sent = []
    for seq in range(4):
        payload = bytes([seq]) * MAX_CHUNK_PAYLOAD
        chunk = Chunk("MAT", "p1", 1, seq, seq * MAX_CHUNK_PAYLOAD, datetime.now(UTC), payload)
        sent.append(chunk)
        producer.send(topic, chunk.key, encode_chunk(chunk))
    producer.flush(20)
    consumer = bus.consumer("g-big", [topic])
    try:
        got = [decode_chunk(r.value) for r in consume(consumer, 4)]
    finally:
        consumer.close()
    assert got == sent


def test_oversized_record_is_refused_before_sending(bus: KafkaBus) -> None:
    with pytest.raises(PermanentError, match="exceeds"):
        bus.producer().send("any", "k", b"x" * (MAX_RECORD_BYTES + 1))


def test_group_resumes_after_last_commit(bus: KafkaBus, new_topic: Callable[..., str]) -> None:
    topic = new_topic()
    producer = bus.producer()
    for i in range(10):
        producer.send(topic, "k", str(i).encode())
    producer.flush(10)
    first = bus.consumer("g-resume", [topic])
    try:
        records = consume(first, 10)
        first.commit(records[5])  # effects of records 0..5 are durable; 6..9 are not
    finally:
        first.close()
    second = bus.consumer("g-resume", [topic])
    try:
        again = consume(second, 4)
        assert [r.value for r in again] == [b"6", b"7", b"8", b"9"]
        assert second.poll(1.0) == []
    finally:
        second.close()


def test_group_lag_is_exact_after_batched_produce(
    bus: KafkaBus, new_topic: Callable[..., str]
) -> None:
    topic = new_topic(partitions=2)
    producer = bus.producer({"linger.ms": 200})  # 50 records in one batch per partition
    for i in range(100):
        producer.send(topic, f"k{i % 2}", b"x")
    producer.flush(10)
    producer.send(topic, "k0", b"y")
    producer.flush(10)
    ends = end_offsets(bus, topic)
    assert sum(end for _, end in ends.values()) == 101
    lag = group_lag(bus, "g-lag", topic)
    assert lag.total == 101 and all(p.committed is None for p in lag.partitions)
    consumer = bus.consumer("g-lag", [topic])
    try:
        records = consume(consumer, 101)
        parts = records_by_partition(records)
        (tp, recs) = next(iter(parts.items()))
        consumer.commit(recs[19])  # 20 records of one partition done
        lag = group_lag(bus, "g-lag", topic)  # read while the member is active
    finally:
        consumer.close()
    assert lag.total == 81
    assert {p.partition: p.committed for p in lag.partitions}[tp[1]] == 20


def test_ensure_topics_is_idempotent(tansu_broker_fn: LocalBroker) -> None:
    bus = make_test_bus(tansu_broker_fn)
    first = ensure_topics(bus, DEFAULT_TOPICS)
    second = ensure_topics(bus, DEFAULT_TOPICS)
    assert first == second == {t.name: t.partitions for t in DEFAULT_TOPICS}
    assert first["focus-jobs"] == 24


def test_flush_reports_undelivered_records_when_broker_is_down(
    tansu_broker_fn: LocalBroker,
) -> None:
    bus = make_test_bus(tansu_broker_fn, message_timeout_ms=1500)
    ensure_topics(bus, DEFAULT_TOPICS[:1])
    producer = bus.producer()
    producer.send("raw-chunks", "k", b"before")
    producer.flush(10)
    tansu_broker_fn.kill()
    producer.send("raw-chunks", "k", b"lost?")
    with pytest.raises(DeliveryError) as info:
        producer.flush(10)
    assert [r.value for r in info.value.undelivered] == [b"lost?"]
    assert producer.in_flight == 0
    # memory storage: the restarted broker lost the topic and the producer id, so the
    # first resend fails with a fatal UNKNOWN_PRODUCER_ID; the client is replaced and the
    # record comes back as undelivered instead of vanishing.
    tansu_broker_fn.start()
    ensure_topics(bus, DEFAULT_TOPICS[:1])
    pending = info.value.undelivered
    for _ in range(3):
        for record in pending:
            producer.send(record.topic, record.key, record.value)
        try:
            producer.flush(20)
            break
        except DeliveryError as exc:
            pending = exc.undelivered
    assert producer.in_flight == 0 and producer.replacements == 1
    consumer = bus.consumer("g-down", ["raw-chunks"])
    try:
        values = [r.value for r in consume(consumer, 1)]
    finally:
        consumer.close()
    assert values == [b"lost?"]
