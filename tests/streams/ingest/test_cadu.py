"""CaduLink: a link's CADUs into per-channel packet streams with holes where frames were
lost, gap events, metrics, exact resumption, and no crash on garbage."""

from __future__ import annotations

import random

import numpy as np
import pytest
from prometheus_client import REGISTRY

from sar.downlink import GapKind
from sar.downlink.framer import packet_offsets
from streams.ingest.cadu import CaduLink, Hole, LinkOutput, downlink_event
from tests.streams.ingest.passdata import PARAMS, impaired_pass, whole_packets


def feed_in_pieces(link: CaduLink, data: bytes, seed: int = 1) -> list[LinkOutput]:
    rng = random.Random(seed)
    outs, pos = [], 0
    while pos < len(data):
        n = rng.randint(1, 400_000)
        outs.append(link.feed(data[pos : pos + n]))
        pos += n
    outs.append(link.finish())
    return outs


def items_of(outs: list[LinkOutput], channel: int = 1) -> list[bytes | Hole]:
    return [x for o in outs for x in o.items.get(channel, [])]


def packets(data: bytes) -> list[bytes]:
    starts = [int(s) for s in packet_offsets(data)] + [len(data)]
    return [data[a:b] for a, b in zip(starts[:-1], starts[1:], strict=True)]


def metric(name: str, vcid: str = "1", station: str = "T-CADU") -> float:
    value = REGISTRY.get_sample_value(name, {"station": station, "link": "1", "vcid": vcid})
    return value or 0.0


def test_clean_link_gives_the_packet_stream_bit_exact() -> None:
    p = impaired_pass()
    link = CaduLink(1, PARAMS, station="T-CLEAN")
    outs = feed_in_pieces(link, p.clean)
    items = items_of(outs)
    assert not any(isinstance(x, Hole) for x in items)
    assert b"".join(x for x in items if isinstance(x, bytes)) == p.datatake.data
    assert not [g for o in outs for g in o.gaps]
    assert link.input_offset == len(p.clean) and link.decoder.stats.uncorrectable_frames == 0


def test_lost_frames_become_holes_at_packet_boundaries_with_gap_events() -> None:
    p = impaired_pass()
    before = {m: metric(f"eoport_downlink_{m}_total") for m in
              ("frames", "corrected_symbols", "lost_frames")}  # fmt: skip
    link = CaduLink(1, PARAMS, station="T-CADU")
    outs = feed_in_pieces(link, p.impaired, seed=2)
    items = items_of(outs)
    holes = [x for x in items if isinstance(x, Hole)]
    # one hole per loss point: the two uncorrectable frames and the dropped one
    assert len(holes) == 3
    gaps = [g for h in holes for g in h.gaps]
    lost = [g for g in gaps if g.kind == GapKind.LOST_FRAMES]
    assert sorted(g.frames for g in lost) == [1, 1, 1]
    # every piece between holes is whole packets of the clean stream, in order
    clean = packets(p.datatake.data)
    got = [pk for x in items if isinstance(x, bytes) for pk in packets(x)]
    position = {pk: i for i, pk in enumerate(clean)}
    indices = [position[pk] for pk in got]
    assert indices == sorted(indices)
    missing = sorted(set(range(len(clean))) - set(indices))
    assert 3 <= len(missing) <= 3 * 3  # a frame holds parts of at most a few packets
    # ... all of them packets of the burst hit
    hit_packets = set(packets(next(v[2] for k, v in p.bursts.items() if k in p.hit_keys)))
    assert all(clean[i] in hit_packets for i in missing)
    # link-level: the two uncorrectable frames, at their CADU input ranges
    uncorrectable = [g for o in outs for g in o.gaps if g.kind == GapKind.UNCORRECTABLE]
    n = PARAMS.cadu_octets
    assert [(g.byte_start, g.byte_stop) for g in uncorrectable] == [
        (i * n, (i + 1) * n) for i in p.uncorrectable
    ]  # fmt: skip
    st = link.decoder.stats
    assert st.uncorrectable_frames == 2 and st.channels[1].lost_frames == 3
    assert st.corrected_symbols > 100  # the bit errors, all corrected
    # metrics advanced by the decoder's counts
    assert metric("eoport_downlink_frames_total") - before["frames"] == st.channels[1].frames
    assert metric("eoport_downlink_lost_frames_total") - before["lost_frames"] == 3
    assert metric("eoport_downlink_corrected_symbols_total") - before["corrected_symbols"] == (
        st.corrected_symbols
    )  # fmt: skip
    # events: kinds and both byte ranges
    event = downlink_event(lost[0], station="MAT", pass_id="p1", link=1, channel=1,
                           stream_range=(10, 20))  # fmt: skip
    assert (event.kind, event.source) == ("gap", "MAT/p1/1")
    assert event.detail["stream_byte_start"] == 10 and event.detail["byte_start"] == (
        lost[0].byte_start
    )  # fmt: skip
    corrupt = downlink_event(uncorrectable[0], station="MAT", pass_id="p1", link=1, channel=None)
    assert (corrupt.kind, corrupt.source) == ("corrupt", "MAT/p1/L1")


