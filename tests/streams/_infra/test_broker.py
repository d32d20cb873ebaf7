"""LocalBroker: lifecycle, errors, and durability of S3 storage across restarts."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from streams._infra.broker import TANSU_ENV_VAR, LocalBroker, find_tansu_binary
from streams._infra.bus import KafkaBus, KafkaConsumer
from streams._infra.errors import (
    BrokerBinaryNotFoundError,
    BrokerUnavailableError,
    ConfigurationError,
)
from streams._infra.lag import group_lag
from streams._infra.records import Record
from streams._infra.topics import TopicSpec, ensure_topics
from tests.conftest import make_test_bus

pytestmark = pytest.mark.broker


def consume(consumer: KafkaConsumer, n: int, timeout_s: float = 20.0) -> list[Record]:
    got: list[Record] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < n and time.monotonic() < deadline:
        got += consumer.poll(0.2)
    assert len(got) == n, f"got {len(got)} of {n} records"
    return got


def produce(bus: KafkaBus, topic: str, values: list[bytes]) -> None:
    producer = bus.producer()
    for v in values:
        producer.send(topic, "k", v)
    producer.flush(10)


def test_binary_is_found_and_missing_binary_fails_loudly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert find_tansu_binary().name == "tansu"
    monkeypatch.setenv(TANSU_ENV_VAR, str(tmp_path / "nope"))
    with pytest.raises(BrokerBinaryNotFoundError, match="not an executable"):
        LocalBroker()


def test_s3_storage_needs_an_endpoint() -> None:
    with pytest.raises(ConfigurationError, match="S3 endpoint"):
        LocalBroker("s3://bucket/")


def test_start_failure_reports_the_log(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        broker = LocalBroker(port=port, log_path=tmp_path / "b.log", startup_timeout_s=5)
        with pytest.raises(BrokerUnavailableError, match="Address in use|not ready"):
            broker.start()
    assert not broker.is_running


def test_restart_keeps_port_and_memory_storage_forgets(tmp_path: Path) -> None:
    with LocalBroker(log_path=tmp_path / "b.log") as broker:
        bus = make_test_bus(broker)
        ensure_topics(bus, [TopicSpec("t", 1)])
        port = broker.port
        broker.restart()
        assert broker.port == port and broker.is_running
        assert "t" not in bus.topics()
        assert b"listening on" in (tmp_path / "b.log").read_bytes()
    assert not broker.is_running


def test_s3_storage_keeps_records_and_offsets_across_a_crash(
    durable_broker: LocalBroker,
) -> None:
    bus = make_test_bus(durable_broker)
    ensure_topics(bus, [TopicSpec("durable", 2)])
    produce(bus, "durable", [str(i).encode() for i in range(10)])
    consumer = bus.consumer("g-durable", ["durable"])
    try:
        records = consume(consumer, 10)
        consumer.commit(records[3])
    finally:
        consumer.close()
    durable_broker.kill()
    durable_broker.start()
    assert bus.partitions("durable") == [0, 1]
    assert group_lag(bus, "g-durable", "durable").total == 6
    consumer = bus.consumer("g-durable", ["durable"])
    try:
        rest = consume(consumer, 6)
    finally:
        consumer.close()
    assert [r.value for r in rest] == [str(i).encode() for i in range(4, 10)]
    produce(bus, "durable", [b"after-restart"])
    assert group_lag(bus, "g-durable", "durable").total == 7
