"""Benchmark of IW TOPS burst focusing (:func:`sar.focus.tops.focus_burst`).

One IW1-sized burst (PRF 1717.13 Hz, f_s 64.345 MHz, 52.4 us chirp of 1.078e12 Hz/s,
k_psi 1.590368784 deg/s; docs/tops.md section 1) of random echoes is focused ``repeats``
times after one warm-up (numba compilation, FFTW planning). Reported against:

- the FFT floor: forward + inverse range and azimuth FFT passes over the burst padded to
  the fastest nearby lengths (:func:`sar.focus.sizes.fast_length`, what any FFT-based
  processor transforms) with the same FFT library and thread count, planned with
  ``FFTW_MEASURE`` (:func:`fft_floor`, wall and CPU);
- a plain numpy implementation of the same algorithm
  (:func:`benchmarks.baselines.tops.focus_burst_baseline`);
- peak extra memory (tracemalloc, numpy and pyFFTW buffers) over the burst's size.

Every timed run focuses with one :class:`~sar.focus.tops.workspace.FocusWorkspace` and
hands the image back after it, as the streaming worker does; its FFTW plans use the
planner effort given (``FFTW_PATIENT`` by default); with a wisdom file
(:func:`sar.focus.fft.save_wisdom`) the planning cost is paid once per machine, as a
production worker does with the same file.

Run: ``eoport bench tops`` or ``python -m benchmarks.bench_tops``.
"""

from __future__ import annotations

import math
import os
import statistics
import time
import tracemalloc
from typing import Any

import numpy as np

from benchmarks.baselines.tops import focus_burst_baseline
from sar.focus.fft import configure_fft, load_wisdom, save_wisdom
from sar.focus.model import ChirpParameters, RawData
from sar.focus.sizes import fast_length
from sar.focus.tops import FocusWorkspace, default_workers, focus_burst
from sar.focus.tops.strip import aligned
from sar.geo.orbit import make_orbit

T_REF = 1.4e9
IW1_PRF = 1717.13
IW1_FS = 64.345e6
IW1_K_PSI_DEG = 1.590368784
IW1_CHIRP = ChirpParameters(ramp_rate=1.078e12, start_frequency=-0.5 * 1.078e12 * 52.4e-6,
                            pulse_length=52.4e-6)  # fmt: skip


IW_SWATHS = ("IW1", "IW2", "IW3")

_LOOK_DEG = {"IW1": 32.0, "IW2": 36.0, "IW3": 40.0}
"""Off-nadir angle of each sub-swath's middle (docs/tops.md section 1), deg."""


def full_size(swath: str) -> tuple[int, int]:
    """Raw lines and samples of a full-size burst of ``swath``: the burst's slot in the
    cycle times its PRF (IW1 0.832 s, IW2 1.078 s, IW3 0.848 s) and the simulator's echo
    window over the sub-swath's off-nadir span at 45 deg latitude
    (:func:`sar.sim.timeline.full_swath_window`)."""
    from sar.constants import WGS84_A
    from sar.sim.modes import IW_BURST_OFFSETS, swath_parameters
    from sar.sim.timeline import full_swath_window

    params = swath_parameters(swath)
    window = full_swath_window(params, WGS84_A + 700e3, 45.0)
    return round(IW_BURST_OFFSETS[swath] * params.prf), window.n_samples


def make_burst(lines: int, samples: int, seed: int = 0, swath: str = "IW1") -> RawData:
    """A raw burst of ``swath`` (its PRF, sampling rate, chirp and steering rate) of complex
    Gaussian echoes (content does not change the cost)."""
    if swath == "IW1":
        prf, fs, chirp, k_psi = IW1_PRF, IW1_FS, IW1_CHIRP, math.radians(IW1_K_PSI_DEG)
    else:
        from sar.sim.modes import swath_parameters

        params = swath_parameters(swath)
        prf, fs, chirp = params.prf, params.sampling_rate, params.chirp
        k_psi = params.azimuth_steering_rate
    look = _LOOK_DEG[swath]
    orbit = make_orbit(T_REF, 10.0, 20.0, look_angle_deg=look, before=20, after=20).orbit
    rng = np.random.default_rng(seed)
    echoes = np.empty((lines, samples), dtype=np.complex64)
    echoes.real = rng.standard_normal((lines, samples), dtype=np.float32)
    echoes.imag = rng.standard_normal((lines, samples), dtype=np.float32)
    times = np.asarray(T_REF + (np.arange(lines) - 0.5 * (lines - 1)) / prf, dtype=np.float64)
    return RawData(
        echoes=echoes, line_times=times, slant_range_time=2 * 800e3 / 299_792_458.0,
        range_sampling_rate=fs, prf=prf, chirp=chirp, orbit=orbit, mode="IW",
        swath=swath, azimuth_steering_rate=k_psi,
    )  # fmt: skip


