"""Reusable 1-D FFT plans along one axis of complex64 blocks (pyFFTW, scipy fallback).

Plans are created once per (shape, strides, axis, direction, in/out-of-place) and reused
on every later block of the same geometry: focusing a stream of equally sized blocks
pays the planning cost once. Transforms are unnormalised in both directions (FFTW
convention): ``inverse(forward(x)) = n * x``; the focusing filters fold the ``1 / n``.

The planner effort and the thread count (``os.cpu_count()`` by default) are module
settings, see :func:`configure_fft`. The default effort is ``FFTW_ESTIMATE``: planning is
instant, whereas ``FFTW_MEASURE`` spends seconds (tens of seconds for a 1500 x 20000
block) per new shape but runs the strided azimuth transforms about 2x faster; use it
(with :func:`export_wisdom` / :func:`import_wisdom`) when block shapes repeat. Without
pyFFTW the same functions call ``scipy.fft`` with ``workers`` threads.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import numpy as np
import numpy.typing as npt

from sar.errors import FocusError

try:  # pragma: no cover - exercised where pyfftw is installed
    import pyfftw

    HAVE_PYFFTW = True
except ImportError:  # pragma: no cover
    pyfftw = None
    HAVE_PYFFTW = False

ComplexArray = npt.NDArray[np.complex64]

_PLANNER_EFFORTS = ("FFTW_ESTIMATE", "FFTW_MEASURE", "FFTW_PATIENT", "FFTW_EXHAUSTIVE")
_settings: dict[str, Any] = {"threads": os.cpu_count() or 1, "effort": "FFTW_ESTIMATE"}
_plans: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()


def configure_fft(*, threads: int | None = None, effort: str | None = None) -> None:
    """Set the FFT thread count and the FFTW planner effort for plans created from now on.

    Parameters
    ----------
    threads
        Threads per transform (>= 1).
    effort
        ``"FFTW_ESTIMATE"``, ``"FFTW_MEASURE"``, ``"FFTW_PATIENT"`` or
        ``"FFTW_EXHAUSTIVE"``.
    """
    if threads is not None:
        if threads < 1:
            raise FocusError(f"FFT threads must be >= 1, got {threads}")
        _settings["threads"] = int(threads)
    if effort is not None:
        if effort not in _PLANNER_EFFORTS:
            raise FocusError(f"unknown FFTW planner effort {effort!r}")
        _settings["effort"] = effort
    clear_plan_cache()


def export_wisdom() -> tuple[bytes, ...]:
    """FFTW wisdom accumulated by the plans made so far (empty without pyFFTW)."""
    if not HAVE_PYFFTW:
        return ()
    return tuple(pyfftw.export_wisdom())


def import_wisdom(wisdom: tuple[bytes, ...]) -> bool:
    """Load FFTW wisdom saved by :func:`export_wisdom`; True if all of it was accepted."""
    if not HAVE_PYFFTW or not wisdom:
        return False
    return bool(all(pyfftw.import_wisdom(wisdom)))


_WISDOM_MAGIC = b"EOPORT-FFTW-WISDOM-1\n"


def save_wisdom(path: str | os.PathLike[str]) -> int:
    """Write the FFTW wisdom gathered so far to ``path`` (atomically); returns its size.

    Wisdom records the plans FFTW measured on this machine, so that a later process
    (:func:`load_wisdom`) creates ``FFTW_MEASURE``/``FFTW_PATIENT`` plans of the same
    shapes instantly. Without pyFFTW nothing is written and 0 is returned.
    """
    blob = wisdom_bytes()
    if not blob:
        return 0
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    os.makedirs(directory, exist_ok=True)
    tmp = f"{target}.{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(blob)
    os.replace(tmp, target)
    return len(blob)


def load_wisdom(path: str | os.PathLike[str]) -> bool:
    """Load FFTW wisdom written by :func:`save_wisdom`.

    Returns
    -------
    bool
        True if the file existed and FFTW accepted it; False if it does not exist or
        pyFFTW is missing.

    Raises
    ------
    FocusError
        If the file is not a wisdom file of this format.
    """
    try:
        with open(os.fspath(path), "rb") as fh:
            blob = fh.read()
    except FileNotFoundError:
        return False
    return import_wisdom_bytes(blob, os.fspath(path))


def wisdom_bytes() -> bytes:
    """The wisdom gathered so far in eoport's wisdom format (empty without plans): a magic
    line, then each FFTW wisdom part (double, single, long double) length-prefixed."""
    wisdom = export_wisdom()
    if not wisdom:
        return b""
    return _WISDOM_MAGIC + b"".join(len(w).to_bytes(8, "little") + w for w in wisdom)


def import_wisdom_bytes(blob: bytes, name: str = "wisdom") -> bool:
    """Load wisdom in the format of :func:`wisdom_bytes`; True if FFTW accepted it all.

    Raises
    ------
    FocusError
        If ``blob`` (called ``name`` in the message) is not wisdom of this format.
    """
    if not blob.startswith(_WISDOM_MAGIC):
        raise FocusError(f"{name} is not an eoport FFTW wisdom file")
    parts: list[bytes] = []
    pos = len(_WISDOM_MAGIC)
    while pos < len(blob):
        if pos + 8 > len(blob):
            raise FocusError(f"truncated FFTW wisdom file {name}")
        n = int.from_bytes(blob[pos : pos + 8], "little")
        pos += 8
        if pos + n > len(blob):
            raise FocusError(f"truncated FFTW wisdom file {name}")
        parts.append(blob[pos : pos + n])
        pos += n
    return import_wisdom(tuple(parts))


class WisdomFile:
    """An FFTW wisdom file kept in step with this process's plans (long-running workers).

    :meth:`load` at start; :meth:`save_if_changed` after work that may have created new
    plans writes the file only when the wisdom grew, so a restarted or newly scaled
    worker of the same machine type plans instantly.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._saved: tuple[bytes, ...] = ()

    def load(self) -> bool:
        """Load the file if it exists (see :func:`load_wisdom`)."""
        ok = load_wisdom(self.path)
        self._saved = export_wisdom()
        return ok

    def save_if_changed(self) -> bool:
        """Save when plans were added since the last load or save; True if written."""
        current = export_wisdom()
        if not current or current == self._saved:
            return False
        save_wisdom(self.path)
        self._saved = current
        return True


