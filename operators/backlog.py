"""Backlog samples of the focus-job topic and their history (pure, no I/O).

A :class:`BacklogSample` is one look at the consumer group's offsets on the job topic at
a given time: per partition, the committed next offset of the group and the end of the
log. A :class:`BacklogHistory` keeps the recent samples and answers the questions of the
scaling policy:

- how many jobs are waiting now (:attr:`BacklogSample.lag`), partition by partition;
- how fast jobs arrive (:meth:`BacklogHistory.arrival_rate`, from the growth of the log
  ends) and are completed (:meth:`BacklogHistory.completion_rate`, from the committed
  offsets);
- which partitions are *stuck*: lag above zero and a committed offset that has not moved
  for a given time while the pool had workers (the ``excludePersistentLag`` idea of KEDA's
  Kafka scaler, made time-based instead of "since the previous poll").

Times are POSIX seconds (UTC, float). One record of the job topic is one focus job: one
TOPS burst (or one stripmap block).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PartitionOffsets:
    """Offsets of one partition of the job topic, for one consumer group.

    Parameters
    ----------
    partition
        Partition id.
    committed
        Next offset the group will read; ``None`` if it never committed on this partition.
    end
        Offset after the last record of the log.
    start
        First offset still in the log (retention may have removed older records).
    """

    partition: int
    committed: int | None
    end: int
    start: int = 0

    @property
    def position(self) -> int:
        """Where the group resumes: the committed offset, or ``start`` if none (records)."""
        return max(self.start, self.committed if self.committed is not None else self.start)

    @property
    def lag(self) -> int:
        """Jobs produced and not yet committed by the group (records, >= 0)."""
        return max(0, self.end - self.position)


@dataclass(frozen=True, slots=True)
class BacklogSample:
    """The group's offsets on every partition of the job topic at one time.

    Parameters
    ----------
    time
        When the offsets were read, POSIX seconds.
    partitions
        One entry per partition of the topic, any order.
    workers
        Workers of the pool at that time (replicas, or local processes), or ``None`` if
        unknown. Used to tell a partition nobody consumes from a stuck one.
    """

    time: float
    partitions: tuple[PartitionOffsets, ...]
    workers: int | None = None

    @property
    def lag(self) -> int:
        """Jobs waiting, all partitions together (records)."""
        return sum(p.lag for p in self.partitions)

    @property
    def produced(self) -> int:
        """Sum of the log ends: grows by one per job published (records)."""
        return sum(p.end for p in self.partitions)

    @property
    def completed(self) -> int:
        """Sum of the resume positions: grows by one per job committed (records)."""
        return sum(p.position for p in self.partitions)

    @property
    def partition_count(self) -> int:
        """Partitions of the job topic: the most workers that can have work."""
        return len(self.partitions)

    def by_partition(self) -> dict[int, PartitionOffsets]:
        """The offsets keyed by partition id."""
        return {p.partition: p for p in self.partitions}


@dataclass(frozen=True, slots=True)
class BacklogHistory:
    """Recent :class:`BacklogSample` objects, oldest first (immutable).

    Parameters
    ----------
    samples
        Samples in increasing time order (use :meth:`appended` to build it).
    """

    samples: tuple[BacklogSample, ...] = ()

    @classmethod
    def of(cls, samples: Iterable[BacklogSample]) -> BacklogHistory:
        """A history of ``samples`` in any order (sorted by time)."""
        return cls(tuple(sorted(samples, key=lambda s: s.time)))

    @property
    def latest(self) -> BacklogSample | None:
        """The newest sample, or ``None`` when empty."""
        return self.samples[-1] if self.samples else None

    def appended(self, sample: BacklogSample, keep_s: float) -> BacklogHistory:
        """A new history with ``sample`` added and samples older than ``keep_s`` seconds
        before it dropped (the newest sample at or before the cut is kept, so that a rate
        over ``keep_s`` has a baseline)."""
        samples = [s for s in self.samples if s.time < sample.time] + [sample]
        cut = sample.time - keep_s
        older = [i for i, s in enumerate(samples) if s.time <= cut]
        first = older[-1] if older else 0
        return BacklogHistory(tuple(samples[first:]))

    def _baseline(self, now: float, window_s: float) -> BacklogSample | None:
        """The oldest sample not older than ``window_s`` before ``now`` (falling back to
        the newest older one when none is inside but one is just outside)."""
        inside = [s for s in self.samples if now - window_s <= s.time <= now]
        if len(inside) >= 2:
            return inside[0]
        older = [s for s in self.samples if s.time < now - window_s]
        return older[-1] if older else (inside[0] if inside else None)

    def arrival_rate(self, now: float, window_s: float) -> float | None:
        """Jobs published per second over the last ``window_s`` seconds.

        Returns
        -------
        float or None
            Rate in jobs/s (>= 0), or ``None`` with fewer than two samples spanning a
            positive time. The increase is divided by the window length when the samples
            span less (a history shorter than the window underestimates; the backlog term
            of the policy covers what is already waiting).
        """
        return self._rate(now, window_s, produced=True)

    def completion_rate(self, now: float, window_s: float) -> float | None:
        """Jobs committed by the group per second over the last ``window_s`` seconds
        (jobs/s, ``None`` without two samples)."""
        return self._rate(now, window_s, produced=False)

    def _rate(self, now: float, window_s: float, *, produced: bool) -> float | None:
        latest = self.latest
        base = self._baseline(now, window_s)
        if latest is None or base is None or latest.time <= base.time:
            return None
        if produced:
            delta = latest.produced - base.produced
        else:
            delta = latest.completed - base.completed
        # over the whole window even when the history is shorter (operator just started):
        # a batch found at start is backlog, not a rate of 40 jobs in 0.3 s
        return max(0.0, delta / max(latest.time - base.time, window_s))

    def _at_or_before(self, t: float) -> BacklogSample | None:
        older = [s for s in self.samples if s.time <= t]
        return older[-1] if older else None

    def sustained_arrival_rate(self, now: float, window_s: float) -> float | None:
        """Jobs published per second *steadily* over the last ``window_s`` seconds: the
        smaller of the rates of the window's older and newer halves.

        A pass publishes bursts at a steady rate (IW dual polarisation: 6 per 2.758 s),
        so both halves agree. A batch published at once (a replay, a backlog flushed by
        an upstream stage) shows in one half only: it is backlog, counted as such by the
        policy, not a rate to provision for.

        Returns
        -------
        float or None
            Rate in jobs/s (>= 0), or ``None`` when the history does not reach
            ``window_s`` seconds back.
        """
        half = window_s / 2
        points = [self._at_or_before(now - window_s), self._at_or_before(now - half),
                  self._at_or_before(now)]  # fmt: skip
        if any(p is None for p in points):
            return None
        a, b, c = (p for p in points if p is not None)
        rates = []
        for start, stop in ((a, b), (b, c)):
            if stop.time <= start.time:
                return None
            rates.append(max(0.0, (stop.produced - start.produced) / (stop.time - start.time)))
        return min(rates)

    def stuck_partitions(self, now: float, after_s: float) -> frozenset[int]:
        """Partitions whose lag is positive and whose committed offset has not moved for
        at least ``after_s`` seconds while the pool had at least one worker.

        A partition is stuck when every sample of ``[now - after_s, now]`` (and the one
        just before, so the span is fully covered) shows lag > 0, the same resume position,
        and a known worker count >= 1. Without workers nothing can move: that is waiting,
        not being stuck. A partition whose end or position changed is not stuck.

        Parameters
        ----------
        now
            Evaluation time, POSIX s.
        after_s
            Time without progress before a partition counts as stuck, s.
        """
        latest = self.latest
        if latest is None or after_s <= 0:
            return frozenset()
        span = [s for s in self.samples if s.time <= now]
        covering = [i for i, s in enumerate(span) if s.time <= now - after_s]
        if not covering:
            return frozenset()
        window = span[covering[-1] :]
        if any(s.workers is None or s.workers < 1 for s in window):
            return frozenset()
        stuck: set[int] = set()
        for part in latest.partitions:
            if part.lag <= 0:
                continue
            seen = [s.by_partition().get(part.partition) for s in window]
            if all(p is not None and p.lag > 0 and p.position == part.position for p in seen):
                stuck.add(part.partition)
        return frozenset(stuck)