_floor_plans: dict[tuple[int, int, int], tuple[Any, list[Any]]] = {}


def fft_floor(lines: int, samples: int, threads: int, repeats: int = 1) -> tuple[float, float]:
    """Wall and CPU seconds (medians) of forward+inverse range and azimuth FFT passes.

    In place on one complex64 block of ``lines x samples`` padded to fast lengths
    (:func:`sar.focus.sizes.fast_length`): a full-size IW burst's own lengths are slow FFT
    sizes (IW1 has 1,429 lines, a prime; IW2 25,036 samples = 4 x 11 x 569), which no
    processor transforms as they are and which made the floor 2.9x (IW1) and 4.3x (IW2)
    the padded one in CPU time; the smallest 7-smooth lengths can still be odd and 3x
    slower than a nearby even one (IW1 25,515 samples vs 25,600).
    ``FFTW_MEASURE`` plans with ``threads`` threads are made once (untimed) and kept for
    later calls; process CPU is timed too (less sensitive to other processes on a shared
    machine). Without pyFFTW
    the passes run through :func:`sar.focus.fft.transform`.
    """
    lines, samples = fast_length(lines), fast_length(samples)
    key = (lines, samples, threads)
    if key not in _floor_plans:
        # rows padded as the focusing's strips are: a row stride that is a multiple of
        # 4 KiB (25,600 samples) made the column passes ~10 % slower in CPU
        block = aligned((lines, samples))
        plans: list[Any] = []
        try:
            import pyfftw

            for axis in (1, 0):
                for direction in ("FFTW_FORWARD", "FFTW_BACKWARD"):
                    plans.append(pyfftw.FFTW(
                        block, block, axes=(axis,), direction=direction,
                        flags=("FFTW_MEASURE", "FFTW_DESTROY_INPUT"), threads=threads,
                    ))  # fmt: skip
        except ImportError:  # pragma: no cover - without pyfftw
            from sar.focus.fft import transform

            for axis in (1, 0):
                for forward in (True, False):
                    plans.append(_TransformPass(block, axis, forward, transform))
        _floor_plans.clear()
        _floor_plans[key] = (block, plans)
    block, plans = _floor_plans[key]
    rng = np.random.default_rng(0)
    block.real = rng.standard_normal((lines, samples), dtype=np.float32)
    block.imag = 0.0
    walls, cpus = [], []
    for k in range(repeats + 1):
        w0, c0 = time.perf_counter(), time.process_time()
        for plan in plans:
            plan.execute()
        if k:
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
        block *= np.float32(1.0 / (lines * samples))
    return statistics.median(walls), statistics.median(cpus)


class _TransformPass:  # pragma: no cover - without pyfftw
    def __init__(self, block: Any, axis: int, forward: bool, transform: Any) -> None:
        self._args = (block, axis, forward, transform)

    def execute(self) -> None:
        block, axis, forward, transform = self._args
        transform(block, axis, forward=forward)


