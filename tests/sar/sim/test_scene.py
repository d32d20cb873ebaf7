"""Tests of sar.sim.scene: target files and clutter."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sar.errors import SimulationError
from sar.sim.scene import ClutterPatch, Target, clutter_scatterers, load_targets, targets_ecef


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "targets.json"
    p.write_text(text)
    return p


def test_load_valid(tmp_path: Path) -> None:
    doc = {"targets": [{"lat": 10.5, "lon": -20.0, "height": 12.0, "rcs": 100.0},
                       {"lat": 10.6, "lon": -20.1, "rcs": 1.0}]}  # fmt: skip
    targets = load_targets(_write(tmp_path, json.dumps(doc)))
    assert targets == [Target(10.5, -20.0, 12.0, 100.0), Target(10.6, -20.1, 0.0, 1.0)]
    xyz = targets_ecef(targets)
    assert xyz.shape == (2, 3)
    assert 6.2e6 < np.linalg.norm(xyz[0]) < 6.4e6


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"items": []}', '"targets" list'),
        ('{"targets": {}}', "must be a list"),
        ('{"targets": [{"lat": 1, "lon": 2}]}', r"targets\[0\]: missing key\(s\) rcs"),
        ('{"targets": [{"lat": 91, "lon": 2, "rcs": 1}]}', r"lat 91.0 outside \[-90, 90\]"),
        ('{"targets": [{"lat": 1, "lon": -181, "rcs": 1}]}', r"lon -181.0 outside"),
        ('{"targets": [{"lat": 1, "lon": 2, "rcs": 1}, {"lat": 1, "lon": 2, "rcs": -1}]}',
         r"targets\[1\]: rcs -1.0 must not be negative"),
        ('{"targets": [{"lat": "a", "lon": 2, "rcs": 1}]}', "lat must be a number"),
        ('{"targets": [{"lat": 1, "lon": 2, "rcs": 1, "x": 0}]}', "unknown key"),
        ('{"targets": [3]}', "expected an object"),
    ],
)  # fmt: skip
def test_invalid_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SimulationError, match=message) as info:
        load_targets(_write(tmp_path, text))
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SimulationError, match="cannot read target file"):
        load_targets(tmp_path / "absent.json")


def test_target_validation() -> None:
    with pytest.raises(SimulationError, match="rcs"):
        Target(0.0, 0.0, 0.0, -2.0)


def test_clutter_statistics() -> None:
    patch = ClutterPatch(45.0, 45.01, 8.0, 8.01, density=5000.0, sigma0=0.1)
    xyz, amp = clutter_scatterers(patch, np.random.default_rng(0))
    area = 0.01 * 111.32 * 0.01 * 111.32 * np.cos(np.radians(45.005)) * 1e6
    assert xyz.shape == (amp.size, 3)
    assert abs(amp.size - area * 5000e-6) <= 1
    # total mean power sigma0 * area within 10 %
    assert abs(np.sum(np.abs(amp) ** 2) / (0.1 * area) - 1) < 0.1
    xyz2, amp2 = clutter_scatterers(patch, np.random.default_rng(0))
    np.testing.assert_array_equal(amp, amp2)
