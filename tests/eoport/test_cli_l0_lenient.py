"""``eoport l0 info|decode``: ``--lenient`` on a damaged file, SAS fields by SSB flag."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sar.l0.packets import decode_packets
from tests.eoport.conftest import RunCli, assert_one_line_error


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, run_cli: RunCli) -> tuple[Path, Path, int]:
    work = tmp_path_factory.mktemp("l0")
    (work / "t.json").write_text(json.dumps({"targets": [{"lat": 45.0, "lon": 10.0, "rcs": 1e4}]}))
    raw = work / "raw.dat"
    result = run_cli(
        "simulate", "--mode", "S3", "--center", "45,10", "--duration", "0.2", "--targets",
        work / "t.json", "-o", raw, "--samples", "512",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = raw.read_bytes()
    headers = decode_packets(data).headers
    start = int(headers["byte_offset"][100])
    damaged = bytearray(data)
    damaged[start + 12] ^= 0xFF  # break packet 100's sync marker
    damaged = damaged[:50] + b"\x00" * 10 + damaged[50:]  # garbage inside packet 0
    bad = work / "bad.dat"
    bad.write_bytes(bytes(damaged))
    return raw, bad, start + 10


def test_strict_stops_lenient_reports(run_cli: RunCli, files: tuple[Path, Path, int]) -> None:
    _, bad, start = files
    assert_one_line_error(run_cli("l0", "info", bad), "byte offset")
    result = run_cli("l0", "info", bad, "--lenient", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["packets"] == 358 - 2 and info["dropped_packets"] >= 2
    ranges = info["skipped_ranges"]
    assert sum(b - a for a, b in ranges) == info["skipped_bytes"] > 0
    assert ranges[0][0] == 0  # packet 0 (with garbage inside) is dropped from its start
    assert any(a <= start < b for a, b in ranges)


def test_lenient_decode(run_cli: RunCli, files: tuple[Path, Path, int], tmp_path: Path) -> None:
    _, bad, _ = files
    out = tmp_path / "bad.npz"
    assert run_cli("l0", "decode", bad, "-o", out).returncode == 3
    result = run_cli("l0", "decode", bad, "-o", out, "--lenient")
    assert result.returncode == 0, result.stderr
    assert "skipped" in result.stdout and "byte ranges" in result.stdout
    with np.load(out) as d:
        assert d["iq"].shape[0] == 356
        assert int(d["skipped_bytes"]) == int(np.sum(np.diff(d["skipped_ranges"], axis=1)))
        assert int(d["dropped_packets"]) >= 2


def test_sas_fields_follow_ssb_flag(
    run_cli: RunCli, files: tuple[Path, Path, int], tmp_path: Path
) -> None:
    raw, _, _ = files
    out = tmp_path / "all.npz"
    assert run_cli("l0", "decode", raw, "-o", out).returncode == 0
    with np.load(out) as d:
        cal = d["sas_ssb_flag"] == 1
        assert np.count_nonzero(cal) == 4
        assert np.all(d["elevation_beam_address"][cal] == -1)
        assert np.all(d["azimuth_beam_address"][cal] == -1)
        assert d["cal_type"][cal].tolist() == [0, 1, 2, 3]  # Tx, Rx, EPDN, TA
        assert np.all(d["sas_test"][cal] == 1)
        assert np.all(d["calibration_beam_address"][cal] >= 0)
        imaging = ~cal
        assert np.all(d["elevation_beam_address"][imaging] >= 0)
        for name in ("sas_test", "cal_type", "calibration_beam_address"):
            assert np.all(d[name][imaging] == -1)
