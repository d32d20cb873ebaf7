"""The scaling policy: how many focus workers to run now (pure function).

:func:`decide` takes what was measured (backlog history of the job topic, the workers'
focusing rate), what is expected (the acquisition plan), the pool's parameters and the
current size, and returns a :class:`Decision`: replicas and the reason, plus the figures
behind them. No I/O, no clock: the caller passes ``now`` (POSIX seconds).

Steps (each one named in the reason when it decides):

1. **Backlog**: lag of the consumer group on the job topic, per partition; partitions
   whose lag is stuck are excluded when asked (KEDA ``excludePersistentLag``). Backlog in
   seconds of sensing = jobs x :attr:`~operators.pool.PoolSpec.sensing_s_per_job`.
2. **Activation** (KEDA ``activationLagThreshold``): an idle pool (0 workers) activates
   only when the backlog exceeds the activation threshold; a running pool stays active
   while there is backlog above it or jobs keep arriving. Inactive: the workload asks
   for 0 workers.
3. **Workload**: the larger of ``ceil(backlog_s / target_backlog_s)`` (KEDA
   ``lagThreshold`` in sensing seconds) and ``ceil(arrival / (rate x utilisation))``
   (enough capacity for the jobs arriving steadily, with the measured rate of a worker or
   the default; a batch published at once counts as backlog only), optionally capped at
   the partitions with lag (KEDA ``limitToPartitionsWithLag``).
4. **Plan**: during ``[start - lead, stop + tail]`` of a planned pass, at least the pass's
   replicas (given, or derived from its bursts per cycle and the worker rate); passes of
   several stations at once add up. Workers are warm when the first burst arrives.
5. **Bounds**: ``[min(minReplicas, cap), cap]`` with ``cap = min(maxReplicas,
   partitions)``: never more workers than partitions.
6. **Stabilisation** (Kubernetes HPA ``behavior``): up only to the lowest recommendation
   of the scale-up window, down only to the highest of the scale-down window: no
   flapping.
7. **Drain gate**: a scale-down waits until the lag is zero (no worker holds an
   uncommitted job: workers commit after the product is published), unless the current
   size is out of bounds.

Reaction time is the caller's evaluation interval (seconds, not KEDA's 30 s poll) plus
the scale-up window (0 by default).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from operators.backlog import BacklogHistory, BacklogSample
from operators.plan import AcquisitionPlan, PlannedPass
from operators.pool import PoolSpec
from operators.throughput import WorkerThroughput

Action = Literal["scale-up", "scale-down", "hold"]
"""What a decision does to the pool."""


@dataclass(frozen=True, slots=True)
class Recommendation:
    """A bounded, unstabilised recommendation of a past evaluation.

    Parameters
    ----------
    time
        Evaluation time, POSIX s.
    replicas
        Workers recommended at that time.
    """

    time: float
    replicas: int


@dataclass(frozen=True, slots=True)
class Decision:
    """Outcome of one evaluation of the policy.

    Parameters
    ----------
    time
        Evaluation time, POSIX s.
    replicas
        Workers to run now.
    current
        Workers before the decision.
    recommendation
        Bounded recommendation before stabilisation and the drain gate (the caller keeps
        it for the next evaluations' stabilisation windows).
    action
        ``scale-up``, ``scale-down`` or ``hold``.
    reason
        One line: what decided, with the figures.
    backlog_bursts
        Jobs waiting on all partitions (records).
    effective_backlog_bursts
        Jobs waiting on the partitions counted (stuck ones excluded).
    backlog_s
        ``effective_backlog_bursts`` in seconds of sensing.
    partitions, partitions_with_lag
        Partitions of the job topic; those with counted lag.
    stuck_partitions
        Partitions excluded as stuck.
    arrival_rate
        Jobs published per second steadily over the rate window (the smaller rate of its
        two halves), or ``None`` (history shorter than the window).
    worker_rate
        Bursts per busy second of one worker used for the decision.
    worker_rate_measured
        Whether ``worker_rate`` was measured (``False``: the pool default).
    active
        Whether the workload counted (activation threshold).
    planned
        Planned passes whose pre-scaling window holds ``time``.
    lower, upper
        Bounds applied: ``[min(minReplicas, cap), cap]``.
    """

    time: float
    replicas: int
    current: int
    recommendation: int
    action: Action
    reason: str
    backlog_bursts: int
    effective_backlog_bursts: int
    backlog_s: float
    partitions: int
    partitions_with_lag: int
    stuck_partitions: tuple[int, ...]
    arrival_rate: float | None
    worker_rate: float
    worker_rate_measured: bool
    active: bool
    planned: tuple[PlannedPass, ...]
    lower: int
    upper: int

    @property
    def as_recommendation(self) -> Recommendation:
        """The entry to remember for the stabilisation windows."""
        return Recommendation(self.time, self.recommendation)


def _ceil(x: float) -> int:
    """``ceil`` robust to float noise (``2.0000000001`` -> 2)."""
    return max(0, math.ceil(x - 1e-9))


def planned_replicas(passes: Sequence[PlannedPass], spec: PoolSpec, worker_rate: float) -> int:
    """Workers wanted for the passes under way (or about to start), together.

    A pass with ``replicas`` asks for them; one without asks for enough capacity for its
    expected arrival rate, ``bursts_per_cycle / sensing_s_per_job`` jobs/s, at the worker
    rate times the target utilisation. Simultaneous passes add up.
    """
    total = 0
    rate_of_passes = 0.0
    for p in passes:
        if p.replicas is not None:
            total += p.replicas
        else:
            per_cycle = p.bursts_per_cycle or spec.plan_bursts_per_cycle
            rate_of_passes += per_cycle / spec.sensing_s_per_job
    if rate_of_passes > 0:
        total += max(1, _ceil(rate_of_passes / (worker_rate * spec.target_utilisation)))
    return total


def stabilise(
    current: int,
    recommendation: int,
    history: Sequence[Recommendation],
    now: float,
    up_window_s: float,
    down_window_s: float,
) -> int:
    """Kubernetes HPA stabilisation of a recommendation.

    Scale up to at most the lowest recommendation within the scale-up window, down to at
    least the highest within the scale-down window (``recommendation`` counts as made at
    ``now``); otherwise keep ``current``.
    """
    ups = [r.replicas for r in history if now - up_window_s < r.time <= now] + [recommendation]
    downs = [r.replicas for r in history if now - down_window_s < r.time <= now]
    downs.append(recommendation)
    up_limit, down_limit = min(ups), max(downs)
    if current < up_limit:
        return up_limit
    if current > down_limit:
        return down_limit
    return current


def _describe_workload(
    backlog_s: float, spec: PoolSpec, by_backlog: int, by_rate: int,
    arrival: float | None, rate: float, measured: bool,
) -> str:  # fmt: skip
    rate_text = f"{rate:.2f} bursts/s per worker ({'measured' if measured else 'default'})"
    if by_rate > by_backlog and arrival is not None:
        return f"arrivals {arrival:.2f} jobs/s at {rate_text}: {by_rate}"
    return (
        f"backlog {backlog_s:.1f} s of sensing / {spec.target_backlog_s:g} s per worker: "
        f"{by_backlog}; {rate_text}"
    )


def decide(
    history: BacklogHistory,
    throughput: WorkerThroughput,
    plan: AcquisitionPlan,
    spec: PoolSpec,
    now: float,
    current: int,
    recommendations: Sequence[Recommendation] = (),
) -> Decision:
    """Workers to run now, and why.

    Parameters
    ----------
    history
        Backlog samples of the job topic (the newest is the current backlog).
    throughput
        Measured focusing rates of the workers (may be empty).
    plan
        Expected passes (may be empty).
    spec
        Pool parameters.
    now
        Evaluation time, POSIX s.
    current
        Workers now (replicas of the Deployment, or local processes).
    recommendations
        Recommendations of earlier evaluations (:attr:`Decision.as_recommendation`), for
        the stabilisation windows.

    Returns
    -------
    Decision
        ``replicas`` is within ``[min(minReplicas, cap), cap]``, ``cap = min(maxReplicas,
        partitions)``.

    Notes
    -----
    With no sample at all, the pool holds its size (clamped to ``maxReplicas``): the
    caller should not call before a first measurement, but the result is safe.
    """
    current = max(0, current)
    sample = history.latest or BacklogSample(now, ())
    partitions = sample.partition_count
    stuck = (
        history.stuck_partitions(now, spec.stuck_after_s)
        if spec.exclude_stuck_partitions
        else frozenset()
    )
    counted = [p for p in sample.partitions if p.partition not in stuck]
    effective = sum(p.lag for p in counted)
    with_lag = sum(1 for p in counted if p.lag > 0)
    backlog_s = effective * spec.sensing_s_per_job
    arrival = history.sustained_arrival_rate(now, spec.rate_window_s)
    measured_rate = throughput.mean_rate
    rate = measured_rate if measured_rate is not None else spec.default_worker_rate

    if partitions > 0:
        upper = min(spec.max_replicas, partitions)
        lower = min(spec.min_replicas, upper)
    else:  # topic missing or not measured: hold (within maxReplicas)
        upper = lower = min(spec.max_replicas, current)

    arriving = arrival is not None and arrival > 0
    # KEDA activation: an idle pool wakes on backlog only; a running one stays active
    # while jobs keep arriving (between the bursts of a pass the lag may touch zero).
    active = backlog_s > spec.activation_backlog_s or (current > 0 and arriving)
    by_backlog = _ceil(backlog_s / spec.target_backlog_s) if active else 0
    by_rate = 0
    if active and arrival is not None and arrival > 0:
        by_rate = _ceil(arrival / (rate * spec.target_utilisation))
    workload = max(by_backlog, by_rate)
    notes: list[str] = []
    if spec.limit_to_partitions_with_lag and workload > with_lag:
        workload = with_lag
        notes.append(f"limited to {with_lag} partitions with lag")
    if active:
        why = _describe_workload(
            backlog_s, spec, by_backlog, by_rate, arrival, rate, measured_rate is not None
        )
    elif current == 0 and effective > 0:
        why = f"backlog {backlog_s:.1f} s of sensing <= activation {spec.activation_backlog_s:g} s"
    elif partitions == 0:
        why = "job topic has no partitions (missing?): holding"
    else:
        why = "no backlog"
    if stuck:
        notes.append(f"stuck partitions {sorted(stuck)} excluded")

    planned = plan.active(now, spec.plan_lead_s, spec.plan_tail_s)
    by_plan = planned_replicas(planned, spec, rate) if planned else 0
    recommendation = max(workload, by_plan)
    if by_plan > workload:
        stations = ", ".join(sorted({p.station for p in planned}))
        why = f"planned pass ({stations}): {by_plan}; {why}"
    bounded = min(max(recommendation, lower), upper)
    if bounded > recommendation:
        notes.append(f"raised to minReplicas {lower}")
    elif bounded < recommendation:
        limit = "partitions" if partitions > 0 and upper == partitions else "maxReplicas"
        notes.append(f"capped at {limit} {upper}")

    stabilised = stabilise(
        current, bounded, recommendations, now, spec.scale_up_window_s, spec.scale_down_window_s
    )
    target = min(max(stabilised, lower), upper)
    if target != bounded:
        if target > bounded:
            notes.append(f"held by scale-down window {spec.scale_down_window_s:g} s")
        else:
            notes.append(f"held by scale-up window {spec.scale_up_window_s:g} s")
    if spec.scale_down_only_when_drained and target < current and effective > 0:
        held = min(current, upper)
        if held > target:
            notes.append(f"scale-down deferred: {effective} jobs queued or in flight")
            target = held
    action: Action = "hold"
    if target != current:
        action = "scale-up" if target > current else "scale-down"
    reason = f"{action} {current} -> {target}: {why}"
    if notes:
        reason += " (" + "; ".join(notes) + ")"
    return Decision(
        time=now,
        replicas=target,
        current=current,
        recommendation=bounded,
        action=action,
        reason=reason,
        backlog_bursts=sample.lag,
        effective_backlog_bursts=effective,
        backlog_s=backlog_s,
        partitions=partitions,
        partitions_with_lag=with_lag,
        stuck_partitions=tuple(sorted(stuck)),
        arrival_rate=arrival,
        worker_rate=rate,
        worker_rate_measured=measured_rate is not None,
        active=active,
        planned=planned,
        lower=lower,
        upper=upper,
    )
