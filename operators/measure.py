"""Backlog measurement on the broker: the consumer group's lag on the job topic as a
:class:`~operators.backlog.BacklogSample`.

Uses :func:`streams.lag.group_lag`, which is exact on Tansu too (its ListOffsets answer is
wrong after a batched produce; the lag module probes the real end of each partition).
The call blocks (librdkafka): async callers run it in a thread.
"""

from __future__ import annotations

import time
from typing import Any

from operators.backlog import BacklogSample, PartitionOffsets
from streams import BrokerUnavailableError, StreamError, group_lag

__all__ = ["BrokerUnavailableError", "measure_backlog"]


def measure_backlog(
    bus: Any,
    group: str,
    topic: str,
    *,
    timeout_s: float = 5.0,
    workers: int | None = None,
    now: float | None = None,
) -> BacklogSample:
    """Offsets of ``group`` on every partition of ``topic``.

    Parameters
    ----------
    bus
        A :class:`streams.bus.KafkaBus`.
    group, topic
        Consumer group of the focus workers and the job topic.
    timeout_s
        Time allowed for the broker requests, s.
    workers
        Workers of the pool now (recorded in the sample for stuck-partition detection).
    now
        Sample time, POSIX s (default: when the offsets were read).

    Raises
    ------
    BrokerUnavailableError
        If the broker does not answer (any streaming-layer failure is mapped to it).
    """
    try:
        lag = group_lag(bus, group, topic, timeout_s)
    except BrokerUnavailableError:
        raise
    except StreamError as exc:
        raise BrokerUnavailableError(f"lag of {group} on {topic}: {exc}") from exc
    return BacklogSample(
        time=time.time() if now is None else now,
        partitions=tuple(
            PartitionOffsets(p.partition, p.committed, p.end, p.start) for p in lag.partitions
        ),
        workers=workers,
    )
