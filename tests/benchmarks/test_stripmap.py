"""The focusing benchmark runs and reports consistent keys (no timing assertions)."""

from __future__ import annotations

from benchmarks.stripmap import make_benchmark_raw, run_focus_benchmark


def test_benchmark_block_is_realistic() -> None:
    raw = make_benchmark_raw(64, 4096, targets=3)
    assert raw.echoes.shape == (64, 4096)
    assert abs(raw.prf - 1717.13) < 1e-6
    assert 56e6 < raw.chirp.bandwidth < 57e6


def test_run_small_benchmark() -> None:
    result = run_focus_benchmark(1024, 4096, repeats=1)
    for key in ("lines", "samples", "seconds", "sensing_seconds", "rtf", "baseline_seconds",
                "fft_floor_seconds"):
        assert key in result
    assert result["lines"] == 1024 and result["samples"] == 4096
    assert result["sensing_seconds"] == 1024 / 1717.13
    assert result["seconds"] > 0 and result["baseline_seconds"] > 0
    assert result["max_rel_diff"] < 1e-3
