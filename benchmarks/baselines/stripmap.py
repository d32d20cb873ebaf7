"""Reference implementation of stripmap focusing in plain numpy (no FFTW, no numba).

The same algorithm and parameters as :func:`sar.focus.rda.focus_stripmap` (same plan,
range filter, RCMC interpolator and azimuth filter nodes), written the straightforward
way: ``numpy.fft`` in complex128 without plan reuse, and RCMC as a loop over Doppler
lines vectorised along range. It is the reference the benchmark compares the fast path
against; both give the same image to ~1e-5 of the peak.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sar.errors import FocusError
from sar.focus.model import RawData
from sar.focus.rcmc import interpolation_table
from sar.focus.rda import ANTENNA_LENGTH, FocusPlan, make_slc, plan_focus
from sar.focus.windows import WindowSpec
from sar.product.model import Polynomial, SlcImage

ComplexArray = npt.NDArray[np.complex64]

_PAD = 64  # zero samples on each side of a range line, as in the fast kernel


def _rcmc_filter_baseline(
    rd: npt.NDArray[np.complex128], plan: FocusPlan, n_az: int
) -> npt.NDArray[np.complex128]:
    shift, phase, weight = plan.filter_nodes(n_az)
    table = interpolation_table(plan.taps).astype(np.float64)
    taps = table.shape[1]
    res = table.shape[0] - 1
    half = taps // 2 - 1
    lines, samples = rd.shape
    step = plan.node_step
    padded = samples + 2 * _PAD
    r = np.arange(samples)
    node = r // step
    grid = np.arange(shift.shape[1]) * step
    out = np.empty_like(rd)
    for i in range(lines):
        row = np.zeros(padded, dtype=np.complex128)
        row[_PAD: _PAD + samples] = rd[i]
        centre = 0.5 * (shift[i, :-1] + shift[i, 1:])
        whole = np.floor(centre).astype(np.int64)
        x = (centre - whole) * res
        k = np.minimum(x.astype(np.int64), res - 1)
        a = (x - k)[:, None]
        weights = (1.0 - a) * table[k] + a * table[k + 1]
        r0 = grid[:-1]
        r1 = np.minimum(r0 + step, samples)
        start = np.clip(_PAD + whole - half, -r0, padded - taps - r1 + 1)
        idx = (start[node] + r)[:, None] + np.arange(taps)[None, :]
        value = np.sum(weights[node] * row[idx], axis=1)
        ph = np.interp(r, grid, phase[i])
        w = np.interp(r, grid, weight[i].real) + 1j * np.interp(r, grid, weight[i].imag)
        out[i] = value * w * np.exp(1j * ph)
    return out


def focus_block_baseline(echoes: npt.NDArray[np.complexfloating], plan: FocusPlan) -> ComplexArray:
    """Focus one block with numpy only (see :func:`sar.focus.rda.focus_block`)."""
    lines, samples = echoes.shape
    if samples != plan.raw_samples:
        raise FocusError(f"block has {samples} samples, plan expects {plan.raw_samples}")
    n_az = plan.block_shape(lines)[0]
    n_r = plan.range_fft_length
    spec = np.fft.fft(echoes, n=n_r, axis=1)
    spec *= plan.range_filter.astype(np.complex128)[None, :]
    rc = np.fft.ifft(spec, axis=1, norm="forward")
    del spec
    rd = np.fft.fft(rc, n=n_az, axis=0)
    del rc
    rd = _rcmc_filter_baseline(rd, plan, n_az)
    img = np.fft.ifft(rd, axis=0, norm="forward")
    return img[:lines, :samples].astype(np.complex64)


def focus_stripmap_baseline(
    raw: RawData,
    *,
    range_window: WindowSpec | str = "hamming:0.75",
    azimuth_window: WindowSpec | str = "hamming:0.75",
    azimuth_bandwidth: float | None = None,
    doppler_centroid: Polynomial | float | None = None,
    plan: FocusPlan | None = None,
    antenna_length: float = ANTENNA_LENGTH,
) -> SlcImage:
    """Focus ``raw`` as one block with the numpy reference implementation.

    Parameters are those of :func:`sar.focus.rda.focus_stripmap`; ``plan`` reuses a
    plan already computed for the same data.
    """
    if plan is None:
        plan = plan_focus(raw, range_window=range_window, azimuth_window=azimuth_window,
                          azimuth_bandwidth=azimuth_bandwidth,
                          doppler_centroid=doppler_centroid, antenna_length=antenna_length)
    if raw.lines <= plan.overlap_lines:
        raise FocusError(
            f"{raw.lines} lines are too few: one synthetic aperture needs "
            f"{plan.overlap_lines} lines"
        )
    image = focus_block_baseline(raw.echoes, plan)
    return make_slc(raw, plan, image, (plan.lines_before, raw.lines - plan.lines_after))
