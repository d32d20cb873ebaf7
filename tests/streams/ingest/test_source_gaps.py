"""Source gaps: a chunk whose offset jumps past its predecessor's end (consecutive
sequence numbers) is a gap with reason "source"; the assembler marks open bursts
incomplete at it (streams/assemble/reassembly.py, the change made for the ingest)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from streams._infra.errors import ChunkError
from streams.assemble.channel import ChannelAssembler, Context
from streams.assemble.reassembly import ChannelReassembler, Gap, Output, Segment
from streams.messages.chunks import Chunk

T0 = datetime(2026, 11, 25, 17, 40, tzinfo=UTC)
KEY = "MAT/p1/1"


def chunk(seq: int, offset: int, n: int, last: bool = False) -> Chunk:
    return Chunk("MAT", "p1", 1, seq, offset, T0, random.Random(seq).randbytes(n), last=last)


def test_offset_jump_with_consecutive_sequence_numbers_is_a_source_gap() -> None:
    r = ChannelReassembler(KEY)
    out: list[Output] = []
    out += r.push(chunk(0, 0, 1000), 0.0)
    out += r.push(chunk(1, 1500, 1000), 0.0)  # 500 bytes lost at the source
    out += r.push(chunk(2, 2500, 0, last=True), 0.0)
    assert out == [
        Segment(0, chunk(0, 0, 1000).payload, 0, 0),
        Gap(1, 0, 1000, 1500, "source"),
        Segment(1500, chunk(1, 1500, 1000).payload, 1, 1),
        Segment(2500, b"", 2, 2),
    ]
    assert r.complete
    assert (r.stats.gaps, r.stats.missing_chunks, r.stats.bytes_lost) == (1, 0, 500)


def test_source_gap_out_of_order_and_in_one_drain() -> None:
    r = ChannelReassembler(KEY)
    out: list[Output] = []
    for c in (chunk(2, 3000, 100), chunk(1, 1200, 800), chunk(0, 0, 1000)):
        out += r.push(c, 0.0)
    gaps = [o for o in out if isinstance(o, Gap)]
    assert gaps == [Gap(1, 0, 1000, 1200, "source"), Gap(2, 1, 2000, 3000, "source")]
    assert [(s.offset, s.end) for s in out if isinstance(s, Segment)] == [
        (0, 1000), (1200, 2000), (3000, 3100)
    ]  # fmt: skip
    # a duplicate of a chunk after a source gap is still a duplicate
    assert r.push(chunk(1, 1200, 800), 0.0) == [] and r.stats.duplicates == 1


def test_an_offset_going_backwards_is_still_rejected() -> None:
    r = ChannelReassembler(KEY)
    r.push(chunk(0, 0, 1000), 0.0)
    with pytest.raises(ChunkError, match="expected 1000 or later"):
        r.push(chunk(1, 900, 1000), 0.0)
    r.push(chunk(3, 5000, 1000), 0.0)
    with pytest.raises(ChunkError, match="ends at"):
        r.push(chunk(2, 4500, 1000), 0.0)


def test_state_round_trip_keeps_source_gaps() -> None:
    r = ChannelReassembler(KEY)
    r.push(chunk(0, 0, 1000), 0.0)
    r.push(chunk(2, 2600, 10), 0.0)
    resumed = ChannelReassembler.from_state(r.to_state())
    out = resumed.push(chunk(1, 1100, 1000), 0.0)
    assert [o for o in out if isinstance(o, Gap)] == [
        Gap(1, 0, 1000, 1100, "source"), Gap(2, 1, 2100, 2600, "source")
    ]  # fmt: skip


def test_the_assembler_marks_the_open_burst_incomplete_at_a_source_gap() -> None:
    from tests.streams.ingest.passdata import RELATIVE_ORBIT, impaired_pass

    p = impaired_pass()
    data = p.datatake.data
    key = "LOCAL/pass-1/1"
    hit = next(iter(p.hit_keys))
    # cut the stream at a packet boundary inside the hit burst and leave a hole there
    from sar.downlink.framer import packet_offsets

    offsets = packet_offsets(data)
    raw = p.bursts[hit][2]
    at = int(offsets[int(offsets.searchsorted(data.index(raw[:4096]))) + 100])
    asm = ChannelAssembler(key, relative_orbit=RELATIVE_ORBIT)
    r = ChannelReassembler(key)
    bursts, events = [], []
    pieces = [(0, data[:at]), (at + 5000, data[at:])]
    for seq, (offset, payload) in enumerate(pieces):
        c = Chunk("LOCAL", "pass-1", 1, seq, offset, T0, payload, last=seq == 1)
        for o in r.push(c, 0.0):
            b, e = asm.feed(o, Context(0.0))
            bursts += b
            events += e
    b, e = asm.finish(Context(0.0))
    bursts += b
    events += e
    status = {o.key: o.status for o in bursts}
    assert status == {k: "incomplete" if k == hit else "complete" for k in p.bursts}
    gaps = [e.detail for e in events if e.kind == "gap"]
    assert gaps == [{"first_seq": 1, "last_seq": 0, "byte_start": at, "byte_stop": at + 5000,
                     "reason": "source"}]  # fmt: skip
    # nothing but the hole is lost: every packet of every burst arrived
    assert {o.key: len(o.burst.packets) for o in bursts} == {
        k: v[1] for k, v in p.bursts.items()
    }  # fmt: skip
    assert not [e for e in events if e.kind == "corrupt"]