def run_tops_benchmark(
    lines: int = 1500, samples: int = 20000, repeats: int = 5, workers: int | None = None,
    baseline: bool = True, effort: str = "FFTW_PATIENT", wisdom: str | None = None,
    swath: str = "IW1", antenna_length: float | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Time TOPS focusing of one burst and compare with the FFT floor and plain numpy.

    Parameters
    ----------
    lines, samples
        Raw burst size.
    repeats
        Timed repetitions (median reported).
    workers
        Threads for focusing (default :func:`sar.focus.tops.default_workers`); the FFT
        floor runs FFTW with one thread per core.
    baseline
        Also time the plain numpy version (one run; it is slow).
    effort
        FFTW planner effort of the focusing plans (the floor always uses
        ``FFTW_MEASURE``).
    wisdom
        FFTW wisdom file loaded before and saved after planning (created if missing).
    swath
        Sub-swath whose radar parameters the burst has (``IW1``, ``IW2``, ``IW3``).
    antenna_length
        Azimuth antenna length whose pattern is compensated, m (``None``: the default of
        :func:`sar.focus.tops.focus_burst`; 0 disables the compensation).

    Returns
    -------
    dict
        ``seconds`` (median), ``cold_seconds`` (first call, with compilation and planning),
        ``fft_floor_seconds`` (median, each measured right after one run),
        ``ratio_to_floor`` (median of per-run ratios), ``cpu_seconds``,
        ``fft_floor_cpu_seconds``, ``cpu_ratio_to_floor`` (process CPU time, robust to other
        load on a shared machine), ``baseline_seconds``, ``speedup``,
        ``peak_extra_bytes``, ``burst_bytes``, ``peak_extra_ratio``, ``stages`` (wall s),
        ``profile`` (thread-seconds per step), shapes and sizes, ``fft_effort`` and
        ``wisdom_loaded`` (whether planning came from a wisdom file).
    """
    raw = make_burst(lines, samples, swath=swath)
    extra: dict[str, Any] = {} if antenna_length is None else {"antenna_length": antenna_length}
    cores = os.cpu_count() or 1
    if workers is None:
        workers = default_workers()
    configure_fft(threads=cores, effort=effort)
    wisdom_loaded = load_wisdom(wisdom) if wisdom else False
    workspace = FocusWorkspace()
    t0 = time.perf_counter()
    slc = focus_burst(raw, workers=workers, workspace=workspace, **extra)
    cold = time.perf_counter() - t0
    workspace.recycle(slc.image)
    fft_floor(lines, samples, cores)  # plans (untimed)
    if wisdom:
        save_wisdom(wisdom)
    times = []
    cpu_times = []
    floors = []
    floor_cpus = []
    stages: dict[str, float] = {}
    profile: dict[str, float] = {}
    for _ in range(repeats):
        stages.clear()
        profile.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        slc = focus_burst(
            raw, workers=workers, timings=stages, profile=profile, workspace=workspace,
            **extra,
        )
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
        # as the focus worker does once the product is written
        workspace.recycle(slc.image)
        # interleaved with the runs, so that both see the same machine load
        wall, cpu = fft_floor(lines, samples, cores)
        floors.append(wall)
        floor_cpus.append(cpu)
    seconds = statistics.median(times)
    del slc
    # cold memory: scratch, strip workspaces and the output all count (no workspace)
    workspace.clear()
    del workspace
    tracemalloc.start()
    base_mem = tracemalloc.get_traced_memory()[0]
    slc = focus_burst(raw, workers=workers, **extra)
    peak = tracemalloc.get_traced_memory()[1] - base_mem
    tracemalloc.stop()
    out_shape = slc.image.shape
    meta = dict(slc.metadata)
    del slc
    floor = statistics.median(floors)
    ratios = [t / f for t, f in zip(times, floors, strict=True)]
    result: dict[str, Any] = {
        "swath": swath, "antenna_compensation": antenna_length != 0.0,
        "lines": lines, "samples": samples, "workers": workers, "cores": cores,
        "output_shape": list(out_shape), "mosaic_length": meta["tops_mosaic_length"],
        "specan_length": meta["tops_specan_length"], "seconds": seconds,
        "all_seconds": times, "cold_seconds": cold, "fft_floor_seconds": floor,
        "all_fft_floor_seconds": floors, "ratio_to_floor": statistics.median(ratios),
        "cpu_seconds": statistics.median(cpu_times),
        "fft_floor_cpu_seconds": statistics.median(floor_cpus),
        "cpu_ratio_to_floor": statistics.median(cpu_times) / statistics.median(floor_cpus),
        "peak_extra_bytes": int(peak),
        "burst_bytes": int(raw.echoes.nbytes),
        "peak_extra_ratio": peak / raw.echoes.nbytes, "stages": stages, "profile": profile,
        "cpu_count": os.cpu_count(), "fft_effort": effort, "wisdom_loaded": wisdom_loaded,
    }  # fmt: skip
    if baseline:
        t0, c0 = time.perf_counter(), time.process_time()
        focus_burst_baseline(raw)
        result["baseline_seconds"] = time.perf_counter() - t0
        result["baseline_cpu_seconds"] = time.process_time() - c0
        result["speedup"] = result["baseline_seconds"] / seconds
    result.update(burst_decode_benchmark(lines, samples, repeats))
    return result


def burst_decode_benchmark(lines: int, samples: int, repeats: int) -> dict[str, Any]:
    """Decode time of one burst's FDBAQ echo packets (``lines`` packets of ``samples``).

    100 distinct packets are encoded and repeated to ``lines`` packets (encoding a whole
    burst would take longer than the benchmark; decoding cost does not depend on it).
    """
    from benchmarks.decode import simulate_iw_packets
    from sar.l0.packets import decode_packets

    unique = min(100, lines)
    block = simulate_iw_packets(unique, samples // 2)
    data = block * (lines // unique)
    n_packets = unique * (lines // unique)
    decode_packets(data)  # warm-up (numba)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        decode_packets(data)
        times.append(time.perf_counter() - t0)
    seconds = statistics.median(times)
    return {
        "burst_decode_packets": n_packets,
        "burst_decode_bytes": len(data),
        "burst_decode_seconds": seconds,
        "burst_decode_mb_per_s": len(data) / seconds / 1e6,
    }
