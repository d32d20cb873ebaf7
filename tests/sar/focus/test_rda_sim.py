"""Stripmap focusing of raw data from the project simulator on a designed S1 orbit.

:func:`sar.sim.echo.simulate_echoes` models exact bistatic delays and the two-way
``sinc^2`` azimuth pattern of the 12.3 m antenna; the orbit (:func:`sar.geo.orbit.make_orbit`)
is curved with J2, so the FM rate comes from the orbit's second range derivative and the
zero-Doppler time from :func:`sar.geo.geolocate.zero_doppler_time`.
"""

from __future__ import annotations

import numpy as np
import pytest

from sar.constants import SPEED_OF_LIGHT
from sar.focus.model import ChirpParameters, RawData
from sar.focus.rda import focus_stripmap
from sar.geo.geolocate import geolocate, zero_doppler_time
from sar.geo.orbit import interpolate_orbit, make_orbit
from sar.quality.point_target import analyse_point_target
from sar.sim.echo import AntennaModel, simulate_echoes

PRF = 1717.13
FS = 64.345238e6
CHIRP = ChirpParameters(ramp_rate=42e6 / 10e-6, start_frequency=-21e6, pulse_length=10e-6)


def test_point_target_on_real_orbit() -> None:
    t_ref = 1.4e9
    orbit = make_orbit(t_ref, 40.0, 5.0, look_angle_deg=33.0, before=20.0, after=20.0).orbit
    lines, samples = 1400, 1200
    times = t_ref - 0.5 * lines / PRF + np.arange(lines) / PRF
    srt = 2.0 * 840e3 / SPEED_OF_LIGHT
    r0 = 0.5 * SPEED_OF_LIGHT * (srt + 350.3 / FS)
    xyz = geolocate(orbit, t_ref + 0.0123, r0)
    echoes = simulate_echoes(
        orbit, times, xyz[None, :], np.array([1.0 + 0j]), window_start=srt, sampling_rate=FS,
        n_samples=samples, chirp=CHIRP, antenna=AntennaModel(azimuth_lobes=1.0),
    )
    raw = RawData(echoes=echoes, line_times=times, slant_range_time=srt,
                  range_sampling_rate=FS, prf=PRF, chirp=CHIRP, orbit=orbit)
    slc = focus_stripmap(raw)
    t0, rng = zero_doppler_time(orbit, xyz, t_ref)
    line = (t0 - slc.first_line_time) / slc.azimuth_time_interval
    sample = (2.0 * rng / SPEED_OF_LIGHT - slc.slant_range_time) * slc.range_sampling_rate
    res = analyse_point_target(slc.image, line, sample)
    assert abs(res.line - line) < 0.05
    assert abs(res.sample - sample) < 0.05
    assert res.range.pslr_db < -19.0 and res.azimuth.pslr_db < -19.0
    assert abs(slc.doppler_centroid[0].evaluate(srt + 350 / FS)) < 20.0
    dt = np.linspace(-0.3, 0.3, 61)
    pos, _ = interpolate_orbit(orbit, t0 + dt)
    rdd = 2.0 * np.polyfit(dt, np.linalg.norm(pos - xyz, axis=-1), 4)[2]
    ka = slc.fm_rate[0].evaluate(2.0 * rng / SPEED_OF_LIGHT)
    assert ka == pytest.approx(-2.0 * rdd / (SPEED_OF_LIGHT / slc.radar_frequency), rel=1e-4)
