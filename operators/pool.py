"""Scaling parameters of a pool of focus workers (what the policy needs of a
``FocusingPool`` spec, validated).

Units: the backlog target and thresholds are in **seconds of sensing**: a job of the
focus-job topic is one IW burst, which covers :data:`sar.constants.IW_BURST_CYCLE`
(2.758273 s) of sensing time. Counting the backlog in sensing seconds rather than records
makes the target read like a latency budget ("no more than 30 s of acquisition waiting per
worker") and stays meaningful for other modes through :attr:`PoolSpec.sensing_s_per_job`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from operators.errors import InvalidPoolSpecError
from sar.constants import IW_BURST_CYCLE

DEFAULT_WORKER_RATE = 1.2
"""Bursts per busy second assumed for a worker with no measurement yet: a 2-core worker
focuses 1.2-1.7 full-size IW bursts/s (issue 14); the low end keeps the first decisions
on the generous side."""


@dataclass(frozen=True, slots=True)
class PoolSpec:
    """Scaling parameters of one pool (all times in seconds, rates in bursts/s).

    Parameters
    ----------
    min_replicas, max_replicas
        Bounds on the workers (``min_replicas`` may be 0: scale to zero). The job topic's
        partition count is a further cap: a consumer beyond it gets no partition.
    target_backlog_s
        Target backlog per worker, seconds of sensing (KEDA ``lagThreshold``, in sensing
        time): ``ceil(backlog_s / target_backlog_s)`` workers are wanted for a backlog.
    activation_backlog_s
        Backlog (seconds of sensing) above which an idle pool activates (KEDA
        ``activationLagThreshold``): at or below it, with no arrivals and no planned
        pass, the workload asks for zero workers (``min_replicas`` still applies).
    target_utilisation
        Fraction of a worker's measured rate to plan with when matching the arrival rate
        (``ceil(arrival / (rate * utilisation))`` workers): below 1 so queues do not grow
        without bound at the bursty arrivals of a pass.
    default_worker_rate
        Rate assumed when no worker has a measurement, bursts per busy second.
    sensing_s_per_job
        Sensing time covered by one job, s (IW burst cycle by default).
    rate_window_s
        Window over which the arrival rate is estimated, s (a few burst cycles).
    scale_up_window_s, scale_down_window_s
        Stabilisation windows (Kubernetes HPA ``behavior`` semantics): scale up only to
        the lowest recommendation of the last ``scale_up_window_s`` seconds, down only to
        the highest of the last ``scale_down_window_s`` seconds.
    scale_down_only_when_drained
        Defer any scale-down until the job topic's lag is zero: no job is then held
        uncommitted by a worker, so none is taken away mid-burst and no group rebalance
        stalls a pass.
    limit_to_partitions_with_lag
        Cap the workload recommendation at the number of partitions with lag (KEDA
        ``limitToPartitionsWithLag``).
    exclude_stuck_partitions
        Ignore the lag of partitions whose committed offset has not moved for
        ``stuck_after_s`` while lag > 0 and workers were running (KEDA
        ``excludePersistentLag``, time-based).
    stuck_after_s
        See ``exclude_stuck_partitions``, s: choose it well above the time a worker takes
        for the partitions it owns (partitions per worker x seconds per burst).
    plan_lead_s, plan_tail_s
        Pre-scaling window around each planned pass: from ``start - plan_lead_s`` to
        ``stop + plan_tail_s``.
    plan_bursts_per_cycle
        Jobs per burst cycle expected during a planned pass that does not say (IW single
        polarisation: 3 swaths).
    """

    min_replicas: int = 0
    max_replicas: int = 8
    target_backlog_s: float = 30.0
    activation_backlog_s: float = 0.0
    target_utilisation: float = 0.8
    default_worker_rate: float = DEFAULT_WORKER_RATE
    sensing_s_per_job: float = IW_BURST_CYCLE
    rate_window_s: float = 15.0
    scale_up_window_s: float = 0.0
    scale_down_window_s: float = 60.0
    scale_down_only_when_drained: bool = True
    limit_to_partitions_with_lag: bool = False
    exclude_stuck_partitions: bool = False
    stuck_after_s: float = 300.0
    plan_lead_s: float = 120.0
    plan_tail_s: float = 0.0
    plan_bursts_per_cycle: float = 3.0

    def __post_init__(self) -> None:
        if self.min_replicas < 0:
            raise InvalidPoolSpecError(f"minReplicas {self.min_replicas} < 0")
        if self.max_replicas < max(1, self.min_replicas):
            raise InvalidPoolSpecError(
                f"maxReplicas {self.max_replicas} < max(1, minReplicas {self.min_replicas})"
            )
        positive = {
            "targetBacklogSeconds": self.target_backlog_s,
            "targetUtilisation": self.target_utilisation,
            "defaultBurstsPerSecond": self.default_worker_rate,
            "sensingSecondsPerJob": self.sensing_s_per_job,
            "rateWindowSeconds": self.rate_window_s,
            "planBurstsPerCycle": self.plan_bursts_per_cycle,
        }
        for name, value in positive.items():
            if not (value > 0 and math.isfinite(value)):
                raise InvalidPoolSpecError(f"{name} must be a positive number, got {value}")
        if self.target_utilisation > 1:
            raise InvalidPoolSpecError(f"targetUtilisation {self.target_utilisation} > 1")
        non_negative = {
            "activationBacklogSeconds": self.activation_backlog_s,
            "scaleUp.stabilizationWindowSeconds": self.scale_up_window_s,
            "scaleDown.stabilizationWindowSeconds": self.scale_down_window_s,
            "stuckPartitions.afterSeconds": self.stuck_after_s,
            "plan.leadSeconds": self.plan_lead_s,
            "plan.tailSeconds": self.plan_tail_s,
        }
        for name, value in non_negative.items():
            if not (value >= 0 and math.isfinite(value)):
                raise InvalidPoolSpecError(f"{name} must be >= 0, got {value}")

    @property
    def history_s(self) -> float:
        """How much backlog and recommendation history the policy looks at, s."""
        return max(
            self.rate_window_s,
            self.scale_up_window_s,
            self.scale_down_window_s,
            self.stuck_after_s if self.exclude_stuck_partitions else 0.0,
        )
