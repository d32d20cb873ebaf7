"""Grouping echo packets into bursts (IW/EW TOPS data-takes).

A burst is a run of echo packets of one swath and one polarisation whose PRI counts
(S1-IF-ASD-PL-0007 section 3.2.4.2) follow each other and whose azimuth beam address
(section 3.2.5.13, TOPS steering) does not restart. Swaths interleave in time, and in
dual polarisation the two receive channels share every PRI, so a burst's packets are
picked from the stream by swath and polarisation between ``start`` and ``stop``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from sar.l0.enums import SignalType
from sar.l0.fields import HeaderArray


class Burst(NamedTuple):
    """One burst.

    Attributes
    ----------
    swath_number, polarisation
        Header codes shared by the burst's packets.
    start, stop
        Index range in the header array (``stop`` exclusive); the burst's packets are the
        echo packets of this swath and polarisation inside it (:func:`burst_indices`).
    """

    swath_number: int
    polarisation: int
    start: int
    stop: int


def _runs(
    index: npt.NDArray[np.int64], pri_count: npt.NDArray[np.int64], beam: npt.NDArray[np.int64]
) -> list[tuple[int, int]]:
    """Split one (swath, polarisation) series into runs of consecutive PRIs."""
    breaks = (np.diff(pri_count) != 1) | (np.diff(beam) < 0)
    cuts = np.concatenate([[0], np.flatnonzero(breaks) + 1, [index.size]])
    return [
        (int(index[a]), int(index[b - 1]) + 1) for a, b in zip(cuts[:-1], cuts[1:], strict=True)
    ]


def split_bursts(headers: HeaderArray, min_packets: int = 1) -> list[Burst]:
    """Split the echo packets into bursts, in order of their first packet.

    Parameters
    ----------
    headers
        Decoded header records in stream order.
    min_packets
        Drop bursts with fewer packets (partial bursts at data-take edges).

    Returns
    -------
    list of Burst
    """
    echo = np.flatnonzero(headers["signal_type"] == SignalType.ECHO)
    sub = headers[echo]
    out: list[Burst] = []
    keys = np.unique(np.stack([sub["swath_number"], sub["polarisation"]], axis=1), axis=0)
    for swath, pol in keys:
        sel = (sub["swath_number"] == swath) & (sub["polarisation"] == pol)
        members = echo[sel]
        runs = _runs(
            members.astype(np.int64),
            sub["pri_count"][sel].astype(np.int64),
            sub["azimuth_beam_address"][sel].astype(np.int64),
        )
        for start, stop in runs:
            count = int(np.count_nonzero((members >= start) & (members < stop)))
            if count >= min_packets:
                out.append(Burst(int(swath), int(pol), start, stop))
    return sorted(out, key=lambda b: b.start)


def burst_indices(headers: HeaderArray, burst: Burst) -> npt.NDArray[np.int64]:
    """Indices of the packets of ``burst`` in ``headers``."""
    part = headers[burst.start : burst.stop]
    sel = (
        (part["signal_type"] == SignalType.ECHO)
        & (part["swath_number"] == burst.swath_number)
        & (part["polarisation"] == burst.polarisation)
    )
    return np.asarray(np.flatnonzero(sel) + burst.start, dtype=np.int64)
