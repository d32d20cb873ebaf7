"""Telling a CADU stream from a plain Level-0 packet stream by its first octets.

A CADU stream shows the attached sync marker (CCSDS 131.0-B-2 section 8) at a fixed
spacing, at any bit offset; a Sentinel-1 packet stream starts with a plausible ISP
(S1-IF-ASD-PL-0007 section 3: version 0, secondary header, sync marker 0x352EF853 at
octet 12) followed by another one where its length says.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np

from sar.downlink.params import FramingParameters
from sar.downlink.sync import FrameFlag, FrameSynchroniser
from sar.l0.framing import NEED_MORE, TRUNCATED, check_start

Format = Literal["cadu", "isp"]


def detect_format(head: bytes, params: FramingParameters | None = None) -> Format | None:
    """Guess the format of a stream from its first octets.

    Parameters
    ----------
    head
        The first octets (a few CADUs: 8 kB or more is plenty).
    params
        CADU layout to look for.

    Returns
    -------
    ``"cadu"``, ``"isp"`` or ``None`` when neither is recognised.
    """
    p = params or FramingParameters()
    sync = FrameSynchroniser(p.codeblock_octets)
    batch = sync.feed(head)
    if int(np.count_nonzero(batch.flags == FrameFlag.LOCKED)) >= 2:
        return "cadu"
    buf = np.frombuffer(head, dtype=np.uint8)
    first = int(check_start(buf, 0, buf.size))
    if first == TRUNCATED:  # a plausible header whose packet is longer than ``head``
        return "isp"
    if first > 0:
        second = int(check_start(buf, first, buf.size))
        if second > 0 or second in (TRUNCATED, NEED_MORE):
            return "isp"
    return None


def detect_framing(
    head: bytes, params: FramingParameters | None = None
) -> FramingParameters | None:
    """Find the Reed-Solomon interleaving depth (hence the CADU length) of a CADU stream.

    The depths of CCSDS 131.0-B-2 4.3.5 are tried (CADUs of 259, 514, 769, 1024, 1279
    and 2044 octets); the first whose sync markers lock over at least three frames wins.

    Parameters
    ----------
    head
        The first octets of the stream (at least four CADUs of the longest layout tried:
        about 8 kB).
    params
        The other layout settings (default :class:`FramingParameters`).

    Returns
    -------
    FramingParameters or None
        ``params`` with the depth found, or ``None``.
    """
    base = params or FramingParameters()
    for depth in (4, 5, 8, 1, 2, 3):
        candidate = replace(base, interleave_depth=depth, reed_solomon=True)
        batch = FrameSynchroniser(candidate.codeblock_octets).feed(head)
        if int(np.count_nonzero(batch.flags == FrameFlag.LOCKED)) >= 3:
            return candidate
    return None
