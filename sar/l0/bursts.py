"""Grouping echo packets into bursts (IW/EW TOPS data-takes).

A burst is a run of echo packets of one swath and one receive channel whose PRI counts
(S1-IF-ASD-PL-0007 section 3.2.4.2) increase and whose azimuth beam address (section
3.2.5.13, TOPS steering: it rises through a burst) does not restart. Swaths interleave in
time, and in dual polarisation the two receive channels share every PRI, so a burst's
packets are picked from the stream by swath and channel polarisation between ``start``
and ``stop``.

Lost packets inside a burst (a chunk lost on the downlink) leave a hole in the PRI
counts: a hole shorter than :data:`BURST_MAX_HOLE_S` does not end the burst, which is
focused on its full line grid with the missing lines zero-filled. The same swath comes
back only after the two other sub-swaths' bursts (at least 1.68 s in IW), so a longer
jump is a new burst. :func:`is_burst_break` is the one rule, shared with the stream's incremental
burst assembly.

Channel polarisation: the SAS POL code (table 3.2-16) of a dual-polarisation take names
both receive polarisations (``H/V+H``, ``V/V+H``); the receive channel (section 3.2.2.5,
``rx_channel_id``: 0 V, 1 H) says which one a packet holds (:func:`channel_polarisation`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from sar.constants import F_REF
from sar.l0.enums import Polarisation, RxChannelId, SignalType
from sar.l0.fields import HeaderArray

BURST_MAX_HOLE_S = 1.4
"""Longest run of missing PRIs kept inside one burst, s.

