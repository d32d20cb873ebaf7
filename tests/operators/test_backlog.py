"""Backlog samples and history: lag, rates, pruning, stuck partitions."""

from __future__ import annotations

import pytest

from operators.backlog import BacklogHistory, BacklogSample, PartitionOffsets
from tests.operators.helpers import history, sample

T0 = 1_800_000_000.0


def test_lag_counts_from_start_when_never_committed_and_after_retention() -> None:
    assert PartitionOffsets(0, None, 10, start=0).lag == 10
    assert PartitionOffsets(0, None, 10, start=4).lag == 6
    assert PartitionOffsets(0, 2, 10, start=4).lag == 6  # committed offset deleted by retention
    assert PartitionOffsets(0, 12, 10).lag == 0
    s = BacklogSample(T0, (PartitionOffsets(0, 3, 10), PartitionOffsets(1, None, 5)))
    assert (s.lag, s.produced, s.completed, s.partition_count) == (12, 15, 3, 2)


def test_arrival_and_completion_rates_over_the_window() -> None:
    h = history(
        sample(T0, [0, 0], committed=[0, 0]),
        sample(T0 + 10, [5, 5], committed=[10, 10]),  # 30 produced, 20 committed in 10 s
        sample(T0 + 20, [0, 0], committed=[20, 20]),  # 10 more produced, 20 committed
    )
    assert h.arrival_rate(T0 + 20, 20.0) == pytest.approx(40 / 20)
    assert h.completion_rate(T0 + 20, 20.0) == pytest.approx(40 / 20)
    assert h.arrival_rate(T0 + 20, 10.0) == pytest.approx(10 / 10)
    assert h.completion_rate(T0 + 20, 10.0) == pytest.approx(20 / 10)
    assert history(sample(T0, [3])).arrival_rate(T0, 10.0) is None
    # a window shorter than the sampling interval uses the sample just before it
    assert h.arrival_rate(T0 + 20, 1.0) == pytest.approx(1.0)


def test_appended_prunes_but_keeps_a_baseline() -> None:
    h = BacklogHistory()
    for t in range(0, 100, 10):
        h = h.appended(sample(T0 + t, [t]), keep_s=25.0)
    assert [s.time - T0 for s in h.samples] == [60, 70, 80, 90]
    assert h.latest is not None and h.latest.time == T0 + 90
    # out-of-order samples are not kept after a newer one
    h2 = h.appended(sample(T0 + 85, [1]), keep_s=25.0)
    assert h2.latest is not None and h2.latest.time == T0 + 85


def test_stuck_needs_full_coverage_of_the_window() -> None:
    short = history(*(sample(T0 + t, [4], committed=[1], workers=1) for t in (0, 10, 20)))
    assert short.stuck_partitions(T0 + 20, 30.0) == frozenset()
    full = history(*(sample(T0 + t, [4], committed=[1], workers=1) for t in (0, 10, 20, 30)))
    assert full.stuck_partitions(T0 + 30, 30.0) == frozenset({0})
    unknown_workers = history(*(sample(T0 + t, [4], workers=None) for t in (0, 10, 20, 30)))
    assert unknown_workers.stuck_partitions(T0 + 30, 30.0) == frozenset()