def plan_effort(minimum: str = "FFTW_MEASURE") -> str:
    """The planner effort for reusable workspace plans: the module setting, at least
    ``minimum`` (workspace plans are small and live for many bursts)."""
    effort = str(_settings["effort"])
    if _PLANNER_EFFORTS.index(effort) < _PLANNER_EFFORTS.index(minimum):
        return minimum
    return effort


def fft_effort_setting() -> str:
    """FFTW planner effort used for new plans."""
    return str(_settings["effort"])


def fft_threads() -> int:
    """Threads used by the transforms."""
    return int(_settings["threads"])


def clear_plan_cache() -> None:
    """Forget every cached plan (their memory is released with them)."""
    with _lock:
        _plans.clear()


def empty_block(lines: int, samples: int) -> ComplexArray:
    """Allocate a SIMD-aligned, C-contiguous complex64 block (contents undefined)."""
    if HAVE_PYFFTW:
        out: ComplexArray = pyfftw.empty_aligned((lines, samples), dtype=np.complex64)
        return out
    return np.empty((lines, samples), dtype=np.complex64)


def is_aligned(a: npt.NDArray[Any]) -> bool:
    """True when ``a`` satisfies the SIMD alignment FFTW plans were made for."""
    if not HAVE_PYFFTW:
        return True
    return bool(pyfftw.is_byte_aligned(a, pyfftw.simd_alignment))


