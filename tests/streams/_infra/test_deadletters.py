"""Dead-letter records."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from streams._infra.bus import KafkaBus
from streams._infra.deadletters import dead_letter
from streams._infra.errors import ChunkError
from streams._infra.records import Record


def test_dead_letter_keeps_the_record_and_names_the_failure() -> None:
    record = Record("raw-chunks", 3, 41, "MAT/p1/1", b"\x00bad", {"a": b"1"}, 1_700_000_000_000)
    out = dead_letter(record, ChunkError("payload corrupt"), "assembler")
    assert (out.topic, out.key, out.value) == ("dead-letters", "MAT/p1/1", b"\x00bad")
    assert out.headers == {
        "a": b"1",
        "x-error": b"payload corrupt",
        "x-error-class": b"ChunkError",
        "x-stage": b"assembler",
        "x-source": b"raw-chunks/3/41",
    }


@pytest.mark.broker
def test_dead_letter_round_trip(bus: KafkaBus, new_topic: Callable[..., str]) -> None:
    topic = new_topic()
    source = Record("raw-chunks", 0, 7, "k", b"v", {}, None)
    producer = bus.producer()
    out = dead_letter(source, ChunkError("header corrupt"), "assembler", topic=topic)
    producer.send(out.topic, out.key, out.value, out.headers)
    producer.flush(10)
    consumer = bus.consumer("g-dlq", [topic])
    try:
        got: list[Record] = []
        for _ in range(100):
            got += consumer.poll(0.2)
            if got:
                break
    finally:
        consumer.close()
    assert [r.value for r in got] == [b"v"]
    assert got[0].headers["x-error-class"] == b"ChunkError"
