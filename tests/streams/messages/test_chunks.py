"""Chunk format: round trip, corruption detection, cutting into chunks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streams._infra.errors import ChunkError, PermanentError
from streams.messages.chunks import (
    MAX_CHUNK_PAYLOAD,
    RELATIVE_ORBIT_HEADER,
    Chunk,
    ChunkCutter,
    crc32,
    decode_chunk,
    encode_chunk,
    pass_headers,
    relative_orbit_of,
    split_into_chunks,
)

T0 = datetime(2026, 11, 25, 17, 40, 1, 123456, tzinfo=UTC)


def make_chunk(payload: bytes = b"\x1a\xcf\xfc\x1d" * 100, **over: object) -> Chunk:
    fields: dict[str, object] = {
        "station": "MAT",
        "pass_id": "S1A-20261125T1740",
        "channel": 2,
        "seq": 7,
        "offset": 7 * 400,
        "receive_time": T0,
        "payload": payload,
    }
    fields.update(over)
    return Chunk(**fields)  # type: ignore[arg-type]


def test_round_trip_keeps_every_field() -> None:
    chunk = make_chunk(
        last=True, sensing_start=T0 - timedelta(seconds=3), sensing_stop=T0 - timedelta(seconds=1)
    )
    value = encode_chunk(chunk)
    assert decode_chunk(value) == chunk
    assert len(value) == 62 + len("MAT") + len("S1A-20261125T1740") + 400
    assert chunk.key == "MAT/S1A-20261125T1740/2"
    assert chunk.receive_time_iso == "2026-11-25T17:40:01.123456Z"
    assert chunk.crc == crc32(chunk.payload)


def test_crc_is_standard_crc32() -> None:
    # CRC-32/ISO-HDLC check value of "123456789"
    assert crc32(b"123456789") == 0xCBF43926


def test_round_trip_without_sensing_range_and_empty_payload() -> None:
    chunk = make_chunk(payload=b"", last=True)
    back = decode_chunk(encode_chunk(chunk))
    assert back.sensing_start is None and back.sensing_stop is None
    assert back.payload == b"" and back.last


def test_max_size_chunk_round_trips() -> None:
    payload = bytes(range(256)) * (MAX_CHUNK_PAYLOAD // 256) + b"x" * (MAX_CHUNK_PAYLOAD % 256)
    chunk = make_chunk(payload=payload)
    assert decode_chunk(encode_chunk(chunk)).payload == payload
    with pytest.raises(ChunkError, match="900000"):
        encode_chunk(make_chunk(payload=payload + b"y"))


@pytest.mark.parametrize("position", [70 + 20, 70 + 399, -1])
def test_flipped_payload_bit_is_detected(position: int) -> None:
    value = bytearray(encode_chunk(make_chunk()))
    value[position] ^= 0x10
    with pytest.raises(ChunkError, match="payload corrupt"):
        decode_chunk(bytes(value))


@pytest.mark.parametrize("position", [9, 17, 27, 55, 60])
def test_flipped_header_bit_is_detected(position: int) -> None:
    value = bytearray(encode_chunk(make_chunk()))
    value[position] ^= 0x01
    with pytest.raises(ChunkError, match="header"):
        decode_chunk(bytes(value))


def test_truncation_and_foreign_records_are_permanent_errors() -> None:
    value = encode_chunk(make_chunk())
    with pytest.raises(ChunkError, match="payload is 399 bytes, header says 400"):
        decode_chunk(value[:-1])
    with pytest.raises(ChunkError, match="shorter than its header"):
        decode_chunk(value[:20])
    with pytest.raises(ChunkError, match="magic"):
        decode_chunk(b"JSON" + value[4:])
    with pytest.raises(PermanentError):
        decode_chunk(b"")


@pytest.mark.parametrize(
    ("field", "value"),
    [("station", "A/B"), ("pass_id", ""), ("station", "x" * 256), ("seq", -1)],
)
def test_invalid_fields_are_refused(field: str, value: object) -> None:
    with pytest.raises(ChunkError):
        encode_chunk(make_chunk(**{field: value}))


def test_naive_time_is_refused() -> None:
    with pytest.raises(ChunkError, match="naive"):
        encode_chunk(make_chunk(receive_time=datetime(2026, 1, 1)))  # noqa: DTZ001


def test_split_covers_the_payload_exactly() -> None:
    data = bytes(range(256)) * 40  # 10240 bytes
    chunks = split_into_chunks(data, "MAT", "p1", 1, T0, chunk_size=3000)
    assert [c.seq for c in chunks] == [0, 1, 2, 3]
    assert [c.offset for c in chunks] == [0, 3000, 6000, 9000]
    assert [len(c.payload) for c in chunks] == [3000, 3000, 3000, 1240]
    assert [c.last for c in chunks] == [False, False, False, True]
    assert b"".join(c.payload for c in chunks) == data


def test_cutter_continues_numbering_across_blocks() -> None:
    cutter = ChunkCutter("MAT", "p1", 1, chunk_size=1000)
    first = list(cutter.cut(b"a" * 2500, T0))
    second = list(cutter.cut(b"b" * 700, T0, last=True))
    assert [(c.seq, c.offset, len(c.payload), c.last) for c in first + second] == [
        (0, 0, 1000, False),
        (1, 1000, 1000, False),
        (2, 2000, 500, False),
        (3, 2500, 700, True),
    ]
    assert list(cutter.cut(b"", T0, last=True))[0].payload == b""
    with pytest.raises(ChunkError, match="chunk size"):
        ChunkCutter("MAT", "p1", 1, chunk_size=MAX_CHUNK_PAYLOAD + 1)


def test_relative_orbit_travels_as_a_record_header() -> None:
    headers = pass_headers(117)
    assert headers == {RELATIVE_ORBIT_HEADER: b"117"}
    assert relative_orbit_of(headers) == 117
    assert pass_headers(None) == {} and relative_orbit_of({}) is None
    # unknown or invalid metadata is "unknown", never a rejected chunk
    for bad in (b"0", b"176", b"x", b"\xff"):
        assert relative_orbit_of({RELATIVE_ORBIT_HEADER: bad}) is None
    with pytest.raises(ChunkError, match="relative orbit 176 not in 1..175"):
        pass_headers(176)
