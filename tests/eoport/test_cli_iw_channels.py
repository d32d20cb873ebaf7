"""``eoport focus`` on IW files as a passthrough dump holds them: both receive channels
interleaved, and a chunk lost in the middle of a burst (issue 12, items 4 and 5)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from sar.l0.packets import decode_packets
from sar.product.slc import read_slc
from tests.eoport.conftest import RunCli

LOST_PRIS = 120


@pytest.fixture(scope="module")
def dual_file(tmp_path_factory: pytest.TempPathFactory, run_cli: RunCli) -> Path:
    work = tmp_path_factory.mktemp("iwdual")
    (work / "t.json").write_text(
        json.dumps({"targets": [{"lat": 45.0, "lon": 10.0, "height": 0, "rcs": 5000}]})
    )
    raw = work / "dual.dat"
    result = run_cli(
        "simulate", "--mode", "IW", "--pol", "VV+VH", "--center", "45,10", "--duration",
        "2.8", "--targets", work / "t.json", "-o", raw, "--samples", "3800",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return raw


def _focus(run_cli: RunCli, raw: Path, out: Path) -> list[dict[str, object]]:
    result = run_cli("focus", raw, "-o", f"{out}/", "--json")
    assert result.returncode == 0, result.stderr
    products = json.loads(result.stdout)["products"]
    assert isinstance(products, list)
    return products


def test_interleaved_channels_focus_per_channel(
    run_cli: RunCli, dual_file: Path, tmp_path: Path
) -> None:
    info = json.loads(run_cli("l0", "info", dual_file, "--json").stdout)
    assert info["polarisations"] == ["VH", "VV"]
    products = _focus(run_cli, dual_file, tmp_path)
    names = sorted(str(p["name"]) for p in products)
    assert [n.split("_")[:2] for n in names] == [
        ["IW1", "VH"], ["IW1", "VV"], ["IW2", "VH"], ["IW2", "VV"], ["IW3", "VH"], ["IW3", "VV"]
    ]  # fmt: skip
    assert all(p["complete"] is True and p["missing_lines"] == [] for p in products)
    iw2 = [Path(str(p["product"])) for p in products if str(p["name"]).startswith("IW2")]
    t = tmp_path / "t.json"
    t.write_text(json.dumps({"targets": [{"lat": 45.0, "lon": 10.0, "rcs": 5000}]}))
    for path in iw2:
        q = json.loads(run_cli("quality", path, "--targets", t, "--json").stdout)
        target = q["targets"][0]
        assert abs(target["azimuth_pslr_db"] - target["azimuth_theory"][1]) < 1.0
        assert abs(target["azimuth_error_px"]) < 0.05


def test_lost_chunk_mid_burst_gives_one_product(
    run_cli: RunCli, dual_file: Path, tmp_path: Path
) -> None:
    data = dual_file.read_bytes()
    headers = decode_packets(data).headers
    lengths = headers["packet_data_length"].astype(np.int64) + 7
    iw2 = np.flatnonzero((headers["swath_number"] == 11) & (headers["signal_type"] == 0))
    first = int(iw2[iw2.size // 2])  # a VV packet: drop VV and VH of LOST_PRIS PRIs
    lost = set(range(first, first + 2 * LOST_PRIS))
    kept = b"".join(
        data[int(o) : int(o) + int(n)]
        for i, (o, n) in enumerate(zip(headers["byte_offset"], lengths, strict=True))
        if i not in lost
    )
    holed = tmp_path / "holed.dat"
    holed.write_bytes(kept)
    whole = {str(p["name"]): p for p in _focus(run_cli, dual_file, tmp_path / "whole")}
    products = _focus(run_cli, holed, tmp_path / "holed")
    assert sorted(str(p["name"]) for p in products) == sorted(whole)  # one per burst key
    for p in products:
        name = str(p["name"])
        assert p["lines"] == whole[name]["lines"] and p["samples"] == whole[name]["samples"]
        if not name.startswith("IW2"):
            assert p["complete"] is True
            continue
        assert p["complete"] is False
        ranges = p["missing_lines"]
        assert isinstance(ranges, list) and len(ranges) == 1
        a, b = ranges[0]
        assert b - a == LOST_PRIS
        with h5py.File(str(p["product"])) as f:
            assert int(f.attrs["complete"]) == 0
            assert f.attrs["product_format_version"] == "1.1"
            np.testing.assert_array_equal(f["quality/missing_lines"][()], [[a, b]])
            raw_lines = int(f["quality"].attrs["raw_lines"])
        slc = read_slc(str(p["product"]), window=(slice(0, 4), slice(0, 4)))
        assert slc.missing is not None and slc.missing.lines == raw_lines
        assert not slc.complete and slc.missing.count == LOST_PRIS
