"""IW TOPS burst focusing: raw echoes of one burst to an SLC on the common zero-Doppler grid.

Algorithm (derived for eoport from the TOPS burst model of docs/tops.md sections 1-3; the
steps are those of the baseband-azimuth-scaling family, Prats et al., TGRS 48(2), 2010,
and SPECAN, but every step here is an exact identity for chirp signals, so only the
hyperbolic range model is an approximation). Per raw line ``n`` at ``s_n`` seconds from
the steering centre and per range strip:

1. Range compression (:func:`sar.focus.replica.make_range_filter`), whole lines padded
   to a fast FFT length (:func:`sar.focus.sizes.fast_length`: raw line lengths such as
   IW1's 25,408 = 2^6 x 397 samples transform 3-7x slower than 25,600).
2. Mosaicking (unfolding): ``w = r (*) exp(-j pi k_s' t^2)``, a chirp convolution
   computed as deramp, inverse FFT of length N', chirp multiply. ``w`` holds the whole
   unfolded Doppler band (``PRF' = k_s' N' / PRF >= k_s T_B + PRF``) in a short time
   window: no L-times upsampling of the burst.
3. Azimuth FFT: the exact full-band Doppler spectrum ``W(f) = R(f) C(f)``.
4. Range FFT of the strip, bulk RCMC + SRC + matched filter of the strip centre range in
   the 2-D frequency domain, range IFFT (range migration varies little within a strip).
5. Per range bin: hyperbolic matched filter ``exp(j 4 pi R0 (D(f) - 1) / lambda)``
   (differential to the bulk one) corrected to each target's exact stationary-phase
   spectrum at its own Doppler band (:mod:`sar.focus.tops.spectrum`: targets near the
   burst ends are seen ~1 s off zero Doppler, where the burst-centre hyperbola is off by
   0.1-0.2 rad), bistatic time shift ``tau / 2``, and a residual chirp
   ``exp(j pi f^2 / k_x)`` with ``k_x = k_t``: every target is left as a chirp of the
   TOPS Doppler-centroid rate centred on one common time, the TN-deramped domain.
6. Azimuth IFFT, azimuth window over the processed bandwidth (exact: this domain is the
   spectrum of the TN-deramped output), then SPECAN: chirp multiply and FFT of length N''
   whose output spacing is exactly the common azimuth time interval, on a grid aligned
   to multiples of it. A final chirp multiply reramps the image.

Azimuth FFT work is 3 transforms of N' (~1.3 N) and one of N'' (~1.6 N) per column.
Strips are held transposed (range bins x azimuth, azimuth contiguous) so that azimuth
FFTs run over contiguous rows and the phase screens vectorise across Doppler bins. The
strip's range FFT (step 4) commutes with steps 2-3, which act along azimuth only: it runs
first, over contiguous rows of 32-line blocks of the strip's window before they are
transposed in, so only the range IFFT runs along columns. The azimuth steps run on
blocks of 16 range bins that stay in the core's L2 cache from one step to the next
(mosaic, FFT to Doppler and bulk phase; range-Doppler phase, window, SPECAN and store).
Range-compression blocks (8 lines) and strips are handed to the threads from a queue; the
Doppler estimator's lag-one products are summed while each range-compressed block is
still in cache. FFTW plans, strip buffers, the range-compressed scratch burst and the
output burst are reused from burst to burst when the caller passes a
:class:`~sar.focus.tops.workspace.FocusWorkspace`; with ``FFTW_PATIENT`` wisdom
(:func:`sar.focus.fft.load_wisdom`) the plans are the fastest FFTW finds on the machine.
The Doppler centroid and FM-rate polynomials stored in the product make the TN deramp
function (:mod:`sar.focus.tops.deramp`) exact for this output.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt

from sar.constants import AZIMUTH_ANTENNA_LENGTH
from sar.errors import FocusError
from sar.focus.doppler import fit_polynomial
from sar.focus.model import RawData
from sar.focus.raw import missing_record
from sar.focus.replica import make_range_filter
from sar.focus.sizes import fast_length
from sar.focus.tops.geometry import (
    IW_AZIMUTH_TIME_INTERVAL,
    steering_doppler_rate,
    strip_reach,
)
from sar.focus.tops.setup import (
    BurstSetup,
    LagSums,
    compressed_columns,
    lag_weights,
    setup_burst,
)
from sar.focus.tops.strip import process_strip
from sar.focus.tops.workspace import RANGE_BLOCK_LINES, FocusWorkspace, RangeWorkspace
from sar.focus.windows import WindowSpec, parse_window
from sar.product.model import Polynomial, SlcImage

ComplexArray = npt.NDArray[np.complex64]
FloatArray = npt.NDArray[np.float64]

DEFAULT_STRIP_WIDTH = 768
MAX_DEFAULT_WORKERS = 4
_MIN_LINES = 64


# --------------------------------------------------------------------------------------
# Range compression
# --------------------------------------------------------------------------------------


def _compress_block(
    raw: RawData, filt: ComplexArray, rc: ComplexArray, first: int, ws: RangeWorkspace,
    sums: LagSums | None, scratch: npt.NDArray[np.float32] | None,
) -> None:  # fmt: skip
    last = min(raw.lines, first + RANGE_BLOCK_LINES)
    buf = ws.rng_buf
    m = last - first
    samples = raw.samples
    buf[:m, :samples] = raw.echoes[first:last]
    buf[:m, samples:] = 0
    if m < buf.shape[0]:
        buf[m:] = 0
    ws.rng_fwd()
    buf *= filt[None, :]
    ws.rng_inv()
    rc[first:last] = buf[:m, : rc.shape[1]]
    if sums is not None and scratch is not None:
        sums.add_block(buf[:m], first, scratch)


# --------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------


class _Queue:
    """Hands out items to worker threads in order (dynamic load balance: a thread that
    is slowed down by other load on the machine simply takes fewer strips)."""

    def __init__(self, items: list[int]) -> None:
        self._items = items
        self._next = 0
        self._lock = threading.Lock()

    def __call__(self) -> int | None:
        with self._lock:
            if self._next >= len(self._items):
                return None
            item = self._items[self._next]
            self._next += 1
            return item


def default_workers() -> int:
    """Threads of :func:`focus_burst` by default: one per core (at most
    :data:`MAX_DEFAULT_WORKERS`). Full-size bursts on the 2-core development machine
    (median of 5, one run): IW1 2 threads 0.536 s wall / 1.00 CPU s, 3 threads 0.541 /
    1.03, 4 threads 0.573 / 1.09; IW2 0.592 / 1.12, 0.602 / 1.15, 0.633 / 1.20 (each
    thread also keeps its own ~17 MB of strip buffers). A third thread paid off only while
    range compression ran at slow FFT lengths."""
    return min(MAX_DEFAULT_WORKERS, os.cpu_count() or 1)


def _run_slots(workers: int, job: Callable[[int], None]) -> None:
    if workers == 1:
        job(0)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(job, w) for w in range(workers)]
        for fut in futures:
            fut.result()


def focus_burst(
    raw: RawData,
    *,
    range_window: WindowSpec | str = "hamming:0.75",
    azimuth_window: WindowSpec | str | None = None,
    output_azimuth_time_interval: float = IW_AZIMUTH_TIME_INTERVAL,
    azimuth_bandwidth: float | None = None,
    doppler_centroid: float | None = None,
    strip_width: int = DEFAULT_STRIP_WIDTH,
    workers: int | None = None,
    bistatic: bool = True,
    timings: dict[str, float] | None = None,
    profile: dict[str, float] | None = None,
    antenna_length: float = AZIMUTH_ANTENNA_LENGTH,
    workspace: FocusWorkspace | None = None,
) -> SlcImage:
    """Focus one IW TOPS burst into an SLC on the common zero-Doppler grid.

    Parameters
    ----------
    raw
        One burst of raw echoes (``azimuth_steering_rate`` in rad/s, > 0).
    range_window
        Range window over the chirp bandwidth (S1 IPF: Hamming 0.75).
    azimuth_window
        Azimuth window over the processed bandwidth; ``None``: Hamming 0.70 for IW1,
        0.75 otherwise (S1 annotation).
    output_azimuth_time_interval
        Output line spacing, s (2.0555563 ms, common to IW1-3); line times are integer
        multiples of it, so bursts of all sub-swaths share one grid.
    azimuth_bandwidth
        Processed Doppler bandwidth, Hz; ``None``: 327/313/314 Hz for IW1/2/3.
    doppler_centroid
        Doppler centroid of the raw echoes at the steering centre, Hz; ``None`` chooses it
        (:func:`sar.focus.tops.setup.choose_raw_doppler`): the lag-one correlation of the
        steering-deramped echoes over every range sample when the scene is distributed and
        consistent across range blocks, else the geometric centroid of total zero-Doppler
        steering.
    strip_width
        Minimum range samples per azimuth strip; the strip is widened by up to a quarter of
        its span to a fast range FFT length
        (:func:`sar.focus.tops.geometry.choose_strip_span`).
    workers
        Threads (strips are processed in parallel); default :func:`default_workers`.
        Each worker keeps ~17 MB of strip buffers for an IW1 burst.
    bistatic
        Tag each echo with the satellite position at the mid-point of its flight time
        (time shift ``tau / 2`` per range, phase of the bistatic range excess).
    timings
        If given, filled with wall-clock seconds of range compression, set-up, azimuth
        processing and total.
    profile
        If given, filled with thread-seconds per step of the strip processing (summed
        over workers).
    antenna_length
        Azimuth aperture whose two-way pattern is divided out of the processed band, m
        (12.3 m for Sentinel-1; 0 disables the compensation).
    workspace
        Buffers and FFT plans reused from earlier calls, and where the output image comes
        from (hand it back with :meth:`FocusWorkspace.recycle` once it is no longer
        needed); ``None``: everything is allocated for this call alone (same result,
        ~0.1-0.3 s of page faults more for a full-size burst).

    Returns
    -------
    SlcImage
        complex64 burst, ``doppler_centroid``/``fm_rate`` polynomials that make the TN
        deramp (:func:`sar.focus.tops.deramp.deramp_burst`) exact, valid lines where the
        whole processed bandwidth was observed, valid samples fully range compressed.

    Raises
    ------
    FocusError
        On inconsistent input (too few lines, non-TOPS data, bad windows or bandwidth).
    """
    t_start = time.perf_counter()
    check_raw(raw)
    if workers is None:
        workers = default_workers()
    workers = max(1, int(workers))
    fs = raw.range_sampling_rate
    n_range = fast_length(raw.samples)
    filt = make_range_filter(raw.chirp, fs, n_range, range_window)
    ws = workspace if workspace is not None else FocusWorkspace()
    columns = compressed_columns(
        raw, strip_width=strip_width, doppler_centroid=doppler_centroid, bistatic=bistatic,
        output_azimuth_time_interval=output_azimuth_time_interval,
    )  # fmt: skip
    rc = ws.take_scratch((raw.lines, columns))
    try:
        return _focus_compressed(
            raw, rc, filt, range_window, azimuth_window, output_azimuth_time_interval,
            azimuth_bandwidth, doppler_centroid, strip_width, workers, bistatic, timings,
            profile, t_start, antenna_length, ws,
        )  # fmt: skip
    finally:
        ws.give_scratch(rc)


def _focus_compressed(
    raw: RawData, rc: ComplexArray, filt: ComplexArray, range_window: WindowSpec | str,
    azimuth_window: WindowSpec | str | None, output_azimuth_time_interval: float,
    azimuth_bandwidth: float | None, doppler_centroid: float | None, strip_width: int,
    workers: int, bistatic: bool, timings: dict[str, float] | None,
    profile: dict[str, float] | None, t_start: float, antenna_length: float,
    workspace: FocusWorkspace,
) -> SlcImage:  # fmt: skip
    samples = raw.samples
    n_range = filt.shape[0]
    blocks = list(range(0, raw.lines, RANGE_BLOCK_LINES))

    next_block = _Queue(blocks)
    slots = min(workers, len(blocks))
    sums: LagSums | None = None
    if doppler_centroid is None:
        weights = lag_weights(raw, steering_doppler_rate(raw)[2])
        sums = LagSums.empty(raw.lines, samples, weights)

    def range_job(slot: int) -> None:
        del slot
        ws = workspace.take_range(n_range)
        scratch = sums.scratch() if sums is not None else None
        try:
            while (first := next_block()) is not None:
                _compress_block(raw, filt, rc, first, ws, sums, scratch)
        finally:
            workspace.give_range(n_range, ws)

    _run_slots(slots, range_job)
    t_range = time.perf_counter()
    setup = setup_burst(
        raw, range_window=range_window, azimuth_window=azimuth_window,
        azimuth_bandwidth=azimuth_bandwidth,
        output_azimuth_time_interval=output_azimuth_time_interval,
        doppler_centroid=doppler_centroid, strip_width=strip_width, bistatic=bistatic,
        lag_sums=sums.total() if sums is not None else None,
        antenna_length=antenna_length,
    )  # fmt: skip
    p = setup.plan
    reach = strip_reach(setup.samples_out, p)
    if reach > rc.shape[1] and rc.shape[1] < samples:
        raise FocusError(
            f"strips read {reach} range-compressed columns, {rc.shape[1]} were kept "
            "(internal error: compressed_columns is not an upper bound)"
        )
    shapes = (p.n_mosaic, p.n_specan, p.strip_span)
    out = workspace.take_output((setup.lines_out, setup.samples_out))
    strips = list(range(0, setup.samples_out, p.strip_width))

    profiles: list[dict[str, float]] = [{} for _ in range(workers)]

    next_strip = _Queue(strips)

    def strip_job(slot: int) -> None:
        ws = workspace.take_strip(shapes)
        prof = profiles[slot] if profile is not None else None
        try:
            while (first_bin := next_strip()) is not None:
                process_strip(setup, rc, out, first_bin, ws, prof)
        finally:
            workspace.give_strip(shapes, ws)

    t_setup = time.perf_counter()
    _run_slots(min(workers, len(strips)), strip_job)
    t_az = time.perf_counter()
    slc = make_product(raw, setup, out, range_window)
    if profile is not None:
        for prof in profiles:
            for name, sec in prof.items():
                profile[name] = profile.get(name, 0.0) + sec
    if timings is not None:
        timings.update(
            range_compression=t_range - t_start, setup=t_setup - t_range,
            azimuth=t_az - t_setup, total=time.perf_counter() - t_start,
        )  # fmt: skip
    return slc


def check_raw(raw: RawData) -> None:
    """Check that ``raw`` is one TOPS burst :func:`focus_burst` can focus.

    Raises
    ------
    FocusError
        Echoes not a 2-D complex64 array, fewer than 64 lines, PRF or sampling rate not
        positive, line times not one per line uniformly spaced at 1 / PRF (within 0.1 %),
        or a steering rate that is not positive.
    """
    echoes = raw.echoes
    if echoes.ndim != 2 or echoes.dtype != np.complex64:
        raise FocusError("raw echoes must be a 2-D complex64 array")
    if raw.lines < _MIN_LINES:
        raise FocusError(f"a TOPS burst needs at least {_MIN_LINES} lines, got {raw.lines}")
    if not raw.prf > 0.0 or not raw.range_sampling_rate > 0.0:
        raise FocusError("PRF and range sampling rate must be positive")
    times = np.asarray(raw.line_times, dtype=np.float64)
    if times.shape != (raw.lines,):
        raise FocusError("one line time per echo line is required")
    dt = np.diff(times)
    if np.any(np.abs(dt * raw.prf - 1.0) > 1e-3):
        raise FocusError("line times must be uniformly spaced at 1 / PRF within a burst")
    if not raw.azimuth_steering_rate > 0.0:
        raise FocusError(
            f"azimuth_steering_rate must be positive for TOPS, got {raw.azimuth_steering_rate}"
        )


def make_product(
    raw: RawData, setup: BurstSetup, image: ComplexArray, range_window: WindowSpec | str
) -> SlcImage:
    """Wrap a focused burst and its TN metadata into an :class:`SlcImage`."""
    g = setup.geometry
    fs = setup.fs
    tau0 = setup.tau0
    tau_last = tau0 + (setup.samples_out - 1) / fs
    tau = np.linspace(tau0, tau_last, 9)
    interval = setup.interval
    centre_time = setup.first_line_time + 0.5 * setup.lines_out * interval
    ka = g.fm_rate(tau)
    fm = fit_polynomial(centre_time, tau, ka, 2)
    # Doppler centroid making the TN phase exact: f_DC(tau) = f_eff(tau) + k_s (D + f0/ka0)
    ka0 = float(fm.evaluate(tau0))
    alpha0 = 1.0 - g.k_s / ka0
    dd = centre_time - g.t_mid
    f_eff0 = float(setup.doppler_effective(tau0))
    f_dc0 = (f_eff0 + g.k_s * dd) / alpha0
    slope = -0.5 * g.k_s if setup.bistatic else 0.0
    dc = Polynomial(azimuth_time=centre_time, t0=tau0, coefficients=(f_dc0, slope))
    valid = setup.valid_lines
    halo = setup.plan.range_halo_right
    rng_spec = parse_window(range_window)
    metadata: dict[str, str | int | float] = {
        "processor": "eoport sar.focus.tops",
        "tops_steering_doppler_rate": g.k_s,
        "tops_raw_doppler_centroid": setup.doppler_raw,
        "tops_steering_centre_time": g.t_mid,
        "tops_mosaic_length": setup.plan.n_mosaic,
        "tops_specan_length": setup.plan.n_specan,
        "bistatic_correction": int(setup.bistatic),
    }
    if setup.doppler is not None:
        d = setup.doppler
        metadata.update(
            tops_doppler_source=d.source, tops_data_doppler_centroid=d.data,
            tops_data_doppler_rms=d.rms, tops_data_doppler_coverage=d.coverage,
            tops_geometric_doppler_centroid=d.geometry,
        )  # fmt: skip
    metadata.update(raw.extra)
    return SlcImage(
        image=image, first_line_time=setup.first_line_time, azimuth_time_interval=interval,
        slant_range_time=tau0, range_sampling_rate=fs, radar_frequency=setup.f0,
        range_bandwidth=raw.chirp.bandwidth, azimuth_bandwidth=setup.bandwidth,
        range_window=rng_spec.label, azimuth_window=setup.window.label, mode=raw.mode,
        swath=raw.swath, polarisation=raw.polarisation, orbit=raw.orbit,
        doppler_centroid=(dc,), fm_rate=(fm,), azimuth_steering_rate=raw.azimuth_steering_rate,
        burst_id=raw.burst_id, data_take_id=raw.data_take_id, valid_lines=valid,
        valid_samples=(0, max(0, setup.samples_out - halo)), metadata=metadata,
        missing=missing_record(raw),
    )  # fmt: skip
