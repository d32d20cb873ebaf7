"""Progress watchdog: notice a consumer that stopped reading while records wait.

A librdkafka consumer can stop delivering records without any error: on Tansu 0.6 with
``s3://`` storage every Fetch comes back empty once listing the partition's batch objects
takes longer than ``fetch.wait.max.ms`` (the broker gives up at that deadline and answers
"no records", with the correct high watermark), and librdkafka asks again for the same
offset for ever. The same shape -- position frozen below the end of the log -- is what
any wedged fetcher looks like, so the check is generic.

How it decides, cheaply:

* every loop iteration the stage passes the positions it has reached (next offset per
  assigned partition, a local read, :func:`consumer_positions`); any change is progress;
* while the positions stay still, at most once per ``probe_interval_s`` it asks a backlog
  probe how many records wait beyond them. :func:`consumer_backlog` answers from the high
  watermark librdkafka caches from every fetch response -- exact on Tansu and Kafka, and
  no broker request, so it works precisely when fetching is what is broken -- falling
  back to an exact end-offset probe (:func:`streams._infra.lag.end_offsets`) where the
  cache knows nothing;
* a stall is records seen waiting, with the positions still, for ``stall_after_s``: the
  clock starts at the first probe that finds a backlog (not at the last progress, so a
  record arriving after a long idle time is given the full ``stall_after_s``); a probe
  finding no backlog stops it.

Recovery is the caller's: close the consumer and create a new one (the group hands the
partitions back at their committed offsets; records consumed but not committed are read
again, which the stages absorb), with a longer ``fetch.wait.max.ms``
(:func:`escalate_fetch_wait`): a new consumer with the same setting stalls again at once
on Tansu/S3, since the listing that outran the deadline is still as long.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from confluent_kafka import OFFSET_INVALID, KafkaException, TopicPartition

from streams._infra.errors import ConfigurationError

log = logging.getLogger(__name__)

Partition = tuple[str, int]
"""``(topic, partition)``."""

BacklogProbe = Callable[[], int | None]
"""Records waiting beyond the consumer's positions, all partitions (``None``: unknown)."""

EndOffsets = Callable[[str], Mapping[int, tuple[int, int]]]
"""Exact ``{partition: (start, end)}`` of a topic, e.g. ``partial(lag.end_offsets, bus)``."""


class RdConsumer(Protocol):
    """The confluent-kafka ``Consumer`` calls the helpers use."""

    def assignment(self) -> list[Any]:
        """Assigned partitions."""

    def position(self, partitions: list[Any]) -> list[Any]:
        """Next offset the application will receive, per partition (local)."""

    def committed(self, partitions: list[Any], timeout: float = ...) -> list[Any]:
        """Committed offsets (an OffsetFetch request)."""

    def get_watermark_offsets(
        self, partition: Any, timeout: float = ..., cached: bool = ...
    ) -> tuple[int, int] | None:
        """``(low, high)`` watermarks, ``cached`` from the last fetch response."""


@dataclass(frozen=True, slots=True)
class Stall:
    """A consumer found stuck.

    Parameters
    ----------
    backlog
        Records waiting beyond its positions at the last probe.
    waiting_s
        Time since a probe first found records waiting with the positions still, s.
    idle_s
        Time since its positions last moved, s.
    positions
        Its positions then (next offset per ``(topic, partition)``; ``-1`` unknown).
    """

    backlog: int
    waiting_s: float
    idle_s: float
    positions: Mapping[Partition, int]


