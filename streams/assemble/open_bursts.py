"""Bursts being assembled (:mod:`streams.burst_state`): packets, ancillary track, output.

:class:`OpenBurst` collects one burst's (or stripmap block's) echo packets with their PRI
counts, times and holes; :class:`AuxTrack` decodes the sub-commutated ancillary cycles of
one data-take and polarisation (S1-IF-ASD-PL-0007 section 3.2.3) into 1 Hz state vectors;
:class:`BurstOutput` is a finished burst with the fields of its focus job. All three
serialise to JSON-able state for the assembler's snapshots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np

from sar.constants import IW_BURST_CYCLE
from sar.focus.raw import swath_name
from sar.identity import BurstIdentity, burst_key
from sar.l0.ancillary import WORDS_PER_CYCLE, decode_ancillary
from sar.l0.enums import polarisation_name
from sar.l0.fields import empty_headers
from sar.l0.radar import pri_s
from sar.timeutil import gps_seconds_to_utc
from streams.assemble.state import AuxState, OpenBurstState
from streams.messages.jobs import JobRecord, StateVector

SV_KEEP_S = 30.0
"""State vectors older than this behind the newest one are forgotten, s."""


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass
class AuxTrack:
    """Sub-commutated ancillary cycles of one data-take and polarisation."""

    words: list[int] = field(default_factory=list)
    vectors: dict[float, tuple[list[float], list[float]]] = field(default_factory=dict)
    cycle_end_time: float = -math.inf
    """Datation of the packet that completed the latest cycle, GPS s."""

    def push(self, index: int, word: int, t: float) -> None:
        """Add one packet's word (index 1..64)."""
        if index == 1:
            self.words = [word]
        elif self.words and index == len(self.words) + 1:
            self.words.append(word)
        else:
            self.words = []
        if len(self.words) == WORDS_PER_CYCLE:
            h = empty_headers(WORDS_PER_CYCLE)
            h["subcom_word_index"] = np.arange(1, WORDS_PER_CYCLE + 1)
            h["subcom_word"] = np.asarray(self.words, dtype=np.uint16)
            anc = decode_ancillary(h)
            self.words = []
            if anc.complete_cycles == 1:
                when = float(anc.orbit_times[0])
                self.vectors[when] = (
                    [float(v) for v in anc.positions[0]],
                    [float(v) for v in anc.velocities[0]],
                )
                self.cycle_end_time = max(self.cycle_end_time, t)
                newest = max(self.vectors)
                for old in [k for k in self.vectors if k < newest - SV_KEEP_S]:
                    del self.vectors[old]

    def complete_for(self, stop_time: float) -> bool:
        """Whether the aux of a burst ending at ``stop_time`` (GPS s) is complete."""
        return len(self.vectors) >= 2 and self.cycle_end_time >= stop_time

    def state_vectors(self, start: float, stop: float) -> list[StateVector]:
        """State vectors within :data:`SV_KEEP_S` of ``[start, stop]``."""
        return [
            StateVector(time=t, position=(p[0], p[1], p[2]), velocity=(v[0], v[1], v[2]))
            for t, (p, v) in sorted(self.vectors.items())
            if start - SV_KEEP_S <= t <= stop + SV_KEEP_S
        ]

    def to_state(self) -> AuxState:
        """Typed snapshot."""
        return AuxState(
            words=list(self.words),
            vectors=[(tm, p, v) for tm, (p, v) in sorted(self.vectors.items())],
            cycle_end_time=self.cycle_end_time if math.isfinite(self.cycle_end_time) else None,
        )

    @classmethod
    def from_state(cls, s: AuxState) -> AuxTrack:
        """Rebuild from :meth:`to_state` output."""
        return cls(
            words=list(s.words),
            vectors={tm: (list(p), list(v)) for tm, p, v in s.vectors},
            cycle_end_time=-math.inf if s.cycle_end_time is None else s.cycle_end_time,
        )


