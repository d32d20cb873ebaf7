"""Status of a FocusingPool: conditions keep their transition time, minimal patches."""

from __future__ import annotations

from operators.plan import AcquisitionPlan
from operators.policy import decide
from operators.pool import PoolSpec
from operators.status import (
    Condition,
    decision_conditions,
    decision_status,
    iso,
    merge_conditions,
    status_changes,
)
from operators.throughput import WorkerThroughput
from tests.operators.helpers import history, sample

T0 = 1_800_000_000.0


def test_transition_time_changes_only_with_the_status() -> None:
    first = merge_conditions([], [Condition("BrokerReachable", "True", "Measured")], T0)
    assert first[0]["lastTransitionTime"] == iso(T0) == "2027-01-15T08:00:00Z"
    same = merge_conditions(first, [Condition("BrokerReachable", "True", "Measured")], T0 + 60)
    assert same[0]["lastTransitionTime"] == iso(T0)
    flipped = merge_conditions(same, [Condition("BrokerReachable", "False", "Down", "x")], T0 + 90)
    assert flipped[0]["lastTransitionTime"] == iso(T0 + 90) and flipped[0]["message"] == "x"
    kept = merge_conditions(flipped, [Condition("Scaling", "False", "Stable")], T0 + 95)
    assert [c["type"] for c in kept] == ["BrokerReachable", "Scaling"]


def test_decision_status_and_conditions() -> None:
    spec = PoolSpec(max_replicas=2)
    d = decide(history(sample(T0, [40, 40, 40])), WorkerThroughput(), AcquisitionPlan(), spec,
               T0, 1)  # fmt: skip
    status = decision_status(d)
    assert status["desiredReplicas"] == 2 and status["backlogBursts"] == 120
    assert status["lastDecision"]["action"] == "scale-up" and status["lastScaleTime"] == iso(T0)
    assert status["arrivalBurstsPerSecond"] is None  # merge-patch: removes a stale value
    kinds = {c.type: c for c in decision_conditions(d)}
    assert kinds["Scaling"].reason == "ScaledUp"
    assert kinds["ScalingLimited"].status == "True"  # capped at maxReplicas 2


def test_status_changes_skip_a_steady_decision() -> None:
    old = {"desiredReplicas": 2, "lastDecision": {"time": "a", "action": "hold", "replicas": 2,
                                                  "reason": "hold 2 -> 2: no backlog"}}  # fmt: skip
    new = {"desiredReplicas": 2, "lastDecision": {**old["lastDecision"], "time": "b"}}  # type: ignore[dict-item]
    assert status_changes(old, new) == {}
    new["desiredReplicas"] = 3
    assert status_changes(old, new) == {"desiredReplicas": 3}
