"""A CADU link stream into per-channel packet streams, source gaps and gap events.

A Sentinel-1 ground station demodulates two X-band links (260 Mbit/s each); each link
is a stream of CADUs (CCSDS 131.0-B-2: sync marker, pseudo-randomised Reed-Solomon
codeblock) carrying AOS transfer frames (CCSDS 732.0-B) on virtual channels.
:class:`CaduLink` wraps the decoder of :mod:`sar.downlink` (one per link) and turns its
output into what the ``raw-chunks`` topic carries:

- **channels**: each virtual channel's reassembled packet stream becomes one
  ``raw-chunks`` channel (key ``station/pass_id/channel``). The channel number is the
  virtual channel id, or ``vc_channels[vcid]`` when a mapping is configured (then
  virtual channels missing from the mapping are ignored and counted). Sentinel-1 data is
  assumed on VC 1 (link 1) and VC 2 (link 2) (:data:`sar.downlink.params.DEFAULT_VCIDS`).
- **source gaps**: where the decoder lost packet data of a virtual channel (frames
  missing by the VC frame counter, which includes uncorrectable and dropped frames;
  a packet discarded around them; the pass ending inside a packet), the channel's stream
  gets a *hole*: the chunks around it keep consecutive sequence numbers but the offset
  jumps by an estimate of the packet octets lost (lost frames x packet zone octets plus
  discarded octets, at least 1). The reassembler reports such a jump as a gap with reason
  ``"source"`` and the assembler marks the bursts open at that point incomplete, exactly
  as for lost chunks (:mod:`streams.assemble.reassembly`).
- **gap events**: every :class:`~sar.downlink.records.DownlinkGap` becomes an ``events``
  record: ``kind="gap"`` for lost frames and truncation, ``kind="corrupt"`` for
  uncorrectable frames, discarded packets and unsynchronised octets (the mapping of
  :mod:`sar.downlink.records`). ``source`` is the channel key (link-level gaps: the key
  with channel ``L<link>``, e.g. ``MAT/pass-1/L1``); ``detail`` holds the gap's fields
  (``byte_start``/``byte_stop``: octet range in the *CADU input* of the link) plus
  ``origin="downlink"``, ``link``, ``channel`` and, for a hole, ``stream_byte_start``/
  ``stream_byte_stop``: the bytes skipped in the channel's chunk stream.
- **metrics** (Prometheus, labels ``station``, ``link``, ``vcid``):
  ``eoport_downlink_frames_total``, ``eoport_downlink_corrected_symbols_total``,
  ``eoport_downlink_uncorrectable_frames_total`` (``vcid="-"``: header not trusted),
  ``eoport_downlink_lost_frames_total``, plus ``eoport_downlink_input_bytes_total`` and
  ``eoport_downlink_sync_losses_total`` per link.

**Resuming** a link after a restart (:meth:`CaduLink.warm_up`): a fresh decoder is fed
the last octets received before the restart point (at least the longest packet's frames:
:data:`WARMUP_BYTES`) and its output discarded; from there on it produces exactly what
the original decoder produced (frame lock, frame counters and the packet in progress are
rebuilt), so re-published chunks are byte-identical and absorbed as duplicates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from prometheus_client import Counter

from sar.downlink import (
    CaduDecoder,
    DecodedChunk,
    DownlinkGap,
    FramingParameters,
    GapKind,
    SyncParameters,
)
from streams.messages.chunks import channel_key
from streams.messages.events import EventKind, EventRecord

__all__ = [
    "WARMUP_BYTES", "CaduLink", "Hole", "LinkOutput", "downlink_event", "event_kind",
]  # fmt: skip

WARMUP_BYTES = 256 * 1024
"""Octets of CADU input replayed into a fresh decoder when a link resumes: a Sentinel-1
packet is at most 65 535 octets (S1-IF-ASD-PL-0007 3.1), i.e. at most 75 frames of 884
packet-zone octets or 77 kB of 1024-octet CADUs, plus a few frames to lock."""

DOWNLINK_FRAMES = Counter(
    "eoport_downlink_frames", "Transfer frames decoded (valid or corrected)",
    ["station", "link", "vcid"],
)  # fmt: skip
DOWNLINK_CORRECTED_SYMBOLS = Counter(
    "eoport_downlink_corrected_symbols", "Reed-Solomon symbols corrected",
    ["station", "link", "vcid"],
)  # fmt: skip
DOWNLINK_UNCORRECTABLE = Counter(
    "eoport_downlink_uncorrectable_frames", "Frames with an uncorrectable codeword (dropped)",
    ["station", "link", "vcid"],
)  # fmt: skip
DOWNLINK_LOST = Counter(
    "eoport_downlink_lost_frames", "Frames missing by the virtual channel frame counter",
    ["station", "link", "vcid"],
)  # fmt: skip
DOWNLINK_INPUT_BYTES = Counter(
    "eoport_downlink_input_bytes", "CADU octets received", ["station", "link"]
)
DOWNLINK_SYNC_LOSSES = Counter(
    "eoport_downlink_sync_losses", "Frame synchronisation losses", ["station", "link"]
)

_GAP_EVENT: dict[GapKind, EventKind] = {
    GapKind.LOST_FRAMES: "gap",
    GapKind.TRUNCATED: "gap",
    GapKind.UNCORRECTABLE: "corrupt",
    GapKind.DISCARDED_PACKET: "corrupt",
    GapKind.UNSYNCHRONISED: "corrupt",
}
_HOLE_KINDS = (GapKind.LOST_FRAMES, GapKind.DISCARDED_PACKET, GapKind.TRUNCATED)


def event_kind(gap: DownlinkGap) -> EventKind:
    """``events`` kind of a downlink gap (``gap`` or ``corrupt``)."""
    return _GAP_EVENT[gap.kind]


@dataclass(frozen=True)
class Hole:
    """Packet bytes of a channel lost at one point of its stream.

    Attributes
    ----------
    n_bytes
        Estimated packet octets lost (at least 1).
    gaps
        The decoder's gaps explaining it.
    """

    n_bytes: int
    gaps: tuple[DownlinkGap, ...]


@dataclass
class LinkOutput:
    """What one :meth:`CaduLink.feed` produced.

    Attributes
    ----------
    items
        Per output channel, in stream order: packet bytes, or a :class:`Hole`.
    gaps
        Gaps not tied to a hole (link level, uncorrectable frames), input byte order.
    """

    items: dict[int, list[bytes | Hole]] = field(default_factory=dict)
    gaps: list[DownlinkGap] = field(default_factory=list)

    @property
    def n_bytes(self) -> int:
        """Packet bytes produced."""
        return sum(len(x) for items in self.items.values() for x in items if isinstance(x, bytes))


def _hole_bytes(gap: DownlinkGap, zone_octets: int) -> int:
    if gap.kind == GapKind.LOST_FRAMES:
        return gap.frames * zone_octets
    return gap.octets


class CaduLink:
    """The CADU stream of one X-band link, decoded into per-channel packet streams.

    Parameters
    ----------
    link
        Link (X-band channel) number, for labels and link-level events.
    params, sync
        Frame layout (:class:`~sar.downlink.params.FramingParameters`) and synchroniser
        tuning.
    vc_channels
        Virtual channel id -> ``raw-chunks`` channel number; empty: the VC id itself.
    station
        Metric label.
    parallel
        Reed-Solomon over numba's threads (see :class:`~sar.downlink.CaduDecoder`).
    input_base
        Offset in the link stream of the first octet fed (a resumed link).
    """

    def __init__(
        self,
        link: int,
        params: FramingParameters | None = None,
        sync: SyncParameters | None = None,
        *,
        vc_channels: Mapping[int, int] | None = None,
        station: str = "LOCAL",
        parallel: bool = False,
        input_base: int = 0,
    ) -> None:
        self.link = link
        self.params = params or FramingParameters()
        self.sync_params = sync
        self.vc_channels = dict(vc_channels or {})
        self.station = station
        self.input_base = input_base
        self.decoder = CaduDecoder(self.params, sync, parallel=parallel)
        self.ignored_vcids: set[int] = set()
        self.ignored_bytes = 0
        self._out: dict[int, int] = {}
        self._out_shift: dict[int, int] = {}
        self._seen: dict[str, int] = {}
        self._label = str(link)

    # ------------------------------------------------------------------ queries

    @property
    def input_offset(self) -> int:
        """Offset in the link stream just after the last octet fed."""
        return self.input_base + self.decoder.stats.bytes_in

    @property
    def output_counts(self) -> dict[int, int]:
        """Packet octets put out so far per virtual channel (the ``output_offset`` of the
        next gap), for :meth:`warm_up`."""
        return {v: n + self._out_shift.get(v, 0) for v, n in sorted(self._out.items())}

    def channel_of(self, vcid: int) -> int | None:
        """``raw-chunks`` channel of a virtual channel (``None``: not mapped, ignored)."""
        if not self.vc_channels:
            return vcid
        return self.vc_channels.get(vcid)

    # ------------------------------------------------------------------ input

    def feed(self, data: bytes | bytearray | memoryview | npt.NDArray[np.uint8]) -> LinkOutput:
        """Decode the next octets of the link stream."""
        out = self._convert(self.decoder.feed(data))
        self._count()
        return out

    def finish(self) -> LinkOutput:
        """End of the pass (a frame or packet in progress is reported truncated)."""
        out = self._convert(self.decoder.finish())
        self._count()
        return out

    def warm_up(self, data: bytes, output_counts: Mapping[int, int] | None = None) -> None:
        """Feed ``data`` (the octets just before :attr:`input_base`) and discard what it
        produces: the decoder then continues exactly where the original one was.

        Parameters
        ----------
        data
            The last octets the original decoder was fed.
        output_counts
            The original's :attr:`output_counts`, so that gaps report the same
            ``output_offset``.
        """
        self.input_base -= len(data)
        self._convert(self.decoder.feed(data))
        self._count(publish=False)
        for vcid, n in (output_counts or {}).items():
            self._out_shift[int(vcid)] = int(n) - self._out.get(int(vcid), 0)

    # ------------------------------------------------------------------ internals

    def _convert(self, decoded: DecodedChunk) -> LinkOutput:
        out = LinkOutput()
        zone = self.params.packet_zone_octets
        by_vc: dict[int, list[DownlinkGap]] = {}
        for gap in decoded.gaps:
            if gap.vcid is not None and gap.kind in _HOLE_KINDS and gap.output_offset is not None:
                by_vc.setdefault(gap.vcid, []).append(gap)
            else:
                out.gaps.append(self._shift(gap))
        for vcid in sorted(set(decoded.packets) | set(by_vc)):
            data: bytes = decoded.packets.get(vcid, b"")
            gaps = by_vc.get(vcid, [])
            channel = self.channel_of(vcid)
            base = self._out.get(vcid, 0)
            self._out[vcid] = base + len(data)
            if channel is None:
                self.ignored_vcids.add(vcid)
                self.ignored_bytes += len(data)
                continue
            items: list[bytes | Hole] = []
            pos = 0
            cuts: dict[int, list[DownlinkGap]] = {}
            for g in gaps:
                assert g.output_offset is not None
                at = min(max(g.output_offset - base, 0), len(data))
                cuts.setdefault(at, []).append(self._shift(g, self._out_shift.get(vcid, 0)))
            for at in sorted(cuts):
                if at > pos:
                    items.append(data[pos:at])
                    pos = at
                group = tuple(cuts[at])
                n = sum(_hole_bytes(g, zone) for g in group)
                items.append(Hole(max(n, 1), group))
            if pos < len(data):
                items.append(data[pos:] if pos else data)
            out.items[channel] = items
        return out

    def _shift(self, gap: DownlinkGap, out_shift: int = 0) -> DownlinkGap:
        if not self.input_base and not out_shift:
            return gap
        out = gap.output_offset
        return replace(
            gap, byte_start=gap.byte_start + self.input_base,
            byte_stop=gap.byte_stop + self.input_base,
            output_offset=None if out is None else out + out_shift,
        )  # fmt: skip

    def _count(self, *, publish: bool = True) -> None:
        """Advance the Prometheus counters by what the decoder counted since last time."""
        st = self.decoder.stats
        now: dict[str, int] = {
            "bytes_in": st.bytes_in, "sync_losses": st.sync_losses,
            "uncorrectable": st.uncorrectable_frames,
        }  # fmt: skip
        attributed = 0
        for vcid, ch in st.channels.items():
            now[f"frames/{vcid}"] = ch.frames
            now[f"symbols/{vcid}"] = ch.corrected_symbols
            now[f"uncorrectable/{vcid}"] = ch.uncorrectable_frames
            now[f"lost/{vcid}"] = ch.lost_frames
            attributed += ch.uncorrectable_frames
        now["uncorrectable/-"] = st.uncorrectable_frames - attributed
        if publish:
            for name, value in now.items():
                delta = value - self._seen.get(name, 0)
                if delta > 0:
                    self._inc(name, delta)
        self._seen = now

    def _inc(self, name: str, delta: int) -> None:
        station, link = self.station, self._label
        kind, _, vcid = name.partition("/")
        if kind == "bytes_in":
            DOWNLINK_INPUT_BYTES.labels(station, link).inc(delta)
        elif kind == "sync_losses":
            DOWNLINK_SYNC_LOSSES.labels(station, link).inc(delta)
        elif kind == "frames":
            DOWNLINK_FRAMES.labels(station, link, vcid).inc(delta)
        elif kind == "symbols":
            DOWNLINK_CORRECTED_SYMBOLS.labels(station, link, vcid).inc(delta)
        elif kind == "uncorrectable" and vcid:
            DOWNLINK_UNCORRECTABLE.labels(station, link, vcid).inc(delta)
        elif kind == "lost":
            DOWNLINK_LOST.labels(station, link, vcid).inc(delta)


def downlink_event(
    gap: DownlinkGap,
    *,
    station: str,
    pass_id: str,
    link: int,
    channel: int | None,
    stream_range: tuple[int, int] | None = None,
) -> EventRecord:
    """The ``events`` record of one downlink gap (layout in the module docstring).

    Parameters
    ----------
    gap
        The decoder's gap (input byte range already in link-stream coordinates).
    station, pass_id, link
        Where it happened.
    channel
        ``raw-chunks`` channel of its virtual channel, ``None`` for link-level gaps.
    stream_range
        Bytes skipped in the channel's chunk stream for it (its hole), if any.
    """
    source = (
        channel_key(station, pass_id, channel)
        if channel is not None
        else (f"{station}/{pass_id}/L{link}")
    )
    detail: dict[str, Any] = gap.to_dict()
    detail.update(origin="downlink", link=link, channel=channel)
    if stream_range is not None:
        detail["stream_byte_start"], detail["stream_byte_stop"] = stream_range
    return EventRecord(kind=event_kind(gap), source=source, detail=detail)
