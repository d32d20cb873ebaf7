"""A focusing worker ready before its first burst: FFT plans loaded or made, kernels
compiled.

A fresh worker pays, on the first burst of each shape, for the FFTW plans of its
workspaces (``FFTW_MEASURE``: seconds; ``FFTW_PATIENT`` without wisdom: a minute or more)
and for loading its compiled numba kernels. A worker scaled up during a pass must not
pay that on a real burst: :func:`warm_up` focuses one synthetic burst per IW sub-swath,
of the nominal full-size shape (the simulator's geometry, random echoes: the content
does not change the cost), before the worker takes jobs, and :class:`SharedWisdom` keeps
the FFTW wisdom where every worker finds it — a file on a shared volume or an object in
the object store — so that planning is instant for every worker after the first.
Readiness (``/readyz``) follows: the worker subscribes only after the warm-up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np

from sar.errors import FocusError
from sar.focus.fft import export_wisdom, import_wisdom_bytes, wisdom_bytes
from sar.focus.model import RawData
from sar.focus.tops import FocusWorkspace, focus_burst
from sar.product.geogrid import footprint_geojson
from sar.sim.acquisition import plan_acquisition
from streams._infra.errors import ObjectNotFoundError, RetryableError
from streams._infra.objectstore import ObjectStore
from streams.catalogue.sarparams import sar_parameters_of

log = logging.getLogger(__name__)

WARM_UP_CENTER = (45.0, 10.0)
"""Scene centre of the synthetic warm-up bursts (any land point gives the same shapes)."""

def nominal_bursts(
    swaths: Sequence[str] = ("IW1", "IW2", "IW3"), n_samples: int | None = None, seed: int = 0
) -> list[RawData]:
    """One synthetic raw burst per IW sub-swath, at the simulator's nominal shape
    (``n_samples=None``: the full echo window, ~21,000-25,000 samples)."""
    acq = plan_acquisition("IW", WARM_UP_CENTER, 2.8, n_samples=n_samples)
    rng = np.random.default_rng(seed)
    out: list[RawData] = []
    for burst in acq.bursts:
        sw = burst.swath
        if sw.name not in swaths or any(r.swath == sw.name for r in out):
            continue
        win = acq.windows[sw.name]
        shape = (burst.n_lines, win.n_samples)
        echoes = np.empty(shape, dtype=np.complex64)
        echoes.real = rng.standard_normal(shape, dtype=np.float32)
        echoes.imag = rng.standard_normal(shape, dtype=np.float32)
        out.append(RawData(
            echoes=echoes, line_times=burst.line_times, slant_range_time=win.slant_range_time,
            range_sampling_rate=sw.sampling_rate, prf=sw.prf, chirp=sw.chirp,
            orbit=acq.placed.orbit, mode="IW", swath=sw.name,
            azimuth_steering_rate=sw.azimuth_steering_rate,
        ))  # fmt: skip
    return out


def warm_up(
    swaths: Sequence[str] = ("IW1", "IW2", "IW3"),
    n_samples: int | None = None,
    *,
    workspace: FocusWorkspace | None = None,
) -> dict[str, float]:
    """Focus one synthetic burst per sub-swath and derive its product's footprint and SAR
    figures; return the seconds each took (the first
    includes loading the compiled kernels, each includes planning its FFTs unless the
    wisdom already held them).

    Parameters
    ----------
    swaths
        Sub-swaths to warm up, one burst each.
    n_samples
        Range samples of the bursts (``None``: the full echo window).
    workspace
        The workspace the worker will focus with: it keeps the strip buffers, FFT plans
        and (recycled) output bursts of the shapes warmed up, so the first real burst
        finds them ready. ``None``: a temporary one (only the FFTW wisdom of this process
        and the compiled kernels stay warm).
    """
    ws = workspace if workspace is not None else FocusWorkspace()
    seconds: dict[str, float] = {}
    for raw in nominal_bursts(swaths, n_samples):
        t0 = time.perf_counter()
        slc = focus_burst(raw, workspace=ws)
        # what the worker computes for each product (the window theory behind the SAR
        # figures takes ~0.7 s once per window: not on the first real burst's path)
        footprint_geojson(slc)
        sar_parameters_of(slc)
        seconds[raw.swath] = time.perf_counter() - t0
        ws.recycle(slc.image)
        log.info("warm-up %s %s: %.2f s", raw.swath, raw.echoes.shape, seconds[raw.swath])
    return seconds


class SharedWisdom:
    """FFTW wisdom shared by the workers: a local path (a shared volume) or an object
    URL (``s3://...``) in the object store.

    :meth:`load` at start (missing: nothing to import); :meth:`save_if_changed` after
    work that may have made new plans writes it back only when this process's wisdom
    grew. Writes are whole-object replacements (atomic); two workers saving at once
    leave one complete version, and FFTW merges what it imports.

    Parameters
    ----------
    url
        Where the wisdom lives.
    store
        Object store resolving the URL.
    """

    def __init__(self, url: str, store: ObjectStore) -> None:
        self.url = url
        self.store = store
        self._saved: tuple[bytes, ...] = ()

    def load(self) -> bool:
        """Import the shared wisdom; ``False`` when there is none (or it is unreadable)."""
        try:
            blob = self.store.get_bytes(self.url)
        except ObjectNotFoundError:
            self._saved = ()  # nothing shared yet: the plans this process has are worth it
            return False
        except RetryableError as exc:
            log.warning("FFTW wisdom at %s not readable now (%s); planning afresh", self.url, exc)
            return False
        try:
            ok = import_wisdom_bytes(blob, self.url)
        except FocusError as exc:
            log.warning("%s", exc)
            ok = False
        if not ok:
            log.warning("FFTW wisdom at %s is not usable here; planning afresh", self.url)
        self._saved = export_wisdom() if ok else ()  # an unusable one gets replaced
        return ok

    def save_if_changed(self) -> bool:
        """Write the wisdom back when plans were added since the last load or save."""
        current = export_wisdom()
        if not current or current == self._saved:
            return False
        self.store.put_bytes(self.url, wisdom_bytes())
        self._saved = current
        return True