@dataclass
class OpenBurst:
    """Packets of one burst (or stripmap block) being assembled."""

    data_take_id: int
    swath_number: int
    pol_code: int
    tops: bool
    block: int
    """Stripmap block number (``-1`` for TOPS bursts)."""
    pri_code: int
    packets: list[bytes] = field(default_factory=list)
    first_pri: int = -1
    last_pri: int = -1
    last_beam: int = -1
    first_time: float = math.inf
    last_time: float = -math.inf
    missing: list[tuple[int, int]] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False
    reason: str = ""
    updated: float = 0.0
    completed_at: datetime | None = None
    station_receive: datetime | None = None
    kafka_append: datetime | None = None

    @property
    def swath(self) -> str:
        return swath_name(self.swath_number)[1]

    @property
    def mode(self) -> str:
        return swath_name(self.swath_number)[0]

    @property
    def polarisation(self) -> str:
        return polarisation_name(self.pol_code)

    @property
    def provisional_id(self) -> int:
        """Stripmap: the block number; TOPS: IW burst cycles since the GPS epoch (internal:
        the published key carries the identity of :mod:`sar.identity`)."""
        if not self.tops:
            return self.block
        return int(((self.first_time + self.last_time) / 2) // IW_BURST_CYCLE)

    @property
    def provisional_key(self) -> str:
        """Internal key of the assembler's slots and ``emitted`` set (final for stripmap;
        TOPS bursts are published under their ESA burst ID, :attr:`BurstOutput.key`)."""
        return burst_key(self.data_take_id, self.swath, self.polarisation, self.provisional_id)

    def add(self, pkt: bytes, pri: int, beam: int, t: float) -> None:
        if self.last_pri >= 0 and pri > self.last_pri + 1:
            self.missing.append((self.last_pri + 1, pri - 1))
        if self.first_pri < 0:
            self.first_pri = pri
        self.packets.append(pkt)
        self.last_pri, self.last_beam = pri, beam
        self.first_time = min(self.first_time, t)
        self.last_time = max(self.last_time, t)

    def to_state(self) -> OpenBurstState:
        """Typed snapshot (packets concatenated, with their lengths)."""
        return OpenBurstState(
            ids=(self.data_take_id, self.swath_number, self.pol_code, self.tops, self.block,
                 self.pri_code),
            packets=b"".join(self.packets),
            lengths=[len(p) for p in self.packets],
            pri=(self.first_pri, self.last_pri, self.last_beam),
            time=(self.first_time, self.last_time),
            missing=list(self.missing),
            gaps=list(self.gaps),
            closed=self.closed,
            reason=self.reason,
            updated=self.updated,
            stamps=(_iso(self.completed_at), _iso(self.station_receive), _iso(self.kafka_append)),
        )  # fmt: skip

    @classmethod
    def from_state(cls, s: OpenBurstState) -> OpenBurst:
        """Rebuild from :meth:`to_state` output."""
        dt_id, swath, pol, tops, block, pri_code = s.ids
        packets, pos = [], 0
        for n in s.lengths:
            packets.append(s.packets[pos : pos + n])
            pos += n
        completed, receive, append = (_dt(x) for x in s.stamps)
        return cls(
            dt_id, swath, pol, tops, block, pri_code, packets, s.pri[0], s.pri[1], s.pri[2],
            s.time[0], s.time[1], missing=list(s.missing), gaps=list(s.gaps), closed=s.closed,
            reason=s.reason, updated=s.updated, completed_at=completed,
            station_receive=receive, kafka_append=append,
        )  # fmt: skip


@dataclass(frozen=True)
class BurstOutput:
    """A burst ready to be published: its raw packets, its identity (computed once, in
    :mod:`sar.identity`) and the fields of its job but the URL."""

    burst: OpenBurst
    status: Literal["complete", "incomplete"]
    aux_status: Literal["complete", "extrapolated"]
    state_vectors: list[StateVector]
    source: str
    identity: BurstIdentity

    @property
    def key(self) -> str:
        """The published burst key (job, raw object, product id)."""
        return self.identity.key

    @property
    def data(self) -> bytes:
        """The burst's packets, concatenated in stream order (a valid Level-0 stream)."""
        return b"".join(self.burst.packets)

    @property
    def n_bytes(self) -> int:
        """Length of :attr:`data`, B (without joining the packets)."""
        return sum(len(p) for p in self.burst.packets)

    def job(self, raw_url: str, now: datetime) -> JobRecord:
        """The focus job pointing at ``raw_url``; ``now`` stamps ``aux_complete``."""
        b = self.burst
        start, stop = gps_seconds_to_utc(b.first_time), gps_seconds_to_utc(b.last_time)
        timeline: dict[str, datetime] = {"sensing_start": start, "sensing_stop": stop}
        for name, value in (
            ("station_receive", b.station_receive),
            ("kafka_append", b.kafka_append),
            ("burst_complete", b.completed_at),
        ):
            if value is not None:
                timeline[name] = value
        timeline["aux_complete"] = now
        ident = self.identity
        return JobRecord(
            burst_key=ident.key, status=self.status,
            source=self.source, mode=b.mode, swath=ident.swath,
            polarisation=ident.polarisation, burst_id=ident.number,
            data_take_id=ident.data_take_id, relative_orbit=ident.relative_orbit,
            burst_label=ident.label, anx_time_gps=ident.anx_time, sensing_start=start,
            sensing_stop=stop, sensing_start_gps=b.first_time, sensing_stop_gps=b.last_time,
            packet_count=len(b.packets), first_pri_count=b.first_pri,
            last_pri_count=b.last_pri, missing_pri=b.missing, gaps=b.gaps,
            pri_s=pri_s(b.pri_code), aux_status=self.aux_status,
            state_vectors=self.state_vectors, raw_url=raw_url, raw_bytes=self.n_bytes,
            timeline=timeline,
        )  # fmt: skip
