"""The scaling policy: step up, drain, flapping, caps, activation, plan, stuck partitions."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from operators.backlog import BacklogSample
from operators.plan import AcquisitionPlan, PlannedPass
from operators.policy import Recommendation, decide, planned_replicas, stabilise
from operators.pool import PoolSpec
from operators.scaler import Autoscaler
from operators.throughput import WorkerThroughput
from sar.constants import IW_BURST_CYCLE
from tests.operators.helpers import history, sample, spread

T0 = 1_800_000_000.0
UNKNOWN = WorkerThroughput.unknown()
NO_PLAN = AcquisitionPlan()


def test_step_up_counts_backlog_in_seconds_of_sensing() -> None:
    spec = PoolSpec(min_replicas=1, max_replicas=8, target_backlog_s=30.0)
    d = decide(history(sample(T0, spread(40, 24))), UNKNOWN, NO_PLAN, spec, T0, current=1)
    assert d.backlog_bursts == 40
    assert d.backlog_s == pytest.approx(40 * 2.758273, abs=1e-6)
    assert d.replicas == math.ceil(40 * IW_BURST_CYCLE / 30.0) == 4
    assert d.action == "scale-up"
    assert "scale-up 1 -> 4" in d.reason and "110.3 s of sensing" in d.reason


def test_drain_scales_down_only_after_the_window_and_only_when_lag_is_zero() -> None:
    spec = PoolSpec(min_replicas=1, max_replicas=8, scale_down_window_s=60.0)
    scaler = Autoscaler(spec)
    scaler.observe(sample(T0, spread(40, 8), workers=1))
    assert scaler.decide(T0, current=1).replicas == 4
    # the backlog drains: 2 jobs left, then none
    scaler.observe(sample(T0 + 20, spread(2, 8), committed=spread(38, 8), workers=4))
    d = scaler.decide(T0 + 20, current=4)
    assert d.replicas == 4 and "scale-down window" in d.reason
    scaler.observe(sample(T0 + 61, [0] * 8, committed=spread(40, 8), workers=4))
    d = scaler.decide(T0 + 61, current=4)
    assert d.replicas == 1 and d.action == "scale-down"  # the 4 of T0 left the window


def test_scale_down_is_deferred_while_a_job_is_uncommitted() -> None:
    spec = PoolSpec(min_replicas=0, max_replicas=8, scale_down_window_s=0.0)
    one_left = history(sample(T0, [1, 0, 0, 0], committed=[10, 10, 10, 10], workers=3))
    d = decide(one_left, UNKNOWN, NO_PLAN, spec, T0, current=3)
    assert d.recommendation == 1 and d.replicas == 3 and d.action == "hold"
    assert "scale-down deferred: 1 jobs" in d.reason
    drained = history(sample(T0, [0, 0, 0, 0], committed=[11, 10, 10, 10], workers=3))
    assert decide(drained, UNKNOWN, NO_PLAN, spec, T0, current=3).replicas == 0
    lenient = PoolSpec(max_replicas=8, scale_down_window_s=0.0, scale_down_only_when_drained=False)
    assert decide(one_left, UNKNOWN, NO_PLAN, lenient, T0, current=3).replicas == 1


def test_flapping_backlog_does_not_flap_the_pool() -> None:
    """30 jobs arrive every 10 s and are drained within 5 s (backlog 30, 0, 30, 0...): the
    pool goes up and stays up; without the scale-down window it would flap."""

    def run(spec: PoolSpec) -> list[int]:
        scaler = Autoscaler(spec)
        current, sizes = 1, []
        for i in range(24):  # 2 minutes, one sample every 5 s
            t = T0 + 5 * i
            produced = 30 * (i // 2 + 1)
            done = produced - 30 if i % 2 == 0 else produced
            lags = [a - b for a, b in zip(spread(produced, 8), spread(done, 8), strict=True)]
            scaler.observe(sample(t, lags, committed=spread(done, 8), workers=current))
            current = scaler.decide(t, current).replicas
            sizes.append(current)
        return sizes

    steady = run(PoolSpec(min_replicas=1, max_replicas=8, scale_down_window_s=60.0))
    assert all(b >= a for a, b in zip(steady, steady[1:], strict=False)), steady
    changes = sum(1 for a, b in zip(steady, steady[1:], strict=False) if a != b)
    assert steady[0] == 3 and steady[-1] == 4 and changes <= 2, steady
    nervous = run(PoolSpec(min_replicas=1, max_replicas=8, scale_down_window_s=0.0,
                           scale_down_only_when_drained=False, rate_window_s=2.5))  # fmt: skip
    assert sum(1 for a, b in zip(nervous, nervous[1:], strict=False) if a != b) >= 10


def test_a_restarted_scaler_does_not_scale_a_running_pool_down_at_once() -> None:
    """Operator restarted mid-pass: no history, no arrival rate, lag 0 between bursts.
    The running size counts as recommended: no scale-down before a whole window."""
    spec = PoolSpec(min_replicas=0, max_replicas=8, scale_down_window_s=60.0)
    scaler = Autoscaler(spec)
    scaler.observe(sample(T0, [0] * 8, committed=[50] * 8, workers=5))
    assert scaler.decide(T0, current=5).replicas == 5
    scaler.observe(sample(T0 + 61, [0] * 8, committed=[50] * 8, workers=5))
    assert scaler.decide(T0 + 61, current=5).replicas == 0
    up = Autoscaler(PoolSpec(max_replicas=8, scale_up_window_s=10.0))
    up.observe(sample(T0, spread(80, 8), workers=2))
    assert up.decide(T0, current=2).replicas == 8  # outside the up window: a backlog acts


def test_scale_up_window_ignores_a_single_spike() -> None:
    spec = PoolSpec(min_replicas=1, max_replicas=8, scale_up_window_s=6.0)
    scaler = Autoscaler(spec)
    scaler.observe(sample(T0, [0] * 8))
    assert scaler.decide(T0, 1).replicas == 1
    scaler.observe(sample(T0 + 2, spread(40, 8), workers=1))
    d = scaler.decide(T0 + 2, 1)
    assert d.recommendation == 4 and d.replicas == 1 and "scale-up window" in d.reason
    scaler.observe(sample(T0 + 7, spread(40, 8), workers=1))
    d = scaler.decide(T0 + 7, 1)  # sustained past the window: lowest recommendation in it
    assert d.replicas == d.recommendation == 4


def test_never_more_replicas_than_partitions() -> None:
    spec = PoolSpec(min_replicas=0, max_replicas=10)
    d = decide(history(sample(T0, [500, 500, 500])), UNKNOWN, NO_PLAN, spec, T0, current=1)
    assert d.replicas == 3 and d.upper == 3
    assert "capped at partitions 3" in d.reason
    too_many = decide(history(sample(T0, [5, 5, 5])), UNKNOWN, NO_PLAN, spec, T0, current=6)
    assert too_many.replicas == 3  # out of bounds: the drain gate does not hold it


def test_min_replicas_above_partitions_is_capped() -> None:
    spec = PoolSpec(min_replicas=5, max_replicas=10)
    d = decide(history(sample(T0, [0, 0])), UNKNOWN, NO_PLAN, spec, T0, current=0)
    assert (d.lower, d.upper, d.replicas) == (2, 2, 2)


def test_zero_backlog_goes_to_min_replicas() -> None:
    for minimum in (0, 2):
        spec = PoolSpec(min_replicas=minimum, max_replicas=8, scale_down_window_s=30.0)
        scaler = Autoscaler(spec)
        current = 6
        for i in range(10):
            t = T0 + 5 * i
            scaler.observe(sample(t, [0] * 8, committed=[7] * 8, workers=current))
            current = scaler.decide(t, current).replicas
        assert current == minimum
        assert scaler.last is not None and "no backlog" in scaler.last.reason


def test_activation_threshold_from_zero() -> None:
    spec = PoolSpec(min_replicas=0, max_replicas=8, activation_backlog_s=10.0)
    below = decide(history(sample(T0, [3, 0, 0], workers=0)), UNKNOWN, NO_PLAN, spec, T0, 0)
    assert below.replicas == 0 and not below.active
    assert "<= activation 10 s" in below.reason
    above = decide(history(sample(T0, [4, 0, 0], workers=0)), UNKNOWN, NO_PLAN, spec, T0, 0)
    assert above.active and above.replicas == 1
    no_threshold = PoolSpec(min_replicas=0, max_replicas=8)
    one = decide(history(sample(T0, [1, 0, 0], workers=0)), UNKNOWN, NO_PLAN, no_threshold, T0, 0)
    assert one.replicas == 1


def test_arrivals_keep_a_running_pool_active_between_bursts() -> None:
    """During a pass the lag touches zero between bursts; the arrival rate keeps the
    capacity: 2.175 jobs/s (dual-pol IW) at 1.2 bursts/s x 0.8 -> 3 workers."""
    spec = PoolSpec(min_replicas=0, max_replicas=8, scale_down_window_s=0.0, rate_window_s=11.0)
    per_s = 6 / IW_BURST_CYCLE
    made = int(per_s * 5.5)  # per half window
    h = history(
        sample(T0 - 11.0, [0] * 6, committed=[10] * 6, workers=3),
        sample(T0 - 5.5, [0] * 6, committed=[10 + n for n in spread(made, 6)], workers=3),
        sample(T0, [0] * 6, committed=[10 + n for n in spread(2 * made, 6)], workers=3),
    )
    d = decide(h, UNKNOWN, NO_PLAN, spec, T0, current=3)
    assert d.arrival_rate == pytest.approx(made / 5.5)
    assert d.active and d.replicas == math.ceil(made / 5.5 / (1.2 * 0.8)) == 3
    assert "arrivals" in d.reason


def test_a_batch_is_backlog_not_a_rate() -> None:
    """40 jobs published at once: the backlog term decides (4), not a rate of 40 jobs in
    the newer half window (which would ask for the 8 partitions)."""
    spec = PoolSpec(min_replicas=0, max_replicas=8, rate_window_s=6.0)
    h = history(
        sample(T0 - 6, [0] * 8, workers=1),
        sample(T0 - 3, [0] * 8, workers=1),
        sample(T0 - 1, spread(40, 8), workers=1),
        sample(T0, spread(40, 8), workers=1),
    )
    d = decide(h, UNKNOWN, NO_PLAN, spec, T0, current=1)
    assert d.arrival_rate == 0.0 and d.replicas == 4
    assert h.arrival_rate(T0, 6.0) == pytest.approx(40 / 6)  # the plain rate would say 8


def test_measured_throughput_changes_the_rate_term_and_unknown_uses_default() -> None:
    spec = PoolSpec(min_replicas=0, max_replicas=16, scale_down_window_s=0.0, rate_window_s=10.0)
    h = history(
        sample(T0 - 10, [0] * 16, committed=[0] * 16, workers=2),
        sample(T0 - 5, [0] * 16, committed=[1] * 16, workers=2),
        sample(T0, [0] * 16, committed=[2] * 16, workers=2),
    )  # 16 jobs every 5 s = 3.2 jobs/s
    slow = WorkerThroughput({"a": 0.5, "b": 0.5}, 2)
    fast = WorkerThroughput({"a": 2.0, "b": 2.0}, 2)
    d_unknown = decide(h, UNKNOWN, NO_PLAN, spec, T0, 2)
    assert not d_unknown.worker_rate_measured and d_unknown.worker_rate == 1.2
    assert d_unknown.replicas == math.ceil(3.2 / (1.2 * 0.8)) == 4
    d_slow = decide(h, slow, NO_PLAN, spec, T0, 2)
    assert d_slow.worker_rate_measured and d_slow.replicas == 8
    assert decide(h, fast, NO_PLAN, spec, T0, 2).replicas == 2
    assert "(default)" in d_unknown.reason and "(measured)" in d_slow.reason


def test_pre_scaling_window_of_a_planned_pass() -> None:
    spec = PoolSpec(min_replicas=0, max_replicas=8, plan_lead_s=120.0, scale_down_window_s=30.0)
    start = T0 + 300
    plan = AcquisitionPlan((PlannedPass("svalbard", start, start + 600, bursts_per_cycle=6),))
    scaler = Autoscaler(spec)
    current, seen = 0, {}
    for t in (T0, start - 121, start - 119, start, start + 599, start + 601, start + 640):
        scaler.observe(sample(t, [0] * 8, workers=current))
        current = scaler.decide(t, current, plan=plan).replicas
        seen[t - start] = current
    # 6 bursts per 2.758 s = 2.175 jobs/s at 1.2 x 0.8 bursts/s per worker: 3 workers
    assert seen == {-300: 0, -121: 0, -119: 3, 0: 3, 599: 3, 601: 3, 640: 0}
    d = decide(history(sample(start - 60, [0] * 8)), UNKNOWN, plan, spec, start - 60, 0)
    assert "planned pass (svalbard): 3" in d.reason and d.planned[0].station == "svalbard"


def test_explicit_pass_replicas_and_simultaneous_passes_add_up() -> None:
    spec = PoolSpec(max_replicas=20)
    a = PlannedPass("kiruna", T0, T0 + 600, replicas=4)
    b = PlannedPass("matera", T0, T0 + 600, bursts_per_cycle=3)
    assert planned_replicas((a,), spec, 1.2) == 4
    assert planned_replicas((b,), spec, 1.2) == math.ceil(3 / IW_BURST_CYCLE / 0.96) == 2
    assert planned_replicas((a, b), spec, 1.2) == 6
    plan = AcquisitionPlan((a, b))
    d = decide(history(sample(T0, [0] * 24)), UNKNOWN, plan, spec, T0 + 10, 0)
    assert d.replicas == 6


def test_stuck_partitions_are_excluded_when_asked() -> None:
    spec = PoolSpec(min_replicas=0, max_replicas=8, exclude_stuck_partitions=True,
                    stuck_after_s=60.0, scale_down_window_s=0.0)  # fmt: skip
    # partition 0: 20 jobs waiting at offset 5 for 90 s while 2 workers ran
    samples = [
        sample(T0 + t, [20, 0, 0, 0], committed=[5, 10, 10, 10], workers=2)
        for t in range(0, 91, 10)
    ]
    h = history(*samples)
    d = decide(h, UNKNOWN, NO_PLAN, spec, T0 + 90, current=2)
    assert d.stuck_partitions == (0,) and d.effective_backlog_bursts == 0
    assert d.backlog_bursts == 20 and d.replicas == 0
    assert "stuck partitions [0] excluded" in d.reason
    counted = decide(h, UNKNOWN, NO_PLAN, PoolSpec(max_replicas=8), T0 + 90, current=2)
    assert counted.stuck_partitions == () and counted.replicas == 2  # 55 s / 30 s
    # nobody was consuming: waiting is not being stuck
    idle = history(*(sample(s.time, [20, 0, 0, 0], workers=0) for s in samples))
    assert decide(idle, UNKNOWN, NO_PLAN, spec, T0 + 90, current=0).stuck_partitions == ()
    # a partition that moved inside the window is not stuck
    moved = history(*samples[:-1], sample(T0 + 90, [19, 0, 0, 0], committed=[6, 100, 100, 100]))
    assert decide(moved, UNKNOWN, NO_PLAN, spec, T0 + 90, current=2).stuck_partitions == ()


def test_limit_to_partitions_with_lag() -> None:
    spec = PoolSpec(max_replicas=8, limit_to_partitions_with_lag=True)
    d = decide(history(sample(T0, [200, 0, 0, 0, 0, 0])), UNKNOWN, NO_PLAN, spec, T0, 1)
    assert d.replicas == 1 and d.partitions_with_lag == 1
    unlimited = decide(history(sample(T0, [200, 0, 0, 0, 0, 0])), UNKNOWN, NO_PLAN,
                       PoolSpec(max_replicas=8), T0, 1)  # fmt: skip
    assert unlimited.replicas == 6


def test_missing_topic_holds_the_current_size() -> None:
    spec = PoolSpec(min_replicas=0, max_replicas=8)
    d = decide(history(BacklogSample(T0, ())), UNKNOWN, NO_PLAN, spec, T0, current=3)
    assert d.replicas == 3 and d.partitions == 0


def test_stabilise_follows_hpa_semantics() -> None:
    recs = [Recommendation(T0 - 50, 5), Recommendation(T0 - 10, 2)]
    assert stabilise(3, 1, recs, T0, 0.0, 60.0) == 3  # highest in window is 5 > 3: hold
    assert stabilise(6, 1, recs, T0, 0.0, 60.0) == 5  # down to the window's highest
    assert stabilise(1, 4, recs, T0, 20.0, 60.0) == 2  # up to the up-window's lowest
    assert stabilise(1, 4, recs, T0, 0.0, 60.0) == 4


# --- properties ---------------------------------------------------------------------------

specs = st.builds(
    PoolSpec,
    min_replicas=st.integers(0, 6),
    max_replicas=st.integers(6, 30),
    target_backlog_s=st.floats(1.0, 300.0),
    activation_backlog_s=st.floats(0.0, 60.0),
    scale_down_window_s=st.floats(0.0, 120.0),
    scale_up_window_s=st.floats(0.0, 20.0),
    limit_to_partitions_with_lag=st.booleans(),
    exclude_stuck_partitions=st.booleans(),
    stuck_after_s=st.floats(1.0, 100.0),
)
lag_lists = st.lists(st.integers(0, 400), min_size=1, max_size=32)


@given(
    spec=specs,
    lags=lag_lists,
    current=st.integers(0, 40),
    recs=st.lists(st.integers(0, 40), max_size=6),
    rate=st.one_of(st.none(), st.floats(0.05, 10.0)),
    in_pass=st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_replicas_always_within_bounds(
    spec: PoolSpec, lags: list[int], current: int, recs: list[int], rate: float | None,
    in_pass: bool,
) -> None:  # fmt: skip
    before = sample(T0 - 30, [0] * len(lags), workers=current)
    h = history(before, sample(T0, lags, workers=current))
    throughput = WorkerThroughput({} if rate is None else {"w": rate}, current)
    passes = (PlannedPass("s", T0 - 10, T0 + 10, replicas=25),) if in_pass else ()
    plan = AcquisitionPlan(passes)
    history_recs = [Recommendation(T0 - 5 * (i + 1), r) for i, r in enumerate(recs)]
    d = decide(h, throughput, plan, spec, T0, current, history_recs)
    cap = min(spec.max_replicas, len(lags))
    assert min(spec.min_replicas, cap) <= d.replicas <= cap
    assert (d.lower, d.upper) == (min(spec.min_replicas, cap), cap)


@given(
    spec=specs,
    lags=lag_lists,
    extra=st.lists(st.integers(0, 200), min_size=32, max_size=32),
    current=st.integers(0, 40),
)
@settings(max_examples=300, deadline=None)
def test_replicas_are_monotone_in_backlog(
    spec: PoolSpec, lags: list[int], extra: list[int], current: int
) -> None:
    more = [lag + e for lag, e in zip(lags, extra, strict=False)]
    small = decide(history(sample(T0, lags, workers=current)), UNKNOWN, NO_PLAN, spec, T0, current)
    large = decide(history(sample(T0, more, workers=current)), UNKNOWN, NO_PLAN, spec, T0, current)
    assert large.recommendation >= small.recommendation
    assert large.replicas >= small.replicas


@given(spec=specs, current=st.integers(0, 40), partitions=st.integers(1, 32))
@settings(max_examples=200, deadline=None)
def test_no_backlog_never_scales_up_beyond_min(
    spec: PoolSpec, current: int, partitions: int
) -> None:
    d = decide(history(sample(T0, [0] * partitions)), UNKNOWN, NO_PLAN, spec, T0, current)
    cap = min(spec.max_replicas, partitions)
    assert d.replicas <= max(min(spec.min_replicas, cap), min(current, cap))
