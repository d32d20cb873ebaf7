"""The README walk-through through the real entry point: simulate, inspect, decode, focus, quality.

Acceptance (issues "SAR core" and "Command line"): on a stripmap scene of 3 point
targets, resolution within 10 % of theory for the window, PSLR within 1 dB and ISLR
within 1.5 dB of theory, geolocation error under one pixel.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.eoport.conftest import RunCli, assert_one_line_error

TARGETS = {
    "targets": [
        {"lat": 45.0, "lon": 10.0, "height": 0.0, "rcs": 1.0e4},
        {"lat": 45.006, "lon": 10.008, "height": 100.0, "rcs": 1.0e4},
        {"lat": 44.994, "lon": 9.993, "height": 0.0, "rcs": 1.0e4},
    ]
}


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory, run_cli: RunCli) -> Path:
    work = tmp_path_factory.mktemp("walkthrough")
    (work / "targets.json").write_text(json.dumps(TARGETS))
    result = run_cli(
        "simulate", "--mode", "S3", "--center", "45,10", "--duration", "2.5",
        "--targets", work / "targets.json", "-o", work / "raw.dat", "--samples", "5000",
        "--seed", "7",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return work


@pytest.fixture(scope="module")
def focused(scene: Path, run_cli: RunCli) -> Path:
    result = run_cli("focus", scene / "raw.dat", "-o", scene / "slc.h5", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert [Path(p["product"]).name for p in summary["products"]] == ["slc.h5"]
    return scene / "slc.h5"


def test_l0_info_json(scene: Path, run_cli: RunCli) -> None:
    result = run_cli("l0", "info", scene / "raw.dat", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    truth = json.loads((scene / "raw.dat.json").read_text())
    assert info["packets"] == sum(info["signal_types"].values())
    assert info["signal_types"]["echo"] > 4000
    assert info["signal_types"].get("noise", 0) > 0
    assert info["polarisations"] == ["VV"]
    assert info["skipped_bytes"] == 0 and info["dropped_packets"] == 0
    assert info["sensing_start"].endswith("Z") and info["sensing_start"] < info["sensing_stop"]
    assert len(info["baq_modes"]) >= 2  # noise packets use another BAQ mode than echoes
    assert truth["targets"]


def test_l0_decode_writes_every_field(scene: Path, run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "echo.npz"
    result = run_cli("l0", "decode", scene / "raw.dat", "-o", out, "--signal", "echo")
    assert result.returncode == 0, result.stderr
    with np.load(out) as npz:
        names = set(npz.files)
        for field in (
            "packet_sequence_count", "packet_data_length", "coarse_time", "fine_time",
            "sync_marker", "data_take_id", "ecc_number", "test_mode", "rx_channel_id",
            "instrument_configuration_id", "space_packet_count", "pri_count", "error_flag",
            "baq_mode", "baq_block_length", "range_decimation", "rx_gain", "tx_ramp_rate",
            "tx_pulse_start_frequency", "tx_pulse_length", "rank", "pri", "swst", "swl",
            "sas_ssb_flag", "polarisation", "temperature_compensation",
            "elevation_beam_address", "azimuth_beam_address", "cal_mode", "tx_pulse_number",
            "signal_type", "swap", "swath_number", "number_of_quads", "iq", "n_samples",
        ):  # fmt: skip
            assert field in names, field
        iq, n = npz["iq"], npz["n_samples"]
        assert iq.dtype == np.complex64 and iq.shape[0] == n.shape[0]
        assert np.all(npz["signal_type"] == 0)
        assert np.all(npz["sync_marker"] == 0x352EF853)
        assert np.all(n == 2 * npz["number_of_quads"].astype(np.int64))
        assert np.all(np.abs(iq[0, n[0] :]) == 0)
        assert float(np.abs(iq[len(n) // 2, : n[0]]).max()) > 0


def test_focus_and_quality_meet_acceptance(focused: Path, scene: Path, run_cli: RunCli) -> None:
    result = run_cli("quality", focused, "--targets", scene / "targets.json", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert len(report["targets"]) == 3
    for t in report["targets"]:
        for axis in ("range", "azimuth"):
            width, pslr, islr = t[f"{axis}_theory"]
            assert t[f"{axis}_resolution_px"] == pytest.approx(width, rel=0.10), (axis, t)
            assert abs(t[f"{axis}_pslr_db"] - pslr) <= 1.0, (axis, t)
            assert abs(t[f"{axis}_islr_db"] - islr) <= 1.5, (axis, t)
        assert abs(t["range_error_px"]) < 1.0 and abs(t["azimuth_error_px"]) < 1.0, t


def test_quality_text_output(focused: Path, scene: Path, run_cli: RunCli) -> None:
    result = run_cli("quality", focused, "--targets", scene / "targets.json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("geolocation error") == 3
    assert "PSLR" in result.stdout and "ISLR" in result.stdout


def test_truncated_level0_file(scene: Path, run_cli: RunCli, tmp_path: Path) -> None:
    data = (scene / "raw.dat").read_bytes()
    cut = tmp_path / "truncated.dat"
    cut.write_bytes(data[: len(data) // 2 + 17])
    for command in (["l0", "info", cut], ["l0", "decode", cut, "-o", tmp_path / "x.npz"]):
        result = run_cli(*command)
        assert_one_line_error(result, "offset")
        assert result.returncode == 3
