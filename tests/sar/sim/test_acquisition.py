"""Tests of sar.sim.acquisition: planning and RawData output."""

from __future__ import annotations

import numpy as np
import pytest

from sar.constants import IW_BURST_CYCLE, SPEED_OF_LIGHT
from sar.errors import SimulationError
from sar.geo.geolocate import zero_doppler_time
from sar.geo.orbit import interpolate_orbit
from sar.sim.acquisition import parse_polarisation, plan_acquisition, simulate_raw
from sar.sim.scene import Target


def test_plan_places_centre_mid_swath_at_mid_time() -> None:
    acq = plan_acquisition("IW", (-20.0, 130.0), 8.0, ascending=False)
    assert acq.span == pytest.approx(3 * IW_BURST_CYCLE)
    t, r = zero_doppler_time(acq.placed.orbit, acq.placed.reference_xyz)
    assert t == pytest.approx(acq.start_time + 0.5 * acq.span, abs=1e-6)
    # full IW2 window contains the centre's echo, IW1 nearer, IW3 farther
    delay = 2 * r / SPEED_OF_LIGHT
    w1, w2, w3 = (acq.windows[n] for n in ("IW1", "IW2", "IW3"))
    assert w2.slant_range_time < delay < w2.slant_range_time + w2.n_samples / 54.6e6
    assert w1.slant_range_time < w2.slant_range_time < w3.slant_range_time
    assert 15_000 < w1.n_samples < 30_000
    assert [b.swath.name for b in acq.bursts[:4]] == ["IW1", "IW2", "IW3", "IW1"]
    _, vel = interpolate_orbit(acq.placed.orbit, t)
    assert vel[2] < 0  # descending


def test_simulate_raw_stripmap_block() -> None:
    target = Target(10.0, 20.0, 0.0, 10.0)
    acq, blocks = simulate_raw("S5", (10.0, 20.0), 0.2, [target], n_samples=4000)
    assert len(blocks) == 1
    raw = blocks[0]
    assert raw.echoes.shape == (round(0.2 * raw.prf), 4000)
    assert raw.swath == "S5" and raw.mode == "S5" and raw.azimuth_steering_rate == 0.0
    assert raw.slant_range_time == acq.windows["S5"].slant_range_time
    # exactly PRI-spaced up to the float64 resolution of GPS seconds (2.4e-7 s)
    assert np.max(np.abs(np.diff(raw.line_times) - 1 / raw.prf)) < 3e-7
    assert np.abs(raw.echoes).max() > 0


def test_simulate_raw_iw_dual_pol() -> None:
    acq, blocks = simulate_raw("IW", (50.0, 5.0), 1.0, [], pol="VV+VH", n_samples=100)
    assert [(b.swath, b.polarisation) for b in blocks] == [
        ("IW1", "VV"), ("IW1", "VH"), ("IW2", "VV"), ("IW2", "VH"), ("IW3", "VV"), ("IW3", "VH"),
    ]  # fmt: skip
    assert blocks[0].burst_id.endswith("_iw1") and blocks[0].azimuth_steering_rate > 0
    assert len({b.burst_id[:11] for b in blocks}) == 1
    assert blocks[2].line_times[0] == pytest.approx(blocks[0].line_times[0] + 0.832)


def test_polarisations() -> None:
    assert [c.rx_channel_id for c in parse_polarisation("HH+HV")] == [1, 0]
    assert parse_polarisation("vh")[0].rcs_factor == 0.1
    with pytest.raises(SimulationError, match="unknown polarisation"):
        parse_polarisation("XY")
