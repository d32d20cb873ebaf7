"""The ``timeline`` stage: ``events``, ``focus-jobs``, ``l1-products`` and ``deliveries`` in,
the burst timelines of :class:`~streams.timeline.store.TimelineStore` out.

A :class:`streams._infra.runtime.Stage` run by the one stage runtime like every other
stage (consume, handle, drain, publish, checkpoint, commit; retries, dead letters and the
progress watchdog included). What is particular to it is that its **SQLite file holds the
truth of what was consumed**, exactly once:

- :meth:`TimelineStage.handle` decodes a record and keeps it for the batch; a record that
  is not a valid value of its topic raises :class:`~streams._infra.errors.SchemaError`
  (a ``PermanentError``): the runtime dead-letters it, and the store counts it as
  rejected and steps over its offset;
- :meth:`TimelineStage.checkpoint` (called once every record of the batch is handled and
  every dead letter acknowledged) stores the batch's effects **and its offsets** in one
  transaction, and returns the offsets the store now holds: the Kafka commit follows the
  store (it is only for lag tooling; the store never reads it back);
- :meth:`TimelineStage.positions` (:class:`~streams._infra.runtime.PositionedStage`)
  starts every partition the group assigns at the store's offset (the beginning for a
  partition the store has never seen), whatever Kafka's committed offset says.

A killed stage therefore resumes exactly after the last stored batch, and every effect is
idempotent besides (a duplicate re-read would change nothing): nothing is double-counted.
Dead letters are at least once, as everywhere: a crash after a dead letter is acknowledged
and before its batch is stored dead-letters the record again on restart (the timeline
counts it once, in the store).

:meth:`TimelineStage.drain` runs the timers: every ``sample_interval_s`` it probes the
backlog of the watched consumer groups (:func:`streams._infra.lag.group_lag`, exact on
Tansu) and stores the samples (the dashboard's backlog and chunk-throughput figures);
every ``prune_interval_s`` it forgets bursts older than the retention.

Why not faust-streaming (tried first, see :mod:`streams.timeline`): on Tansu 0.6 its
table recovery loses changelog records (Tansu under-reports a partition's end offset
after a batched produce, faust stops restoring at that offset), its ``exactly_once``
guarantee needs transactions Tansu refuses (``InitProducerId`` -> UnknownError), and its
state lives inside the faust worker where the API cannot read it.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from streams._infra.bus import KafkaBus
from streams._infra.consumer import OFFSET_BEGINNING
from streams._infra.errors import RetryableError, StreamError
from streams._infra.lag import group_lag
from streams._infra.records import OutgoingRecord, Record
from streams._infra.runtime import StageBase, TopicPartition
from streams.timeline.config import TimelineConfig
from streams.timeline.metrics import observe_batch
from streams.timeline.records import Decoded, decode
from streams.timeline.store import TimelineStore

log = logging.getLogger(__name__)


@dataclass
class TimelineStats:
    """What one run of the stage did.

    Attributes
    ----------
    records
        Records stored (valid or rejected).
    rejected
        Records that were not valid values of their topic (dead-lettered).
    batches
        Transactions that stored records.
    observations
        Segment latencies observed for the first time.
    samples, sample_errors
        Backlog samples stored, probes that failed.
    assigned
        Topic -> partitions currently assigned.
    """

    records: int = 0
    rejected: int = 0
    batches: int = 0
    observations: int = 0
    samples: int = 0
    sample_errors: int = 0
    assigned: dict[str, int] = field(default_factory=dict)


def _retryable(exc: sqlite3.OperationalError) -> RetryableError:
    return RetryableError(f"timeline store busy or unavailable: {exc}")


class TimelineStage(StageBase):
    """The ``timeline`` stage (see the module docstring).

    Parameters
    ----------
    bus
        Kafka bus of the pipeline (backlog probes).
    config
        Stage settings.
    clock
        POSIX time source for samples and retention (tests pass a fake one).
    """

    name = "timeline"

    def __init__(
        self, bus: KafkaBus, config: TimelineConfig, clock: Callable[[], float] = time.time
    ) -> None:
        self.bus = bus
        self.config = config
        self.clock = clock
        self.roles = config.roles
        self.store = TimelineStore(config.db_path)
        self.stats = TimelineStats()
        self._batch: list[Decoded] = []
        self._in_batch: set[tuple[str, int, int]] = set()
        self._resync: set[TopicPartition] = set()
        self._next_sample = 0.0
        self._next_prune = 0.0

    # ------------------------------------------------------------------ partitions

    def assigned(self, parts: Sequence[TopicPartition]) -> None:
        """Count the partitions; their Kafka commit is brought up to the store's offset at
        the next checkpoint (a crash may have left it behind)."""
        for topic, _ in parts:
            self.stats.assigned[topic] = self.stats.assigned.get(topic, 0) + 1
        self._resync.update(parts)

    def revoked(self, parts: Sequence[TopicPartition]) -> None:
        """Forget the partitions (records of the batch already handled are still stored)."""
        for topic, _ in parts:
            self.stats.assigned[topic] = max(0, self.stats.assigned.get(topic, 0) - 1)
        self._resync.difference_update(parts)

    def positions(self, parts: Sequence[TopicPartition]) -> Mapping[TopicPartition, int]:
        """Where ``parts`` start: the store's next offset, or the beginning of a partition
        the store has never read."""
        stored = self.store.offsets()
        return {tp: stored.get(tp, OFFSET_BEGINNING) for tp in parts}

    # ------------------------------------------------------------------ records

    def handle(self, record: Record, now: float) -> Sequence[OutgoingRecord]:
        """Decode ``record`` and keep it for the batch's transaction.

        A record read twice within one batch (the group reassigned its partition during
        the poll, which re-reads from the store's offset) is kept once.

        Raises
        ------
        SchemaError
            Not a valid value of its topic: dead-lettered by the runtime (the store still
            steps over it, counted as rejected).
        """
        key = (record.topic, record.partition, record.offset)
        if key in self._in_batch:
            return ()
        self._in_batch.add(key)
        decoded = decode(record, self.roles.get(record.topic))
        self._batch.append(decoded)
        if decoded.error is not None:
            raise decoded.error
        return ()

    def checkpoint(
        self, handled: Mapping[TopicPartition, int], *, idle: bool
    ) -> Mapping[TopicPartition, int]:
        """Store the batch and its offsets in one transaction; return the store's offsets
        of the partitions handled since the last commit (or just assigned).

        Raises
        ------
        RetryableError
            The SQLite file is busy or unavailable (the runtime calls again; the batch is
            kept until stored).
        """
        try:
            if self._batch:
                self._store_batch()
            wanted = set(handled) | self._resync
            if not wanted:
                return {}
            stored = self.store.offsets()
        except sqlite3.OperationalError as exc:
            raise _retryable(exc) from exc
        self._resync.clear()
        return {tp: stored[tp] for tp in wanted if tp in stored}

    def _store_batch(self) -> None:
        result = self.store.apply(self._batch, self.roles)
        self._batch = []
        self._in_batch.clear()
        self.stats.records += result.records
        self.stats.rejected += result.rejected
        self.stats.batches += 1
        self.stats.observations += len(result.observations)
        observe_batch(result)

    # ------------------------------------------------------------------ timers

    def drain(self, now: float) -> Sequence[OutgoingRecord]:
        """Sample the watched backlogs and prune old bursts when their time has come."""
        tick = time.monotonic()
        sampling = bool(self.config.watched) and self.config.sample_interval_s > 0
        if sampling and tick >= self._next_sample:
            self._next_sample = tick + self.config.sample_interval_s
            self.sample_backlog()
        if tick >= self._next_prune:
            self._next_prune = tick + self.config.prune_interval_s
            self.prune()
        return ()

    def sample_backlog(self) -> int:
        """Probe the watched groups' backlogs and store one sample each; returns the
        number of samples stored (a failed probe or write is logged and counted)."""
        t = self.clock()
        rows: list[tuple[str, str, int, int]] = []
        for group, topic in self.config.watched:
            try:
                lag = group_lag(self.bus, group, topic, timeout_s=5.0)
            except StreamError as exc:
                self.stats.sample_errors += 1
                log.warning("timeline: backlog probe %s/%s failed: %s", group, topic, exc)
                continue
            end = sum(p.end for p in lag.partitions)
            rows.append((topic, group, end, lag.total))
        if not rows:
            return 0
        try:
            self.store.add_samples(t, rows, self.config.keep_samples_s)
        except sqlite3.OperationalError as exc:
            self.stats.sample_errors += 1
            log.warning("timeline: storing backlog samples failed: %s", exc)
            return 0
        self.stats.samples += len(rows)
        return len(rows)

    def prune(self) -> int:
        """Forget bursts older than the retention; returns how many (0 when the store is
        busy: the next pruning catches up)."""
        try:
            dropped = self.store.prune(self.clock() - self.config.keep_s)
        except sqlite3.OperationalError as exc:
            log.warning("timeline: pruning failed: %s", exc)
            return 0
        if dropped:
            log.info("timeline: forgot %d bursts older than %.0f s", dropped, self.config.keep_s)
        return dropped
