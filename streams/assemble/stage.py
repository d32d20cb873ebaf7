"""The ``assemble`` stage: ``raw-chunks`` in, claim-checked ``focus-jobs`` and ``events`` out.

Per input partition the stage keeps a :class:`~streams.assemble.chunkstream.ChunkStream`
(chunk order, duplicates, gaps) and one :class:`~streams.assemble.channel.ChannelAssembler`
per channel key (packets, bursts, aux). :class:`~streams._infra.runtime.StageRuntime` runs
the loop; effects and commits (nothing acknowledged is lost):

1. records are handled; every burst that became complete is written to the object store
   under ``raw/{datatake}/{swath}/{pol}/{burst}.dat`` (atomic, deterministic key), then its
   :class:`~streams.messages.jobs.JobRecord` goes to ``focus-jobs`` keyed by the burst key
   (TOPS: ESA burst ID, with the relative orbit from the chunk records' pass metadata
   header :data:`streams.messages.chunks.RELATIVE_ORBIT_HEADER`; stripmap: block number);
   gaps, corrupt regions and incomplete bursts go to ``events``; undecodable chunk records
   to ``dead-letters``;
2. the producer is flushed (every record acknowledged, undelivered ones sent again);
3. every ``snapshot_interval_s`` (and when the input is idle) the state of each assigned
   partition (reassemblers, packet scanners, open bursts with their packets, aux) is saved
   to the object store, keyed by partition (:class:`~streams.assemble.snapshots.SnapshotStore`);
4. only then are the offsets covered by the snapshot committed.

A restarted (or rebalanced) assembler loads the snapshot and resumes from the committed
offset; records between the two come back as duplicates and are dropped by sequence
number; jobs published after the snapshot are published again with the same key and
the same raw object, which every downstream effect absorbs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import Counter

from sar.errors import SarError
from streams._infra.errors import ChunkError
from streams._infra.objectstore import DeferredSync, ObjectStore
from streams._infra.records import OutgoingRecord, Record
from streams._infra.runtime import StageBase, TopicPartition
from streams._infra.topics import EVENTS, FOCUS_JOBS
from streams.assemble.channel import ChannelAssembler, Context
from streams.assemble.chunkstream import ChunkStream
from streams.assemble.open_bursts import BurstOutput
from streams.assemble.reassembly import Output
from streams.assemble.selection import (
    BURST_SELECTION,
    BurstSelector,
    Selection,
    first_echo_header,
    order_by_priority,
    predict_footprint,
    save_job,
)
from streams.assemble.snapshots import SnapshotStore, partition_snapshot_name
from streams.assemble.state import PartitionSnapshot
from streams.messages.chunks import decode_chunk, relative_orbit_of
from streams.messages.events import EventRecord
from streams.messages.jobs import JobRecord, raw_key

log = logging.getLogger(__name__)

BURSTS_EMITTED = Counter(
    "eoport_bursts_emitted", "Focus jobs published by the assembler", ["status"]
)
ASSEMBLER_EVENTS = Counter("eoport_assembler_events", "Events published by the assembler", ["kind"])
CHUNKS_CONSUMED = Counter("eoport_chunks_consumed", "raw-chunks records processed")


@dataclass
class AssemblerStats:
    """What one run of the stage did (counts since start)."""

    records: int = 0
    jobs: int = 0
    incomplete_jobs: int = 0
    events: dict[str, int] = field(default_factory=dict)
    snapshots: int = 0
    commits: int = 0
    focused: int = 0
    skipped: int = 0


class Assembler(StageBase):
    """The ``assemble`` stage (a :class:`streams._infra.runtime.Stage`).

    Parameters
    ----------
    store
        Object store for raw bursts.
    snapshots
        Where partition snapshots live.
    jobs_topic, events_topic
        Output topic names.
    gap_timeout_s, max_buffered_bytes
        Reassembly settings (:class:`streams.assemble.reassembly.ChannelReassembler`).
    burst_timeout_s
        Flush bursts without new packets for this long, s.
    block_lines
        Stripmap block length, PRIs.
    snapshot_interval_s
        Snapshot (and commit) at most this often while records flow, s.
    on_job
        Called with every job published (progress, tests).
    selector
        Early data selection (:mod:`streams.assemble.selection`): with one, each burst's
        footprint is predicted and put in its job, the job is kept next to the raw data,
        and bursts no subscription (or systematic area) wants are not published (a
        ``focus-skipped`` event instead); wanted ones are published subscribed-first.
        ``None``: every burst is published.
    """

    name = "assemble"

    def __init__(
        self,
        store: ObjectStore,
        snapshots: SnapshotStore,
        *,
        jobs_topic: str = FOCUS_JOBS,
        events_topic: str = EVENTS,
        gap_timeout_s: float = 30.0,
        max_buffered_bytes: int = 256 * 1024 * 1024,
        burst_timeout_s: float = 120.0,
        block_lines: int = 2048,
        snapshot_interval_s: float = 5.0,
        on_job: Callable[[BurstOutput], None] | None = None,
        selector: BurstSelector | None = None,
    ) -> None:
        self.store = store
        self.selector = selector
        self.skipped_keys: set[str] = set()
        """Burst keys not focused by early selection (raw data and job kept)."""
        self.snapshots = snapshots
        self.jobs_topic = jobs_topic
        self.events_topic = events_topic
        self.burst_timeout_s = burst_timeout_s
        self.block_lines = block_lines
        self.snapshot_interval_s = snapshot_interval_s
        self.on_job = on_job
        self.stream = ChunkStream(
            gap_timeout_s=gap_timeout_s, max_buffered_bytes=max_buffered_bytes
        )
        self.channels: dict[tuple[str, int], dict[str, ChannelAssembler]] = {}
        self.stats = AssemblerStats()
        self._outputs: list[BurstOutput] = []
        self._events: list[EventRecord] = []
        self._dirty: set[tuple[str, int]] = set()
        self._committed: dict[tuple[str, int], int] = {}
        self._last_snapshot = time.monotonic()
        self._tp_of: dict[str, tuple[str, int]] = {}
        self.done_channels: set[str] = set()
        """Channels whose pass ended and whose every job and event is acknowledged."""
        self._finished_pending: set[str] = set()
        self._syncs = DeferredSync(store)

    @property
    def pending(self) -> int:
        """Bursts, events and dead letters processed but not yet published."""
        return len(self._outputs) + len(self._events)

    # ------------------------------------------------------------------ partitions

    def assigned(self, parts: Sequence[TopicPartition]) -> None:
        """Load the snapshot of each newly assigned partition."""
        log.info("assembler: partitions assigned %s", parts)
        for topic, partition in parts:
            state = self.snapshots.load(partition_snapshot_name(topic, partition))
            if state is None:
                self.channels.setdefault((topic, partition), {})
                continue
            self.stream.restore(state.stream)
            self.channels[(topic, partition)] = {
                key: ChannelAssembler.from_state(s) for key, s in state.assemblers.items()
            }
            for key in state.stream.channels:
                self._tp_of[key] = (topic, partition)
            pos = state.stream.position
            if pos is not None:
                self._committed[(topic, partition)] = int(pos)
            log.info("assembler: restored %s[%d] at offset %s", topic, partition, pos)

    def revoked(self, parts: Sequence[TopicPartition]) -> None:
        """Forget revoked partitions: the next owner resumes from the last snapshot."""
        log.info("assembler: partitions revoked %s", parts)
        for topic, partition in parts:
            self.stream.drop(topic, partition)
            self.channels.pop((topic, partition), None)
            self._dirty.discard((topic, partition))
            self._committed.pop((topic, partition), None)

    # ------------------------------------------------------------------ processing

    def _assembler(self, tp: tuple[str, int], key: str) -> ChannelAssembler:
        part = self.channels.setdefault(tp, {})
        asm = part.get(key)
        if asm is None:
            asm = ChannelAssembler(
                key, block_lines=self.block_lines, burst_timeout_s=self.burst_timeout_s
            )
            part[key] = asm
        return asm

    def handle(self, record: Record, now: float) -> Sequence[OutgoingRecord]:
        """Feed one ``raw-chunks`` record; its effects are published by :meth:`drain`.

        Raises
        ------
        ChunkError
            The record is not a valid chunk (the runtime dead-letters it; the partition
            position moves past it).
        """
        tp = (record.topic, record.partition)
        self._dirty.add(tp)
        if record.key is not None:
            self._tp_of[record.key] = tp
        self.stats.records += 1
        CHUNKS_CONSUMED.inc()
        outputs, rejected = self.stream.process(record, now)
        if rejected is not None:
            raise rejected.error
        try:
            chunk = decode_chunk(record.value)
            ctx = Context(now, chunk.receive_time, record.timestamp)
        except ChunkError:  # pragma: no cover - process() accepted it
            ctx = Context(now, None, record.timestamp)
        track = relative_orbit_of(record.headers)
        if track is not None and record.key is not None:
            self._assembler(tp, record.key).relative_orbit = track
        for out in outputs:
            self._feed(tp, out.key, out.output, ctx)
        self._finish_complete(ctx)
        return ()

    def failed(self, record: Record, error: Exception) -> Sequence[OutgoingRecord]:
        """A ``rejected-chunk`` event for a record that is not a valid chunk."""
        event = EventRecord(
            kind="rejected-chunk", source=record.key or "",
            detail={"offset": record.offset, "partition": record.partition, "error": str(error)},
        )  # fmt: skip
        self._count_event(event)
        return [event.record(self.events_topic, event.source)]

    def _finish_complete(self, ctx: Context) -> None:
        """Flush the assemblers of channels whose pass is complete (last chunk emitted)."""
        for key, reassembler in self.stream.channels():
            tp = self._tp_of.get(key)
            if tp is None or not reassembler.complete:
                continue
            asm = self._assembler(tp, key)
            if not asm.finished:
                bursts, events = asm.finish(ctx)
                self._outputs += bursts
                self._dirty.add(tp)
                for e in events:
                    self._event(e)

    def _feed(self, tp: tuple[str, int], key: str, output: Output, ctx: Context) -> None:
        asm = self._assembler(tp, key)
        bursts, events = asm.feed(output, ctx)
        self._outputs += bursts
        for e in events:
            self._event(e)

    def _event(self, event: EventRecord) -> None:
        self._events.append(event)

    def _count_event(self, event: EventRecord) -> None:
        self.stats.events[event.kind] = self.stats.events.get(event.kind, 0) + 1
        ASSEMBLER_EVENTS.labels(event.kind).inc()

    def tick(self, now: float) -> None:
        """Gap and burst timeouts."""
        for out in self.stream.poll(now):
            tp = self._tp_of.get(out.key)
            if tp is not None:
                self._feed(tp, out.key, out.output, Context(now))
                self._dirty.add(tp)
        self._finish_complete(Context(now))
        for tp, part in self.channels.items():
            for asm in part.values():
                expired = asm.poll(Context(now))
                if expired:
                    self._dirty.add(tp)
                    self._outputs += expired

    def drain(self, now: float) -> Sequence[OutgoingRecord]:
        """Timeouts, then the queued bursts: raw packets written to the object store
        (atomic, deterministic key; flushed to disk in the background, and waited for
        before :meth:`checkpoint` commits), their jobs, and the events.

        Raises
        ------
        RetryableError
            The object store failed; the bursts stay queued and the runtime calls again
            (bursts already written are rewritten with the same bytes).
        """
        self.tick(now)
        stamp = datetime.now(UTC)
        out: list[OutgoingRecord] = []
        selected: list[tuple[Selection, OutgoingRecord]] = []
        for burst, url in zip(self._outputs, self._write_raw(self._outputs), strict=True):
            job = burst.job(url, stamp)
            if self.selector is None:
                out.append(job.record(self.jobs_topic, job.burst_key))
            else:
                job, decision = self._select(burst, job)
                # a later request focuses exactly this job
                self._syncs.track(save_job(self.store, job, durable=False))
                BURST_SELECTION.labels("focused" if decision.focus else "skipped").inc()
                if not decision.focus:
                    self.stats.skipped += 1
                    self.skipped_keys.add(job.burst_key)
                    self._events.append(EventRecord(
                        kind="focus-skipped", source=job.burst_key,
                        detail={"burst_key": job.burst_key, "reason": decision.reason,
                                "raw_url": job.raw_url, "footprint": job.footprint},
                    ))  # fmt: skip
                    continue
                self.stats.focused += 1
                selected.append((decision, job.record(self.jobs_topic, job.burst_key)))
            self.stats.jobs += 1
            BURSTS_EMITTED.labels(job.status).inc()
            if job.status != "complete":
                self.stats.incomplete_jobs += 1
                self._events.append(EventRecord(
                    kind="burst-incomplete", source=burst.source,
                    detail={"burst_key": job.burst_key, "missing_pri": job.missing_pri,
                            "gaps": job.gaps, "packets": job.packet_count},
                ))  # fmt: skip
            if self.on_job is not None:
                self.on_job(burst)
        out += [record for _, record in order_by_priority(selected)]  # wanted ones first
        for event in self._events:
            out.append(event.record(self.events_topic, event.source))
            self._count_event(event)
        self._outputs, self._events = [], []
        self._finished_pending |= {
            k for part in self.channels.values() for k, a in part.items() if a.finished
        }
        return out

    def _write_raw(self, bursts: list[BurstOutput]) -> list[str]:
        """Write the bursts' raw packets; return their URLs.

        Each is flushed to disk in the background (:class:`DeferredSync`): the jobs go out
        at once and :meth:`checkpoint` waits for the flushes before it commits. Bursts
        that complete together (both polarisations of a dual-polarisation pass) are
        written concurrently: each job waits for the slowest write, not for their sum.
        """

        def put(burst: BurstOutput) -> str:
            return self._syncs.put(self.store.url(raw_key(burst.key)), burst.burst.packets)

        if len(bursts) <= 1:
            return [put(b) for b in bursts]
        with ThreadPoolExecutor(min(len(bursts), 4), thread_name_prefix="raw-write") as pool:
            return list(pool.map(put, bursts))

    def close(self) -> None:
        """Finish the background flushes of raw bursts and jobs."""
        self._syncs.close()

    def _select(self, burst: BurstOutput, job: JobRecord) -> tuple[JobRecord, Selection]:
        """Predict the burst's footprint (into its job) and decide whether to focus it; a
        footprint that cannot be predicted means focus (never skip on a failure)."""
        assert self.selector is not None
        try:
            footprint = predict_footprint(job, first_echo_header(burst.burst.packets[0]))
        except (SarError, ValueError, IndexError) as exc:
            log.warning("%s: no footprint prediction (%s): focused", job.burst_key, exc)
            footprint = None
        job = job.model_copy(update={"footprint": footprint})
        return job, self.selector.decide(job)

    def checkpoint(
        self, handled: Mapping[TopicPartition, int], *, idle: bool
    ) -> Mapping[TopicPartition, int]:
        """Snapshot the partitions that changed and return their positions to commit.

        Called by the runtime after everything :meth:`drain` returned is acknowledged; a
        snapshot is taken every ``snapshot_interval_s`` while records flow, and at once
        when the input is idle.
        """
        self.done_channels |= self._finished_pending
        self._finished_pending = set()
        due = time.monotonic() - self._last_snapshot >= self.snapshot_interval_s
        if not self._dirty or not (due or idle):
            return {}
        self._syncs.wait()  # raw bursts and jobs on disk before their chunks are committed
        self._last_snapshot = time.monotonic()
        positions = self.stream.positions()
        offsets: dict[TopicPartition, int] = {}
        for tp in sorted(self._dirty):
            state = PartitionSnapshot(
                stream=self.stream.snapshot(*tp),
                assemblers={k: a.to_state() for k, a in self.channels.get(tp, {}).items()},
            )
            self.snapshots.save(partition_snapshot_name(*tp), state)
            self.stats.snapshots += 1
            if tp in positions and positions[tp] != self._committed.get(tp):
                offsets[tp] = positions[tp]
        self._dirty.clear()
        self._committed.update(offsets)
        self.stats.commits += bool(offsets)
        return offsets
