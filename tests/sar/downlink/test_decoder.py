"""CADU stream decoding: VC demultiplexing, lost frames, packet reassembly, statistics."""

from __future__ import annotations

import numpy as np
import pytest

from sar.downlink.decoder import CaduDecoder, decode_cadu_stream
from sar.downlink.framer import build_frames, encode_cadus, idle_frames, packetise
from sar.downlink.impairments import Impairments, impair_cadus
from sar.downlink.params import FramingParameters
from sar.downlink.records import GapKind
from sar.downlink.simulation import frame_channel

from .conftest import make_packets, split_stream

P = FramingParameters()
Z = P.packet_zone_octets


def _frames(packets: list[bytes], vcid: int = 1, first_count: int = 0) -> np.ndarray:
    zones, fhp = packetise(b"".join(packets), Z)
    return build_frames(zones, fhp, P, vcid=vcid, first_count=first_count)


def test_round_trip_in_random_chunks() -> None:
    packets = make_packets(400, seed=1, high=5000)
    cadus = frame_channel(b"".join(packets), P, vcid=1, fill_every=5)
    rng = np.random.default_rng(2)
    dec = CaduDecoder()
    got = []
    pos = 0
    while pos < len(cadus):
        n = int(rng.integers(1, 3000))
        got.append(dec.feed(cadus[pos : pos + n]).packets.get(1, b""))
        pos += n
    end = dec.finish()
    got.append(end.packets.get(1, b""))
    assert b"".join(got) == b"".join(packets)
    assert end.gaps == []
    st = dec.stats
    assert st.frames == len(cadus) // 1024
    assert st.fill_frames == (st.frames - st.channels[1].frames)
    assert st.fill_frames > 0
    assert st.channels[1].packets == 400 and st.channels[1].idle_packets == 1
    assert st.channels[1].bytes_out == sum(map(len, packets))
    assert st.uncorrectable_frames == st.sync_losses == st.bit_slips == 0


def test_two_virtual_channels_interleaved() -> None:
    a = make_packets(150, seed=3)
    b = make_packets(200, seed=4, apid=0x42)
    fa, fb = _frames(a, 1), _frames(b, 2, first_count=1000)
    mixed = np.empty((fa.shape[0] + fb.shape[0], fa.shape[1]), np.uint8)
    order = np.random.default_rng(5).permutation(mixed.shape[0])
    # keep each channel's own frame order
    ia = np.sort(order[: fa.shape[0]])
    ib = np.sort(order[fa.shape[0] :])
    mixed[ia] = fa
    mixed[ib] = fb
    out = decode_cadu_stream(encode_cadus(mixed, P))
    assert out.packets == {1: b"".join(a), 2: b"".join(b)}
    assert out.gaps == []


def test_lost_frames_counted_from_the_counter_with_wrap_around() -> None:
    packets = make_packets(300, seed=6, low=100, high=4000)
    frames = _frames(packets, 1, first_count=(1 << 24) - 20)  # wraps after 20 frames
    n = frames.shape[0]
    lost = [5, 6, 7, 19, 20, 40]
    keep = np.setdiff1d(np.arange(n), lost)
    cadus = encode_cadus(frames[keep], P)
    out = decode_cadu_stream(cadus)
    st = out.stats.channels[1]
    assert st.lost_frames == len(lost)
    gaps = [g for g in out.gaps if g.kind == GapKind.LOST_FRAMES]
    base = (1 << 24) - 20
    assert [(g.first_count, g.last_count, g.frames) for g in gaps] == [
        ((base + 5) % (1 << 24), (base + 7) % (1 << 24), 3),
        ((base + 19) % (1 << 24), (base + 20) % (1 << 24), 2),
        ((base + 40) % (1 << 24), (base + 40) % (1 << 24), 1),
    ]
    # byte ranges: between the CADUs around the loss, in the received stream
    assert (gaps[0].byte_start, gaps[0].byte_stop) == (5 * 1024, 5 * 1024)
    # every delivered packet is an original one, in order; the missing ones are exactly
    # those overlapping a lost frame's packet zone
    got = split_stream(out.packets[1])
    starts = np.cumsum([0] + [len(p) for p in packets])
    lost_spans = [(f * Z, (f + 1) * Z) for f in lost]
    hit = [
        any(s < b and e > a for a, b in lost_spans)
        for s, e in zip(starts[:-1], starts[1:], strict=True)
    ]
    assert got == [p for p, h in zip(packets, hit, strict=True) if not h]
    discarded = sum(g.octets for g in out.gaps if g.kind == GapKind.DISCARDED_PACKET)
    assert discarded == st.discarded_octets > 0


