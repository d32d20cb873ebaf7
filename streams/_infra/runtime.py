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

A **progress watchdog** guards against consumers that stop fetching without an error
(seen on Tansu): while the group's lag is positive and nothing has been consumed for
``stall_after_s``, the consumer is closed and recreated (it resumes from the committed
offsets), counted in ``eoport_stage_stalls_total`` and reported on ``events``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from prometheus_client import Counter, Gauge

from streams._infra.bus import KafkaBus, KafkaConsumer, KafkaProducer
from streams._infra.deadletters import dead_letter
from streams._infra.errors import DeliveryError, PermanentError, RetryableError
from streams._infra.records import OutgoingRecord, Record
from streams._infra.retry import STAGE_RETRY, RetryPolicy, StopRequestedError, retry_until_done

log = logging.getLogger(__name__)

TopicPartition = tuple[str, int]

CONSUMER_CONFIG: Mapping[str, Any] = {
    "fetch.wait.max.ms": 10,
    "max.poll.interval.ms": 600_000,
}
"""librdkafka settings of every stage consumer (one place). ``fetch.wait.max.ms``: Tansu
holds a fetch this long even when records are waiting; librdkafka's 500 ms default would
add ~0.25 s per stage."""

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
"""Returns the group's current lag in records (``None`` when it cannot be measured)."""


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
        Watchdog: recreate the consumer when the lag is positive and nothing was consumed
        for this long, s (``None``: no watchdog).
    lag_probe_interval_s
        Watchdog: shortest time between two lag probes, s.
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
        Measures the group's lag for the watchdog; ``None`` measures it with
        :func:`streams._infra.lag.group_lag` on every input topic.
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
        self._lag_probe = lag_probe or self._probe_lag
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None
        self._handled: dict[TopicPartition, int] = {}
        self._last_progress = time.monotonic()
        self._last_probe = -float("inf")
        self.ready = threading.Event()
        """Set once the consumer is subscribed (readiness probes)."""

    # ------------------------------------------------------------------ clients

    def _new_consumer(self) -> KafkaConsumer:
        config = dict(CONSUMER_CONFIG) | dict(self.config.consumer_config)
        return self.bus.consumer(
            self.config.group_id,
            list(self.config.topics),
            on_assign=lambda parts: self.stage.assigned(parts),
            on_revoke=self._revoked,
            config=config,
        )

    def _revoked(self, parts: list[TopicPartition]) -> None:
        for tp in parts:
            self._handled.pop(tp, None)
        self.stage.revoked(parts)

    def _probe_lag(self) -> int | None:
        from streams._infra.errors import StreamError
        from streams._infra.lag import group_lag

        total = 0
        try:
            for topic in self.config.topics:
                total += group_lag(self.bus, self.config.group_id, topic, 5.0).total
        except StreamError as exc:
            log.warning("%s: lag probe failed: %s", self.stage.name, exc)
            return None
        return total

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
        now = time.monotonic()
        if consumed:
            self._last_progress = now
            STAGE_LAST_PROGRESS.labels(self.stage.name).set(time.time())
            return
        limit = self.config.stall_after_s
        if limit is None or now - self._last_progress < limit:
            return
        if now - self._last_probe < self.config.lag_probe_interval_s:
            return
        self._last_probe = now
        lag = self._lag_probe()
        if lag is None:
            return
        if lag == 0:
            self._last_progress = now
            STAGE_LAST_PROGRESS.labels(self.stage.name).set(time.time())
            return
        idle_s = now - self._last_progress
        log.error(
            "%s: no record consumed for %.0f s while the group lags %d records: "
            "recreating the consumer", self.stage.name, idle_s, lag,
        )  # fmt: skip
        self.stats.stalls += 1
        STAGE_STALLS.labels(self.stage.name).inc()
        self._restart_consumer()
        self._last_progress = now
        self._stall_event(lag, idle_s)

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
