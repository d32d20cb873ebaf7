"""Plain numpy implementation of the TOPS burst focusing of :mod:`sar.focus.tops`.

Same algorithm and same phase vectors (:func:`sar.focus.tops.strip.strip_vectors`), written the
straightforward way: ``numpy.fft`` (single-threaded pocketfft), one strip after the other,
every phase screen evaluated with ``numpy`` array expressions, no fused kernels. It is the
reference for the optimised version in tests and the baseline of the benchmark
(:mod:`benchmarks.tops`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sar.constants import AZIMUTH_ANTENNA_LENGTH
from sar.focus.model import RawData
from sar.focus.replica import make_range_filter
from sar.focus.tops.burst import DEFAULT_STRIP_WIDTH, check_raw, make_product
from sar.focus.tops.geometry import IW_AZIMUTH_TIME_INTERVAL
from sar.focus.tops.setup import BurstSetup, setup_burst
from sar.focus.tops.strip import Quadratic, strip_vectors
from sar.focus.windows import WindowSpec
from sar.product.model import SlcImage

ComplexArray = npt.NDArray[np.complex64]
Complex128Array = npt.NDArray[np.complex128]


def _screen(phase: Quadratic, cols: int) -> Complex128Array:
    """``exp(j (c0 + c1 i + c2 i^2))`` for ``i < cols`` as a full (rows, cols) array."""
    i = np.arange(cols, dtype=np.float64)[None, :]
    c0, c1, c2 = (np.asarray(c, dtype=np.float64)[:, None] for c in phase)
    return np.asarray(np.exp(1j * (c0 + c1 * i + c2 * i * i)), dtype=np.complex128)


def _strip(setup: BurstSetup, rc: ComplexArray, out: ComplexArray, first_bin: int) -> None:
    p = setup.plan
    width = min(p.strip_width, setup.samples_out - first_bin)
    vec = strip_vectors(setup, first_bin, width)
    lo = first_bin - p.range_halo_left
    cols = np.arange(lo, lo + p.strip_span)
    inside = (cols >= 0) & (cols < rc.shape[1])
    a = np.zeros((p.n_mosaic, p.strip_span), dtype=np.complex128)
    a[: p.n_in, inside] = rc[:, cols[inside]] * vec.ramp_in[:, None]
    a = np.fft.ifft(a, axis=0) * p.n_mosaic
    a *= vec.ramp_mosaic[:, None]
    a = np.fft.fft(a, axis=0)
    a = np.fft.fft(a, axis=1)
    order = np.roll(np.arange(p.strip_span), -vec.rg_start)
    screen = _screen(vec.rg_phase, p.strip_span)
    a[:, order] *= screen
    a = np.fft.ifft(a, axis=1) * p.strip_span
    b = a[:, p.range_halo_left : p.range_halo_left + p.strip_width]
    b = b * _screen(vec.rd_phase, p.strip_width)
    b = np.fft.ifft(b, axis=0) * p.n_mosaic
    c = np.zeros((p.n_specan, p.strip_width), dtype=np.complex128)
    c[: p.n_mosaic] = b * vec.specan_in[:, None]
    c = np.fft.fft(c, axis=0)
    out[:, first_bin : first_bin + width] = (
        c[: setup.lines_out, :width] * vec.specan_out[:, None]
    ).astype(np.complex64)


def focus_burst_baseline(
    raw: RawData,
    *,
    range_window: WindowSpec | str = "hamming:0.75",
    azimuth_window: WindowSpec | str | None = None,
    output_azimuth_time_interval: float = IW_AZIMUTH_TIME_INTERVAL,
    azimuth_bandwidth: float | None = None,
    doppler_centroid: float | None = None,
    strip_width: int = DEFAULT_STRIP_WIDTH,
    bistatic: bool = True,
    antenna_length: float = AZIMUTH_ANTENNA_LENGTH,
) -> SlcImage:
    """Focus one IW TOPS burst with plain numpy (see :func:`sar.focus.tops.focus_burst`).

    Parameters and result as :func:`sar.focus.tops.focus_burst` (single-threaded, no
    workspace).
    """
    check_raw(raw)
    filt = make_range_filter(raw.chirp, raw.range_sampling_rate, raw.samples, range_window)
    spectrum = np.fft.fft(raw.echoes, axis=1)
    rc = (np.fft.ifft(spectrum * filt[None, :], axis=1) * raw.samples).astype(np.complex64)
    del spectrum
    setup = setup_burst(
        raw, range_window=range_window, azimuth_window=azimuth_window,
        azimuth_bandwidth=azimuth_bandwidth,
        output_azimuth_time_interval=output_azimuth_time_interval,
        doppler_centroid=doppler_centroid, strip_width=strip_width, bistatic=bistatic, rc=rc,
        antenna_length=antenna_length,
    )  # fmt: skip
    out = np.empty((setup.lines_out, setup.samples_out), dtype=np.complex64)
    for first_bin in range(0, setup.samples_out, setup.plan.strip_width):
        _strip(setup, rc, out, first_bin)
    return make_product(raw, setup, out, range_window)
