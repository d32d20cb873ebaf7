"""Builders of backlog samples for the operator tests."""

from __future__ import annotations

from collections.abc import Sequence

from operators.backlog import BacklogHistory, BacklogSample, PartitionOffsets


def sample(
    t: float,
    lags: Sequence[int],
    *,
    committed: Sequence[int] | None = None,
    workers: int | None = 1,
) -> BacklogSample:
    """A sample at ``t`` whose partition ``i`` has ``lags[i]`` jobs waiting after
    ``committed[i]`` (default 0) committed ones."""
    done = list(committed) if committed is not None else [0] * len(lags)
    pairs = enumerate(zip(done, lags, strict=True))
    offsets = tuple(PartitionOffsets(i, c, c + lag) for i, (c, lag) in pairs)
    return BacklogSample(t, offsets, workers)


def history(*samples: BacklogSample) -> BacklogHistory:
    """A history of ``samples``."""
    return BacklogHistory.of(samples)


def spread(total: int, partitions: int) -> list[int]:
    """``total`` jobs spread over ``partitions`` as evenly as possible."""
    return [total // partitions + (1 if i < total % partitions else 0) for i in range(partitions)]
