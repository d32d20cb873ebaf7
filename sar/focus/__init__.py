"""Focusing of Sentinel-1 raw echoes into single-look complex (SLC) images.

Entry points
------------
:func:`focus_burst`
    One IW TOPS burst onto the common zero-Doppler grid of IW1-IW3 (:mod:`sar.focus.tops`).
:func:`focus_stripmap`
    A stripmap data-take, range-Doppler algorithm with RCMC (:mod:`sar.focus.rda`).
:func:`focus_file`
    Every product of a Level-0 file: decode, orbit from the ancillary data, focus each
    swath/polarisation or burst (:mod:`sar.focus.level0`, :func:`sar.process.focus_packets`).
:class:`FocusWorkspace`
    Buffers and FFT plans that :func:`focus_burst` reuses when a caller focuses many
    bursts (:mod:`sar.focus.tops.workspace`).

Raw input is :class:`sar.focus.model.RawData` (built from decoded packets by
:mod:`sar.focus.raw`); output is :class:`sar.product.model.SlcImage`. The entry points
are loaded on first use, so importing a light submodule (``sar.focus.model``) does not
load the focusing kernels.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sar.focus.level0 import focus_file
    from sar.focus.rda import focus_stripmap
    from sar.focus.tops import FocusWorkspace, focus_burst

__all__ = ["FocusWorkspace", "focus_burst", "focus_file", "focus_stripmap"]

_SOURCES = {
    "FocusWorkspace": "sar.focus.tops",
    "focus_burst": "sar.focus.tops",
    "focus_file": "sar.focus.level0",
    "focus_stripmap": "sar.focus.rda",
}


def __getattr__(name: str) -> Any:
    """Load an entry point from its module on first access (PEP 562)."""
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(source), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