@pytest.mark.parametrize("split", [3_000_001, 9_437_184 + 517])
def test_a_warmed_up_decoder_continues_exactly(split: int) -> None:
    p = impaired_pass()
    data = p.impaired
    first = CaduLink(1, PARAMS)
    first.feed(data[:split])
    counts = first.output_counts
    expected = [first.feed(data[split:]), first.finish()]
    resumed = CaduLink(1, PARAMS, input_base=split)
    resumed.warm_up(data[split - 256 * 1024 : split], counts)
    got = [resumed.feed(data[split:]), resumed.finish()]
    assert items_of(got) == items_of(expected)
    assert [o.gaps for o in got] == [o.gaps for o in expected]
    assert resumed.input_offset == len(data)


def test_garbage_truncation_and_bit_slips_never_crash() -> None:
    p = impaired_pass()
    rng = np.random.default_rng(5)
    garbage = rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes()
    piece = p.clean[: 200 * PARAMS.cadu_octets]
    slipped = piece[:100_003] + b"\x5a" + piece[100_003:]  # one octet inserted mid-frame
    stream = garbage + slipped + garbage[:3000] + piece[:-517]  # ends inside a frame
    link = CaduLink(1, PARAMS)
    outs, pos = [], 0
    while pos < 20_000:  # tiny feeds first
        outs.append(link.feed(stream[pos : pos + 1 + pos % 13]))
        pos += 1 + pos % 13
    outs += feed_in_pieces(link, stream[pos:], seed=9)
    kinds = {g.kind for o in outs for g in o.gaps} | {
        g.kind for x in items_of(outs) if isinstance(x, Hole) for g in x.gaps
    }
    assert GapKind.UNSYNCHRONISED in kinds
    assert GapKind.TRUNCATED in kinds or GapKind.LOST_FRAMES in kinds
    got = [pk for x in items_of(outs) if isinstance(x, bytes) for pk in packets(x)]
    clean = set(packets(p.datatake.data))
    assert got and all(pk in clean for pk in got)  # whatever comes out is real packets
    # pure garbage and an empty stream: nothing out, nothing raised
    for junk in (garbage, b"", b"\x1a\xcf\xfc\x1d" * 3000):
        link = CaduLink(2, PARAMS)
        out = [link.feed(junk), link.finish()]
        assert not items_of(out)


def test_virtual_channels_map_to_chunk_channels() -> None:
    from sar.downlink import downlink_packets, split_packets

    data = whole_packets(2_000_000)
    links = downlink_packets(data, PARAMS, policy="alternate")  # VC 1 and VC 2
    parts = split_packets(data, "alternate")
    identity = CaduLink(2, PARAMS)
    assert b"".join(x for x in items_of([identity.feed(links[1])], 2) if isinstance(x, bytes))
    mapped = CaduLink(2, PARAMS, vc_channels={2: 7, 1: 8})
    outs = [mapped.feed(links[1]), mapped.finish()]
    assert set(outs[0].items) == {7} and mapped.channel_of(2) == 7
    assert b"".join(x for x in items_of(outs, 7) if isinstance(x, bytes)) == parts[1]
    only_one = CaduLink(1, PARAMS, vc_channels={2: 2})  # VC 1 is not mapped: ignored
    outs = [only_one.feed(links[0]), only_one.finish()]
    assert not any(o.items for o in outs) and only_one.ignored_vcids == {1}
    assert only_one.ignored_bytes == len(parts[0])
