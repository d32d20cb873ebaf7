"""Stripmap focusing benchmark: one realistic block, fast path vs numpy baseline vs FFT floor.

The block mimics Sentinel-1 IW1 raw parameters (PRF 1717 Hz, 64.345 MHz sampling,
52.4 us chirp of 56.5 MHz; docs/sentinel1-facts.md, docs/tops.md section 1) on the
straight-line geometry of :mod:`sar.focus.pointsim`: a few point targets plus white noise.

``eoport bench focus`` calls :func:`run_focus_benchmark`; ``benchmarks/bench_focus.py``
runs it from the command line. The baseline is
:func:`benchmarks.baselines.stripmap.focus_block_baseline`.
"""

from __future__ import annotations

import math
import statistics
import time
import tracemalloc
from typing import Any

import numpy as np

from benchmarks.baselines.stripmap import focus_block_baseline
from sar.constants import SPEED_OF_LIGHT
from sar.focus.fft import configure_fft, fft_effort_setting, fft_floor_seconds, fft_threads
from sar.focus.model import ChirpParameters, RawData
from sar.focus.pointsim import LineScene, simulate_point_raw
from sar.focus.rda import focus_block, plan_focus

IW1_PRF = 1717.13
"""IW1 raw PRF, Hz (docs/tops.md section 1)."""

IW1_SAMPLING_RATE = 64.345238e6
"""IW1 range sampling rate, Hz (decimation code 8)."""

IW1_CHIRP = ChirpParameters(ramp_rate=1.078e12, start_frequency=-28.24e6, pulse_length=52.40e-6)
"""IW1 pulse (TXPRR, TXPSF, TXPL), about 56.5 MHz."""


def make_benchmark_raw(lines: int, samples: int, *, targets: int = 5, seed: int = 1) -> RawData:
    """A block of IW1-like raw echoes: ``targets`` point targets plus complex white noise."""
    scene = LineScene()
    fs = IW1_SAMPLING_RATE
    prf = IW1_PRF
    chirp = IW1_CHIRP
    srt = 5.36e-3
    t_first = scene.t_ref
    n_pulse = int(math.ceil(chirp.pulse_length * fs))
    rng = np.random.default_rng(seed)
    span = max(samples - n_pulse - 64, 1)
    tgts = []
    for k in range(targets):
        sample = 32 + span * (k + 0.5) / targets + rng.uniform(-0.5, 0.5)
        line = lines * (0.5 + 0.1 * (k - targets // 2) / max(targets, 1))
        r0 = 0.5 * SPEED_OF_LIGHT * (srt + sample / fs)
        tgts.append((t_first + line / prf, r0, complex(rng.uniform(0.5, 2.0))))
    return simulate_point_raw(
        scene, tgts, lines=lines, samples=samples, first_line_time=t_first, prf=prf,
        range_sampling_rate=fs, slant_range_time=srt, chirp=chirp,
        illuminated_bandwidth=0.75 * prf, noise_sigma=0.5, seed=seed,
    )


def run_focus_benchmark(
    lines: int = 1500,
    samples: int = 20000,
    repeats: int = 3,
    *,
    baseline: bool = True,
    fft_effort: str | None = None,
) -> dict[str, Any]:
    """Time stripmap focusing of one block.

    Parameters
    ----------
    lines, samples
        Block shape.
    repeats
        Timed repetitions of the fast path (after one warm-up that compiles kernels and
        creates FFTW plans).
    baseline
        Also time the numpy reference once and compare the images.
    fft_effort
        FFTW planner effort for this run (``"FFTW_ESTIMATE"``, ``"FFTW_MEASURE"``);
        ``None`` keeps the current setting.

    Returns
    -------
    dict
        ``lines, samples, seconds`` (median, one block with a ready plan and a reused
        output block: what each block of a stream costs), ``seconds_fresh_output`` (the
        same with a newly allocated output, page faults included), ``plan_seconds``
        (Doppler estimation, FM rate, filters; once per swath and block length),
        ``sensing_seconds`` (lines / 1717 Hz), ``rtf`` (focusing / sensing: < 1 keeps up),
        ``baseline_seconds``, ``speedup``, ``fft_floor_seconds``, ``floor_ratio``,
        ``fft_effort``, ``peak_extra_bytes`` / ``peak_extra_ratio`` (numpy allocations
        during one block over the block size, tracemalloc), ``max_rel_diff`` (fast path vs
        baseline, valid part), ``threads``.
    """
    if fft_effort is not None:
        configure_fft(effort=fft_effort)
    raw = make_benchmark_raw(lines, samples)
    t0 = time.perf_counter()
    plan = plan_focus(raw)
    plan.filter_nodes(lines)
    plan_seconds = time.perf_counter() - t0
    warm = time.perf_counter()
    focus_block(raw.echoes, plan)
    warmup_seconds = time.perf_counter() - warm
    fresh = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        image = focus_block(raw.echoes, plan)
        fresh.append(time.perf_counter() - t0)
        del image
    reused = []
    image = focus_block(raw.echoes, plan)
    for _ in range(repeats):
        t0 = time.perf_counter()
        image = focus_block(raw.echoes, plan, out=image)
        reused.append(time.perf_counter() - t0)
    del image
    seconds = statistics.median(reused)
    tracemalloc.start()
    image = focus_block(raw.echoes, plan)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    block_bytes = lines * samples * 8
    result: dict[str, Any] = {
        "lines": lines,
        "samples": samples,
        "seconds": seconds,
        "seconds_fresh_output": statistics.median(fresh),
        "plan_seconds": plan_seconds,
        "warmup_seconds": warmup_seconds,
        "sensing_seconds": lines / IW1_PRF,
        "rtf": seconds / (lines / IW1_PRF),
        "threads": fft_threads(),
        "fft_effort": fft_effort_setting(),
        "peak_extra_bytes": int(peak),
        "peak_extra_ratio": peak / block_bytes,
        "valid_lines": [plan.lines_before, lines - plan.lines_after],
    }
    floor = fft_floor_seconds(lines, samples, repeats)
    result["fft_floor_seconds"] = floor
    result["floor_ratio"] = seconds / floor
    if baseline:
        t0 = time.perf_counter()
        ref = focus_block_baseline(raw.echoes, plan)
        result["baseline_seconds"] = time.perf_counter() - t0
        result["speedup"] = result["baseline_seconds"] / seconds
        v = (slice(plan.lines_before, lines - plan.lines_after), slice(*plan.valid_samples))
        scale = float(np.max(np.abs(ref[v]))) if ref[v].size else 1.0
        result["max_rel_diff"] = float(np.max(np.abs(image[v] - ref[v]))) / scale
    return result
