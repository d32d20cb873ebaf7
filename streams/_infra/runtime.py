"""The one stage loop: consume -> handle -> publish -> flush -> commit.

Every stage of the chain (assemble, focus, deliver) is a :class:`Stage`: it says what a
record means and what it produces; :class:`StageRuntime` does everything else, the same
way for all of them:

1. **consume** a batch from the stage's consumer group (wait for the first record only,
   then take what is already fetched, so a lone record is not held back);
2. **handle** each record; a :class:`~streams.errors.RetryableError` re-runs the same
   record after the policy's delay (or the delay the error carries), keeping its offset
   uncommitted; a :class:`~streams.errors.PermanentError` — or a retryable one whose
   budget is spent — sends the record to ``dead-letters`` with the reason (one path,
   :func:`streams._infra.deadletters.dead_letter`) plus whatever the stage adds (an
   ``events`` record), and the record counts as done;
3. **drain**: timers and deferred effects of the stage (bursts whose aux completed, due
   delivery retries), retried until they succeed;
4. **publish and flush** everything produced, resending what the broker did not
   acknowledge, until every record is acknowledged;
5. **checkpoint and commit**: the stage decides which offsets are safe (by default all
   records handled; the assembler only those covered by its last state snapshot) and
   the runtime commits them.

Nothing acknowledged is lost: an offset is committed only after the effects of its
record are durable. A crash anywhere re-delivers uncommitted records, and every effect is
keyed by a deterministic id, so doing a record twice rewrites the same result.

A stage that keeps its **own offsets** (its state and the offsets of the records in it
written in one transaction, exactly once) also implements :class:`PositionedStage`: the
consumer then starts every partition the group assigns at ``stage.positions(parts)``
instead of the group's committed offset, and the stage's :meth:`Stage.checkpoint` returns
the offsets its state holds, so Kafka's committed offsets follow that state.

A **progress watchdog** (:class:`streams._infra.watchdog.ProgressWatchdog`) guards
against consumers that stop fetching without an error (Tansu 0.6 on S3 storage answers
fetches empty for ever once listing a partition outlasts ``fetch.wait.max.ms``): when
records have waited beyond the consumer's positions for ``stall_after_s`` while the
positions did not move (read locally, from the watermarks of the fetch answers: no broker
request), the consumer is closed and recreated with a longer fetch wait (it resumes from
the committed offsets), counted in ``eoport_stage_stalls_total`` and reported on
``events``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from prometheus_client import Counter, Gauge

from streams._infra.bus import KafkaBus, KafkaConsumer, KafkaProducer
from streams._infra.deadletters import dead_letter
from streams._infra.errors import DeliveryError, PermanentError, RetryableError
from streams._infra.records import OutgoingRecord, Record
from streams._infra.retry import STAGE_RETRY, RetryPolicy, StopRequestedError, retry_until_done
from streams._infra.watchdog import ProgressWatchdog, escalate_fetch_wait

log = logging.getLogger(__name__)

TopicPartition = tuple[str, int]

CONSUMER_CONFIG: Mapping[str, Any] = {
    "max.poll.interval.ms": 600_000,
}
"""librdkafka settings of every stage consumer besides the bus's own (the bus sets
``fetch.wait.max.ms``, :class:`streams._infra.bus.KafkaBus`)."""

STAGE_RECORDS = Counter(
    "eoport_stage_records", "Records handled by a stage, by outcome", ["stage", "outcome"]
)
STAGE_RETRIES = Counter("eoport_stage_retries", "Retries of a record or step", ["stage"])
STAGE_STALLS = Counter(
    "eoport_stage_stalls", "Consumers recreated by the progress watchdog", ["stage"]
)
STAGE_LAST_PROGRESS = Gauge(
    "eoport_stage_last_progress_timestamp_seconds",
    "Unix time of the last record consumed or idle poll with no lag",
    ["stage"],
)


class Stage(Protocol):
    """What a stage implements; :class:`StageRuntime` runs it.

    Attributes
    ----------
    name
        Stage name (``assemble``, ``focus``, ``deliver``): metrics, dead-letter headers.
    """

    name: str

    def assigned(self, parts: Sequence[TopicPartition]) -> None:
        """Partitions handed to this member (load per-partition state)."""

    def revoked(self, parts: Sequence[TopicPartition]) -> None:
        """Partitions taken away (forget their state; the next owner restores it)."""

    def handle(self, record: Record, now: float) -> Sequence[OutgoingRecord]:
        """Process one record; return what to publish for it.

        Raises
        ------
        RetryableError
            Transient failure: the runtime calls ``handle`` again with the same record.
        PermanentError
            The record cannot be processed: it is dead-lettered.
        """

    def drain(self, now: float) -> Sequence[OutgoingRecord]:
        """Timers and deferred effects after a batch; return what to publish.

        Raises
        ------
        RetryableError
            The runtime calls ``drain`` again (deferred work must survive the failure).
        """

    def checkpoint(
        self, handled: Mapping[TopicPartition, int], *, idle: bool
    ) -> Mapping[TopicPartition, int]:
        """Offsets that may be committed now, after everything produced is acknowledged.

        ``handled`` holds the next offset per partition of the records handled since the
        last commit; ``idle`` is true when the last poll returned nothing.
        """

    def failed(self, record: Record, error: Exception) -> Sequence[OutgoingRecord]:
        """Extra records to publish for a record that is dead-lettered (e.g. an event)."""

    def close(self) -> None:
        """Release what the stage holds (threads, clients) when the runtime stops."""


@runtime_checkable
class PositionedStage(Protocol):
    """A :class:`Stage` that keeps its own offsets (optional; :class:`StageRuntime` checks
    for the method): partitions assigned to the runtime's consumer start at
    :meth:`positions` instead of the group's committed offsets."""

    def positions(self, parts: Sequence[TopicPartition]) -> Mapping[TopicPartition, int]:
        """Next offset to read per partition of ``parts`` (just assigned, after
        :meth:`Stage.assigned`), or :data:`streams._infra.consumer.OFFSET_BEGINNING`;
        partitions left out start from the group's committed offset.

        Called inside the consumer's poll; if it raises, the partitions are not read
        until a later poll (at most once a second) gets their positions.
        """


