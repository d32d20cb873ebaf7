"""The ``status`` of a ``FocusingPool`` (pure: decisions and observations in, a status
dict out) and its conditions.

Conditions (``type``, ``status`` ``"True"``/``"False"``/``"Unknown"``, ``reason``,
``message``, ``lastTransitionTime``, which changes only when ``status`` does):

- ``BrokerReachable``: the last backlog measurement succeeded.
- ``Scaling``: the last decision changed the size (``ScaledUp``/``ScaledDown``), or not
  (``Stable``, ``ScaleDownDeferred``: waiting for the lag to reach zero).
- ``ScalingLimited``: the recommendation was cut by ``maxReplicas`` or the partition
  count, or raised to ``minReplicas``.
- ``PlanAvailable``: the acquisition plan (inline and ConfigMap) could be read.
- ``WorkersReady``: every requested worker is ready (its FFT plans are loaded).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from operators.policy import Decision

ConditionStatus = Literal["True", "False", "Unknown"]


@dataclass(frozen=True, slots=True)
class Condition:
    """One status condition (see the module docstring)."""

    type: str
    status: ConditionStatus
    reason: str
    message: str = ""


def iso(t: float) -> str:
    """POSIX seconds as RFC 3339 UTC with a ``Z`` (second precision)."""
    return datetime.fromtimestamp(t, UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def merge_conditions(
    previous: Sequence[Mapping[str, Any]] | None, updates: Iterable[Condition], now: float
) -> list[dict[str, Any]]:
    """Conditions after ``updates``: ``lastTransitionTime`` kept when the status of a
    type did not change; conditions not updated are kept as they were; sorted by type."""
    merged: dict[str, dict[str, Any]] = {}
    for c in previous or ():
        if isinstance(c, Mapping) and isinstance(c.get("type"), str):
            merged[c["type"]] = dict(c)
    for u in updates:
        old = merged.get(u.type)
        changed = old is None or old.get("status") != u.status
        merged[u.type] = {
            "type": u.type,
            "status": u.status,
            "reason": u.reason,
            "message": u.message,
            "lastTransitionTime": (
                iso(now) if changed or old is None else old.get("lastTransitionTime", iso(now))
            ),
        }
    return [merged[k] for k in sorted(merged)]


def decision_conditions(decision: Decision) -> list[Condition]:
    """``Scaling`` and ``ScalingLimited`` after a decision."""
    if decision.action == "scale-up":
        scaling = Condition("Scaling", "True", "ScaledUp", decision.reason)
    elif decision.action == "scale-down":
        scaling = Condition("Scaling", "True", "ScaledDown", decision.reason)
    elif "scale-down deferred" in decision.reason:
        scaling = Condition("Scaling", "False", "ScaleDownDeferred", decision.reason)
    else:
        scaling = Condition("Scaling", "False", "Stable", decision.reason)
    if "capped at" in decision.reason or "raised to minReplicas" in decision.reason:
        limited = Condition("ScalingLimited", "True", "BoundsApplied", decision.reason)
    else:
        limited = Condition("ScalingLimited", "False", "WithinBounds", "")
    return [scaling, limited]


def decision_status(decision: Decision) -> dict[str, Any]:
    """Status fields describing a decision (backlog, sizes, rates, last decision)."""
    status: dict[str, Any] = {
        "desiredReplicas": decision.replicas,
        "backlogBursts": decision.backlog_bursts,
        "backlogSeconds": round(decision.backlog_s, 3),
        "partitions": decision.partitions,
        "workerBurstsPerSecond": round(decision.worker_rate, 4),
        "arrivalBurstsPerSecond": (
            None if decision.arrival_rate is None else round(decision.arrival_rate, 4)
        ),
        "lastDecision": {
            "time": iso(decision.time),
            "action": decision.action,
            "replicas": decision.replicas,
            "reason": decision.reason,
        },
    }
    if decision.action != "hold":
        status["lastScaleTime"] = iso(decision.time)
    return status


def status_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The top-level keys of ``new`` whose value differs from ``old`` (the merge-patch
    to send). ``lastDecision`` is left out when only its time changed: a steady pool does
    not rewrite its status every evaluation."""
    changes: dict[str, Any] = {}
    for key, value in new.items():
        before = old.get(key)
        if key == "lastDecision" and isinstance(before, Mapping) and isinstance(value, Mapping):
            same = all(before.get(k) == value.get(k) for k in ("action", "replicas", "reason"))
            if same:
                continue
        if before != value:
            changes[key] = value
    return changes
