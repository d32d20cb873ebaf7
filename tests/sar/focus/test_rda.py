"""Stripmap range-Doppler focusing: geometry, impulse response, blocks, baseline, errors."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from benchmarks.baselines.stripmap import focus_stripmap_baseline
from sar.constants import SPEED_OF_LIGHT
from sar.errors import FocusError
from sar.focus.model import RawData
from sar.focus.rda import focus_stripmap as _focus_stripmap
from sar.focus.rda import next_fast_length, plan_blocks, plan_focus
from sar.focus.windows import parse_window, window_theory
from sar.product.model import SlcImage
from sar.quality.point_target import analyse_point_target
from sar.quality.theory import theoretical_response
from tests.sar.focus.scenes import CHIRP, FS, PRF, PROCESSED, SRT, make_raw, target_at

TARGET = (500.37, 400.21, 1.0 + 0.0j)


def focus_stripmap(raw: RawData, **kwargs: Any) -> SlcImage:
    """Focus without antenna-pattern compensation: ``pointsim`` has a flat (boxcar) pattern."""
    return _focus_stripmap(raw, antenna_length=0.0, **kwargs)


def expected_position(slc: SlcImage, line: float, sample: float) -> tuple[float, float]:
    t0, r0 = target_at(line, sample)
    return (t0 - slc.first_line_time) / slc.azimuth_time_interval, (
        2.0 * r0 / SPEED_OF_LIGHT - slc.slant_range_time
    ) * slc.range_sampling_rate


@pytest.fixture(scope="module")
def raw_one() -> RawData:
    return make_raw([TARGET])


@pytest.mark.parametrize("window", ["none", "hamming:0.75", "kaiser:2.5"])
def test_point_target_position_and_response(raw_one: RawData, window: str) -> None:
    slc = focus_stripmap(raw_one, range_window=window, azimuth_window=window,
                         azimuth_bandwidth=PROCESSED, doppler_centroid=0.0)
    el, es = expected_position(slc, TARGET[0], TARGET[1])
    res = analyse_point_target(slc.image, el, es)
    assert abs(res.line - el) < 0.05
    assert abs(res.sample - es) < 0.05
    label = parse_window(window).label
    r_theory = theoretical_response(label, FS / CHIRP.bandwidth)
    a_theory = theoretical_response(label, PRF / PROCESSED)
    for got, theory in ((res.range, r_theory), (res.azimuth, a_theory)):
        assert got.width_3db == pytest.approx(theory[0], rel=0.10)
        assert abs(got.pslr_db - theory[1]) < 1.0
        assert abs(got.islr_db - theory[2]) < 1.5
    # zero-Doppler phase -4 pi R0 / lambda is kept (bistatic residual < 0.1 rad)
    _, r0 = target_at(TARGET[0], TARGET[1])
    peak = slc.image[round(res.line), round(res.sample)]
    expected = -4.0 * math.pi * r0 / (SPEED_OF_LIGHT / slc.radar_frequency)
    err = np.angle(peak * np.exp(-1j * expected))
    assert abs(err) < 0.15


def test_resolution_matches_window_theory(raw_one: RawData) -> None:
    slc = focus_stripmap(raw_one, azimuth_bandwidth=PROCESSED, doppler_centroid=0.0)
    el, es = expected_position(slc, TARGET[0], TARGET[1])
    res = analyse_point_target(slc.image, el, es)
    theory = window_theory(parse_window("hamming:0.75"))
    # 3 dB width = factor / B, in pixels of the sampling rate
    assert res.azimuth.width_3db == pytest.approx(theory.width_factor * PRF / PROCESSED, rel=0.1)
    assert res.range.width_3db == pytest.approx(theory.width_factor * FS / CHIRP.bandwidth,
                                                rel=0.1)
    assert slc.range_window == "hamming 0.75" and slc.azimuth_window == "hamming 0.75"


def test_output_metadata(raw_one: RawData) -> None:
    slc = focus_stripmap(raw_one, azimuth_bandwidth=PROCESSED, doppler_centroid=0.0)
    assert slc.image.shape == raw_one.echoes.shape
    assert slc.image.dtype == np.complex64
    assert slc.azimuth_time_interval == pytest.approx(1.0 / PRF)
    assert slc.slant_range_time == SRT
    assert slc.range_bandwidth == pytest.approx(CHIRP.bandwidth)
    assert slc.azimuth_bandwidth == PROCESSED
    wavelength = SPEED_OF_LIGHT / slc.radar_frequency
    r0 = 0.5 * SPEED_OF_LIGHT * (SRT + 400 / FS)
    ka = -2.0 * 7600.0**2 / (wavelength * r0)  # straight line: exact hyperbola
    first, stop = slc.valid_lines
    half_aperture = 0.5 * PROCESSED / abs(ka) * PRF
    assert first >= half_aperture and stop <= slc.lines - half_aperture
    n_rep = math.ceil(CHIRP.pulse_length * FS)
    assert slc.valid_samples[1] <= slc.samples - n_rep + 1
    assert slc.fm_rate[0].evaluate(SRT + 400 / FS) == pytest.approx(ka, rel=1e-6)
    assert slc.doppler_centroid[0].evaluate(SRT) == pytest.approx(0.0)


def test_estimated_doppler_centroid_with_squint() -> None:
    fdc = 180.0
    raw = make_raw([(450.0, 300.0, 1.0), (560.0, 700.0, 0.8)], noise=0.02, doppler_centroid=fdc)
    slc = focus_stripmap(raw, azimuth_bandwidth=PROCESSED)
    est = slc.doppler_centroid[0].evaluate(SRT + 500 / FS)
    assert est == pytest.approx(fdc, abs=5.0)
    el, es = expected_position(slc, 450.0, 300.0)
    res = analyse_point_target(slc.image, el, es)
    assert abs(res.line - el) < 0.05 and abs(res.sample - es) < 0.05
    assert res.azimuth.pslr_db < -19.5


def test_blocks_equal_whole_image() -> None:
    raw = make_raw([(430.0, 380.0, 1.0), (520.2, 600.6, 0.5 + 0.5j), (700.0, 250.0, 0.7j)],
                   noise=0.01, seed=3)
    dc = 0.0
    whole = focus_stripmap(raw, azimuth_bandwidth=PROCESSED, doppler_centroid=dc)
    v = slice(*whole.valid_lines), slice(*whole.valid_samples)
    scale = float(np.abs(whole.image[v]).max())
    for block in (420, 611):
        blocks = focus_stripmap(raw, azimuth_bandwidth=PROCESSED, doppler_centroid=dc,
                                block_lines=block)
        assert blocks.valid_lines == whole.valid_lines
        diff = float(np.abs(blocks.image[v] - whole.image[v]).max()) / scale
        assert diff < 1e-4


def test_plan_blocks_tile_valid_lines() -> None:
    spans = plan_blocks(1000, 300, 100, 90)
    assert spans[0].keep_start == 100 and spans[-1].keep_stop == 910
    for a, b in zip(spans, spans[1:], strict=False):
        assert a.keep_stop == b.keep_start
        assert b.start - a.start == 300 - 190
    with pytest.raises(FocusError):
        plan_blocks(1000, 190, 100, 90)


def test_baseline_agrees_with_fast_path() -> None:
    raw = make_raw([(480.0, 350.0, 1.0), (530.0, 700.0, 0.6)], noise=0.05, seed=2,
                   samples=1200, lines=900)
    fast = focus_stripmap(raw, azimuth_bandwidth=PROCESSED)
    ref = focus_stripmap_baseline(raw, azimuth_bandwidth=PROCESSED, antenna_length=0.0)
    assert ref.valid_lines == fast.valid_lines
    v = slice(*fast.valid_lines), slice(*fast.valid_samples)
    diff = np.abs(fast.image[v] - ref.image[v]).max() / np.abs(ref.image[v]).max()
    assert diff < 1e-3


def test_padded_fft_lengths_give_same_target() -> None:
    raw = make_raw([TARGET], lines=1021, samples=1531)  # 1021 and 1531 are prime
    assert next_fast_length(1021) > 1021 and next_fast_length(1531) > 1531
    slc = focus_stripmap(raw, azimuth_bandwidth=PROCESSED, doppler_centroid=0.0)
    assert slc.image.shape == (1021, 1531)
    el, es = expected_position(slc, TARGET[0], TARGET[1])
    res = analyse_point_target(slc.image, el, es)
    assert abs(res.line - el) < 0.05 and abs(res.sample - es) < 0.05


def test_too_few_lines_raises() -> None:
    raw = make_raw([(150.0, 400.0, 1.0)], lines=300)
    with pytest.raises(FocusError, match="too few"):
        focus_stripmap(raw, azimuth_bandwidth=PROCESSED, doppler_centroid=0.0)


def test_bad_inputs_raise(raw_one: RawData) -> None:
    with pytest.raises(FocusError, match="PRF"):
        focus_stripmap(dataclasses.replace(raw_one, prf=0.0))
    with pytest.raises(FocusError, match="line times"):
        focus_stripmap(dataclasses.replace(raw_one, line_times=raw_one.line_times[:-3]))
    with pytest.raises(FocusError, match="2-D"):
        focus_stripmap(dataclasses.replace(raw_one, echoes=raw_one.echoes[0]))
    with pytest.raises(FocusError, match="pulse"):
        focus_stripmap(dataclasses.replace(raw_one, echoes=raw_one.echoes[:, :100]))
    with pytest.raises(FocusError, match="bandwidth"):
        focus_stripmap(raw_one, azimuth_bandwidth=2 * PRF)
    with pytest.raises(FocusError, match="window"):
        focus_stripmap(raw_one, range_window="triangle")
    with pytest.raises(FocusError, match="1 / PRF"):
        focus_stripmap(dataclasses.replace(raw_one, prf=PRF * 1.01))


def test_plan_reports_overlap(raw_one: RawData) -> None:
    plan = plan_focus(raw_one, azimuth_bandwidth=PROCESSED, doppler_centroid=0.0)
    ka = 2.0 * 7600.0**2 / (SPEED_OF_LIGHT / raw_one.radar_frequency * plan.node_slant_range)
    aperture = PROCESSED / ka.min() * PRF
    assert aperture < plan.overlap_lines < aperture + 60