class StageBase:
    """Defaults for :class:`Stage`: no partition state, nothing deferred, commit every
    handled record, nothing extra on failure."""

    name = "stage"

    def assigned(self, parts: Sequence[TopicPartition]) -> None:
        return None

    def revoked(self, parts: Sequence[TopicPartition]) -> None:
        return None

    def drain(self, now: float) -> Sequence[OutgoingRecord]:
        return ()

    def checkpoint(
        self, handled: Mapping[TopicPartition, int], *, idle: bool
    ) -> Mapping[TopicPartition, int]:
        return handled

    def failed(self, record: Record, error: Exception) -> Sequence[OutgoingRecord]:
        return ()

    def close(self) -> None:
        return None


StallEvents = Callable[[str, str, int, float], Sequence[OutgoingRecord]]
"""Records reporting that a stage's consumer was recreated: ``(stage, group, lag, idle_s)``."""

LagProbe = Callable[[], int | None]
"""Records waiting beyond the consumer's positions (``None`` when unknown)."""


@dataclass
class RuntimeStats:
    """What a runtime did since it started."""

    records: int = 0
    dead_lettered: int = 0
    retries: int = 0
    commits: int = 0
    stalls: int = 0
    published: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


@dataclass
class RuntimeConfig:
    """How a stage consumes.

    Parameters
    ----------
    group_id
        Consumer group.
    topics
        Input topics.
    dead_letters_topic, events_topic
        Where failed records and runtime events go.
    retry
        Policy for re-running a record that failed transiently (``max_attempts=None``:
        never give up on it).
    max_batch
        Records taken per poll (``1`` for stages whose records each take seconds).
    poll_timeout_s
        Longest wait for the first record of a batch, s.
    consumer_config
        librdkafka settings merged over :data:`CONSUMER_CONFIG`.
    stall_after_s
        Watchdog: recreate the consumer when records have waited this long beyond its
        positions while they did not move, s (``None``: no watchdog).
    lag_probe_interval_s
        Watchdog: shortest time between two backlog probes, s.
    stall_events
        Watchdog: the records that report a recreated consumer, from ``(stage, group,
        lag, idle_s)`` (:func:`streams.messages.events.stall_events`; ``None``: none).
    """

    group_id: str
    topics: Sequence[str]
    dead_letters_topic: str = "dead-letters"
    events_topic: str = "events"
    retry: RetryPolicy = field(default_factory=lambda: STAGE_RETRY)
    max_batch: int = 200
    poll_timeout_s: float = 0.2
    consumer_config: Mapping[str, Any] = field(default_factory=dict)
    stall_after_s: float | None = 30.0
    lag_probe_interval_s: float = 5.0
    stall_events: StallEvents | None = None


