"""Burst assembly logic (streams.burst_state) on simulated Level-0 streams: bursts and
blocks, aux completeness, duplicates, reordering, gaps, corruption, timeouts, restart,
ESA burst IDs in the keys of TOPS bursts."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import numpy as np
import pytest

from sar.geo.burst_id import esa_burst_id, iw2_mid_time
from sar.l0.bursts import burst_indices, split_bursts
from sar.l0.packets import decode_packets
from sar.sim.datatake import SimulatedDatatake
from streams.assemble.channel import ChannelAssembler, Context
from streams.assemble.open_bursts import AuxTrack, BurstOutput
from streams.assemble.reassembly import ChannelReassembler
from streams.assemble.state import AuxState, ChannelAssemblerState, ReassemblerState
from streams.messages.chunks import Chunk, split_into_chunks
from streams.messages.events import EventRecord
from streams.messages.jobs import JobRecord
from tests.streams.passdata import IW_RELATIVE_ORBIT, iw_pass, stripmap_pass, truth_bursts

T0 = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
KEY = "MAT/p1/1"


def chunks_of(dt: SimulatedDatatake, size: int = 100_000) -> list[Chunk]:
    return split_into_chunks(dt.data, "MAT", "p1", 1, T0, chunk_size=size)


def assemble(
    chunks: list[Chunk],
    asm: ChannelAssembler | None = None,
    reasm: ChannelReassembler | None = None,
    *,
    finish: bool = True,
    now: float = 0.0,
    relative_orbit: int = IW_RELATIVE_ORBIT,
) -> tuple[list[BurstOutput], list[EventRecord], ChannelAssembler, ChannelReassembler]:
    asm = asm or ChannelAssembler(
        KEY, block_lines=1024, burst_timeout_s=60.0, relative_orbit=relative_orbit
    )
    reasm = reasm or ChannelReassembler(KEY, gap_timeout_s=5.0)
    outs: list[BurstOutput] = []
    events: list[EventRecord] = []
    for c in chunks:
        for o in reasm.push(c, now):
            b, e = asm.feed(o, Context(now))
            outs += b
            events += e
    if finish:
        for o in reasm.finish(now):
            b, e = asm.feed(o, Context(now))
            outs += b
            events += e
        b, e = asm.finish(Context(now))
        outs += b
        events += e
    return outs, events, asm, reasm


def summary(outs: list[BurstOutput]) -> list[tuple[str, str, int, bytes]]:
    return sorted((o.key, o.status, len(o.burst.packets), o.data) for o in outs)


def test_stripmap_blocks_overlap_by_an_aperture_and_carry_the_orbit() -> None:
    dt = stripmap_pass(512)
    outs, events, _, _ = assemble(chunks_of(dt))
    assert events == []
    pri = dt.headers["pri_count"][dt.headers["signal_type"] == 0]
    jobs = [o.job("file:///x", T0) for o in outs]
    blocks = sorted((j.burst_id, j.first_pri_count, j.last_pri_count) for j in jobs)
    # S6: PRF 1610 Hz, overlap ceil(0.6 s * PRF) = 967 lines capped at block/2 = 512
    step = 1024 - 512
    assert [b for b, _, _ in blocks] == list(range(len(blocks)))
    for k, first, last in blocks:
        assert first == max(k * step, int(pri.min()))
        assert last == min(k * step + 1023, int(pri.max()))
    covered = set().union(*(range(f, la + 1) for _, f, la in blocks))
    assert covered == {int(p) for p in pri}
    for j in jobs:
        assert j.status == "complete"
        assert j.burst_key == f"05A5A5/S6/VV/{j.burst_id}"  # stripmap: block numbers
        assert j.burst_label == "" and j.anx_time_gps is None
        assert j.relative_orbit == IW_RELATIVE_ORBIT  # the pass's track, for the product
        assert len(j.state_vectors) >= 2
        assert j.state_vectors[0].time <= j.sensing_stop_gps + 1
        decoded = decode_packets(outs[jobs.index(j)].data)
        assert len(decoded) == j.packet_count == j.last_pri_count - j.first_pri_count + 1
    # every block but the last had its aux complete before the pass ended
    assert [j.aux_status for j in sorted(jobs, key=lambda j: j.burst_id)][:-1] == ["complete"] * (
        len(jobs) - 1
    )
    roundtrip = JobRecord.from_bytes(jobs[0].to_bytes())
    assert roundtrip == jobs[0]


def test_tops_bursts_match_split_bursts() -> None:
    dt = iw_pass()
    outs, events, _, _ = assemble(chunks_of(dt))
    assert events == []
    packets = decode_packets(dt.data)
    expected = []
    for b in split_bursts(packets.headers):
        idx = burst_indices(packets.headers, b)
        expected.append((b.swath_number - 9, idx.size))
    got = sorted((int(o.burst.swath[2]), len(o.burst.packets)) for o in outs)
    assert got == sorted(expected)
    assert len(outs) == 6  # two cycles of IW1..IW3
    ids: dict[str, set[int]] = {o.burst.swath: set() for o in outs}
    for o in outs:
        ids[o.burst.swath].add(o.identity.number)
        assert o.status == "complete"
    assert all(len(v) == 2 for v in ids.values())  # distinct ids per swath


def test_tops_keys_are_the_simulators_esa_burst_ids() -> None:
    dt = iw_pass()
    truth = truth_bursts(dt)
    outs, _, asm, _ = assemble(chunks_of(dt))
    assert sorted(o.key for o in outs) == sorted(truth)
    anx_truth = dt.truth["anx_time"]["gps_seconds"]
    for o in outs:
        burst_id, label, first_line = truth[o.key]
        assert o.burst.first_time == pytest.approx(first_line, abs=1e-4)
        job = JobRecord.from_bytes(o.job(f"file:///raw/{o.key}.dat", T0).to_bytes())
        assert job.burst_key == o.key and job.burst_id == burst_id
        assert job.burst_label == o.identity.label == label  # e.g. t117_249424_iw1
        assert job.relative_orbit == IW_RELATIVE_ORBIT
        assert job.anx_time_gps == pytest.approx(anx_truth, abs=1e-3)
    assert {o.identity.number for o in outs} == {truth[k][0] for k in truth}
    assert len({o.identity.number for o in outs}) == 2  # two burst cycles, IW1..IW3 share the id
    assert asm.anx.computed == 1  # one ANX for the data-take, reused by the other bursts


def test_unknown_relative_orbit_counts_from_the_anx_and_labels_t000() -> None:
    dt = iw_pass()
    truth = truth_bursts(dt)
    anx_truth = dt.truth["anx_time"]["gps_seconds"]
    outs, _, _, _ = assemble(chunks_of(dt), relative_orbit=0)
    assert len(outs) == len(truth) == 6
    by_time = {round(first, 3): (bid, label) for bid, label, first in truth.values()}
    for o in outs:
        swath = o.burst.swath
        expected = esa_burst_id(iw2_mid_time(swath, o.burst.first_time), anx_truth, 1)
        true_id, true_label = by_time[round(o.burst.first_time, 3)]
        assert o.identity.number == expected != true_id  # r = 1 formula: differs from track 117's
        assert o.identity.relative_orbit == 0
        assert o.identity.label == f"t000_{expected:06d}_{swath.lower()}"
        assert o.identity.label[4:] != true_label[4:]
        assert o.key == f"05A5A5/{swath}/VV/{expected}"
        assert o.job("x", T0).relative_orbit == 0


def test_tops_burst_is_emitted_as_soon_as_next_swath_and_aux_arrive() -> None:
    dt = iw_pass()
    packets = decode_packets(dt.data)
    first = split_bursts(packets.headers)[0]
    # feed the stream up to 200 packets after the first burst ended
    h = packets.headers
    end = int(h["byte_offset"][first.stop + 200])
    chunks = split_into_chunks(dt.data[:end], "MAT", "p1", 1, T0, chunk_size=50_000)
    for c in chunks:
        object.__setattr__(c, "last", False)
    outs, _, asm, _ = assemble(chunks, finish=False)
    assert [o.burst.swath for o in outs] == ["IW1"]
    assert outs[0].aux_status == "complete"
    assert len(outs[0].burst.packets) == first.stop - first.start - np.count_nonzero(
        h["signal_type"][first.start : first.stop] != 0
    )
    assert asm.open  # IW2 still open


def test_duplicated_and_reordered_chunks_give_the_same_bursts() -> None:
    dt = stripmap_pass(512)
    clean = summary(assemble(chunks_of(dt, 60_000))[0])
    messy = chunks_of(dt, 60_000)
    rng = random.Random(7)
    messy += [messy[i] for i in rng.sample(range(len(messy)), 10)]  # duplicates
    for i in range(0, len(messy) - 3, 5):  # local reordering
        messy[i], messy[i + 2] = messy[i + 2], messy[i]
    outs, events, _, reasm = assemble(messy)
    assert summary(outs) == clean
    assert events == []
    assert reasm.stats.duplicates == 10


def test_missing_chunk_gives_gap_event_and_incomplete_block() -> None:
    dt = stripmap_pass(512)
    chunks = chunks_of(dt, 60_000)
    lost = chunks.pop(20)
    outs, events, _, _ = assemble(chunks)
    gaps = [e for e in events if e.kind == "gap"]
    assert len(gaps) == 1
    assert gaps[0].detail["first_seq"] == gaps[0].detail["last_seq"] == 20
    assert gaps[0].detail["byte_start"] == lost.offset
    assert gaps[0].detail["byte_stop"] == lost.end
    incomplete = [o for o in outs if o.status == "incomplete"]
    assert incomplete
    jobs = [o.job("x", T0) for o in incomplete]
    missing = sum(b - a + 1 for j in jobs for a, b in j.missing_pri)
    # ~60 kB of 512-sample packets (~740 bytes each) lost: some 80 lines in each block
    assert 40 <= missing / len(jobs) <= 120
    assert all(j.gaps and j.gaps[0]["first_seq"] == 20 for j in jobs)
    complete = [o for o in outs if o.status == "complete"]
    assert complete  # blocks away from the hole are whole


def test_corrupt_bytes_are_skipped_counted_and_resynchronised() -> None:
    dt = stripmap_pass(512)
    data = bytearray(dt.data)
    h = dt.headers
    sizes = decode_packets(dt.data).headers["byte_offset"]
    where = int(sizes[3000])
    data[where : where + 10] = b"\xff" * 10  # destroy one packet header
    chunks = split_into_chunks(bytes(data), "MAT", "p1", 1, T0, chunk_size=60_000)
    outs, events, asm, _ = assemble(chunks)
    corrupt = [e for e in events if e.kind == "corrupt"]
    assert len(corrupt) == 1
    assert corrupt[0].detail["byte_offset"] == where
    assert asm.scanner.skipped_bytes > 0
    total = sum(len(o.burst.packets) for o in outs)
    clean_total = sum(len(o.burst.packets) for o in assemble(chunks_of(dt))[0])
    assert clean_total - total in (1, 2)  # the damaged packet, once or in two blocks
    bad = [o for o in outs if o.status == "incomplete"]
    assert bad and all(
        any(a <= int(h["pri_count"][3000]) <= b for a, b in o.burst.missing) for o in bad
    )


def test_restart_from_snapshot_resumes_without_loss_or_duplicates() -> None:
    dt = iw_pass()
    chunks = chunks_of(dt, 50_000)
    clean = summary(assemble(chunks)[0])
    assert sorted(k for k, *_ in clean) == sorted(truth_bursts(dt))
    cached_at_cut = []
    for cut in (7, 31, 52):
        first, _, asm, reasm = assemble(chunks[:cut], finish=False)
        a = ChannelAssemblerState.model_validate_json(asm.to_state().model_dump_json())
        r = ReassemblerState.model_validate_json(reasm.to_state().model_dump_json())
        assert a.relative_orbit == IW_RELATIVE_ORBIT
        asm2 = ChannelAssembler.from_state(a)
        reasm2 = ChannelReassembler.from_state(r)
        assert asm2.relative_orbit == IW_RELATIVE_ORBIT and asm2.anx.anx == asm.anx.anx
        cached_at_cut.append(bool(asm2.anx.anx))
        # the restarted consumer re-reads a few records before the snapshot position
        rest, _, _, _ = assemble(chunks[cut - 3 :], asm2, reasm2)
        assert summary(first + rest) == clean, cut
        if asm.anx.anx:
            assert asm2.anx.computed == 0  # the snapshot's ANX labels the rest
    assert cached_at_cut == [False, True, True]  # the first cut precedes the first burst


def test_snapshot_without_burst_id_fields_still_restores() -> None:
    """A snapshot written before the ESA ids (no ``relative_orbit``/``anx``) loads; the
    assembler learns the track again from the next chunk record's pass metadata."""
    dt = iw_pass()
    chunks = chunks_of(dt, 50_000)
    clean = summary(assemble(chunks)[0])
    first, _, asm, reasm = assemble(chunks[:31], finish=False)
    old = json.loads(asm.to_state().model_dump_json())
    del old["relative_orbit"], old["anx"]
    asm2 = ChannelAssembler.from_state(ChannelAssemblerState.model_validate(old))
    assert asm2.relative_orbit == 0 and asm2.anx.anx == {}
    asm2.relative_orbit = IW_RELATIVE_ORBIT  # what Assembler.handle does with the header
    reasm2 = ChannelReassembler.from_state(
        ReassemblerState.model_validate_json(reasm.to_state().model_dump_json())
    )
    rest, _, _, _ = assemble(chunks[28:], asm2, reasm2)
    assert summary(first + rest) == clean


