"""Focused outputs against golden references: the speed work must not change them.

The references (``data/golden_*.npz``) hold, for a small IW1 TOPS burst and a stripmap
block of fixed random and point-target echoes, the image on a sparse grid (about 32 x 64
points) plus the energy of every line and every sample (any change anywhere moves one of them). They
were written by ``python -m tests.sar.focus.test_golden`` and are compared with a
tolerance of float32 rounding through FFTs whose plans may differ between processes
(FFTW_MEASURE picks plans by timing: relative differences of ~1e-6 of the image's RMS).

Provenance: the stripmap reference is what commit 32f6791 produced, and the TOPS one what
fbb4322 produced (the full-size IW quality fixes of that commit changed TOPS outputs on
purpose: Doppler centroid choice, exact azimuth spectrum); the explicit-workspace
refactoring after them reproduces both bit for bit in a fresh process.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sar.focus import focus_burst, focus_stripmap

DATA = Path(__file__).parent / "data"
RELATIVE_TOLERANCE = 2e-5
"""Largest difference allowed, relative to the image's RMS (float32 FFT rounding)."""


def _tops_raw() -> object:
    from benchmarks.tops import make_burst

    return make_burst(256, 4096, seed=7)


def _stripmap_raw() -> object:
    from benchmarks.stripmap import make_benchmark_raw

    return make_benchmark_raw(1024, 4096, targets=5, seed=3)


def summarise(image: npt.NDArray[np.complex64]) -> dict[str, npt.NDArray[np.generic]]:
    """What a reference keeps of an image."""
    power = np.abs(image.astype(np.complex128)) ** 2
    step_lines, step_samples = max(1, image.shape[0] // 32), max(1, image.shape[1] // 64)
    return {
        "shape": np.array(image.shape),
        "grid": np.ascontiguousarray(image[::step_lines, ::step_samples]),
        "line_energy": power.sum(axis=1),
        "sample_energy": power.sum(axis=0),
    }


def focused() -> dict[str, dict[str, npt.NDArray[np.generic]]]:
    """The images the references describe, focused by the code under test."""
    tops = focus_burst(_tops_raw(), workers=1)  # type: ignore[arg-type]
    strip = focus_stripmap(_stripmap_raw())  # type: ignore[arg-type]
    return {"tops": summarise(tops.image), "stripmap": summarise(strip.image)}


def _close(got: npt.NDArray[np.generic], want: npt.NDArray[np.generic], scale: float) -> float:
    difference = np.asarray(got, dtype=np.complex128) - np.asarray(want, dtype=np.complex128)
    return float(np.max(np.abs(difference)) / scale)


def test_focused_images_match_the_golden_references() -> None:
    for name, got in focused().items():
        want = dict(np.load(DATA / f"golden_{name}.npz"))
        assert got["shape"].tolist() == want["shape"].tolist(), name
        rms = float(np.sqrt(np.mean(np.abs(want["grid"]) ** 2)))
        assert _close(got["grid"], want["grid"], rms) < RELATIVE_TOLERANCE, name
        for key in ("line_energy", "sample_energy"):
            scale = float(np.mean(want[key]))
            assert _close(got[key], want[key], scale) < 10 * RELATIVE_TOLERANCE, (name, key)


if __name__ == "__main__":  # write the references (python -m tests.sar.focus.test_golden DIR)
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA
    out.mkdir(parents=True, exist_ok=True)
    for name, summary in focused().items():
        np.savez_compressed(out / f"golden_{name}.npz", **summary)  # type: ignore[arg-type]
        print(name, {k: v.shape for k, v in summary.items()})