class StageRuntime:
    """Runs one :class:`Stage` as a member of its consumer group until stopped.

    Parameters
    ----------
    stage
        The stage.
    bus
        Kafka bus (consumer, producer, admin).
    config
        Group, topics, retry policy, batching and watchdog settings.
    lag_probe
        Records waiting beyond the consumer's positions, for the watchdog; ``None`` reads
        them from the high watermarks of the consumer's fetch answers (no broker request,
        :meth:`streams._infra.consumer.KafkaConsumer.backlog`).
    """

    def __init__(
        self,
        stage: Stage,
        bus: KafkaBus,
        config: RuntimeConfig,
        *,
        lag_probe: LagProbe | None = None,
    ) -> None:
        self.stage = stage
        self.bus = bus
        self.config = config
        self.stats = RuntimeStats()
        self._lag_probe = lag_probe
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None
        self._handled: dict[TopicPartition, int] = {}
        self._fetch_wait_ms = bus.fetch_wait_max_ms
        self._watchdog = (
            None
            if config.stall_after_s is None
            else ProgressWatchdog(
                config.stall_after_s, probe_interval_s=config.lag_probe_interval_s
            )
        )
        self.ready = threading.Event()
        """Set once the consumer is subscribed (readiness probes)."""
        self.assigned = threading.Event()
        """Set once the group has given this member partitions (cleared when it stops)."""

    # ------------------------------------------------------------------ clients

    def _new_consumer(self) -> KafkaConsumer:
        config = dict(CONSUMER_CONFIG) | dict(self.config.consumer_config)
        if self._fetch_wait_ms != self.bus.fetch_wait_max_ms:
            config["fetch.wait.max.ms"] = self._fetch_wait_ms
        consumer = self.bus.consumer(
            self.config.group_id,
            list(self.config.topics),
            on_assign=self._assigned,
            on_revoke=self._revoked,
            config=config,
        )
        if isinstance(self.stage, PositionedStage):
            consumer.start_from(self.stage.positions)
        return consumer

    def _assigned(self, parts: list[TopicPartition]) -> None:
        self.stage.assigned(parts)
        if parts:
            self.assigned.set()

    def _revoked(self, parts: list[TopicPartition]) -> None:
        for tp in parts:
            self._handled.pop(tp, None)
        self.stage.revoked(parts)

    # ------------------------------------------------------------------ steps

    def _handle(self, record: Record, now: float, stop: threading.Event) -> list[OutgoingRecord]:
        attempt = 0
        started = time.monotonic()
        while True:
            try:
                out = list(self.stage.handle(record, now))
                self._count("ok")
                return out
            except PermanentError as exc:
                return self._dead_letter(record, exc)
            except RetryableError as exc:
                attempt += 1
                self.stats.retries += 1
                STAGE_RETRIES.labels(self.stage.name).inc()
                if self.config.retry.gives_up(attempt, time.monotonic() - started):
                    return self._dead_letter(record, exc)
                delay = self.config.retry.delay_for(exc, attempt)
                log.warning(
                    "%s: %s[%d]@%d failed (%s), attempt %d, retrying in %.1f s",
                    self.stage.name, record.topic, record.partition, record.offset, exc,
                    attempt, delay,
                )  # fmt: skip
                if stop.wait(delay):
                    raise StopRequestedError(str(exc)) from exc

    def _dead_letter(self, record: Record, error: Exception) -> list[OutgoingRecord]:
        from streams._infra.metrics import RECORDS_DEAD_LETTERED

        log.error(
            "%s: %s[%d]@%d dead-lettered: %s",
            self.stage.name, record.topic, record.partition, record.offset, error,
        )  # fmt: skip
        self.stats.dead_lettered += 1
        self._count("dead-lettered")
        RECORDS_DEAD_LETTERED.labels(self.stage.name, type(error).__name__).inc()
        out = [dead_letter(record, error, self.stage.name, self.config.dead_letters_topic)]
        return out + list(self.stage.failed(record, error))

    def _count(self, outcome: str) -> None:
        self.stats.outcomes[outcome] = self.stats.outcomes.get(outcome, 0) + 1
        STAGE_RECORDS.labels(self.stage.name, outcome).inc()

    def _publish(self, records: Sequence[OutgoingRecord], stop: threading.Event) -> None:
        assert self._producer is not None
        if not records:
            return
        producer = self._producer
        for r in records:
            producer.send(r.topic, r.key, r.value, r.headers)
        self.stats.published += len(records)
        flush_reliably(producer, stop)

    def _commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        assert self._consumer is not None
        if not offsets:
            return
        try:
            self._consumer.commit_offsets(offsets)
        except RetryableError as exc:
            # the partition moved to another member, or the broker is away: whoever reads
            # these records again redoes them, which every effect absorbs
            log.warning("%s: commit failed (%s); records may be redone", self.stage.name, exc)
            return
        self.stats.commits += 1
        for tp, offset in offsets.items():
            if self._handled.get(tp) == offset:
                del self._handled[tp]

    def _watch(self, consumed: bool) -> None:
        """Recreate the consumer when it has stopped fetching while records wait."""
        if consumed:
            STAGE_LAST_PROGRESS.labels(self.stage.name).set(time.time())
        if self._watchdog is None or self._consumer is None:
            return
        consumer = self._consumer
        stall = self._watchdog.observe(consumer.positions(), self._lag_probe or consumer.backlog)
        if stall is None:
            return
        self._fetch_wait_ms = escalate_fetch_wait(self._fetch_wait_ms)
        log.error(
            "%s: %d records waited %.0f s while the consumer did not move: recreating it "
            "with fetch.wait.max.ms=%d", self.stage.name, stall.backlog, stall.waiting_s,
            self._fetch_wait_ms,
        )  # fmt: skip
        self.stats.stalls += 1
        STAGE_STALLS.labels(self.stage.name).inc()
        self._restart_consumer()
        self._watchdog.reset()
        self._stall_event(stall.backlog, stall.idle_s)

    def _restart_consumer(self) -> None:
        if self._consumer is not None:
            try:
                self._consumer.close()
            except Exception as exc:  # a wedged client may fail to close; replace it anyway
                log.warning("%s: closing the stalled consumer failed: %s", self.stage.name, exc)
        self._handled.clear()
        self._consumer = self._new_consumer()

    def _stall_event(self, lag: int, idle_s: float) -> None:
        make = self.config.stall_events
        if make is not None:
            self._publish(
                make(self.stage.name, self.config.group_id, lag, idle_s), threading.Event()
            )

    # ------------------------------------------------------------------ loop

    def run_once(self, stop: threading.Event) -> int:
        """One poll-handle-publish-commit round; returns the records consumed."""
        assert self._consumer is not None
        cfg = self.config
        try:
            records = self._consumer.poll(cfg.poll_timeout_s, max_records=1)
            if records and cfg.max_batch > 1:
                records += self._consumer.poll(0.0, max_records=cfg.max_batch - 1)
        except RetryableError as exc:
            log.warning("%s: poll failed: %s", self.stage.name, exc)
            stop.wait(0.5)
            return 0
        now = time.time()
        out: list[OutgoingRecord] = []
        for record in records:
            out += self._handle(record, now, stop)
            self._handled[(record.topic, record.partition)] = record.offset + 1
            self.stats.records += 1
            if cfg.max_batch == 1:
                # slow records (focusing): publish and commit each before the next
                self._publish(out, stop)
                out = []
                self._commit(self.stage.checkpoint(dict(self._handled), idle=False))
        out += retry_until_done(lambda: list(self.stage.drain(now)), stop=stop)
        self._publish(out, stop)
        offsets = retry_until_done(
            lambda: dict(self.stage.checkpoint(dict(self._handled), idle=not records)),
            stop=stop,
        )
        self._commit(offsets)
        self._watch(bool(records))
        return len(records)

    def run(self, stop: threading.Event) -> RuntimeStats:
        """Consume until ``stop`` is set, then finish the round, checkpoint and leave."""
        self._consumer = self._new_consumer()
        self._producer = self.bus.producer()
        self.ready.set()
        try:
            while not stop.is_set():
                self.run_once(stop)
            final = threading.Event()  # the last publish must not be cut short by ``stop``
            self._publish(list(self.stage.drain(time.time())), final)
            self._commit(self.stage.checkpoint(dict(self._handled), idle=True))
        except StopRequestedError as exc:
            log.info("%s: stopping with work unfinished (%s); it will be redone", self.stage.name,
                     exc)  # fmt: skip
        finally:
            self.ready.clear()
            self.assigned.clear()
            self.stage.close()
            if self._consumer is not None:
                self._consumer.close()
            if self._producer is not None:
                self._producer.close()
        return self.stats


def flush_reliably(
    producer: KafkaProducer, stop: threading.Event | None = None, timeout_s: float = 5.0
) -> None:
    """Flush ``producer`` until every record is acknowledged, resending failed ones.

    Raises
    ------
    StopRequestedError
        If ``stop`` is set while records are still unacknowledged (do not commit).
    """

    def flush() -> None:
        try:
            producer.flush(timeout_s)
        except DeliveryError as exc:
            for r in exc.undelivered:
                producer.send(r.topic, r.key, r.value, r.headers)
            raise

    retry_until_done(
        flush,
        stop=stop,
        on_retry=lambda exc, n, d: log.warning("flush failed (%s), attempt %d; resending", exc, n),
    )