def test_open_burst_is_flushed_incomplete_after_timeout() -> None:
    dt = iw_pass()
    packets = decode_packets(dt.data)
    first = split_bursts(packets.headers)[0]
    middle = int(packets.headers["byte_offset"][(first.start + first.stop) // 2])
    chunks = split_into_chunks(dt.data[:middle], "MAT", "p1", 1, T0, chunk_size=50_000)
    for c in chunks:
        object.__setattr__(c, "last", False)
    outs, _, asm, _ = assemble(chunks, finish=False, now=100.0)
    assert outs == []
    assert asm.poll(Context(130.0)) == []
    flushed = asm.poll(Context(160.0))
    assert [o.status for o in flushed] == ["incomplete"]
    assert flushed[0].aux_status == "extrapolated"
    assert flushed[0].burst.reason == "timeout"


def test_aux_needs_two_state_vectors_and_a_cycle_after_the_burst() -> None:
    track = AuxTrack()
    assert not track.complete_for(0.0)
    track.vectors = {10.0: ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])}
    track.cycle_end_time = 20.0
    assert not track.complete_for(15.0)  # one state vector only
    track.vectors[11.0] = ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    assert track.complete_for(15.0)
    assert not track.complete_for(20.5)  # no cycle completed after the burst yet
    restored = AuxTrack.from_state(AuxState.model_validate_json(track.to_state().model_dump_json()))
    assert restored == track


def test_job_record_without_burst_id_fields_parses_with_defaults() -> None:
    dt = stripmap_pass(512)
    job = assemble(chunks_of(dt))[0][0].job("file:///x", T0)
    old = json.loads(job.to_bytes())
    for name in ("relative_orbit", "burst_label", "anx_time_gps"):
        del old[name]
    parsed = JobRecord.from_bytes(json.dumps(old).encode())
    assert (parsed.relative_orbit, parsed.burst_label, parsed.anx_time_gps) == (0, "", None)
    assert parsed.burst_key == job.burst_key


@pytest.mark.parametrize("bad", [b"", b"{}"])
def test_job_record_rejects_garbage(bad: bytes) -> None:
    from streams._infra.errors import SchemaError

    with pytest.raises(SchemaError, match="invalid focus job"):
        JobRecord.from_bytes(bad)
