"""How the timeline stage runs: :class:`TimelineConfig` (built from
:class:`~streams.timeline.settings.TimelineSettings`, ``EOPORT_*``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from streams._infra.topics import (
    DEAD_LETTERS,
    DEFAULT_TOPICS,
    DELIVERIES,
    EVENTS,
    FOCUS_JOBS,
    L1_PRODUCTS,
    RAW_CHUNKS,
    TopicSpec,
)

DEFAULT_WATCHED: tuple[tuple[str, str], ...] = (
    ("eoport-assembler", RAW_CHUNKS),
    ("eoport-focus", FOCUS_JOBS),
    ("eoport-delivery", L1_PRODUCTS),
)
"""``(consumer group, topic)`` pairs whose backlog the stage samples."""


@dataclass(frozen=True)
class TimelineConfig:
    """Settings of the timeline stage.

    Parameters
    ----------
    db_path
        The SQLite file of :class:`~streams.timeline.store.TimelineStore` (shared with the
        API).
    group_id
        Consumer group of the stage. The stage runs as the **only member** of its group:
        a second timeline (another file) needs another group id, else the two split the
        partitions between them.
    jobs_topic, products_topic, events_topic, deliveries_topic
        Input topics.
    dead_letters_topic
        Where records that are not valid values of their topic go.
    watched
        ``(group, topic)`` backlogs to sample; empty: no sampling.
    sample_interval_s
        Time between backlog samples, s (0: no sampling).
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
    discovery_interval_s
        How often the consumer refreshes the topics' metadata, s: an input topic created
        (or given partitions) after the start is read within about this time
        (librdkafka ``topic.metadata.refresh.interval.ms``).
    stall_after_s
        Watchdog of the stage runtime: recreate a consumer idle while its group lags, s
        (``None``: no watchdog).
    """

    db_path: Path
    group_id: str = "eoport-timeline"
    jobs_topic: str = FOCUS_JOBS
    products_topic: str = L1_PRODUCTS
    events_topic: str = EVENTS
    deliveries_topic: str = DELIVERIES
    dead_letters_topic: str = DEAD_LETTERS
    watched: tuple[tuple[str, str], ...] = DEFAULT_WATCHED
    sample_interval_s: float = 5.0
    keep_samples_s: float = 6 * 3600.0
    poll_timeout_s: float = 0.2
    max_batch: int = 500
    keep_s: float = 7 * 86_400.0
    prune_interval_s: float = 600.0
    discovery_interval_s: float = 10.0
    stall_after_s: float | None = 30.0

    @property
    def roles(self) -> dict[str, str]:
        """Topic name -> role (see :data:`streams.timeline.store.ROLES`)."""
        return {
            self.jobs_topic: "jobs",
            self.products_topic: "products",
            self.events_topic: "events",
            self.deliveries_topic: "deliveries",
        }

    def specs(self) -> list[TopicSpec]:
        """The topics the stage reads and writes, with the default partition counts of
        :data:`streams._infra.topics.DEFAULT_TOPICS`."""
        partitions = {s.name: s.partitions for s in DEFAULT_TOPICS}
        defaults = {
            self.jobs_topic: partitions[FOCUS_JOBS],
            self.products_topic: partitions[L1_PRODUCTS],
            self.events_topic: partitions[EVENTS],
            self.deliveries_topic: partitions[DELIVERIES],
            self.dead_letters_topic: partitions[DEAD_LETTERS],
        }
        return [TopicSpec(name, n) for name, n in defaults.items()]
