"""Fixtures: a small SLC over a realistic Sentinel-1 orbit."""

from __future__ import annotations

import numpy as np
import pytest

from sar.constants import SPEED_OF_LIGHT
from sar.geo.ellipsoid import geodetic_to_ecef
from sar.geo.geolocate import zero_doppler_time
from sar.geo.orbit import make_orbit
from sar.product.model import Polynomial, SlcImage
from sar.timeutil import iso_to_gps_seconds

T_REF = iso_to_gps_seconds("2026-11-25T17:47:00.123456Z")
ATI = 2.055556e-3
FS = 64.345238e6


@pytest.fixture(scope="session")
def small_slc() -> SlcImage:
    """A 120 x 300 random SLC centred on (45 N, 7 E), look angle 35 deg, IW-like."""
    orbit = make_orbit(T_REF, 45.0, 7.0, look_angle_deg=35.0, before=30, after=30, step=10.0)
    t0, r0 = zero_doppler_time(orbit.orbit, geodetic_to_ecef(45.0, 7.0, 0.0), T_REF)
    rng = np.random.default_rng(7)
    image = (rng.normal(size=(120, 300)) + 1j * rng.normal(size=(120, 300))).astype(np.complex64)
    return SlcImage(
        image=image,
        first_line_time=t0 - 60 * ATI + 3.3e-7,
        azimuth_time_interval=ATI,
        slant_range_time=2 * r0 / SPEED_OF_LIGHT - 150 / FS,
        range_sampling_rate=FS,
        radar_frequency=5.405e9,
        range_bandwidth=56.5e6,
        azimuth_bandwidth=327.0,
        range_window="hamming 0.75",
        azimuth_window="hamming 0.7",
        mode="IW",
        swath="IW1",
        polarisation="VV",
        orbit=orbit.orbit,
        doppler_centroid=(
            Polynomial(t0 - 0.1, 5.3e-3, (12.5, -3.0e4, 1.5e8)),
            Polynomial(t0 + 0.9, 5.31e-3, (10.0, 2.0e4)),
        ),
        fm_rate=(Polynomial(t0, 5.3e-3, (-2320.0, 4.5e5, -8.0e7)),),
        azimuth_steering_rate=0.027,
        burst_id="t037_078901_iw1",
        data_take_id=0x4F2A1,
        valid_lines=(19, 102),
        valid_samples=(12, 290),
        metadata={"orbit_number": 61234, "scale": 1.25, "note": "zürich ✓"},
    )
