"""Per-burst set-up of TOPS focusing: every-sample lag sums, the data/geometry Doppler
choice, and the range-compressed columns the strips read."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from benchmarks.tops import full_size, make_burst
from sar.focus.model import RawData
from sar.focus.tops.geometry import IW_AZIMUTH_TIME_INTERVAL, strip_reach
from sar.focus.tops.kernels import lag_block_sums
from sar.focus.tops.setup import (
    DOPPLER_MAX_RMS,
    DOPPLER_RANGE_BLOCKS,
    BurstSetup,
    choose_raw_doppler,
    compressed_columns,
    setup_burst,
)

PRF = 1717.0


def test_lag_block_sums_match_numpy() -> None:
    rng = np.random.default_rng(3)
    block = (rng.standard_normal((8, 1000)) + 1j * rng.standard_normal((8, 1000))).astype(
        np.complex64
    )
    weights = np.exp(1j * rng.uniform(0, 6, 7))
    edges = np.linspace(0, 1000, 5).astype(np.int64)
    out = np.zeros((3, 4))
    lag_block_sums(block.view(np.float32), weights, edges, out, np.empty((3, 1000), np.float32))
    prod = weights[:, None] * block[1:] * np.conj(block[:-1])
    power = np.abs(block[:-1]) ** 2
    for b in range(4):
        sl = slice(int(edges[b]), int(edges[b + 1]))
        assert out[0, b] + 1j * out[1, b] == pytest.approx(complex(prod[:, sl].sum()), rel=1e-4)
        assert out[2, b] == pytest.approx(float(power[:, sl].sum()), rel=1e-4)


def _sums(freqs: np.ndarray, strength: np.ndarray, coherence: float = 0.5) -> np.ndarray:
    corr = strength * coherence * np.exp(2j * np.pi * freqs / PRF)
    return np.stack([corr.real, corr.imag, strength])


def test_distributed_consistent_scene_uses_the_data() -> None:
    n = DOPPLER_RANGE_BLOCKS
    sums = _sums(np.full(n, 35.0) + np.linspace(-5, 5, n), np.ones(n))
    choice = choose_raw_doppler(sums, PRF, -6.0)
    assert choice.source == "data" and choice.value == pytest.approx(35.0, abs=0.5)
    assert choice.coverage == pytest.approx(1.0) and choice.rms < 5.0


def test_point_like_scene_uses_the_geometry() -> None:
    # one bright block (one point target), a biased estimate: geometry wins
    strength = np.full(DOPPLER_RANGE_BLOCKS, 1e-6)
    strength[5] = 1.0
    sums = _sums(np.full(DOPPLER_RANGE_BLOCKS, -180.0), strength)
    choice = choose_raw_doppler(sums, PRF, -6.2)
    assert choice.source == "geometry" and choice.value == -6.2
    assert choice.data == pytest.approx(-180.0, abs=0.5) and choice.coverage < 0.2


def test_inconsistent_blocks_use_the_geometry() -> None:
    n = DOPPLER_RANGE_BLOCKS
    freqs = np.where(np.arange(n) % 2 == 0, -200.0, 150.0)
    choice = choose_raw_doppler(_sums(freqs, np.ones(n)), PRF, -6.0)
    assert choice.rms > DOPPLER_MAX_RMS and choice.source == "geometry"


def test_noise_only_and_given() -> None:
    rng = np.random.default_rng(1)
    n = DOPPLER_RANGE_BLOCKS
    noise = np.stack([rng.normal(0, 1e-3, n), rng.normal(0, 1e-3, n), np.ones(n)])
    assert choose_raw_doppler(noise, PRF, -6.0).source == "geometry"
    assert choose_raw_doppler(None, PRF, -6.0).value == -6.0
    given = choose_raw_doppler(noise, PRF, -6.0, given=12.5)
    assert given.source == "given" and given.value == 12.5


def test_data_estimate_unwraps_around_the_geometry() -> None:
    n = DOPPLER_RANGE_BLOCKS
    choice = choose_raw_doppler(_sums(np.full(n, 0.45 * PRF + 30.0), np.ones(n)), PRF, 800.0)
    assert choice.data == pytest.approx(0.45 * PRF + 30.0, abs=0.5)



def _full_size_header(swath: str) -> RawData:
    """A full-size burst of ``swath`` whose echoes are a zero-stride view (set-up and
    :func:`compressed_columns` read only the shape and the header)."""
    lines, samples = full_size(swath)
    small = make_burst(64, 64, swath=swath)
    echoes = np.broadcast_to(np.zeros((1, 1), dtype=np.complex64), (lines, samples))
    times = small.line_times[0] + np.arange(lines) / small.prf
    return dataclasses.replace(small, echoes=echoes, line_times=times)


def _setup(raw: RawData, strip_width: int, doppler: float | None) -> BurstSetup:
    return setup_burst(
        raw, range_window="hamming:0.75", azimuth_window=None, azimuth_bandwidth=None,
        output_azimuth_time_interval=IW_AZIMUTH_TIME_INTERVAL, doppler_centroid=doppler,
        strip_width=strip_width, bistatic=True, exact_spectrum=False,
    )  # fmt: skip


def _kept(raw: RawData, strip_width: int, doppler: float | None) -> int:
    return compressed_columns(
        raw, strip_width=strip_width, doppler_centroid=doppler, bistatic=True,
        output_azimuth_time_interval=IW_AZIMUTH_TIME_INTERVAL,
    )  # fmt: skip


@pytest.mark.parametrize("swath", ["IW1", "IW2", "IW3"])
@pytest.mark.parametrize("strip_width", [256, 768, 2048])
def test_compressed_columns_bound_every_plan_the_doppler_estimate_can_give(
    swath: str, strip_width: int
) -> None:
    raw = _full_size_header(swath)
    kept = _kept(raw, strip_width, None)
    if strip_width <= 768:  # the default width: the partially compressed tail is not kept
        assert kept < raw.samples - 0.05 * raw.samples
    doppler = _setup(raw, strip_width, None).doppler
    assert doppler is not None
    # the data estimate lies within PRF / 2 of the geometric centroid
    for offset in np.linspace(-0.5, 0.5, 11) * raw.prf:
        given = doppler.geometry + float(offset)
        setup = _setup(raw, strip_width, given)
        reach = strip_reach(setup.samples_out, setup.plan)
        assert reach <= _kept(raw, strip_width, given) <= kept, (offset, reach, kept)
