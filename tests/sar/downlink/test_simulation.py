"""The simulator's downlink: a simulated IW pass as CADUs, round trip and impaired."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from eoport.commands.simulate import register as register_simulate
from eoport.errors import InvalidArgumentError
from sar.downlink.channels import merge_packet_streams, packet_times, split_packets
from sar.downlink.decoder import decode_cadu_stream
from sar.downlink.detect import detect_format, detect_framing
from sar.downlink.impairments import Impairments, impair_cadus
from sar.downlink.params import FramingParameters
from sar.downlink.records import GapKind
from sar.downlink.simulation import downlink_packets
from sar.sim.datatake import SimulatedDatatake, simulate_datatake
from sar.sim.scene import Target

from .conftest import split_stream

P = FramingParameters()


def main(argv: Sequence[str]) -> int:
    """``eoport simulate`` through its own sub-parser (independent of other commands)."""
    parser = argparse.ArgumentParser()
    register_simulate(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.handler(args))


@lru_cache(maxsize=1)
def iw_pass() -> SimulatedDatatake:
    """One IW burst cycle, dual polarisation, narrowed echo window (4096 samples)."""
    return simulate_datatake(
        "IW", (45.0, 10.0), 1.0, [Target(45.0, 10.0, 0.0, 1e4)], pol="VV+VH",
        n_samples=4096, seed=3,
    )  # fmt: skip


def test_round_trip_is_bit_exact() -> None:
    data = iw_pass().data
    streams = downlink_packets(data, fill_every=40)
    assert len(streams) == 2 and all(len(s) % 1024 == 0 for s in streams)
    decoded = [decode_cadu_stream(s) for s in streams]
    assert all(d.gaps == [] for d in decoded)
    assert [d.packets[v] for d, v in zip(decoded, (1, 2), strict=True)] == split_packets(data)
    assert merge_packet_streams([decoded[0].packets[1], decoded[1].packets[2]]) == data
    assert decoded[0].stats.fill_frames > 0


def test_split_by_receive_channel_and_alternate() -> None:
    data = iw_pass().data
    ch = split_packets(data)
    rx = [{p[21] & 0x0F for p in split_stream(c)} for c in ch]
    assert rx == [{0}, {1}]
    alt = split_packets(data, "alternate")
    assert abs(len(split_stream(alt[0])) - len(split_stream(alt[1]))) <= 1
    assert merge_packet_streams(alt) == data
    assert np.all(np.diff(packet_times(merge_packet_streams(ch))) >= 0)


def _codeword_errors(clean: bytes, bad: bytes) -> np.ndarray:
    """Symbol errors per codeword (n_cadus, 4) when no CADU was dropped or slipped."""
    a = np.frombuffer(clean, np.uint8).reshape(-1, 1024)[:, 4:]
    b = np.frombuffer(bad, np.uint8).reshape(-1, 1024)[:, 4:]
    diff = (a != b).reshape(-1, 255, 4)
    return diff.sum(axis=1)


def test_impaired_pass_gives_clean_packets_except_uncorrectable_frames() -> None:
    data = iw_pass().data
    clean_parts = split_packets(data)
    streams = downlink_packets(data)
    imp = Impairments(bit_error_rate=2e-4, burst_rate=0.004, burst_octets=80, seed=21)
    for k, (stream, clean) in enumerate(zip(streams, clean_parts, strict=True)):
        bad, report = impair_cadus(stream, 1024, imp)
        errors = _codeword_errors(stream, bad)
        doomed = np.flatnonzero((errors > 16).any(axis=1))
        assert doomed.size > 0 and report.flipped_bits > 0
        out = decode_cadu_stream(bad)
        st = out.stats
        assert st.corrected_symbols == int(errors[~(errors > 16).any(axis=1)].sum())
        assert st.uncorrectable_frames == doomed.size
        unc = [g for g in out.gaps if g.kind == GapKind.UNCORRECTABLE]
        assert [(g.byte_start, g.byte_stop) for g in unc] == [
            (int(i) * 1024, int(i) * 1024 + 1024) for i in doomed
        ]
        vcid = k + 1
        assert st.channels[vcid].lost_frames == doomed.size
        # delivered packets: exactly the clean ones not touching a doomed frame's zone
        packets = split_stream(clean)
        ends = np.cumsum([len(p) for p in packets])
        starts = ends - [len(p) for p in packets]
        z = P.packet_zone_octets
        hit = np.zeros(len(packets), dtype=bool)
        for f in doomed:
            hit |= (starts < (f + 1) * z) & (ends > f * z)
        assert split_stream(out.packets[vcid]) == [p for p, h in zip(packets, hit, strict=True)
                                                   if not h]  # fmt: skip
        lost = [g for g in out.gaps if g.kind == GapKind.LOST_FRAMES]
        assert sum(g.frames for g in lost) == doomed.size


def test_dropped_frames_and_slips_never_give_wrong_packets() -> None:
    data = iw_pass().data
    clean = split_packets(data)[0]
    stream = downlink_packets(data)[0]
    imp = Impairments(drop_rate=0.003, slip_rate=0.003, max_slip_bits=6, leading_garbage=999,
                      seed=5)  # fmt: skip
    bad, report = impair_cadus(stream, 1024, imp)
    out = decode_cadu_stream(bad)
    packets = split_stream(clean)
    got = split_stream(out.packets[1])
    # a subsequence of the clean packets
    it = iter(packets)
    assert all(any(g == p for p in it) for g in got)
    assert len(got) < len(packets)
    assert out.stats.channels[1].lost_frames >= len(report.dropped)
    assert out.stats.bit_slips > 0
    assert out.gaps[0].kind == GapKind.UNSYNCHRONISED and out.gaps[0].byte_stop == 999


@pytest.mark.parametrize("spec", ["cadu", "cadu:ber=1e-5,fill=30,seed=2"])
def test_cli_writes_one_cadu_file_per_channel(tmp_path: Path, spec: str) -> None:
    targets = tmp_path / "t.json"
    targets.write_text('{"targets": [{"lat": 45.0, "lon": 10.0, "height": 0, "rcs": 1e4}]}')
    out = tmp_path / "RAW.dat"
    rc = main([
        "simulate", "--mode", "S3", "--center", "45,10", "--duration", "0.05",
        "--targets", str(targets), "-o", str(out), "--samples", "256", "--pol", "VV+VH",
        "--downlink", spec,
    ])  # fmt: skip
    assert rc == 0
    files = [tmp_path / "RAW.dat.ch1.cadu", tmp_path / "RAW.dat.ch2.cadu"]
    decoded = [decode_cadu_stream(f.read_bytes()) for f in files]
    merged = merge_packet_streams([d.packets[v] for d, v in zip(decoded, (1, 2), strict=True)])
    assert merged == out.read_bytes()


def test_cli_rejects_bad_downlink(tmp_path: Path) -> None:
    targets = tmp_path / "t.json"
    targets.write_text('{"targets": []}')
    with pytest.raises(InvalidArgumentError, match="unknown option 'foo=1'"):
        main([
            "simulate", "--mode", "S3", "--center", "45,10", "--duration", "0.05",
            "--targets", str(targets), "-o", str(tmp_path / "x.dat"), "--downlink", "cadu:foo=1",
        ])  # fmt: skip
    assert not (tmp_path / "x.dat").exists()


def test_detect_format() -> None:
    data = iw_pass().data
    cadus = downlink_packets(data)[0]
    assert detect_format(cadus[:8192]) == "cadu"
    assert detect_format(b"\x5a" * 333 + cadus[:8192]) == "cadu"
    assert detect_format(data[:8192]) == "isp"
    assert detect_format(data[:100]) == "isp"
    assert detect_format(bytes(8192)) is None


@pytest.mark.parametrize("depth", [1, 4, 5, 8])
def test_detect_framing_finds_the_interleaving_depth(depth: int) -> None:
    params = FramingParameters(interleave_depth=depth)
    cadus = downlink_packets(iw_pass().data, params)[0]
    found = detect_framing(b"junk" + cadus[: 5 * params.cadu_octets])
    assert found is not None and found.cadu_octets == 4 + 255 * depth
    assert detect_framing(bytes(10_000)) is None
