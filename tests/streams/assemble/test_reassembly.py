"""ChannelReassembler: order, duplicates, gaps, corruption, persistence."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from streams._infra.errors import ChunkError
from streams.assemble.reassembly import ChannelReassembler, Gap, Output, Segment
from streams.assemble.state import ReassemblerState
from streams.messages.chunks import Chunk, split_into_chunks

T0 = datetime(2026, 11, 25, 17, 40, tzinfo=UTC)
KEY = "MAT/p1/1"


def pass_chunks(n_bytes: int = 10_000, chunk_size: int = 1000, seed: int = 1) -> list[Chunk]:
    data = random.Random(seed).randbytes(n_bytes)
    return split_into_chunks(data, "MAT", "p1", 1, T0, chunk_size=chunk_size)


def data_of(chunks: list[Chunk]) -> bytes:
    return b"".join(c.payload for c in sorted(chunks, key=lambda c: c.seq))


def stream(outputs: list[Output]) -> bytes:
    """Concatenate segments, checking they are contiguous unless a gap separates them."""
    data = b""
    position = 0
    for out in outputs:
        if isinstance(out, Gap):
            assert out.byte_start == position
            position = out.byte_stop if out.byte_stop is not None else position
        else:
            assert out.offset == position, (out.offset, position)
            data += out.data
            position = out.end
    return data


def feed(r: ChannelReassembler, chunks: list[Chunk], now: float = 0.0) -> list[Output]:
    out: list[Output] = []
    for c in chunks:
        out += r.push(c, now)
    return out


def test_in_order_chunks_stream_through_at_once() -> None:
    chunks = pass_chunks()
    r = ChannelReassembler(KEY)
    first = r.push(chunks[0], 0.0)
    assert first == [Segment(0, chunks[0].payload, 0, 0)]
    out = first + feed(r, chunks[1:])
    assert stream(out) == data_of(chunks)
    assert r.complete and r.buffered_chunks == 0
    assert r.stats.emitted_chunks == 10 and r.stats.bytes_emitted == 10_000


@settings(max_examples=60, deadline=None)
@given(st.permutations(list(range(10))), st.lists(st.integers(0, 9), max_size=8))
def test_any_order_with_duplicates_gives_the_original_stream(
    order: list[int], duplicated: list[int]
) -> None:
    chunks = pass_chunks()
    arrivals = [chunks[i] for i in order] + [chunks[i] for i in duplicated]
    r = ChannelReassembler(KEY, gap_timeout_s=1e9)
    out = feed(r, arrivals)
    assert stream(out) == data_of(chunks)
    assert r.complete
    assert r.stats.duplicates == len(duplicated)
    assert r.stats.gaps == 0 and r.stats.emitted_chunks == 10


def test_duplicate_with_other_checksum_is_rejected_without_changing_state() -> None:
    chunks = pass_chunks()
    r = ChannelReassembler(KEY)
    feed(r, [chunks[0], chunks[2]])
    forged_emitted = Chunk(**{**_fields(chunks[0]), "payload": b"x" * 1000, "crc": -1})
    forged_buffered = Chunk(**{**_fields(chunks[2]), "payload": b"y" * 1000, "crc": -1})
    before = r.to_state()
    for forged in (forged_emitted, forged_buffered):
        with pytest.raises(ChunkError, match="duplicate chunk seq"):
            r.push(forged, 1.0)
    assert r.to_state() == before


def _fields(c: Chunk) -> dict[str, object]:
    return {f: getattr(c, f) for f in Chunk.__dataclass_fields__}


def test_gap_is_reported_after_timeout_with_lost_byte_range() -> None:
    chunks = pass_chunks()
    r = ChannelReassembler(KEY, gap_timeout_s=5.0)
    out = feed(r, chunks[:3], now=0.0)
    out += r.push(chunks[5], 10.0)  # 3 and 4 missing
    assert r.missing() == [3, 4]
    assert r.poll(14.9) == []
    later = r.poll(15.0)
    assert later[0] == Gap(3, 4, 3000, 5000, "timeout")
    assert later[1] == Segment(5000, chunks[5].payload, 5, 5)
    out += later + feed(r, chunks[6:], now=16.0)
    assert stream(out) == data_of(chunks[:3]) + data_of(chunks[5:])
    assert r.complete
    assert (r.stats.gaps, r.stats.missing_chunks, r.stats.bytes_lost) == (1, 2, 2000)
    # the lost chunk arrives late: dropped, counted
    assert r.push(chunks[3], 20.0) == []
    assert r.stats.late == 1


def test_gap_timeout_is_checked_on_push_too() -> None:
    chunks = pass_chunks()
    r = ChannelReassembler(KEY, gap_timeout_s=5.0)
    r.push(chunks[0], 0.0)
    r.push(chunks[2], 1.0)
    out = r.push(chunks[3], 7.0)
    assert out[0] == Gap(1, 1, 1000, 2000, "timeout")
    assert isinstance(out[1], Segment) and (out[1].first_seq, out[1].last_seq) == (2, 3)


def test_pass_end_declares_holes_and_unknown_tail() -> None:
    chunks = pass_chunks()
    r = ChannelReassembler(KEY, gap_timeout_s=1e9)
    out = feed(r, [chunks[0], chunks[1], chunks[4], chunks[6]])
    out += r.finish(1.0)
    gaps = [o for o in out if isinstance(o, Gap)]
    assert gaps == [
        Gap(2, 3, 2000, 4000, "pass-end"),
        Gap(5, 5, 5000, 6000, "pass-end"),
        Gap(7, None, 7000, None, "pass-end"),
    ]
    assert r.complete and r.stats.missing_chunks == 3
    assert r.push(chunks[7], 2.0) == [] and r.stats.late == 1


def test_pass_end_with_known_last_chunk_reports_exact_tail() -> None:
    chunks = pass_chunks()
    r = ChannelReassembler(KEY, gap_timeout_s=1e9)
    out = feed(r, chunks[:4] + [chunks[9]])
    out += r.finish(1.0)
    assert [o for o in out if isinstance(o, Gap)] == [Gap(4, 8, 4000, 9000, "pass-end")]
    assert stream(out) == data_of(chunks[:4]) + chunks[9].payload


def test_buffer_limit_forces_a_gap() -> None:
    chunks = pass_chunks()
    r = ChannelReassembler(KEY, gap_timeout_s=1e9, max_buffered_bytes=2500)
    out = feed(r, [chunks[0], chunks[2], chunks[4]])
    assert r.buffered_bytes == 2000 and out == [Segment(0, chunks[0].payload, 0, 0)]
    out = r.push(chunks[6], 0.0)  # 3000 bytes buffered > 2500
    assert out == [Gap(1, 1, 1000, 2000, "buffer-full"), Segment(2000, chunks[2].payload, 2, 2)]
    assert r.buffered_bytes == 2000


@pytest.mark.parametrize(
    ("seq", "offset", "message"),
    [(1, 500, "expected 1000"), (3, 1000, "before stream head"), (12, 12_000, "after the last")],
)
def test_inconsistent_chunks_are_rejected(seq: int, offset: int, message: str) -> None:
    chunks = pass_chunks()
    r = ChannelReassembler(KEY)
    feed(r, [chunks[0], chunks[1], chunks[9]] if seq != 1 else [chunks[0]])
    bad = Chunk("MAT", "p1", 1, seq, offset, T0, b"z" * 1000)
    with pytest.raises(ChunkError, match=message):
        r.push(bad, 0.0)


def test_buffered_neighbours_must_be_contiguous() -> None:
    chunks = pass_chunks()
    r = ChannelReassembler(KEY)
    r.push(chunks[3], 0.0)
    with pytest.raises(ChunkError, match="ends at"):
        r.push(Chunk("MAT", "p1", 1, 2, 2000, T0, b"z" * 1001), 0.0)
    with pytest.raises(ChunkError, match="reassembler of"):
        r.push(Chunk("MAT", "p2", 1, 2, 2000, T0, b"z" * 1000), 0.0)


def test_state_round_trip_resumes_mid_pass() -> None:
    chunks = pass_chunks()
    r = ChannelReassembler(KEY, gap_timeout_s=5.0)
    out = feed(r, [chunks[0], chunks[1], chunks[3], chunks[4]], now=0.0)
    state = ReassemblerState.model_validate_json(r.to_state().model_dump_json())
    resumed = ChannelReassembler.from_state(state)
    assert resumed.to_state() == r.to_state()
    assert resumed.missing() == [2]
    out += feed(resumed, [chunks[1], chunks[2]] + chunks[5:], now=1.0)
    assert stream(out) == data_of(chunks)
    assert resumed.stats.duplicates == 1 and resumed.complete


def test_malformed_state_is_refused() -> None:
    state = ChannelReassembler(KEY).to_state().model_dump(mode="json")
    del state["next_seq"]
    with pytest.raises(ValidationError, match="next_seq"):
        ReassemblerState.model_validate(state)
