"""Bad input through the real entry point: one-line messages, non-zero exit, no traceback."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest

from tests.eoport.conftest import RunCli, assert_one_line_error

PNG = (
    b"\x89PNG\r\n\x1a\n"
    + struct.pack(">I", 13)
    + b"IHDR"
    + struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    + struct.pack(">I", zlib.crc32(b"IHDR" + struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)))
    + b"\x00" * 64
)


@pytest.fixture
def targets_file(tmp_path: Path) -> Path:
    path = tmp_path / "targets.json"
    path.write_text(json.dumps({"targets": [{"lat": 45.0, "lon": 10.0, "height": 0, "rcs": 1e4}]}))
    return path


@pytest.mark.parametrize("command", [["l0", "info"], ["l0", "decode"], ["focus"]])
def test_missing_file(run_cli: RunCli, tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "nope.dat"
    extra = ["-o", str(tmp_path / "out")] if command != ["l0", "info"] else []
    result = run_cli(*command, missing, *extra)
    assert_one_line_error(result, "not found", "nope.dat")


@pytest.mark.parametrize("command", [["l0", "info"], ["l0", "decode"], ["focus"]])
def test_empty_file(run_cli: RunCli, tmp_path: Path, command: list[str]) -> None:
    empty = tmp_path / "empty.dat"
    empty.write_bytes(b"")
    extra = ["-o", str(tmp_path / "out")] if command != ["l0", "info"] else []
    result = run_cli(*command, empty, *extra)
    assert_one_line_error(result, "empty")


@pytest.mark.parametrize("command", [["l0", "info"], ["l0", "decode"], ["focus"]])
def test_png_is_not_level0(run_cli: RunCli, tmp_path: Path, command: list[str]) -> None:
    png = tmp_path / "picture.png"
    png.write_bytes(PNG)
    extra = ["-o", str(tmp_path / "out")] if command != ["l0", "info"] else []
    result = run_cli(*command, png, *extra)
    assert_one_line_error(result)
    assert result.returncode == 3


def test_quality_on_png(run_cli: RunCli, tmp_path: Path, targets_file: Path) -> None:
    png = tmp_path / "picture.h5"
    png.write_bytes(PNG)
    result = run_cli("quality", png, "--targets", targets_file)
    assert_one_line_error(result)
    assert result.returncode == 3


def test_quality_missing_product(run_cli: RunCli, tmp_path: Path, targets_file: Path) -> None:
    result = run_cli("quality", tmp_path / "none.h5", "--targets", targets_file)
    assert_one_line_error(result, "not found")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json", "json"),
        ('{"targets": [{"lat": 95.0, "lon": 10.0, "height": 0, "rcs": 1}]}', "lat"),
        ('{"targets": [{"lat": 45.0, "lon": 190.0, "height": 0, "rcs": 1}]}', "lon"),
        ('{"targets": [{"lat": 45.0, "lon": 10.0}]}', "rcs"),
        ('{"targets": "nope"}', "targets"),
    ],
)
def test_simulate_bad_targets(run_cli: RunCli, tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(content)
    result = run_cli(
        "simulate", "--mode", "S3", "--center", "45,10", "--duration", "1",
        "--targets", path, "-o", tmp_path / "raw.dat",
    )  # fmt: skip
    assert_one_line_error(result, needle)
    assert result.returncode == 4


def test_simulate_unknown_mode(run_cli: RunCli, tmp_path: Path, targets_file: Path) -> None:
    result = run_cli(
        "simulate", "--mode", "S9", "--center", "45,10", "--duration", "1",
        "--targets", targets_file, "-o", tmp_path / "raw.dat",
    )  # fmt: skip
    assert_one_line_error(result, "mode", "S9")
    assert result.returncode == 4


@pytest.mark.parametrize("center", ["91,10", "45", "a,b", "45,181"])
def test_simulate_bad_center(
    run_cli: RunCli, tmp_path: Path, targets_file: Path, center: str
) -> None:
    result = run_cli(
        "simulate", "--mode", "S3", "--center", center, "--duration", "1",
        "--targets", targets_file, "-o", tmp_path / "raw.dat",
    )  # fmt: skip
    assert_one_line_error(result, "center")


def test_unknown_subcommand_is_usage_error(run_cli: RunCli) -> None:
    result = run_cli("frobnicate")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_help_for_every_command(run_cli: RunCli) -> None:
    for args in (
        [], ["l0"], ["l0", "info"], ["l0", "decode"], ["simulate"], ["focus"], ["quality"],
        ["bench"], ["bench", "focus"], ["bench", "tops"], ["bench", "decode"], ["demo"], ["run"],
    ):  # fmt: skip
        result = run_cli(*args, "--help")
        assert result.returncode == 0, (args, result.stderr)
        assert "usage: eoport" in result.stdout


def test_stage_with_unreachable_broker_is_clear(run_cli: RunCli) -> None:
    result = run_cli("run", "assemble", "--bootstrap-servers", "127.0.0.1:1")
    assert_one_line_error(result)
    assert result.returncode == 7


def test_bench_tops_small_run_and_bad_arguments(run_cli: RunCli, tmp_path: Path) -> None:
    import json

    result = run_cli("bench", "tops", "--workers", "0")
    assert_one_line_error(result, "--workers")
    result = run_cli(
        "bench", "tops", "--lines", "256", "--samples", "4096", "--repeats", "1",
        "--no-baseline", "--effort", "measure", "--wisdom", tmp_path / "w.wisdom", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["lines"] == 256 and report["seconds"] > 0 and report["cores"] >= 1
    assert report["fft_effort"] == "FFTW_MEASURE" and (tmp_path / "w.wisdom").stat().st_size > 0


def test_bench_tops_every_swath_with_and_without_antenna_compensation(run_cli: RunCli) -> None:
    import json

    result = run_cli(
        "bench", "tops", "--swath", "all", "--antenna", "both", "--lines", "256",
        "--samples", "4096", "--repeats", "1", "--no-baseline", "--effort", "measure", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    cases = [(c["swath"], c["antenna_compensation"]) for c in report["cases"]]
    assert cases == [(s, a) for s in ("IW1", "IW2", "IW3") for a in (True, False)]
    assert report["worst_cpu_ratio_to_floor"] == max(
        c["cpu_ratio_to_floor"] for c in report["cases"]
    )
