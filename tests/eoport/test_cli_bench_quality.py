"""``eoport bench quality`` through the real entry point.

The default run checks a narrowed quick variant (one burst cycle, 4,000 samples, one
target per sub-swath); the slow suite runs the full-size default (8.3 s pass, full echo
window, 3 x 3 targets per sub-swath).
"""

from __future__ import annotations

import json

import pytest

from tests.eoport.conftest import RunCli


def _summary(stdout: str) -> dict[str, object]:
    last = stdout.strip().splitlines()[-1]
    value = json.loads(last)
    assert isinstance(value, dict)
    return value


def test_quick_grid_passes_and_ends_with_json(run_cli: RunCli) -> None:
    result = run_cli(
        "bench", "quality", "--duration", "2.8", "--samples", "4000", "--grid", "1x1"
    )
    assert result.returncode == 0, result.stderr + result.stdout
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("3 targets, 3 products")
    assert sum(line.startswith("ok ") for line in lines) == 3
    assert any(line.startswith("worst: IW") for line in lines)
    summary = _summary(result.stdout)
    assert summary["passed"] is True and summary["failed"] == 0
    assert summary["checks"] == 3 and summary["products"] == 3
    worst = summary["worst"]
    assert isinstance(worst, dict) and 0.0 < float(worst["margin"]) <= 1.0
    assert set(worst) >= {"target", "product", "phase_error_rad", "azimuth_pslr_db"}


def test_bad_grid_argument(run_cli: RunCli) -> None:
    result = run_cli("bench", "quality", "--grid", "3by3")
    assert result.returncode == 4 and "--grid" in result.stderr


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_full_size_default_grid(run_cli: RunCli) -> None:
    result = run_cli("bench", "quality", "--json", timeout=1800)
    assert result.returncode == 0, result.stderr + result.stdout[-2000:]
    summary = _summary(result.stdout)
    assert summary["passed"] is True and summary["targets"] == 27
    assert summary["products"] == 9 and summary["unchecked"] == []
