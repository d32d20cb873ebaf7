"""Focus a whole Level-0 file: decode its space packets and focus every product in it.

The file-level entry point of :mod:`sar.focus`: :func:`focus_file` decodes the packets
(:func:`sar.l0.packets.decode_packets`) and hands them to
:func:`sar.process.focus_packets`, which rebuilds the orbit from the ancillary data and
focuses each stripmap swath/polarisation or IW TOPS burst.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sar.focus.tops.workspace import FocusWorkspace
    from sar.process import FocusedProduct


def focus_file(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview,
    *,
    range_window: str = "hamming:0.75",
    azimuth_window: str | None = None,
    block_lines: int | None = None,
    relative_orbit: int | None = None,
    strict: bool = True,
    workspace: FocusWorkspace | None = None,
    name: str | None = None,
) -> Iterator[FocusedProduct]:
    """Decode a Level-0 file and focus every swath and polarisation (and burst for IW).

    The packets are decoded now; the products are focused one at a time as the returned
    iterator is consumed (an IW pass holds dozens of ~0.3 GB bursts).

    Parameters
    ----------
    source
        Path of a Level-0 file (raw space-packet stream, e.g. the ``.dat`` of a SAFE
        product), or its content.
    range_window, azimuth_window
        Window specifications (``"hamming:0.75"``, ``"kaiser:2.5"``, ``"none"``);
        ``azimuth_window=None`` takes the IPF default of each swath.
    block_lines
        Stripmap azimuth block size in lines (``None``: whole data-take in one block).
    relative_orbit
        Track number (1-175) for ESA burst IDs of IW bursts; ``None`` labels bursts
        ``t000_...``.
    strict
        Raise on the first corrupt packet; otherwise skip corrupt bytes
        (:func:`sar.l0.packets.decode_packets`).
    workspace
        Reused buffers and FFT plans of TOPS focusing (``None``: one for this file).
    name
        How error messages name the input (default: its path, or "the input").

    Returns
    -------
    Iterator[FocusedProduct]
        In swath, polarisation (and burst) order (:func:`sar.process.focus_packets`).

    Raises
    ------
    OSError
        The file cannot be read.
    Level0Error
        No valid space packet in the input, or (``strict``) a corrupt packet.
    FocusError
        No echo packets, or data that cannot be focused (raised while iterating).
    """
    from sar.errors import Level0Error
    from sar.l0.packets import decode_packets
    from sar.process import focus_packets

    if isinstance(source, bytes | bytearray | memoryview):
        data, name = source, name or "the input"
    else:
        data, name = Path(source).read_bytes(), name or os.fspath(source)
    packets = decode_packets(data, strict=strict)
    if len(packets.headers) == 0:
        raise Level0Error(f"not a Level-0 file: no valid space packet found in {name}", 0)
    return focus_packets(
        packets, range_window=range_window, azimuth_window=azimuth_window,
        block_lines=block_lines, relative_orbit=relative_orbit, workspace=workspace,
    )  # fmt: skip
