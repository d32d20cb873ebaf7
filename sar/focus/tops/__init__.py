"""IW TOPS burst focusing: raw echoes of one burst to an SLC on the common zero-Doppler grid.

Entry points
------------
:func:`focus_burst`
    Focus one burst (:mod:`.burst`: the algorithm, after the TOPS burst model of
    ``docs/tops.md`` and Prats et al., TGRS 48(2), 2010).
:class:`FocusWorkspace`
    Buffers and FFT plans reused from burst to burst by a caller that focuses many
    (:mod:`.workspace`).
:func:`deramp_burst`, :func:`reramp_burst`, :func:`tops_phase`
    The TN deramping function of a focused burst (:mod:`.deramp`).

Inside: :mod:`.geometry` (burst geometry, transform sizes), :mod:`.setup` (output grid,
Doppler centroid), :mod:`.spectrum` (exact azimuth spectrum phase), :mod:`.strip`
(azimuth processing of one range strip), :mod:`.kernels` (numba kernels).
"""

from sar.focus.tops.burst import DEFAULT_STRIP_WIDTH, default_workers, focus_burst
from sar.focus.tops.deramp import deramp_burst, reramp_burst, tops_phase
from sar.focus.tops.geometry import IW_AZIMUTH_TIME_INTERVAL
from sar.focus.tops.workspace import FocusWorkspace

__all__ = [
    "DEFAULT_STRIP_WIDTH",
    "IW_AZIMUTH_TIME_INTERVAL",
    "FocusWorkspace",
    "default_workers",
    "deramp_burst",
    "focus_burst",
    "reramp_burst",
    "tops_phase",
]
