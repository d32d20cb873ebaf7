"""FFT plan cache: agreement with numpy, in/out of place, plan reuse, settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sar.errors import FocusError
from sar.focus import fft


def _block(lines: int, samples: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((lines, samples)) + 1j * rng.standard_normal((lines, samples))
    return x.astype(np.complex64)


@pytest.mark.parametrize("axis", [0, 1])
def test_transform_matches_numpy(axis: int) -> None:
    x = _block(48, 90)
    work = fft.empty_block(48, 90)
    work[...] = x
    fft.transform(work, axis, forward=True)
    ref = np.fft.fft(x.astype(np.complex128), axis=axis)
    assert np.abs(work - ref).max() / np.abs(ref).max() < 1e-6
    fft.transform(work, axis, forward=False)
    n = x.shape[axis]
    assert np.abs(work / n - x).max() < 1e-5


def test_out_of_place_keeps_input_and_reuses_plans() -> None:
    x = _block(32, 64, 1)
    src = fft.empty_block(32, 64)
    src[...] = x
    dst = fft.empty_block(32, 64)
    fft.transform(src, 1, forward=True, out=dst)
    assert np.array_equal(src, x)
    assert np.allclose(dst, np.fft.fft(x, axis=1), atol=1e-4)
    n_plans = len(fft._plans)
    other = fft.empty_block(32, 64)
    other[...] = x
    fft.transform(other, 1, forward=True)
    fft.transform(other, 1, forward=False)
    fft.transform(other, 1, forward=True)
    assert len(fft._plans) <= n_plans + 2
    assert np.allclose(other / 64, dst, atol=1e-3)  # unnormalised inverse


def test_bad_arrays_raise() -> None:
    with pytest.raises(FocusError):
        fft.transform(np.zeros((4, 4), dtype=np.complex128), 0, forward=True)
    with pytest.raises(FocusError):
        fft.transform(fft.empty_block(4, 4), 2, forward=True)
    with pytest.raises(FocusError):
        fft.configure_fft(threads=0)
    with pytest.raises(FocusError):
        fft.configure_fft(effort="FFTW_GUESS")


def test_fft_floor_is_positive() -> None:
    assert 0.0 < fft.fft_floor_seconds(64, 256, repeats=1) < 5.0


def test_wisdom_round_trip_and_bad_files(tmp_path: Path) -> None:
    from sar.focus.fft import configure_fft, empty_block, load_wisdom, plan_effort, save_wisdom

    block = empty_block(8, 96)
    block[:] = 1.0
    configure_fft(effort="FFTW_MEASURE")
    try:
        fft.transform(block, 1, forward=True)
        assert plan_effort() == "FFTW_MEASURE"
        path = tmp_path / "sub" / "w.wisdom"
        size = save_wisdom(path)
        assert size == path.stat().st_size > 20
        assert load_wisdom(path) is True
        assert load_wisdom(tmp_path / "missing") is False
        bad = tmp_path / "bad"
        bad.write_bytes(b"not wisdom")
        with pytest.raises(FocusError, match="not an eoport FFTW wisdom file"):
            load_wisdom(bad)
        bad.write_bytes(path.read_bytes()[:-5])
        with pytest.raises(FocusError, match="truncated"):
            load_wisdom(bad)
    finally:
        configure_fft(effort="FFTW_ESTIMATE")
    assert plan_effort() == "FFTW_MEASURE"
    assert plan_effort("FFTW_ESTIMATE") == "FFTW_ESTIMATE"


def test_wisdom_file_saves_only_when_plans_were_added(tmp_path: Path) -> None:
    from sar.focus.fft import WisdomFile, configure_fft, empty_block

    path = tmp_path / "w.wisdom"
    configure_fft(effort="FFTW_MEASURE")
    try:
        wisdom = WisdomFile(path)
        assert wisdom.load() is False  # no file yet
        block = empty_block(4, 50)
        block[:] = 1.0
        fft.transform(block, 1, forward=True)
        assert wisdom.save_if_changed() is True
        first = path.read_bytes()
        fft.transform(block, 1, forward=True)  # same plan: nothing new
        assert wisdom.save_if_changed() is False
        other = empty_block(4, 70)
        other[:] = 1.0
        fft.transform(other, 1, forward=True)
        assert wisdom.save_if_changed() is True
        assert len(path.read_bytes()) > len(first)
        assert WisdomFile(path).load() is True
    finally:
        configure_fft(effort="FFTW_ESTIMATE")