A hole inside a burst is shorter than the burst (IW bursts last at most the 1.078 s IW2
slot, EW bursts less); a hole that swallowed the end of one burst, the other sub-swaths'
bursts and the start of the next burst of the same swath spans at least the cycle minus
one burst (IW 2.758 - 1.078 = 1.68 s, EW longer). 1.4 s separates the two, so a burst
with its middle lost on the downlink is never cut in two (which would also give its tail
the next burst's ID)."""

PRI_COUNT_MODULUS = 1 << 32
"""The PRI counter wraps at 2^32 (section 3.2.4.2)."""

_DUAL = {
    (int(Polarisation.H_VH), int(RxChannelId.RX_H)): int(Polarisation.HH),
    (int(Polarisation.H_VH), int(RxChannelId.RX_V)): int(Polarisation.HV),
    (int(Polarisation.V_VH), int(RxChannelId.RX_V)): int(Polarisation.VV),
    (int(Polarisation.V_VH), int(RxChannelId.RX_H)): int(Polarisation.VH),
}


class Burst(NamedTuple):
    """One burst.

    Attributes
    ----------
    swath_number
        SES swath number shared by the burst's packets.
    polarisation
        Channel polarisation code (:func:`channel_polarisation`: ``HH``, ``HV``, ``VH``,
        ``VV`` of :class:`~sar.l0.enums.Polarisation`) shared by the burst's packets.
    start, stop
        Index range in the header array (``stop`` exclusive); the burst's packets are the
        echo packets of this swath and channel polarisation inside it
        (:func:`burst_indices`).
    """

    swath_number: int
    polarisation: int
    start: int
    stop: int


def channel_polarisation(headers: HeaderArray) -> npt.NDArray[np.int64]:
    """Polarisation code of the channel each packet holds.

    Single-polarisation codes (``HH``, ``HV``, ``VH``, ``VV``, table 3.2-16) are kept; the
    dual codes ``H/V+H`` and ``V/V+H`` become the transmit polarisation followed by the
    receive channel's (``rx_channel_id`` 0: V, 1: H, section 3.2.2.5), so the two
    channels of a dual-polarisation take are told apart; other codes are kept.
    """
    pol = headers["polarisation"].astype(np.int64)
    rx = headers["rx_channel_id"].astype(np.int64)
    out = pol.copy()
    for (code, channel), single in _DUAL.items():
        out[(pol == code) & (rx == channel)] = single
    return out


def is_burst_break(
    last_pri: npt.ArrayLike,
    pri: npt.ArrayLike,
    last_beam: npt.ArrayLike,
    beam: npt.ArrayLike,
    pri_seconds: npt.ArrayLike,
    *,
    interrupted: npt.ArrayLike = False,
    max_hole_s: float = BURST_MAX_HOLE_S,
) -> npt.NDArray[np.bool_]:
    """Whether an echo packet starts a new burst rather than continuing the current one.

    The packet (PRI count ``pri``, azimuth beam address ``beam``) follows the burst's last
    packet (``last_pri``, ``last_beam``) of the same data-take, swath and receive channel.
    It breaks the burst when the PRI count does not increase (modulo 2^32), the beam
    address goes back (steering restarts), the missing PRIs between the two last longer
    than ``max_hole_s``, or ``interrupted`` (an echo packet of another swath or data-take
    came in between on the same channel: the instrument moved on). Scalars or arrays.

    Parameters
    ----------
    last_pri, pri
        PRI counts (section 3.2.4.2).
    last_beam, beam
        Azimuth beam addresses (section 3.2.5.13).
    pri_seconds
        PRI, s.
    interrupted
        Another swath's or data-take's echo packet in between.
    max_hole_s
        Longest hole kept inside a burst, s.
    """
    step = (np.asarray(pri, dtype=np.int64) - np.asarray(last_pri, dtype=np.int64)) % (
        PRI_COUNT_MODULUS
    )
    backwards = (step == 0) | (step >= PRI_COUNT_MODULUS // 2)
    hole = (step - 1) * np.asarray(pri_seconds, dtype=np.float64) > max_hole_s
    restart = np.asarray(beam, dtype=np.int64) < np.asarray(last_beam, dtype=np.int64)
    return np.asarray(backwards | hole | restart | np.asarray(interrupted, dtype=bool))


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
    chan = channel_polarisation(sub)
    rx = sub["rx_channel_id"].astype(np.int64)
    swaths = sub["swath_number"].astype(np.int64)
    takes = sub["data_take_id"].astype(np.int64)
    out: list[Burst] = []
    keys = np.unique(np.stack([swaths, chan, rx, takes], axis=1), axis=0)
    for swath, pol, channel, take in keys:
        same_channel = rx == channel
        sel = same_channel & (swaths == swath) & (chan == pol) & (takes == take)
        # echo packets of another swath or data-take on this channel, counted cumulatively
        others = np.cumsum(same_channel & ((swaths != swath) | (takes != take)))
        pos = np.flatnonzero(sel)
        if pos.size == 0:
            continue
        h = sub[pos]
        breaks = is_burst_break(
            h["pri_count"][:-1], h["pri_count"][1:], h["azimuth_beam_address"][:-1],
            h["azimuth_beam_address"][1:], h["pri"][1:].astype(np.float64) / F_REF,
            interrupted=others[pos[1:]] != others[pos[:-1]],
        )  # fmt: skip
        cuts = np.concatenate([[0], np.flatnonzero(breaks) + 1, [pos.size]])
        members = echo[pos]
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            if b - a >= min_packets:
                out.append(Burst(int(swath), int(pol), int(members[a]), int(members[b - 1]) + 1))
    return sorted(out, key=lambda b: (b.start, b.swath_number, b.polarisation))


def burst_indices(headers: HeaderArray, burst: Burst) -> npt.NDArray[np.int64]:
    """Indices of the packets of ``burst`` in ``headers``."""
    part = headers[burst.start : burst.stop]
    sel = (
        (part["signal_type"] == SignalType.ECHO)
        & (part["swath_number"] == burst.swath_number)
        & (channel_polarisation(part) == burst.polarisation)
    )
    return np.asarray(np.flatnonzero(sel) + burst.start, dtype=np.int64)