def _get_plan(src: ComplexArray, dst: ComplexArray, axis: int, forward: bool) -> Any:
    inplace = src is dst or (
        src.__array_interface__["data"][0] == dst.__array_interface__["data"][0]
    )
    unaligned = not (is_aligned(src) and is_aligned(dst))
    key = (
        src.shape,
        src.strides,
        dst.strides,
        axis,
        forward,
        inplace,
        unaligned,
        _settings["threads"],
        _settings["effort"],
    )
    with _lock:
        plan = _plans.get(key)
        if plan is None:
            # Plan on scratch arrays: FFTW_MEASURE overwrites its arrays while planning.
            a = pyfftw.empty_aligned(src.shape, dtype=np.complex64)
            b = a if inplace else pyfftw.empty_aligned(dst.shape, dtype=np.complex64)
            # In place the input is the output anyway; out of place the input is kept.
            flags: tuple[str, ...] = (_settings["effort"],)
            flags += ("FFTW_DESTROY_INPUT",) if inplace else ()
            flags += ("FFTW_UNALIGNED",) if unaligned else ()
            plan = pyfftw.FFTW(
                a,
                b,
                axes=(axis,),
                direction="FFTW_FORWARD" if forward else "FFTW_BACKWARD",
                flags=flags,
                threads=int(_settings["threads"]),
            )
            _plans[key] = plan
    return plan


def _check(a: ComplexArray, axis: int) -> None:
    if a.dtype != np.complex64 or a.ndim != 2 or not a.flags.c_contiguous:
        raise FocusError("FFT blocks must be 2-D C-contiguous complex64 arrays")
    if axis not in (0, 1):
        raise FocusError(f"FFT axis must be 0 or 1, got {axis}")


def transform(
    src: ComplexArray, axis: int, *, forward: bool, out: ComplexArray | None = None
) -> ComplexArray:
    """Unnormalised 1-D FFT of every line (axis 1) or column (axis 0) of a block.

    Parameters
    ----------
    src
        complex64 [lines, samples], C-contiguous.
    axis
        0 (azimuth, along columns) or 1 (range, along lines).
    forward
        True: ``exp(-2j pi k n / N)``; False: ``exp(+2j pi k n / N)`` without ``1/N``.
    out
        Destination of the same shape; ``None`` or ``src`` transforms in place. An
        out-of-place transform leaves ``src`` unchanged (any alignment is accepted: the
        plan is made ``FFTW_UNALIGNED`` when needed).

    Returns
    -------
    numpy.ndarray
        ``out`` (or ``src`` when in place).
    """
    _check(src, axis)
    dst = src if out is None else out
    if dst is not src:
        _check(dst, axis)
        if dst.shape != src.shape:
            raise FocusError("FFT output shape differs from input shape")
    if HAVE_PYFFTW:
        plan = _get_plan(src, dst, axis, forward)
        plan.update_arrays(src, dst)
        plan.execute()
        return dst
    import scipy.fft

    func = scipy.fft.fft if forward else scipy.fft.ifft
    # norm="forward" puts 1/n on the forward transform, so the inverse is unscaled.
    res = func(src, axis=axis, workers=fft_threads(), norm="forward" if not forward else None)
    dst[...] = res
    return dst


def fft_floor_seconds(lines: int, samples: int, repeats: int = 3) -> float:
    """Time of the four FFT passes of focusing on one block: range and azimuth, both ways.

    Parameters
    ----------
    lines, samples
        Block shape.
    repeats
        Timed repetitions (after one untimed warm-up that creates the plans).

    Returns
    -------
    float
        Median seconds of forward+inverse range and azimuth passes, in place.
    """
    block = empty_block(lines, samples)
    rng = np.random.default_rng(0)
    block.real = rng.standard_normal((lines, samples), dtype=np.float32)
    block.imag = 0.0
    times = []
    for k in range(repeats + 1):
        t0 = time.perf_counter()
        for axis in (1, 0):
            transform(block, axis, forward=True)
            transform(block, axis, forward=False)
        if k:
            times.append(time.perf_counter() - t0)
        block *= np.float32(1.0 / (lines * samples))
    return float(np.median(times))
