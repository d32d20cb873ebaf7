"""The IW quality grid: where the targets go (no simulation; seconds)."""

from __future__ import annotations

import numpy as np
import pytest

from sar.constants import SPEED_OF_LIGHT
from sar.errors import QualityError
from sar.geo.ellipsoid import geodetic_to_ecef
from sar.geo.geolocate import zero_doppler_time
from sar.quality.grid import CHIP_MARGIN, analytic_phase, plan_iw_grid
from sar.sim.acquisition import plan_acquisition


def test_grid_covers_each_swath_across_the_valid_area() -> None:
    acq = plan_acquisition("IW", (45.0, 10.0), 8.3)
    grid = plan_iw_grid(acq)
    assert len(grid) == 27 and len({t.name for t in grid}) == 27
    assert {t.swath for t in grid} == {"IW1", "IW2", "IW3"}
    orbit = acq.placed.orbit
    for swath in ("IW1", "IW2", "IW3"):
        mine = [t for t in grid if t.swath == swath]
        burst = next(b for b in acq.bursts if b.index == 1 and b.swath.name == swath)
        window = acq.windows[swath]
        fs = burst.swath.sampling_rate
        times, ranges = [], []
        for t in mine:
            xyz = geodetic_to_ecef(t.lat, t.lon, t.height)
            zd, r = zero_doppler_time(orbit, xyz, burst.mid_time)
            times.append(zd - burst.mid_time)
            ranges.append((2 * r / SPEED_OF_LIGHT - window.slant_range_time) * fs)
        # start/middle/end of the focused burst (a ~3 s zero-Doppler span) ...
        assert min(times) < -1.2 and max(times) > 1.2 and min(np.abs(times)) < 0.1
        # ... and near/mid/far range inside the compressed window
        assert CHIP_MARGIN - 1 <= min(ranges) < 1500
        assert max(ranges) > window.n_samples - 5500


def test_grid_options_and_errors() -> None:
    acq = plan_acquisition("IW", (45.0, 10.0), 2.8, n_samples=4000)
    grid = plan_iw_grid(acq, range_fractions=(0.5,), line_fractions=(0.5,), swaths=["iw2"])
    assert [t.swath for t in grid] == ["IW2"]
    with pytest.raises(QualityError, match="no burst"):
        plan_iw_grid(acq, cycle=5)
    with pytest.raises(QualityError, match="IW acquisition"):
        plan_iw_grid(plan_acquisition("S3", (45.0, 10.0), 1.0, n_samples=2000))


def test_analytic_phase_convention() -> None:
    assert analytic_phase(0.0, 0.05) == pytest.approx(-np.pi / 4)
    assert analytic_phase(0.0125, 0.05) == pytest.approx(-np.pi - np.pi / 4)