class ProgressWatchdog:
    """Says when records have waited ``stall_after_s`` while a consumer made no progress.

    Call :meth:`observe` once per loop iteration with the consumer's positions; it costs
    a dictionary comparison, plus one backlog probe per ``probe_interval_s`` while the
    positions stay still.

    Parameters
    ----------
    stall_after_s
        How long records may wait with the positions still before it is a stall, s.
        Choose it above the longest legitimate pause of the stage between two polls that
        leaves records unread (a group rebalance: ~session timeout on Tansu) and well
        above the fetch wait.
    probe_interval_s
        Shortest time between two backlog probes, s.
    clock
        Monotonic clock, s (injectable for tests).

    Examples
    --------
    >>> dog = ProgressWatchdog(30.0)  # doctest: +SKIP
    >>> while running:  # doctest: +SKIP
    ...     records = consumer.poll(0.2)
    ...     ...
    ...     stall = dog.observe(consumer_positions(raw), lambda: consumer_backlog(raw))
    ...     if stall is not None:
    ...         consumer = recreate(fetch_wait_ms=escalate_fetch_wait(wait_ms))
    ...         dog.reset()
    """

    def __init__(
        self,
        stall_after_s: float,
        *,
        probe_interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if stall_after_s <= 0 or probe_interval_s < 0:
            raise ConfigurationError(
                f"watchdog needs stall_after_s > 0 and probe_interval_s >= 0, got "
                f"{stall_after_s} and {probe_interval_s}"
            )
        self.stall_after_s = stall_after_s
        self.probe_interval_s = probe_interval_s
        self._clock = clock
        self._positions: dict[Partition, int] = {}
        self._still_since = clock()
        self._waiting_since: float | None = None
        self._last_probe = -float("inf")
        self.probes = 0
        """Backlog probes made so far."""
        self.stalls = 0
        """Stalls reported so far."""

    @property
    def idle_s(self) -> float:
        """Time since the positions last moved (or since :meth:`reset`), s."""
        return self._clock() - self._still_since

    @property
    def waiting_s(self) -> float | None:
        """Time since records were first seen waiting with the positions still, s
        (``None``: none seen)."""
        if self._waiting_since is None:
            return None
        return self._clock() - self._waiting_since

    def reset(self) -> None:
        """Forget the positions and restart the clocks (after recreating the consumer)."""
        self._positions = {}
        self.progressed()
        self._last_probe = -float("inf")

    def progressed(self) -> None:
        """Record progress that positions do not show (e.g. a long record handled)."""
        self._still_since = self._clock()
        self._waiting_since = None

    def observe(self, positions: Mapping[Partition, int], probe: BacklogProbe) -> Stall | None:
        """Check the consumer once; return a :class:`Stall` if it is stuck, else ``None``.

        Parameters
        ----------
        positions
            Next offset per assigned ``(topic, partition)``; any difference from the
            previous call (an offset moved, the assignment changed) is progress.
        probe
            Called at most once per ``probe_interval_s`` while the positions stay still:
            records waiting beyond ``positions`` (``None``: could not tell).
        """
        now = self._clock()
        if dict(positions) != self._positions:
            self._positions = dict(positions)
            self.progressed()
            return None
        if now - self._last_probe < self.probe_interval_s:
            return None
        self._last_probe = now
        self.probes += 1
        backlog = probe()
        if backlog is None:
            return None
        if backlog <= 0:  # idle, not stuck
            self._waiting_since = None
            return None
        if self._waiting_since is None:
            self._waiting_since = now
        waiting = now - self._waiting_since
        if waiting < self.stall_after_s:
            return None
        self.stalls += 1
        return Stall(
            backlog=backlog,
            waiting_s=waiting,
            idle_s=now - self._still_since,
            positions=dict(self._positions),
        )


def consumer_positions(consumer: RdConsumer) -> dict[Partition, int]:
    """Next offset the application will receive per assigned partition (``-1`` until the
    first record of the partition since assignment). Local: no broker request."""
    parts = consumer.assignment()
    if not parts:
        return {}
    out: dict[Partition, int] = {}
    for tp in consumer.position(parts):
        offset = tp.offset if tp.offset is not None and tp.offset >= 0 else -1
        out[(tp.topic, tp.partition)] = offset
    return out


def consumer_backlog(
    consumer: RdConsumer,
    *,
    end_offsets: EndOffsets | None = None,
    timeout_s: float = 5.0,
) -> int | None:
    """Records waiting beyond ``consumer``'s positions, all assigned partitions together.

    The end of each partition is the high watermark librdkafka cached from its latest
    fetch response (no request: exact, and fresh while the consumer fetches, which a
    stalled one on Tansu does every ``fetch.wait.max.ms``). Where the cache is empty or
    shows no backlog and ``end_offsets`` is given, that exact probe decides (a fetcher
    that stopped fetching altogether leaves a stale cache). A partition with no position
    yet counts from its committed offset (one OffsetFetch), else from its log start.

    Returns ``None`` if the backlog cannot be told (no assignment, broker unreachable).
    """
    parts = consumer.assignment()
    if not parts:
        return None
    positions = consumer_positions(consumer)
    missing = [TopicPartition(t, p) for (t, p), o in positions.items() if o < 0]
    try:
        if missing:
            for tp in consumer.committed(missing, timeout=timeout_s):
                if tp.offset is not None and tp.offset >= 0:
                    positions[(tp.topic, tp.partition)] = tp.offset
        ends: dict[Partition, tuple[int, int]] = {}
        for tp in parts:
            marks = consumer.get_watermark_offsets(
                TopicPartition(tp.topic, tp.partition), cached=True
            )
            if marks is not None and marks[1] != OFFSET_INVALID:
                ends[(tp.topic, tp.partition)] = (max(0, marks[0]), marks[1])
        stale = [key for key in positions if key not in ends or ends[key][1] <= positions[key]]
        if stale and end_offsets is not None:
            for topic in sorted({t for t, _ in stale}):
                for partition, (start, end) in end_offsets(topic).items():
                    ends[(topic, partition)] = (start, end)
    except (KafkaException, RuntimeError) as exc:  # RuntimeError: closed consumer
        log.warning("backlog probe failed: %s", exc)
        return None
    except Exception as exc:  # noqa: BLE001 - an end-offset probe's own errors
        log.warning("end-offset probe failed: %s", exc)
        return None
    total = 0
    for key, position in positions.items():
        if key not in ends:
            return None
        start, end = ends[key]
        total += max(0, end - max(position, start))
    return total


def escalate_fetch_wait(current_ms: int, *, factor: int = 4, ceiling_ms: int = 2000) -> int:
    """The ``fetch.wait.max.ms`` to recreate a stalled consumer with: ``factor`` times
    ``current_ms`` (at least 50 ms), at most ``ceiling_ms``.

    On Tansu/S3 a fetch returns records only if the broker lists the partition's batch
    objects within this time. Tansu answers a fetch that found records after about half
    the wait, an empty one after all of it: each record waits ~wait/2 more per stage
    (``benchmarks/broker_stall.py``).
    """
    return max(50, min(ceiling_ms, current_ms * factor))
