"""Splitting a Level-0 packet stream over the two X-band channels, and merging it back.

Sentinel-1 downlinks over two X-band channels (two physical links, each its own CADU
stream); the Level-0 product format (S1PD.SP.00110.ASTR, annotation record of every
ISP) records for each packet the virtual channel and the X-band channel it came on, but
which packets go to which channel is not public. The policies here are therefore
**assumptions**, documented as such:

* ``"rx-channel"``: one receive channel per X-band channel (dual polarisation: the two
  receive channels' packet streams, told apart by the Rx channel id of the secondary
  header, S1-IF-ASD-PL-0007 section 3.2.2.5, octet 21 low 4 bits);
* ``"alternate"``: packets dealt alternately to the channels (single polarisation,
  spreading the load as two channels must);
* ``"single"``: everything on one channel;
* ``"auto"``: ``"rx-channel"`` when the stream has two receive channels, else
  ``"single"`` (eoport assembles bursts per downlink channel: a single-polarisation take
  dealt packet by packet over two links would need merging first).

:func:`merge_packet_streams` restores one time-ordered stream from the channels' packet
streams: packets are ordered by their datation (coarse and fine time, octets 6-11), ties
(the two receive channels' echoes of one pulse) by channel index, then by position.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from sar.downlink.errors import DownlinkError
from sar.downlink.framer import packet_offsets

RX_CHANNEL_OCTET = 21
"""Octet of the Rx channel id (low 4 bits) in a Sentinel-1 ISP (S1-IF-ASD-PL-0007 3.2.2)."""

POLICIES = ("auto", "rx-channel", "alternate", "single")


def _bounds(buf: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    starts = packet_offsets(buf)
    ends = np.append(starts[1:], buf.size).astype(np.int64)
    return starts, ends


def _take(
    buf: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> bytes:
    if starts.size == 0:
        return b""
    lengths = ends - starts
    idx = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    idx += np.arange(idx.size, dtype=np.int64)
    return bytes(buf[idx].tobytes())


def split_packets(stream: bytes, policy: str = "auto", n_channels: int = 2) -> list[bytes]:
    """Distribute the packets of a Level-0 stream over X-band channels.

    Parameters
    ----------
    stream
        Concatenated Sentinel-1 ISPs.
    policy
        One of :data:`POLICIES` (see the module docstring; all are assumptions).
    n_channels
        Number of X-band channels (2 for Sentinel-1); ``"single"`` returns one stream.

    Returns
    -------
    list of bytes
        One packet stream per channel.
    """
    if policy not in POLICIES:
        raise DownlinkError(f"unknown channel policy {policy!r}; use one of {', '.join(POLICIES)}")
    buf = np.frombuffer(stream, dtype=np.uint8)
    starts, ends = _bounds(buf)
    if policy == "single" or n_channels == 1:
        return [stream]
    if starts.size and int(starts[-1]) + RX_CHANNEL_OCTET >= buf.size:
        raise DownlinkError("last packet too short to hold a secondary header")
    rx = buf[starts + RX_CHANNEL_OCTET] & 0x0F if starts.size else np.zeros(0, np.uint8)
    ids = np.unique(rx)
    if policy == "auto":
        if ids.size < 2:
            return [stream] + [b""] * (n_channels - 1)
        policy = "rx-channel"
    if policy == "rx-channel":
        if ids.size > n_channels:
            raise DownlinkError(f"{ids.size} receive channels for {n_channels} X-band channels")
        channel = np.searchsorted(ids, rx)
    else:
        channel = np.arange(starts.size) % n_channels
    return [_take(buf, starts[channel == c], ends[channel == c]) for c in range(n_channels)]


def packet_times(stream: bytes) -> npt.NDArray[np.int64]:
    """Datation of each packet as coarse * 2^16 + fine (units of 2^-16 s)."""
    buf = np.frombuffer(stream, dtype=np.uint8)
    starts, _ = _bounds(buf)
    t = np.zeros(starts.size, dtype=np.int64)
    for k in range(6):
        t = (t << 8) | buf[starts + 6 + k].astype(np.int64)
    return t


def merge_packet_streams(streams: Sequence[bytes]) -> bytes:
    """Merge the channels' packet streams into one, ordered by packet time.

    Parameters
    ----------
    streams
        Packet streams (complete packets), e.g. the decoder's output per channel.

    Returns
    -------
    bytes
        All packets, ordered by (datation, channel index, position in its channel).
    """
    if not streams:
        return b""
    bufs = [np.frombuffer(s, dtype=np.uint8) for s in streams]
    parts = [_bounds(b) for b in bufs]
    offset = np.cumsum([0] + [b.size for b in bufs])
    all_buf = np.concatenate(bufs)
    starts = np.concatenate([p[0] + offset[i] for i, p in enumerate(parts)])
    ends = np.concatenate([p[1] + offset[i] for i, p in enumerate(parts)])
    chan = np.concatenate([np.full(p[0].size, i) for i, p in enumerate(parts)])
    t = np.concatenate([packet_times(s) for s in streams])
    order = np.lexsort((starts, chan, t))
    return _take(all_buf, starts[order].astype(np.int64), ends[order].astype(np.int64))
