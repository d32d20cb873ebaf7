"""Burst assembly of one downlink channel (pure logic, no I/O, restartable).

:class:`ChannelAssembler` takes the contiguous segments and gaps of one channel
(:class:`streams.reassembly.ChannelReassembler`), cuts packets
(:class:`sar.l0.stream.PacketScanner`, resynchronising after corruption), decodes their
headers (S1-IF-ASD-PL-0007 section 3.2) and groups the echo packets into bursts
(:mod:`streams.open_bursts` holds a burst being assembled and its ancillary track):

- **TOPS (IW, EW)**: a burst is a run of echo packets of one data-take, swath and
  polarisation (``split_bursts`` semantics, incrementally): it ends when an echo packet of
  another swath arrives (the instrument has switched swath), when the PRI count goes
  backwards, the azimuth beam address restarts, or the PRI counter jumps by more than
  :data:`sar.l0.bursts.BURST_MAX_HOLE_S` worth of lines (the one rule,
  :func:`sar.l0.bursts.is_burst_break`, shared with the file processor). Missing PRIs
  inside a burst are recorded. Dual-polarisation takes are split by receive channel
  (:func:`sar.l0.bursts.channel_polarisation`), each with its own ancillary cycle.
- **Stripmap**: fixed blocks of ``block_lines`` PRIs (block ``k`` holds PRI counts
  ``[k * step, k * step + block_lines)``, ``step = block_lines - overlap``), overlapping by
  one synthetic aperture (:data:`SM_APERTURE_S` worth of lines) so that the fully focused
  parts of consecutive blocks join without a hole. A block ends when a packet beyond it
  arrives.

**When is a burst complete.** Its last packet has arrived (above) *and* its aux is
complete: the sub-commutated ancillary data (64-word cycles, section 3.2.3) of the same
data-take and polarisation has given at least two distinct 1 Hz state vectors and a cycle
has completed after the burst's last packet, i.e. every state vector dated up to the
burst's end has arrived. The worker extends these state vectors by propagation
(:func:`sar.geo.propagate.extend_orbit`) over the burst's half-aperture margins, so
waiting for later GNSS fixes is unnecessary: the aux condition costs at most two
sub-commutation cycles (64 PRIs each, ~80 ms of sensing time) after the burst's end.

**Keys.** A TOPS burst is keyed by its ESA burst ID (:mod:`sar.identity`), known only
once its aux is complete (the ANX comes from the ancillary state vectors) and the relative
orbit of the pass (:attr:`ChannelAssembler.relative_orbit`, from the chunk records'
pass metadata; ``0`` when unknown). Until then the assembler names a TOPS burst by a
*provisional* key (IW burst cycles since the GPS epoch): its open/waiting slots and the
``emitted`` set use it, so snapshots written by earlier versions restore unchanged, and
the ``burst-dropped`` event of a burst never published (no orbit) names it. EW bursts,
and an IW burst whose orbit cannot give an ANX (logged), keep the provisional id.
Stripmap blocks are keyed by block number.

Bursts that stop receiving packets for ``burst_timeout_s`` (wall clock) are flushed with
status ``incomplete``; at the end of the pass every open burst is flushed (aux
``extrapolated`` when no cycle completed after it). A channel gap marks the bursts open
at that moment ``incomplete`` with the gap's sequence numbers and byte range, and so is
the next TOPS burst of each polarisation opened after it (its first lines may be lost).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

from sar.errors import GeometryError
from sar.focus.raw import swath_name
from sar.identity import (
    RELATIVE_ORBIT_UNKNOWN,
    AnxCache,
    BurstIdentity,
    burst_key,
    identify_burst,
)
from sar.l0.bursts import channel_polarisation, is_burst_break
from sar.l0.enums import TOPS_ECC, SignalType, polarisation_name
from sar.l0.headers import decode_headers
from sar.l0.radar import packet_time, pri_s
from sar.l0.stream import PacketScanner
from streams.assemble.open_bursts import AuxTrack, BurstOutput, OpenBurst
from streams.assemble.reassembly import Gap, Output, Segment
from streams.assemble.state import ChannelAssemblerState, ScannerState
from streams.messages.events import EventRecord
from streams.messages.jobs import StateVector, orbit_from_state_vectors

log = logging.getLogger(__name__)

ORBIT_MARGIN_S = 2.0
"""Orbit coverage asked for around a burst's first line before finding the ANX, s."""
SM_APERTURE_S = 0.6
"""Stripmap block overlap, s: one synthetic aperture (beam null to null, lambda R /
(V L_az) ~ 0.3-0.5 s for S1..S6) with margin."""
TOPS_PARTIAL_FRACTION = 0.9
"""A TOPS burst with fewer packets than this fraction of the longest burst of its swath
is reported ``incomplete`` (its head or tail was lost)."""