def test_packets_longer_than_several_frames() -> None:
    packets = make_packets(20, seed=7, low=3 * Z, high=8 * Z)
    out = decode_cadu_stream(frame_channel(b"".join(packets), P, vcid=3))
    assert split_stream(out.packets[3]) == packets


def test_first_header_pointer_mismatch_resynchronises() -> None:
    packets = make_packets(60, seed=8, low=200, high=1500)
    frames = _frames(packets)
    m = P.header_octets
    k = 10
    fhp = ((int(frames[k, m]) & 7) << 8) | int(frames[k, m + 1])
    assert fhp != 0x7FF
    frames[k, m + 1] ^= 0x01  # a wrong FHP (RS would pass it: encoded afterwards)
    out = decode_cadu_stream(encode_cadus(frames, P))
    st = out.stats.channels[1]
    assert st.fhp_mismatches >= 1
    got = split_stream(out.packets[1])
    assert set(got) <= set(packets) and len(got) >= len(packets) - 2
    assert any(g.kind == GapKind.DISCARDED_PACKET for g in out.gaps)


def test_idle_frames_only_and_frame_error_control() -> None:
    p = FramingParameters(frame_error_control=True, insert_zone_octets=3, interleave_depth=2)
    packets = make_packets(50, seed=9, high=800)
    zones, fhp = packetise(b"".join(packets), p.packet_zone_octets)
    frames = np.concatenate([idle_frames(3, p), build_frames(zones, fhp, p, vcid=7)])
    cadus = bytearray(encode_cadus(frames, p))
    out = decode_cadu_stream(bytes(cadus), p)
    assert out.packets[7] == b"".join(packets) and out.stats.fill_frames == 3
    assert out.stats.crc_failures == 0


def test_spacecraft_filter_and_uncoded_frames() -> None:
    packets = make_packets(30, seed=10, high=600)
    p = FramingParameters(reed_solomon=False, frame_octets=500, randomised=False,
                          spacecraft_id=0x2A)  # fmt: skip
    zones, fhp = packetise(b"".join(packets), p.packet_zone_octets)
    mine = build_frames(zones, fhp, p, vcid=1, spacecraft_id=0x2A)
    other = build_frames(zones[:3], fhp[:3], p, vcid=1, spacecraft_id=0x2B)
    out = decode_cadu_stream(encode_cadus(np.concatenate([other, mine]), p), p)
    assert out.packets[1] == b"".join(packets)
    assert out.stats.wrong_spacecraft == 3


@pytest.mark.parametrize("cut", [5000, 5000 + 600])
def test_truncated_input_reports_frame_and_packet(cut: int) -> None:
    packets = make_packets(40, seed=11, low=1500, high=2500)
    cadus = frame_channel(b"".join(packets), P, vcid=1)
    out = decode_cadu_stream(cadus[:cut])
    kinds = [g.kind for g in out.gaps]
    assert GapKind.TRUNCATED in kinds
    frame_tail = [g for g in out.gaps if g.kind == GapKind.TRUNCATED and g.vcid is None]
    assert frame_tail and frame_tail[0].byte_stop == cut
    got = split_stream(out.packets.get(1, b""))
    assert got == packets[: len(got)]


def test_chunked_decoding_of_an_impaired_stream_equals_whole_decoding() -> None:
    packets = make_packets(300, seed=12, high=4000)
    cadus = frame_channel(b"".join(packets), P, vcid=1, fill_every=9)
    imp = Impairments(
        bit_error_rate=3e-4, burst_rate=0.02, burst_octets=70, drop_rate=0.01, slip_rate=0.005,
        max_slip_bits=7, leading_garbage=50, seed=13,
    )  # fmt: skip
    bad, _ = impair_cadus(cadus, 1024, imp)
    whole = decode_cadu_stream(bad)
    rng = np.random.default_rng(14)
    dec = CaduDecoder()
    got: list[bytes] = []
    gaps = []
    pos = 0
    while pos < len(bad):
        n = int(rng.integers(1, 4000))
        out = dec.feed(bad[pos : pos + n])
        got.append(out.packets.get(1, b""))
        gaps.extend(out.gaps)
        pos += n
    out = dec.finish()
    got.append(out.packets.get(1, b""))
    gaps.extend(out.gaps)
    assert b"".join(got) == whole.packets[1]
    key = [(g.kind, g.byte_start, g.byte_stop, g.frames, g.octets) for g in gaps]
    assert sorted(key) == sorted(
        (g.kind, g.byte_start, g.byte_stop, g.frames, g.octets) for g in whole.gaps
    )
    assert dec.stats == whole.stats
    assert set(split_stream(whole.packets[1])) <= set(packets)
