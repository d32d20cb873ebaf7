"""Topic names, partition counts, and idempotent topic creation.

Keys and payloads (docs/architecture.md, "Topics"):

==============  ===========================  ==========================================
topic           key                          value
==============  ===========================  ==========================================
raw-chunks      ``station/pass_id/channel``  :mod:`streams.chunks` record (<= ~900 KB)
focus-jobs      ``datatake/swath/pol/burst``  claim check: burst metadata + object URLs
l1-products     product id                   product record (what becomes a STAC Item)
deliveries      subscription id              delivery attempt records
events          source id                    gaps, timeouts, corrupt chunks, errors
dead-letters    original key                 original value + ``x-error`` headers
==============  ===========================  ==========================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.cimpl import NewTopic

from streams._infra.errors import BrokerUnavailableError, ConfigurationError

RAW_CHUNKS = "raw-chunks"
FOCUS_JOBS = "focus-jobs"
L1_PRODUCTS = "l1-products"
DELIVERIES = "deliveries"
EVENTS = "events"
DEAD_LETTERS = "dead-letters"


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic to create.

    Parameters
    ----------
    name
        Topic name.
    partitions
        Partition count: the upper bound on useful consumers of one group.
    config
        Topic configuration (``retention.ms`` ...), passed to the broker as is.
    """

    name: str
    partitions: int
    config: Mapping[str, str] = field(default_factory=dict)


DEFAULT_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(RAW_CHUNKS, 6),
    TopicSpec(FOCUS_JOBS, 24),
    TopicSpec(L1_PRODUCTS, 6),
    TopicSpec(DELIVERIES, 6),
    TopicSpec(EVENTS, 3),
    TopicSpec(DEAD_LETTERS, 3),
)
"""The topics of the pipeline; ``focus-jobs`` has as many partitions as the most focus
workers ever run (consumers beyond the partition count sit idle)."""


def topic_specs(names: Mapping[str, str] | None = None) -> tuple[TopicSpec, ...]:
    """:data:`DEFAULT_TOPICS`, renamed through ``names`` (default name -> configured name)."""
    names = names or {}
    return tuple(
        TopicSpec(names.get(s.name, s.name), s.partitions, s.config) for s in DEFAULT_TOPICS
    )


def ensure_topics(bus: Any, specs: Iterable[TopicSpec], timeout_s: float = 15.0) -> dict[str, int]:
    """Create the topics of ``specs`` that do not exist yet.

    Safe to call from every stage at start, concurrently: an existing topic is left as is.

    Parameters
    ----------
    bus
        A :class:`streams.bus.KafkaBus`.
    specs
        Topics wanted.
    timeout_s
        Time allowed for the admin requests, seconds.

    Returns
    -------
    dict
        Topic name -> partition count now on the broker.

    Raises
    ------
    BrokerUnavailableError
        If the broker does not answer (also when it goes away in the middle: a stage
        started while its broker restarts exits with "service unavailable", for its
        supervisor to start again, rather than calling it a configuration error).
    ConfigurationError
        If the broker rejects a topic (invalid name, partition count).
    """
    specs = list(specs)
    existing = bus.topics(timeout_s)
    missing = [s for s in specs if s.name not in existing]
    if missing:
        futures = bus.admin.create_topics(
            [NewTopic(s.name, s.partitions, 1, config=dict(s.config)) for s in missing],
            request_timeout=timeout_s,
            operation_timeout=timeout_s,
        )
        for name, future in futures.items():
            try:
                future.result(timeout=timeout_s)
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                if isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                    continue
                if isinstance(err, KafkaError) and (err.retriable() or err.code() in _UNREACHABLE):
                    raise BrokerUnavailableError(f"creating topic {name}: {err}") from exc
                raise ConfigurationError(f"creating topic {name}: {exc}") from exc
            except TimeoutError as exc:
                raise BrokerUnavailableError(f"creating topic {name} timed out") from exc
    return {s.name: len(bus.partitions(s.name, timeout_s)) for s in specs}


_UNREACHABLE = frozenset({
    KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._TIMED_OUT,
    KafkaError._RESOLVE, KafkaError.REQUEST_TIMED_OUT,
})  # fmt: skip
"""Admin-request errors that mean "broker not reachable now", which librdkafka does not
all flag retriable (a broker killed mid-request answers ``_TRANSPORT``)."""
