"""The TOPS benchmark runs, reports consistent keys and reuses FFTW wisdom (no timings)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.tops import full_size, make_burst, run_tops_benchmark
from sar.focus.fft import configure_fft


def test_benchmark_burst_is_iw1_like() -> None:
    raw = make_burst(64, 4096)
    assert raw.echoes.shape == (64, 4096)
    assert raw.swath == "IW1" and abs(raw.prf - 1717.13) < 1e-6
    assert np.all(np.diff(raw.line_times) > 0)


def test_small_benchmark_with_wisdom_file(tmp_path: Path) -> None:
    wisdom = tmp_path / "fftw.wisdom"
    try:
        first = run_tops_benchmark(
            256, 4096, repeats=1, workers=1, baseline=True, effort="FFTW_MEASURE",
            wisdom=str(wisdom),
        )  # fmt: skip
        assert wisdom.stat().st_size > 0
        assert first["wisdom_loaded"] is False
        for key in ("seconds", "fft_floor_seconds", "baseline_seconds", "cpu_seconds",
                    "burst_decode_seconds", "peak_extra_ratio"):  # fmt: skip
            assert first[key] > 0, key
        assert first["fft_effort"] == "FFTW_MEASURE"
        assert first["output_shape"][1] < 4096  # range-compressed valid samples only
        assert "range FFT (lines)" in first["profile"]
        second = run_tops_benchmark(
            256, 4096, repeats=1, workers=1, baseline=False, effort="FFTW_MEASURE",
            wisdom=str(wisdom),
        )  # fmt: skip
        assert second["wisdom_loaded"] is True
        assert "baseline_seconds" not in second
    finally:
        configure_fft(effort="FFTW_ESTIMATE")


def test_full_size_bursts_of_each_swath() -> None:
    # the burst's slot in the cycle times its PRF; the echo window spans the sub-swath
    assert full_size("IW1") == (round(0.832 * 1717.13), full_size("IW1")[1])
    for swath in ("IW1", "IW2", "IW3"):
        lines, samples = full_size(swath)
        assert 1400 <= lines <= 1600 and 21_000 <= samples <= 26_000
        raw = make_burst(32, 4096, swath=swath)
        assert raw.swath == swath and raw.azimuth_steering_rate > 0
    assert make_burst(32, 4096, swath="IW2").prf < make_burst(32, 4096, swath="IW3").prf
