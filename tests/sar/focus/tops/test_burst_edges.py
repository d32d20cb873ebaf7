"""IW TOPS focusing of whole-length bursts: targets alone and at the valid-area edges.

Regression tests of issue 12 on a burst of real IW1 length (1,428 raw lines) with a
narrow range window (fast): a single point target must not bias the raw Doppler centroid
(the estimate on every 8th range column gave -180 Hz for the issue's IW1 target, and the
azimuth PSLR/ISLR lost 1.6/2.6 dB), and targets 1.2 s of zero-Doppler time from the burst
centre must keep their phase (the hyperbolic azimuth model of the burst centre left
0.1-0.2 rad there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest

from sar.constants import SPEED_OF_LIGHT, WAVELENGTH
from sar.focus.model import ChirpParameters, RawData
from sar.focus.tops import focus_burst
from sar.focus.tops.geometry import burst_geometry
from sar.geo.geolocate import geolocate, zero_doppler_time
from sar.geo.orbit import Orbit, make_orbit
from sar.product.model import SlcImage
from sar.quality.geolocation import product_theory
from sar.quality.grid import analytic_phase, phase_at
from sar.quality.point_target import analyse_point_target
from sar.sim.echo import simulate_echoes

T_REF = 1.4e9
PRF = 1717.13
FS = 64.345e6
K_PSI = math.radians(1.590368784)
LINES = 1428
SAMPLES = 1536
R_MID = 850e3
PULSE = 10e-6
BANDWIDTH = 56.5e6
CHIRP = ChirpParameters(ramp_rate=BANDWIDTH / PULSE, start_frequency=-BANDWIDTH / 2,
                        pulse_length=PULSE)  # fmt: skip


@dataclass(frozen=True)
class Case:
    orbit: Orbit
    xyz: npt.NDArray[np.float64]
    slc: SlcImage


def _orbit() -> Orbit:
    return make_orbit(T_REF, 45.0, 10.0, look_angle_deg=33.0, before=20, after=20).orbit


def _window_start() -> float:
    return 2.0 * R_MID / SPEED_OF_LIGHT - 0.5 * (SAMPLES - PULSE * FS) / FS


def _focus(targets: list[tuple[float, float]]) -> Case:
    orbit = _orbit()
    xyz = np.array([geolocate(orbit, T_REF + t, r) for t, r in targets]).reshape(-1, 3)
    times = np.asarray(T_REF + (np.arange(LINES) - 0.5 * (LINES - 1)) / PRF, dtype=np.float64)
    echoes = simulate_echoes(
        orbit, times, xyz, np.ones(len(targets)), window_start=_window_start(),
        sampling_rate=FS, n_samples=SAMPLES, chirp=CHIRP,
        steering_angles=K_PSI * (times - T_REF),
    )  # fmt: skip
    raw = RawData(
        echoes=echoes, line_times=times, slant_range_time=_window_start(),
        range_sampling_rate=FS, prf=PRF, chirp=CHIRP, orbit=orbit, mode="IW", swath="IW1",
        azimuth_steering_rate=K_PSI,
    )  # fmt: skip
    return Case(orbit, xyz, focus_burst(raw, workers=2, strip_width=256))


def _position(case: Case, x: npt.NDArray[np.float64]) -> tuple[float, float, float]:
    slc = case.slc
    t, r = zero_doppler_time(case.orbit, x, T_REF)
    line = (t - slc.first_line_time) / slc.azimuth_time_interval
    sample = (2.0 * r / SPEED_OF_LIGHT - slc.slant_range_time) * slc.range_sampling_rate
    return line, sample, r


def _check(case: Case) -> None:
    slc = case.slc
    rg, az = product_theory(slc)
    assert rg is not None and az is not None
    for x in case.xyz:
        line, sample, r = _position(case, x)
        assert slc.valid_lines[0] + 32 < line < slc.valid_lines[1] - 32
        res = analyse_point_target(slc.image, line, sample)
        assert res.azimuth.width_3db == pytest.approx(az[0], rel=0.05)
        assert abs(res.azimuth.pslr_db - az[1]) < 1.0
        assert abs(res.azimuth.islr_db - az[2]) < 1.5
        assert res.range.width_3db == pytest.approx(rg[0], rel=0.05)
        assert abs(res.line - line) < 0.05 and abs(res.sample - sample) < 0.05
        err = np.angle(np.exp(1j * (phase_at(slc, line, sample) - analytic_phase(r, WAVELENGTH))))
        assert abs(err) < 0.01


@pytest.fixture(scope="module")
def lone() -> Case:
    """One target, 0.5 s of zero-Doppler time after the burst centre, alone in the scene."""
    return _focus([(0.5, R_MID + 120.0)])


@pytest.fixture(scope="module")
def edges() -> Case:
    """Targets 1.2 s before and after the burst centre and at it."""
    return _focus([(-1.2, R_MID - 150.0), (0.0, R_MID), (1.2, R_MID + 150.0)])


def test_lone_target_uses_geometric_doppler(lone: Case) -> None:
    meta = lone.slc.metadata
    assert meta["tops_doppler_source"] == "geometry"
    g = burst_geometry(
        RawData(
            echoes=np.zeros((2, 2), dtype=np.complex64), line_times=np.array([T_REF, T_REF]),
            slant_range_time=_window_start(), range_sampling_rate=FS, prf=PRF, chirp=CHIRP,
            orbit=lone.orbit, azimuth_steering_rate=K_PSI,
        ),
        _window_start(), _window_start() + 1e-5,
    )  # fmt: skip
    # total zero-Doppler steering plus the two-way delay: k_a tau / 2, about -6 Hz
    expected = float(g.geometric_doppler(_window_start()))
    assert -8.0 < expected < -4.0
    assert float(meta["tops_raw_doppler_centroid"]) == pytest.approx(expected, abs=0.5)
    # the data estimate over every range sample of a fully illuminated target agrees
    assert float(meta["tops_data_doppler_centroid"]) == pytest.approx(expected, abs=2.0)


def test_lone_target_at_theory(lone: Case) -> None:
    _check(lone)


def test_edge_targets_keep_phase_and_theory(edges: Case) -> None:
    _check(edges)
