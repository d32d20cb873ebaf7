"""Range compression: FFT along range, matched filter, inverse FFT (in place).

The block's lines are transformed with reusable FFTW plans (:mod:`sar.focus.fft`) and
multiplied by the range matched filter of :mod:`sar.focus.replica` in a numba kernel
parallel over lines. A target at two-way delay ``tau`` peaks at sample
``(tau - slant_range_time) * fs``; the last ``replica_samples - 1`` samples of each line
hold wrapped (partial) responses.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from sar.errors import FocusError
from sar.focus.fft import empty_block, is_aligned, transform
from sar.focus.model import ChirpParameters
from sar.focus.replica import make_range_filter
from sar.focus.windows import WindowSpec

ComplexArray = npt.NDArray[np.complex64]


@numba.njit(parallel=True, cache=True, fastmath=True)
def _multiply_rows(data: ComplexArray, h: ComplexArray) -> None:  # pragma: no cover - jit
    lines, samples = data.shape
    for i in numba.prange(lines):
        for k in range(samples):
            data[i, k] *= h[k]


def multiply_rows(data: ComplexArray, h: ComplexArray) -> None:
    """Multiply every line of ``data`` by the vector ``h`` in place (parallel over lines)."""
    if h.shape != (data.shape[1],) or h.dtype != np.complex64:
        raise FocusError("row filter must be complex64 with one value per sample")
    _multiply_rows(data, h)


def compress_range(
    echoes: ComplexArray,
    chirp: ChirpParameters,
    fs: float,
    window: WindowSpec | str = "hamming:0.75",
    *,
    out: ComplexArray | None = None,
    in_place: bool = False,
) -> ComplexArray:
    """Range-compress a block of echo lines.

    Parameters
    ----------
    echoes
        complex64 [lines, samples].
    chirp
        Transmitted pulse (S1-IF-ASD-PL-0007 3.2.5.6-3.2.5.8).
    fs
        Range sampling rate, Hz.
    window
        Range window over the chirp bandwidth.
    out
        Destination block (same shape, C-contiguous complex64); allocated if ``None``.
    in_place
        Compress ``echoes`` itself (it must be C-contiguous complex64).

    Returns
    -------
    numpy.ndarray
        complex64 [lines, samples], unit peak for a unit-amplitude echo.
    """
    if echoes.ndim != 2 or echoes.shape[0] < 1:
        raise FocusError(f"echoes must be a 2-D block, got shape {echoes.shape}")
    h = make_range_filter(chirp, fs, echoes.shape[1], window)
    if in_place:
        if echoes.dtype != np.complex64 or not echoes.flags.c_contiguous:
            raise FocusError("in-place range compression needs C-contiguous complex64")
        work = echoes
    else:
        work = empty_block(*echoes.shape) if out is None else out
        if work.shape != echoes.shape:
            raise FocusError("output block shape differs from the echoes")
        if not (echoes.dtype == np.complex64 and echoes.flags.c_contiguous
                and is_aligned(echoes)):
            work[...] = echoes
            echoes = work
    transform(echoes, 1, forward=True, out=work)
    multiply_rows(work, h)
    transform(work, 1, forward=False)
    return work