@dataclass(frozen=True)
class Context:
    """Where the data being fed came from: the chunk record that released it."""

    now: float
    station_receive: datetime | None = None
    kafka_append: datetime | None = None


class ChannelAssembler:
    """Packets and bursts of one downlink channel (``station/pass/channel``).

    Parameters
    ----------
    key
        The channel key.
    block_lines
        Stripmap block length, PRIs.
    burst_timeout_s
        Wall-clock time without a new packet after which an open burst is flushed
        ``incomplete`` (and a closed one whose aux never completed is flushed
        ``extrapolated``), s.
    relative_orbit
        Track of the pass (1..175) for the ESA burst IDs, ``0`` when unknown (labels
        ``t000_...``); the :class:`streams.assembler.Assembler` sets it from the chunk
        records' pass metadata.
    """

    def __init__(
        self, key: str, *, block_lines: int = 2048, burst_timeout_s: float = 120.0,
        relative_orbit: int = RELATIVE_ORBIT_UNKNOWN,
    ) -> None:  # fmt: skip
        self.key = key
        self.block_lines = block_lines
        self.burst_timeout_s = burst_timeout_s
        self.relative_orbit = relative_orbit
        self.anx = AnxCache()
        """ANX per data-take (:class:`sar.identity.AnxCache`), part of the snapshot."""
        self.scanner = PacketScanner()
        self.aux: dict[tuple[int, int], AuxTrack] = {}
        self.open: dict[str, OpenBurst] = {}
        """Open and closed-but-waiting bursts by internal slot name."""
        self.current_swath: dict[tuple[int, int], int] = {}
        self.after_gap: dict[tuple[int, int], list[dict[str, Any]]] = {}
        """Gaps not yet followed by an echo packet of each (data-take, polarisation)."""
        self.first_echo_pri: dict[tuple[int, int, int], int] = {}
        self.longest: dict[tuple[int, int], int] = {}
        self.emitted: list[str] = []
        self.packets = 0
        self.finished = False
        self._events_seen = 0

    # ------------------------------------------------------------------ input

    def feed(self, output: Output, ctx: Context) -> tuple[list[BurstOutput], list[EventRecord]]:
        """Feed one reassembler output; return the bursts that became complete and events."""
        events: list[EventRecord] = []
        if isinstance(output, Gap):
            events.append(self._gap(output))
        elif isinstance(output, Segment):
            pkts = self.scanner.feed(output.data)
            events += self._corrupt_events()
            if pkts:
                self._packets(pkts, ctx)
        return self._ready(ctx) + self._expired(ctx), events

    def poll(self, ctx: Context) -> list[BurstOutput]:
        """Flush bursts whose timeout expired."""
        return self._expired(ctx)

    def finish(self, ctx: Context) -> tuple[list[BurstOutput], list[EventRecord]]:
        """End of the pass: flush every burst (complete ones keep status ``complete``)."""
        self.scanner.close()
        events = self._corrupt_events()
        out: list[BurstOutput] = []
        for slot, b in list(self.open.items()):
            if not b.closed:
                b.closed, b.reason = True, "pass-end"
                b.completed_at = datetime.now(UTC)
            self._redundant_or(slot, b, out, events, ctx, force=True)
        self.finished = True
        return out, events

    # ------------------------------------------------------------------ internals

    def _gap(self, gap: Gap) -> EventRecord:
        info = {
            "first_seq": gap.first_seq, "last_seq": gap.last_seq, "byte_start": gap.byte_start,
            "byte_stop": gap.byte_stop, "reason": gap.reason,
        }  # fmt: skip
        for b in self.open.values():
            if not b.closed:
                b.gaps.append(info)
        for group in self.current_swath:  # the next TOPS burst may have lost its head
            self.after_gap.setdefault(group, []).append(info)
        resume = gap.byte_stop if gap.byte_stop is not None else gap.byte_start
        old = self.scanner
        self.scanner = PacketScanner.resume(
            offset=resume, resyncing=True, skipped_bytes=old.skipped_bytes,
            dropped_packets=old.dropped_packets,
        )  # fmt: skip
        self.scanner.corrupt_events = old.corrupt_events
        return EventRecord(kind="gap", source=self.key, detail=info)

    def _corrupt_events(self) -> list[EventRecord]:
        new = self.scanner.corrupt_events[self._events_seen :]
        self._events_seen = len(self.scanner.corrupt_events)
        return [
            EventRecord(
                kind="corrupt",
                source=self.key,
                detail={"byte_offset": e.offset, "reason": e.reason,
                        "skipped_bytes_total": self.scanner.skipped_bytes},
            )  # fmt: skip
            for e in new
        ]

    def _packets(self, pkts: list[tuple[int, bytes]], ctx: Context) -> None:
        offsets = np.cumsum([0] + [len(p) for _, p in pkts[:-1]])
        h = decode_headers(b"".join(p for _, p in pkts), offsets, validate=False)
        times = np.asarray(packet_time(h["coarse_time"], h["fine_time"]), dtype=np.float64)
        pols = channel_polarisation(h)  # dual-pol takes: one polarisation per receive channel
        for i, (_, pkt) in enumerate(pkts):
            dt_id, pol = int(h["data_take_id"][i]), int(pols[i])
            t = float(times[i])
            track = self.aux.setdefault((dt_id, pol), AuxTrack())
            track.push(int(h["subcom_word_index"][i]), int(h["subcom_word"][i]), t)
            if int(h["signal_type"][i]) != int(SignalType.ECHO):
                continue
            self.packets += 1
            swath, pri = int(h["swath_number"][i]), int(h["pri_count"][i])
            beam, pri_code = int(h["azimuth_beam_address"][i]), int(h["pri"][i])
            if int(h["ecc_number"][i]) in TOPS_ECC:
                self._tops(dt_id, swath, pol, pri, beam, pri_code, t, pkt, ctx)
            else:
                self._stripmap(dt_id, swath, pol, pri, beam, pri_code, t, pkt, ctx)

    def _touch(self, b: OpenBurst, ctx: Context) -> None:
        b.updated = ctx.now
        b.station_receive = ctx.station_receive or b.station_receive
        b.kafka_append = ctx.kafka_append or b.kafka_append

    def _close(self, b: OpenBurst, reason: str) -> None:
        if not b.closed:
            b.closed, b.reason = True, reason
            b.completed_at = datetime.now(UTC)

    def _tops(
        self, dt_id: int, swath: int, pol: int, pri: int, beam: int, pri_code: int, t: float,
        pkt: bytes, ctx: Context,
    ) -> None:  # fmt: skip
        group = (dt_id, pol)
        previous = self.current_swath.get(group)
        if previous is not None and previous != swath:
            old = self.open.get(f"T/{dt_id}/{previous}/{pol}")
            if old is not None:
                self._close(old, "swath-change")
        self.current_swath[group] = swath
        slot = f"T/{dt_id}/{swath}/{pol}"
        b = self.open.get(slot)
        if b is not None and not b.closed:
            if is_burst_break(b.last_pri, pri, b.last_beam, beam, pri_s(pri_code)):
                self._close(b, "run-break")
        if b is not None and b.closed:
            # a closed burst still waiting for aux keeps its slot under its key
            self.open[f"W/{b.provisional_key}"] = self.open.pop(slot)
            b = None
        pending = self.after_gap.pop(group, None)
        if b is None:
            b = OpenBurst(dt_id, swath, pol, True, -1, pri_code)
            if pending:  # opened right after lost data: its first lines may be missing
                b.gaps.extend(pending)
            self.open[slot] = b
        b.add(pkt, pri, beam, t)
        self._touch(b, ctx)

    def _stripmap(
        self, dt_id: int, swath: int, pol: int, pri: int, beam: int, pri_code: int, t: float,
        pkt: bytes, ctx: Context,
    ) -> None:  # fmt: skip
        n = self.block_lines
        overlap = min(n // 2, math.ceil(SM_APERTURE_S / pri_s(pri_code)))
        step = n - overlap
        group = (dt_id, swath, pol)
        first = self.first_echo_pri.setdefault(group, pri)
        for slot, ob in self.open.items():
            if slot.startswith(f"S/{dt_id}/{swath}/{pol}/") and ob.block * step + n <= pri:
                self._close(ob, "block-end")
        for k in range(max(0, (pri - n + step) // step), pri // step + 1):
            slot = f"S/{dt_id}/{swath}/{pol}/{k}"
            b = self.open.get(slot)
            if b is None:
                if burst_key(dt_id, swath_name(swath)[1], polarisation_name(pol), k) in (
                    self.emitted
                ):
                    continue
                b = OpenBurst(dt_id, swath, pol, False, k, pri_code)
                expected = max(k * step, first)
                if pri > expected:
                    b.missing.append((expected, pri - 1))
                self.open[slot] = b
            b.add(pkt, pri, beam, t)
            self._touch(b, ctx)

    def _ready(self, ctx: Context) -> list[BurstOutput]:
        out: list[BurstOutput] = []
        events: list[EventRecord] = []
        for slot, b in list(self.open.items()):
            track = self.aux.setdefault((b.data_take_id, b.pol_code), AuxTrack())
            if b.closed and track.complete_for(b.last_time):
                self._redundant_or(slot, b, out, events, ctx, force=False)
        return out

    def _expired(self, ctx: Context) -> list[BurstOutput]:
        out: list[BurstOutput] = []
        events: list[EventRecord] = []
        for slot, b in list(self.open.items()):
            if ctx.now - b.updated >= self.burst_timeout_s:
                if not b.closed:
                    self._close(b, "timeout")
                    b.gaps.append({"reason": "timeout", "last_pri": b.last_pri})
                self._redundant_or(slot, b, out, events, ctx, force=True)
        return out

    def _redundant_or(
        self, slot: str, b: OpenBurst, out: list[BurstOutput], events: list[EventRecord],
        ctx: Context, *, force: bool,
    ) -> None:  # fmt: skip
        """Emit ``b`` (or drop it when another block holds all its lines / no orbit)."""
        track = self.aux.setdefault((b.data_take_id, b.pol_code), AuxTrack())
        complete_aux = track.complete_for(b.last_time)
        if not complete_aux and not force:
            return
        del self.open[slot]
        if not b.tops:
            n = self.block_lines
            overlap = min(n // 2, math.ceil(SM_APERTURE_S / pri_s(b.pri_code)))
            step = n - overlap
            inside_next = b.first_pri >= (b.block + 1) * step
            previous = burst_key(b.data_take_id, b.swath, b.polarisation, b.block - 1)
            inside_prev = b.last_pri < b.block * step + overlap and previous in self.emitted
            if inside_next or inside_prev:
                return
        if len(track.vectors) < 2 or not b.packets:
            events.append(
                EventRecord(
                    kind="burst-dropped", source=self.key,
                    detail={"burst_key": b.provisional_key, "packets": len(b.packets),
                            "reason": "fewer than 2 state vectors in the ancillary data"},
                )
            )  # fmt: skip
            return
        status: Literal["complete", "incomplete"] = "complete"
        if b.gaps or b.reason == "timeout" or b.missing:
            status = "incomplete"
        if b.tops:
            group = (b.data_take_id, b.swath_number)
            longest = max(self.longest.get(group, 0), len(b.packets))
            self.longest[group] = longest
            if len(b.packets) < TOPS_PARTIAL_FRACTION * longest:
                status = "incomplete"
        self.emitted.append(b.provisional_key)
        del self.emitted[:-256]
        vectors = track.state_vectors(b.first_time, b.last_time)
        identity = self._identify(b, vectors)
        out.append(
            BurstOutput(
                b, status, "complete" if complete_aux else "extrapolated", vectors, self.key,
                identity,
            )
        )  # fmt: skip

    def _identify(self, b: OpenBurst, vectors: list[StateVector]) -> BurstIdentity:
        """The identity of burst ``b`` (:func:`sar.identity.identify_burst`); an IW burst
        whose orbit gives no ANX keeps its provisional number (logged)."""
        try:
            anx = None
            if b.mode == "IW":
                orbit = orbit_from_state_vectors(
                    vectors, b.first_time - ORBIT_MARGIN_S, b.first_time + ORBIT_MARGIN_S
                )
                anx = self.anx.anx_time(b.data_take_id, b.first_time, orbit)
            return identify_burst(
                b.data_take_id, b.swath, b.polarisation, b.first_time, anx_time=anx,
                relative_orbit=self.relative_orbit, block=b.block,
            )  # fmt: skip
        except GeometryError as exc:
            log.warning("%s: no ESA burst ID for %s (%s)", self.key, b.provisional_key, exc)
            return BurstIdentity(
                b.data_take_id, b.swath, b.polarisation, b.provisional_id, self.relative_orbit
            )

    # ------------------------------------------------------------------ persistence

    def to_state(self) -> ChannelAssemblerState:
        """Typed snapshot (:mod:`streams.assemble.state`)."""
        s = self.scanner
        return ChannelAssemblerState(
            key=self.key,
            block_lines=self.block_lines,
            burst_timeout_s=self.burst_timeout_s,
            relative_orbit=self.relative_orbit,
            anx=self.anx.to_state(),
            scanner=ScannerState(
                buffer=s.buffered, base=s.offset, resyncing=s.resyncing,
                skipped=s.skipped_bytes, dropped=s.dropped_packets,
            ),  # fmt: skip
            aux=[(dt, pol, a.to_state()) for (dt, pol), a in self.aux.items()],
            open={slot: b.to_state() for slot, b in self.open.items()},
            current_swath=[(dt, pol, sw) for (dt, pol), sw in self.current_swath.items()],
            after_gap=[(dt, pol, gaps) for (dt, pol), gaps in self.after_gap.items()],
            first_echo_pri=[(*k, v) for k, v in self.first_echo_pri.items()],
            longest=[(*k, v) for k, v in self.longest.items()],
            emitted=list(self.emitted),
            packets=self.packets,
            finished=self.finished,
        )

    @classmethod
    def from_state(cls, state: ChannelAssemblerState) -> ChannelAssembler:
        """Rebuild from :meth:`to_state` output."""
        self = cls(
            state.key,
            block_lines=state.block_lines,
            burst_timeout_s=state.burst_timeout_s,
            relative_orbit=state.relative_orbit,
        )
        self.anx = AnxCache.from_state(state.anx)
        sc = state.scanner
        self.scanner = PacketScanner.resume(
            offset=sc.base, buffered=sc.buffer, resyncing=sc.resyncing,
            skipped_bytes=sc.skipped, dropped_packets=sc.dropped,
        )  # fmt: skip
        self.aux = {(dt, pol): AuxTrack.from_state(a) for dt, pol, a in state.aux}
        self.open = {slot: OpenBurst.from_state(b) for slot, b in state.open.items()}
        self.current_swath = {(a, b): c for a, b, c in state.current_swath}
        self.after_gap = {(a, b): list(c) for a, b, c in state.after_gap}
        self.first_echo_pri = {(a, b, c): d for a, b, c, d in state.first_echo_pri}
        self.longest = {(a, b): c for a, b, c in state.longest}
        self.emitted = list(state.emitted)
        self.packets = state.packets
        self.finished = state.finished
        return self
