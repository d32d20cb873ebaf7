"""The TOPS benchmark runs, reports consistent keys and reuses FFTW wisdom (no timings)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.tops import make_burst, run_tops_benchmark
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
