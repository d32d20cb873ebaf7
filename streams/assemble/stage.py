"""The ``assemble`` stage: ``raw-chunks`` in, claim-checked ``focus-jobs`` and ``events`` out.

Per input partition the stage keeps a :class:`streams.chunkstream.ChunkStream` (chunk
order, duplicates, gaps) and one :class:`streams.burst_state.ChannelAssembler` per channel
key (packets, bursts, aux). Effects and commits (nothing acknowledged is lost):

1. records are processed; every burst that became complete is written to the object store
   under ``raw/{datatake}/{swath}/{pol}/{burst}.dat`` (atomic, deterministic key), then its
   :class:`~streams.jobs.JobRecord` is sent to ``focus-jobs`` keyed by the burst key
   (TOPS: ESA burst ID, with the relative orbit from the chunk records' pass metadata
   header :data:`streams.chunks.RELATIVE_ORBIT_HEADER`; stripmap: block number);
   gaps, corrupt regions and incomplete bursts go to ``events``; undecodable chunk records
   to ``dead-letters``;
2. the producer is flushed (every record acknowledged, undelivered ones sent again);
3. every ``snapshot_interval_s`` (and when a pass ends) the state of each assigned
   partition (reassemblers, packet scanners, open bursts with their packets, aux) is saved
   to the object store, keyed by partition (:class:`streams.chunkstream.SnapshotStore`);
4. only then are the offsets covered by the snapshot committed.

A restarted (or rebalanced) assembler loads the snapshot and resumes from the committed
offset; records between the two come back as duplicates and are dropped by sequence
number; jobs published after the snapshot are published again with the same key and
the same raw object, which every downstream effect absorbs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import Counter

from streams._infra.bus import KafkaBus, KafkaConsumer, KafkaProducer
from streams._infra.deadletters import Backoff, dead_letter
from streams._infra.errors import ChunkError, DeliveryError, RetryableError
from streams._infra.objectstore import ObjectStore
from streams._infra.records import Record
from streams._infra.topics import DEAD_LETTERS, EVENTS, FOCUS_JOBS, RAW_CHUNKS
from streams.assemble.channel import ChannelAssembler, Context
from streams.assemble.chunkstream import ChunkStream
from streams.assemble.open_bursts import BurstOutput
from streams.assemble.reassembly import Output
from streams.assemble.snapshots import SnapshotStore, partition_snapshot_name
from streams.messages.chunks import decode_chunk, relative_orbit_of
from streams.messages.events import EventRecord
from streams.messages.jobs import raw_key

log = logging.getLogger(__name__)

FETCH_WAIT_MAX_MS = 10
"""``fetch.wait.max.ms`` of every stage consumer: Tansu holds a fetch this long even when
records are waiting (the librdkafka default of 500 ms would add ~0.25 s per stage)."""

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


def flush_reliably(
    producer: KafkaProducer, stop: threading.Event | None = None, timeout_s: float = 5.0
) -> None:
    """Flush ``producer`` until every record is acknowledged, resending failed ones.

    Raises
    ------
    RetryableError
        If ``stop`` is set while records are still unacknowledged (do not commit).
    """
    backoff = Backoff(initial_s=0.2, max_s=5.0)
    while True:
        try:
            producer.flush(timeout_s)
            return
        except DeliveryError as exc:
            for r in exc.undelivered:
                producer.send(r.topic, r.key, r.value, r.headers)
            if stop is not None and stop.is_set():
                raise RetryableError(f"stopping with records unacknowledged: {exc}") from exc
            log.warning("flush failed, resending %d records: %s", len(exc.undelivered), exc)
            time.sleep(backoff.delay_s())


class Assembler:
    """The assembler stage on one consumer-group member.

    Parameters
    ----------
    bus, store
        Kafka bus; object store for raw bursts.
    snapshots
        Where partition snapshots live.
    group_id
        Consumer group.
    raw_topic, jobs_topic, events_topic, dead_letters_topic
        Topic names.
    gap_timeout_s, max_buffered_bytes
        Reassembly settings (:class:`streams.reassembly.ChannelReassembler`).
    burst_timeout_s
        Flush bursts without new packets for this long, s.
    block_lines
        Stripmap block length, PRIs.
    snapshot_interval_s
        Snapshot (and commit) at most this often while records flow, s.
    on_job
        Called with every job published (progress, tests).
    """

    def __init__(
        self,
        bus: KafkaBus,
        store: ObjectStore,
        snapshots: SnapshotStore,
        *,
        group_id: str = "eoport-assembler",
        raw_topic: str = RAW_CHUNKS,
        jobs_topic: str = FOCUS_JOBS,
        events_topic: str = EVENTS,
        dead_letters_topic: str = DEAD_LETTERS,
        gap_timeout_s: float = 30.0,
        max_buffered_bytes: int = 256 * 1024 * 1024,
        burst_timeout_s: float = 120.0,
        block_lines: int = 2048,
        snapshot_interval_s: float = 5.0,
        on_job: Callable[[BurstOutput], None] | None = None,
    ) -> None:
        self.bus = bus
        self.store = store
        self.snapshots = snapshots
        self.group_id = group_id
        self.raw_topic = raw_topic
        self.jobs_topic = jobs_topic
        self.events_topic = events_topic
        self.dead_letters_topic = dead_letters_topic
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
        self._dead: list[tuple[Record, Exception]] = []
        self._dirty: set[tuple[str, int]] = set()
        self._committed: dict[tuple[str, int], int] = {}
        self._last_snapshot = time.monotonic()
        self._tp_of: dict[str, tuple[str, int]] = {}
        self.done_channels: set[str] = set()
        """Channels whose pass ended and whose every job and event is acknowledged."""

    @property
    def pending(self) -> int:
        """Bursts, events and dead letters processed but not yet published."""
        return len(self._outputs) + len(self._events) + len(self._dead)

    # ------------------------------------------------------------------ partitions

    def assigned(self, parts: list[tuple[str, int]]) -> None:
        """Load the snapshot of each newly assigned partition."""
        log.info("assembler: partitions assigned %s", parts)
        for topic, partition in parts:
            state = self.snapshots.load(partition_snapshot_name(topic, partition))
            if state is None:
                self.channels.setdefault((topic, partition), {})
                continue
            self.stream.restore(state["stream"])
            self.channels[(topic, partition)] = {
                key: ChannelAssembler.from_state(s) for key, s in state["assemblers"].items()
            }
            for key in state["stream"]["channels"]:
                self._tp_of[key] = (topic, partition)
            pos = state["stream"]["position"]
            if pos is not None:
                self._committed[(topic, partition)] = int(pos)
            log.info("assembler: restored %s[%d] at offset %s", topic, partition, pos)

    def revoked(self, parts: list[tuple[str, int]]) -> None:
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

    def process(self, record: Record, now: float) -> None:
        """Feed one ``raw-chunks`` record (effects are queued until :meth:`publish`)."""
        tp = (record.topic, record.partition)
        self._dirty.add(tp)
        if record.key is not None:
            self._tp_of[record.key] = tp
        self.stats.records += 1
        CHUNKS_CONSUMED.inc()
        outputs, rejected = self.stream.process(record, now)
        if rejected is not None:
            self._dead.append((record, rejected.error))
            self._event(EventRecord(
                kind="rejected-chunk", source=record.key or "",
                detail={"offset": record.offset, "partition": record.partition,
                        "error": str(rejected.error)},
            ))  # fmt: skip
            return
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

    def publish(self, producer: KafkaProducer, stop: threading.Event | None = None) -> None:
        """Write queued raw bursts, send their jobs, events and dead letters; flush."""
        now = datetime.now(UTC)
        finished = {k for part in self.channels.values() for k, a in part.items() if a.finished}
        for out in self._outputs:
            url = self.store.url(raw_key(out.key))
            backoff = Backoff(initial_s=0.2, max_s=5.0)
            while True:
                try:
                    self.store.put_bytes(url, out.data)
                    break
                except RetryableError as exc:
                    log.warning("writing %s failed (%s); retrying", url, exc)
                    time.sleep(backoff.delay_s())
            job = out.job(url, now)
            producer.send(self.jobs_topic, job.burst_key, job.to_bytes())
            self.stats.jobs += 1
            BURSTS_EMITTED.labels(job.status).inc()
            if job.status != "complete":
                self.stats.incomplete_jobs += 1
                self._event(EventRecord(
                    kind="burst-incomplete", source=out.source,
                    detail={"burst_key": job.burst_key, "missing_pri": job.missing_pri,
                            "gaps": job.gaps, "packets": job.packet_count},
                ))  # fmt: skip
            if self.on_job is not None:
                self.on_job(out)
        for event in self._events:
            producer.send(self.events_topic, event.source, event.to_bytes())
            self.stats.events[event.kind] = self.stats.events.get(event.kind, 0) + 1
            ASSEMBLER_EVENTS.labels(event.kind).inc()
        for record, error in self._dead:
            d = dead_letter(record, error, "assemble", self.dead_letters_topic)
            producer.send(d.topic, d.key, d.value, d.headers)
        had = bool(self._outputs or self._events or self._dead)
        self._outputs, self._events, self._dead = [], [], []
        if had:
            flush_reliably(producer, stop)
        self.done_channels |= finished

    def checkpoint(self, consumer: KafkaConsumer, *, force: bool = False) -> None:
        """Snapshot dirty partitions and commit their offsets (after :meth:`publish`)."""
        if not force and time.monotonic() - self._last_snapshot < self.snapshot_interval_s:
            return
        self._last_snapshot = time.monotonic()
        positions = self.stream.positions()
        offsets: dict[tuple[str, int], int] = {}
        for tp in sorted(self._dirty):
            state = {
                "stream": self.stream.snapshot(*tp),
                "assemblers": {k: a.to_state() for k, a in self.channels.get(tp, {}).items()},
            }
            self.snapshots.save(partition_snapshot_name(*tp), state)
            self.stats.snapshots += 1
            if tp in positions and positions[tp] != self._committed.get(tp):
                offsets[tp] = positions[tp]
        self._dirty.clear()
        if offsets:
            try:
                consumer.commit_offsets(offsets)
                self._committed.update(offsets)
                self.stats.commits += 1
            except RetryableError as exc:
                log.warning("assembler commit failed (%s); will commit with the next one", exc)
                self._dirty.update(offsets)

    # ------------------------------------------------------------------ loop

    def run(self, stop: threading.Event, poll_timeout_s: float = 0.2) -> AssemblerStats:
        """Consume until ``stop`` is set; return the counts."""
        consumer = self.bus.consumer(
            self.group_id,
            [self.raw_topic],
            on_assign=self.assigned,
            on_revoke=self.revoked,
            config={"fetch.wait.max.ms": FETCH_WAIT_MAX_MS},
        )
        producer = self.bus.producer()
        try:
            while not stop.is_set():
                try:
                    records = consumer.poll(poll_timeout_s, max_records=1)
                    if records:
                        records += consumer.poll(0.0, max_records=200)
                except RetryableError as exc:
                    log.warning("assembler poll failed: %s", exc)
                    time.sleep(0.5)
                    continue
                now = time.time()
                for record in records:
                    self.process(record, now)
                self.tick(now)
                self.publish(producer, stop)
                self.checkpoint(consumer, force=not records and bool(self._dirty))
            self.publish(producer, stop)
            self.checkpoint(consumer, force=True)
        finally:
            consumer.close()
            producer.close()
        return self.stats
