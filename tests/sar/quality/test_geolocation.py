"""Geolocation prediction and full target reports on a synthetic orbit."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import numpy as np
import pytest

from sar.constants import SPEED_OF_LIGHT
from sar.errors import QualityError
from sar.geo.ellipsoid import ecef_to_geodetic
from sar.geo.geolocate import geolocate
from sar.product.model import SlcImage
from sar.quality.geolocation import analyse_targets, ground_velocity, predict_position


@dataclass(frozen=True)
class Target:
    lat: float
    lon: float
    height: float
    name: str = "cr"


def target_at(slc: SlcImage, line: float, sample: float, height: float) -> Target:
    """Ground point whose zero-Doppler time/range fall on (line, sample)."""
    t = slc.line_time(line)
    r = 0.5 * SPEED_OF_LIGHT * slc.sample_range_time(sample)
    lat, lon, h = ecef_to_geodetic(geolocate(slc.orbit, t, r, height=height))
    return Target(float(lat), float(lon), float(h))


@pytest.mark.parametrize(
    ("line", "sample", "height"), [(60.0, 150.0, 0.0), (12.25, 287.6, 850.0), (101.9, 3.1, -30.0)]
)
def test_predict_round_trip(small_slc: SlcImage, line: float, sample: float, height: float) -> None:
    tgt = target_at(small_slc, line, sample, height)
    assert tgt.height == pytest.approx(height, abs=1e-3)
    pl, ps = predict_position(small_slc, tgt.lat, tgt.lon, tgt.height)
    assert pl == pytest.approx(line, abs=1e-4)
    assert ps == pytest.approx(sample, abs=1e-4)


def test_predict_height_moves_range(small_slc: SlcImage) -> None:
    tgt = target_at(small_slc, 60.0, 150.0, 0.0)
    _, s_high = predict_position(small_slc, tgt.lat, tgt.lon, 100.0)
    # a point raised by 100 m is nearer: 100 m * cos(inc ~ 39.5 deg) / 2.33 m per pixel
    assert 150.0 - s_high == pytest.approx(100 * np.cos(np.radians(39.5)) / 2.3296, rel=0.03)


def _with_point(slc: SlcImage, line: float, sample: float) -> SlcImage:
    ll = np.arange(slc.lines)[:, None] - line
    ss = np.arange(slc.samples)[None, :] - sample
    h = np.sinc(ll / 1.2) * np.sinc(ss / 1.15) * np.exp(2j * np.pi * 0.3 * ll)
    return dataclasses.replace(slc, image=(1000 * h).astype(np.complex64))


def test_analyse_targets(small_slc: SlcImage) -> None:
    tgt = target_at(small_slc, 58.4, 140.3, 120.0)
    slc = _with_point(small_slc, 58.4, 140.3)
    (rep,) = analyse_targets(slc, [tgt])
    assert rep.name == "cr"
    assert abs(rep.azimuth_error_px) < 0.01 and abs(rep.range_error_px) < 0.01
    assert rep.range_pixel_spacing_m == pytest.approx(SPEED_OF_LIGHT / (2 * 64.345238e6))
    # S1 ground speed ~6.7-7.0 km/s at mid-latitude; azimuth spacing ~14 m for IW
    assert 6.4e3 < rep.ground_velocity < 7.1e3
    assert rep.azimuth_pixel_spacing_m == pytest.approx(2.055556e-3 * rep.ground_velocity)
    assert rep.range_resolution_m == pytest.approx(0.886 * 1.15 * 2.3296, rel=0.02)
    assert rep.azimuth_resolution_px == pytest.approx(0.886 * 1.2, rel=0.02)
    assert rep.azimuth_resolution_m == pytest.approx(
        rep.azimuth_resolution_px * rep.azimuth_pixel_spacing_m
    )
    assert rep.range_pslr_db == pytest.approx(-13.26, abs=0.3)
    assert abs(rep.azimuth_error_m) < 0.15 and abs(rep.range_error_m) < 0.03
    # the fixture declares Hamming 0.75 / 0.7 at 64.3 MHz / 56.5 MHz and 486 Hz / 327 Hz
    assert rep.range_theory is not None and rep.azimuth_theory is not None
    assert rep.range_theory[0] == pytest.approx(1.0005 * 64.345238 / 56.5, rel=1e-3)
    assert rep.azimuth_theory[1] == pytest.approx(-24.08, abs=0.05)
    out = json.loads(json.dumps(rep.to_dict()))
    assert out["range_error_px"] == rep.range_error_px
    assert out["conventions"]["azimuth_m"].startswith("ground track")


def test_analyse_targets_offset(small_slc: SlcImage) -> None:
    tgt = target_at(small_slc, 58.0, 140.0, 0.0)
    slc = _with_point(small_slc, 58.6, 139.0)  # focused 0.6 line late, 1 sample early
    (rep,) = analyse_targets(slc, [tgt])
    assert rep.azimuth_error_px == pytest.approx(0.6, abs=0.01)
    assert rep.range_error_px == pytest.approx(-1.0, abs=0.01)
    assert rep.range_error_m == pytest.approx(-2.3296, abs=0.01)


def test_errors(small_slc: SlcImage) -> None:
    slc = _with_point(small_slc, 58.0, 140.0)
    with pytest.raises(QualityError, match="outside"):
        analyse_targets(slc, [target_at(small_slc, 10.0, 140.0, 0.0)])
    with pytest.raises(QualityError, match="outside"):
        analyse_targets(slc, [target_at(small_slc, 60.0, 500.0, 0.0)])
    with pytest.raises(QualityError, match="no clear peak"):
        analyse_targets(small_slc, [target_at(small_slc, 58.0, 140.0, 0.0)])
    with pytest.raises(QualityError, match="zero-Doppler"):
        predict_position(small_slc, -45.0, 7.0, 0.0)


def test_ground_velocity_edge(small_slc: SlcImage) -> None:
    with pytest.raises(QualityError):
        ground_velocity(small_slc, small_slc.orbit.stop, 8.8e5, 0.0)
