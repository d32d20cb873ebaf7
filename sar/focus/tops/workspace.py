"""Reusable memory of IW TOPS burst focusing: output and scratch bursts, FFT workspaces.

Focusing one full-size IW burst (:func:`sar.focus.tops.burst.focus_burst`) needs the
range-compressed burst (raw lines x samples, complex64: ~0.3 GB for 1,500 x 25,000), the
output burst (about the same), and per worker thread a line block with its range FFT
plans and the strip buffers with their azimuth and range FFTW plans (~17 MB for IW1).
Allocating them afresh for every burst costs page faults (0.1-0.3 s per 1,500 x 25,000
complex64 output on the development machine) and plan look-ups. A
:class:`FocusWorkspace` keeps them from one call to the next: a caller that focuses many
bursts (the streaming worker, its warm-up, benchmarks) creates one, passes it to every
call and, once a product is written, hands the image back with
:meth:`FocusWorkspace.recycle` so that the next burst is focused into the same memory.
Without a workspace, :func:`~sar.focus.tops.burst.focus_burst` allocates everything for
the call alone. Reuse never changes the result: every sample of a reused buffer is
overwritten.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np
import numpy.typing as npt

from sar.focus.fft import empty_block, plan_effort
from sar.focus.tops.setup import LAG_BLOCK_LINES
from sar.focus.tops.strip import StripWorkspace, plan_fft

ComplexArray = npt.NDArray[np.complex64]

RANGE_BLOCK_LINES = LAG_BLOCK_LINES
"""Raw lines per range-compression block (one :class:`RangeWorkspace` buffer)."""

MAX_BURST_BUFFERS = 2
"""Output (and range-compressed scratch) bursts kept by a workspace."""

MAX_THREAD_WORKSPACES = 8
"""Range and strip workspaces kept per shape (one per worker thread)."""

MAX_SHAPES = 4
"""Shapes whose range and strip workspaces are kept at once (IW1-IW3 and one more)."""


class BufferPool:
    """Large complex64 buffers reused from burst to burst (no page faults of fresh
    ~200 MB allocations).

    A request gets a free buffer of exactly its shape, else the smallest free one that is
    large enough (as a C-contiguous view of its first elements), else a new buffer. At
    most ``max_buffers`` are kept, the smallest dropped first, so with bursts of several
    sizes in turn (IW1, IW2, IW3) the pool settles on buffers that fit all of them. Only
    buffers this pool allocated are taken back.

    Parameters
    ----------
    max_buffers
        Free buffers kept at most.
    lock
        Lock guarding the pool (shared with the other pools of one workspace).
    """

    def __init__(self, max_buffers: int, lock: threading.Lock) -> None:
        self.max_buffers = max_buffers
        self._lock = lock
        self._free: list[ComplexArray] = []
        self._issued: weakref.WeakValueDictionary[int, ComplexArray] = (
            weakref.WeakValueDictionary()
        )

    def take(self, shape: tuple[int, int]) -> ComplexArray:
        """A C-contiguous complex64 buffer of ``shape`` (contents undefined)."""
        n = shape[0] * shape[1]
        with self._lock:
            fits = [b for b in self._free if b.size >= n]
            if fits:
                exact = [b for b in fits if b.shape == shape]
                buf = exact[0] if exact else min(fits, key=lambda b: b.size)
                self._drop(buf)
                return buf if buf.shape == shape else buf.reshape(-1)[:n].reshape(shape)
        buf = np.empty(shape, dtype=np.complex64)
        with self._lock:
            self._issued[id(buf)] = buf
        return buf

    def give(self, array: ComplexArray) -> None:
        """Take back ``array`` (a buffer from :meth:`take`); anything else is ignored."""
        if array.dtype != np.complex64 or array.ndim != 2 or not array.flags.c_contiguous:
            return
        owner = array if array.base is None else array.base
        if not isinstance(owner, np.ndarray) or owner.ctypes.data != array.ctypes.data:
            return
        with self._lock:
            if self._issued.get(id(owner)) is not owner:
                return
            if any(b is owner for b in self._free):
                return
            self._free.append(owner)
            if len(self._free) > self.max_buffers:
                self._drop(min(self._free, key=lambda b: b.size))

    def _drop(self, buf: ComplexArray) -> None:
        self._free = [b for b in self._free if b is not buf]

    def clear(self) -> None:
        """Drop the free buffers."""
        with self._lock:
            self._free.clear()


class RangeWorkspace:
    """Line-block buffer and range FFT plans of one worker thread.

    Parameters
    ----------
    samples
        Range FFT length (raw samples per line padded to a fast length); the buffer is
        C-contiguous (row transforms need no stride padding).
    """

    def __init__(self, samples: int) -> None:
        self.rng_buf = empty_block(RANGE_BLOCK_LINES, samples)
        self.rng_fwd = plan_fft(self.rng_buf, 1, forward=True)
        self.rng_inv = plan_fft(self.rng_buf, 1, forward=False)


StripKey = tuple[int | str, ...]
"""(N', N'', strip span, FFTW planner effort) of a strip workspace."""


class FocusWorkspace:
    """Buffers and FFT plans that :func:`~sar.focus.tops.burst.focus_burst` reuses from
    one burst to the next.

    Holds the output bursts handed back with :meth:`recycle`, the range-compressed scratch
    bursts, and per worker thread the range-compression line blocks and the strip buffers
    with their FFTW plans. Safe to share between threads, and between concurrent
    :func:`~sar.focus.tops.burst.focus_burst` calls (each thread checks out its own
    buffers); one workspace per long-running worker is the intended use.

    Parameters
    ----------
    max_buffers
        Output bursts (and, separately, scratch bursts) kept at most; the smallest go
        first, so with IW1-IW3 in turn the kept buffers fit all three.

    Examples
    --------
    >>> workspace = FocusWorkspace()
    >>> for raw in bursts:  # doctest: +SKIP
    ...     slc = focus_burst(raw, workspace=workspace)
    ...     write_slc(path, slc)
    ...     workspace.recycle(slc.image)
    """

    def __init__(self, *, max_buffers: int = MAX_BURST_BUFFERS) -> None:
        self._lock = threading.Lock()
        self._outputs = BufferPool(max_buffers, self._lock)
        self._scratch = BufferPool(max_buffers, self._lock)
        self._range: dict[int, list[RangeWorkspace]] = {}
        self._strips: dict[StripKey, list[StripWorkspace]] = {}

    # -- output bursts ------------------------------------------------------------------

    def take_output(self, shape: tuple[int, int]) -> ComplexArray:
        """An output burst of ``shape`` (lines, samples): a recycled one if it fits."""
        return self._outputs.take(shape)

    def recycle(self, image: ComplexArray) -> None:
        """Hand a focused burst's image back for reuse by a later
        :func:`~sar.focus.tops.burst.focus_burst` call with this workspace.

        A long-running worker calls this after it has written the product: the next burst
        is focused into the same memory (a buffer of its shape, or a view of a larger
        one), without the page faults of a fresh ~200 MB allocation (up to 0.4 s on the
        development machine). The caller must not touch ``image`` afterwards. Arrays that
        this workspace did not allocate, or that are not C-contiguous, are ignored;
        recycling the same image twice keeps it once.
        """
        self._outputs.give(image)

    # -- range-compressed scratch bursts --------------------------------------------------

    def take_scratch(self, shape: tuple[int, int]) -> ComplexArray:
        """A range-compressed scratch burst of ``shape`` (raw lines, samples)."""
        return self._scratch.take(shape)

    def give_scratch(self, array: ComplexArray) -> None:
        """Return a buffer from :meth:`take_scratch`."""
        self._scratch.give(array)

    # -- per-thread FFT workspaces --------------------------------------------------------

    def take_range(self, samples: int) -> RangeWorkspace:
        """Check out a range-compression workspace for range FFTs of ``samples`` (reused, or
        created with new plans); exclusive to the caller until :meth:`give_range`."""
        with self._lock:
            pool = self._range.get(samples)
            if pool:
                return pool.pop()
            if samples not in self._range and len(self._range) >= MAX_SHAPES:
                self._range.clear()
        return RangeWorkspace(samples)

    def give_range(self, samples: int, ws: RangeWorkspace) -> None:
        """Return a workspace taken with :meth:`take_range`."""
        with self._lock:
            pool = self._range.setdefault(samples, [])
            if len(pool) < MAX_THREAD_WORKSPACES:
                pool.append(ws)

    def take_strip(self, shapes: tuple[int, int, int]) -> StripWorkspace:
        """Check out a strip workspace for ``shapes`` = (N', N'', strip span) (reused, or
        created with new plans at the current planner effort); exclusive to the caller
        until :meth:`give_strip`."""
        key: StripKey = (*shapes, plan_effort())
        with self._lock:
            pool = self._strips.get(key)
            if pool:
                return pool.pop()
            if key not in self._strips and len(self._strips) >= MAX_SHAPES:
                self._strips.clear()
        return StripWorkspace(shapes)

    def give_strip(self, shapes: tuple[int, int, int], ws: StripWorkspace) -> None:
        """Return a workspace taken with :meth:`take_strip`."""
        with self._lock:
            pool = self._strips.setdefault((*shapes, plan_effort()), [])
            if len(pool) < MAX_THREAD_WORKSPACES:
                pool.append(ws)

    def clear(self) -> None:
        """Drop every cached buffer (output and scratch bursts, range and strip
        workspaces) and their FFT plans; images already handed out stay valid."""
        self._outputs.clear()
        self._scratch.clear()
        with self._lock:
            self._range.clear()
            self._strips.clear()
