"""The timeline service: ``events``, ``focus-jobs``, ``l1-products`` and ``deliveries`` in,
the burst timelines of :class:`~streams.timeline.store.TimelineStore` out.

One process (``eoport run timeline``; a thread of ``eoport demo``). It reads every
partition of its four topics by **manual assignment** (no consumer-group join: no
rebalance pause, and on Tansu no join delay) from the offsets stored in its own SQLite
file, and stores each batch's effects together with the batch's offsets in one
transaction: a killed service resumes exactly after the last stored batch. It also
commits the same offsets to Kafka under its group id (best effort), so the usual lag
tooling sees it.

Every ``sample_interval_s`` it probes the backlog of the watched consumer groups
(:func:`streams._infra.lag.group_lag`, exact on Tansu) and stores the samples: the
dashboard's backlog and chunk-throughput figures come from them.

Why not faust-streaming (tried first, see :mod:`streams.timeline`): on Tansu 0.6 its
table recovery loses changelog records (Tansu under-reports a partition's end offset
after a batched produce, faust stops restoring at that offset), its ``exactly_once``
guarantee needs transactions Tansu refuses (``InitProducerId`` -> UnknownError), and its
state lives inside the faust worker where the API cannot read it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from streams._infra.bus import KafkaBus
from streams._infra.consumer import to_record
from streams._infra.errors import StreamError
from streams._infra.lag import group_lag
from streams._infra.topics import (
    DEFAULT_TOPICS,
    DELIVERIES,
    EVENTS,
    FOCUS_JOBS,
    L1_PRODUCTS,
    RAW_CHUNKS,
    TopicSpec,
    ensure_topics,
)
from streams.timeline.metrics import observe_batch
from streams.timeline.store import ApplyResult, TimelineStore

log = logging.getLogger(__name__)

DEFAULT_WATCHED: tuple[tuple[str, str], ...] = (
    ("eoport-assembler", RAW_CHUNKS),
    ("eoport-focus", FOCUS_JOBS),
    ("eoport-delivery", L1_PRODUCTS),
)
"""``(consumer group, topic)`` pairs whose backlog the service samples."""


@dataclass(frozen=True)
class TimelineConfig:
    """Settings of the timeline service (``EOPORT_TIMELINE_*`` in :mod:`eoport.config`).

    Parameters
    ----------
    db_path
        The SQLite file of :class:`TimelineStore` (shared with the API).
    group_id
        Group id the consumed offsets are also committed under (Kafka-side visibility).
    jobs_topic, products_topic, events_topic, deliveries_topic
        Input topics.
    watched
        ``(group, topic)`` backlogs to sample; empty: no sampling.
    sample_interval_s
        Time between backlog samples, s.
    keep_samples_s
        How long samples are kept, s.
    poll_timeout_s
        Longest wait for records per poll, s.
    max_batch
        Records stored per transaction at most.
    keep_s
        Bursts with no stamp or event for this long are forgotten, s (retention).
    prune_interval_s
        Time between two prunings, s.
    """

    db_path: Path
    group_id: str = "eoport-timeline"
    jobs_topic: str = FOCUS_JOBS
    products_topic: str = L1_PRODUCTS
    events_topic: str = EVENTS
    deliveries_topic: str = DELIVERIES
    watched: tuple[tuple[str, str], ...] = DEFAULT_WATCHED
    sample_interval_s: float = 5.0
    keep_samples_s: float = 6 * 3600.0
    poll_timeout_s: float = 0.2
    max_batch: int = 500
    keep_s: float = 7 * 86_400.0
    prune_interval_s: float = 600.0

    @property
    def roles(self) -> dict[str, str]:
        """Topic name -> role (see :data:`streams.timeline.store.ROLES`)."""
        return {
            self.jobs_topic: "jobs",
            self.products_topic: "products",
            self.events_topic: "events",
            self.deliveries_topic: "deliveries",
        }


@dataclass
class TimelineStats:
    """What one run of the service did."""

    records: int = 0
    rejected: int = 0
    batches: int = 0
    observations: int = 0
    samples: int = 0
    sample_errors: int = 0
    assigned: dict[str, int] = field(default_factory=dict)


def _specs(config: TimelineConfig) -> list[TopicSpec]:
    partitions = {s.name: s.partitions for s in DEFAULT_TOPICS}
    defaults = {
        config.jobs_topic: partitions[FOCUS_JOBS],
        config.products_topic: partitions[L1_PRODUCTS],
        config.events_topic: partitions[EVENTS],
        config.deliveries_topic: partitions[DELIVERIES],
    }
    return [TopicSpec(name, n) for name, n in defaults.items()]


class TimelineService:
    """The consumer loop and backlog sampler (see the module docstring).

    Parameters
    ----------
    bus
        Kafka bus of the pipeline.
    config
        Service settings.
    clock
        POSIX time source for samples (tests pass a fake one).
    """

    def __init__(
        self, bus: KafkaBus, config: TimelineConfig, clock: Callable[[], float] = time.time
    ) -> None:
        self.bus = bus
        self.config = config
        self.clock = clock
        self.store = TimelineStore(config.db_path)
        self.stats = TimelineStats()
        self._consumer: Any = None
        self._assigned: set[tuple[str, int]] = set()
        self._next_sample = 0.0
        self._next_discovery = 0.0
        self._next_prune = 0.0

    # ------------------------------------------------------------------ consumer

    def _new_consumer(self) -> Any:
        return Consumer(
            {
                "bootstrap.servers": self.bus.bootstrap_servers,
                "client.id": f"{self.bus.client_id}-timeline",
                "group.id": self.config.group_id,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": 10,
                "reconnect.backoff.ms": 100,
                "reconnect.backoff.max.ms": 2000,
                "logger": log,
            }
        )

    def _discover(self) -> None:
        """Assign partitions not assigned yet (topics or partitions created later), from
        the offsets in the store."""
        stored = self.store.offsets()
        new: list[TopicPartition] = []
        for topic in self.config.roles:
            try:
                partitions = self.bus.partitions(topic, 5.0)
            except StreamError as exc:
                log.warning("timeline: metadata of %s failed: %s", topic, exc)
                continue
            self.stats.assigned[topic] = len(partitions)
            for p in partitions:
                if (topic, p) in self._assigned:
                    continue
                start = stored.get((topic, p), OFFSET_BEGINNING)
                new.append(TopicPartition(topic, p, start))
                self._assigned.add((topic, p))
        if new:
            self._consumer.incremental_assign(new)
            log.info("timeline: assigned %d partitions", len(new))

    def poll_once(self) -> ApplyResult:
        """Read one batch (waiting up to ``poll_timeout_s``), store it, observe metrics."""
        now = time.monotonic()
        if self._consumer is None:
            self._consumer = self._new_consumer()
        if now >= self._next_discovery:
            self._discover()
            self._next_discovery = now + 10.0
        messages = self._consumer.consume(self.config.max_batch, self.config.poll_timeout_s)
        records = []
        for msg in messages:
            err = msg.error()
            if err is not None:
                log.debug("timeline: consumer error %s", err)
                continue
            records.append(to_record(msg))
        result = self.store.apply(records, self.config.roles)
        if records:
            self.stats.records += result.records
            self.stats.rejected += result.rejected
            self.stats.batches += 1
            self.stats.observations += len(result.observations)
            observe_batch(result)
            self._commit(records)
        return result

    def _commit(self, records: Sequence[Any]) -> None:
        last: dict[tuple[str, int], int] = {}
        for r in records:
            last[(r.topic, r.partition)] = max(last.get((r.topic, r.partition), -1), r.offset)
        offsets = [TopicPartition(t, p, o + 1) for (t, p), o in last.items()]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=True)
        except KafkaException as exc:  # visibility only: the store holds the truth
            log.debug("timeline: Kafka commit failed: %s", exc)

    # ------------------------------------------------------------------ sampler

    def sample_backlog(self) -> int:
        """Probe the watched groups' backlogs and store one sample each; returns the
        number of samples stored."""
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
        if rows:
            self.store.add_samples(t, rows, self.config.keep_samples_s)
            self.stats.samples += len(rows)
        return len(rows)

    def _maybe_sample(self) -> None:
        if not self.config.watched or self.config.sample_interval_s <= 0:
            return
        now = time.monotonic()
        if now >= self._next_sample:
            self._next_sample = now + self.config.sample_interval_s
            self.sample_backlog()

    def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now >= self._next_prune:
            self._next_prune = now + self.config.prune_interval_s
            dropped = self.store.prune(self.clock() - self.config.keep_s)
            if dropped:
                log.info(
                    "timeline: forgot %d bursts older than %.0f s", dropped, self.config.keep_s
                )

    # ------------------------------------------------------------------ loop

    def run(self, stop: threading.Event) -> TimelineStats:
        """Consume and sample until ``stop`` is set."""
        try:
            while not stop.is_set():
                try:
                    self.poll_once()
                    self._maybe_sample()
                    self._maybe_prune()
                except (KafkaException, StreamError) as exc:
                    log.warning("timeline: %s; retrying", exc)
                    stop.wait(0.5)
        finally:
            self.close()
        return self.stats

    def close(self) -> None:
        """Release the Kafka client (the store needs no closing)."""
        if self._consumer is not None:
            try:
                self._consumer.close()
            except (KafkaException, RuntimeError) as exc:
                log.debug("timeline: close failed: %s", exc)
            self._consumer = None
            self._assigned.clear()


def run_timeline(
    bus: KafkaBus,
    config: TimelineConfig,
    stop: threading.Event,
    *,
    create_topics: bool = True,
    on_ready: Callable[[TimelineService], None] | None = None,
) -> TimelineStats:
    """Run the timeline service until ``stop`` is set (``eoport run timeline``).

    Parameters
    ----------
    bus
        Kafka bus of the pipeline.
    config
        Service settings (:class:`TimelineConfig`).
    stop
        Set it to stop; the current batch is stored first.
    create_topics
        Create the input topics that do not exist yet (default partition counts).
    on_ready
        Called with the service once it is built (tests, embedding).

    Returns
    -------
    TimelineStats
        Records read and stored, samples taken.
    """
    if create_topics:
        ensure_topics(bus, _specs(config))
    service = TimelineService(bus, config)
    if on_ready is not None:
        on_ready(service)
    return service.run(stop)
