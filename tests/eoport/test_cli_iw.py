"""IW TOPS through the real entry point: simulate a burst cycle, focus each burst, measure.

Acceptance (issue "IW TOPS bursts"): point targets at burst start, middle and end, near
and far range of IW1 and IW3: resolution within 10 % of theory, PSLR within 1 dB and
ISLR within 1.5 dB of theory for the windows used, geolocation error below 0.1 pixel;
one product per burst and polarisation carrying the ESA burst ID.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from sar.constants import SPEED_OF_LIGHT
from sar.geo.ellipsoid import ecef_to_geodetic
from sar.geo.geolocate import geolocate
from sar.sim.acquisition import plan_acquisition
from tests.eoport.conftest import RunCli

CENTER = (45.0, 10.0)
DURATION = 2.8
SAMPLES = 6000
ZD_OFFSETS = (-1.0, 0.0, 1.0)  # burst start, middle, end: seconds of zero-Doppler time
EDGE = 400  # samples from the near and far end of the compressed range window


def _targets() -> dict[str, list[dict[str, float]]]:
    acq = plan_acquisition("IW", CENTER, DURATION, n_samples=SAMPLES)
    orbit = acq.placed.orbit
    targets = []
    for swath in ("IW1", "IW3"):
        window = acq.windows[swath]
        burst = next(b for b in acq.bursts if b.swath.name == swath)
        params = burst.swath
        t_mid = burst.first_line_time + 0.5 * burst.n_lines / params.prf
        replica = int(np.ceil(params.chirp.pulse_length * params.sampling_rate))
        usable = window.n_samples - replica
        for k in (EDGE, usable - EDGE):
            slant_range = (
                0.5 * SPEED_OF_LIGHT * (window.slant_range_time + k / params.sampling_rate)
            )
            for dt in ZD_OFFSETS:
                xyz = geolocate(orbit, t_mid + dt, slant_range)
                lat, lon, height = ecef_to_geodetic(np.asarray(xyz))
                targets.append(
                    {"lat": float(lat), "lon": float(lon), "height": float(height), "rcs": 1e5}
                )
    return {"targets": targets}


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory, run_cli: RunCli) -> Path:
    work = tmp_path_factory.mktemp("iw")
    (work / "targets.json").write_text(json.dumps(_targets()))
    result = run_cli(
        "simulate", "--mode", "IW", "--center", f"{CENTER[0]},{CENTER[1]}",
        "--duration", str(DURATION), "--targets", work / "targets.json",
        "-o", work / "raw.dat", "--samples", str(SAMPLES),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (work / "out").mkdir()
    result = run_cli("focus", work / "raw.dat", "-o", work / "out", "--relative-orbit", "1")
    assert result.returncode == 0, result.stderr
    return work


def test_one_product_per_burst_with_burst_id(products: Path) -> None:
    truth = json.loads((products / "raw.dat.json").read_text())
    files = sorted(p.name for p in (products / "out").glob("*.h5"))
    labels = [b["label"] for sw in ("IW1", "IW2", "IW3") for b in truth["swaths"][sw]["bursts"]]
    assert len(files) == len(labels) == 3
    for path in (products / "out").glob("*.h5"):
        with h5py.File(path) as f:
            assert f.attrs["mode"] == "IW"
            assert f.attrs["burst_id"] in labels
            assert path.name == f"{f.attrs['swath']}_VV_{f.attrs['burst_id'].rsplit('_', 1)[0]}.h5"
            assert f.attrs["azimuth_steering_rate"] > 0
            assert len(f["doppler_centroid/coefficients"]) >= 1
            assert len(f["fm_rate/coefficients"]) >= 1
            assert f.attrs["azimuth_time_interval"] == pytest.approx(2.0555563e-3)


@pytest.mark.parametrize("swath", ["IW1", "IW3"])
def test_point_targets_meet_acceptance(products: Path, run_cli: RunCli, swath: str) -> None:
    (product,) = (products / "out").glob(f"{swath}_VV_*.h5")
    result = run_cli("quality", product, "--targets", products / "targets.json", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    first = 0 if swath == "IW1" else 6
    assert sorted(int(t["name"]) for t in report["targets"]) == list(range(first, first + 6))
    for t in report["targets"]:
        assert abs(t["range_error_px"]) < 0.1 and abs(t["azimuth_error_px"]) < 0.1, t
        for axis in ("range", "azimuth"):
            width, pslr, islr = t[f"{axis}_theory"]
            assert t[f"{axis}_resolution_px"] == pytest.approx(width, rel=0.10), (axis, t)
            assert abs(t[f"{axis}_pslr_db"] - pslr) <= 1.0, (axis, t)
            assert abs(t[f"{axis}_islr_db"] - islr) <= 1.5, (axis, t)
