"""Cold start of a focusing worker, with and without shared FFTW wisdom.

A worker scaled up mid-pass must not spend its first burst planning FFTs. Each run starts
a fresh Python process that does what ``eoport run focus`` does before taking jobs
(configure FFTW, load the shared wisdom if any, warm up on one synthetic burst per IW
sub-swath) and then focuses one more full-size IW1 burst, the "first real burst":

- ``no wisdom``: planning during the warm-up (``--effort``: measure or patient);
- ``shared wisdom``: a second fresh process loading the wisdom the first one saved;
- ``warm``: the same process's next burst, the reference.

Prints one JSON object: warm-up seconds per sub-swath and in total, first-burst seconds
after the warm-up, the warm burst time, and their ratio (target: first burst <= 2x warm).
Run: ``python benchmarks/bench_cold_start.py [--effort patient] [--samples N]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

WORKER = """
import json, sys, time
from sar.focus.fft import configure_fft, load_wisdom, save_wisdom
from sar.focus.tops import FocusWorkspace, focus_burst
from streams.focus.warmup import nominal_bursts, warm_up
effort, wisdom, samples = sys.argv[1], sys.argv[2], sys.argv[3]
samples = None if samples == "full" else int(samples)
t0 = time.perf_counter()
configure_fft(threads=1, effort=f"FFTW_{effort.upper()}")
loaded = load_wisdom(wisdom)
workspace = FocusWorkspace()
warm = warm_up(n_samples=samples, workspace=workspace)
save_wisdom(wisdom)
(raw,) = nominal_bursts(("IW1",), samples, seed=1)
times = []
for _ in range(3):
    t = time.perf_counter()
    workspace.recycle(focus_burst(raw, workspace=workspace).image)
    times.append(time.perf_counter() - t)
print(json.dumps({"wisdom_loaded": loaded, "warm_up_s": warm,
                  "warm_up_total_s": sum(warm.values()), "first_burst_s": times[0],
                  "warm_burst_s": min(times[1:]), "process_s": time.perf_counter() - t0}))
"""


def run_worker(effort: str, wisdom: Path, samples: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", WORKER, effort, str(wisdom), samples],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--effort", choices=("measure", "patient"), default="measure")
    parser.add_argument("--samples", default="full", help="range samples, or 'full'")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="eoport-wisdom-") as tmp:
        wisdom = Path(tmp) / "fftw.wisdom"
        cold = run_worker(args.effort, wisdom, args.samples)
        shared = run_worker(args.effort, wisdom, args.samples)
    summary = {
        "effort": args.effort,
        "samples": args.samples,
        "no_wisdom": cold,
        "shared_wisdom": shared,
        "first_over_warm_no_wisdom": round(cold["first_burst_s"] / cold["warm_burst_s"], 2),
        "first_over_warm_shared": round(shared["first_burst_s"] / shared["warm_burst_s"], 2),
        "warm_up_speedup_from_wisdom": round(
            cold["warm_up_total_s"] / shared["warm_up_total_s"], 2
        ),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
