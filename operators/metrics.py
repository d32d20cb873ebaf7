"""Prometheus metrics of the operator (served on its metrics port, see the Service in
``operators/manifests``): what each pool measured and decided."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from operators.policy import Decision

LABELS = ("namespace", "pool")

BACKLOG_BURSTS = Gauge(
    "eoport_pool_backlog_bursts", "Focus jobs not yet committed (counted partitions)", LABELS
)
BACKLOG_SECONDS = Gauge(
    "eoport_pool_backlog_sensing_seconds", "Backlog in seconds of sensing", LABELS
)
DESIRED_REPLICAS = Gauge("eoport_pool_desired_replicas", "Workers decided", LABELS)
CURRENT_REPLICAS = Gauge("eoport_pool_current_replicas", "Workers before the decision", LABELS)
WORKER_RATE = Gauge(
    "eoport_pool_worker_bursts_per_second", "Focusing rate of one worker used (bursts/s)", LABELS
)
BROKER_REACHABLE = Gauge(
    "eoport_pool_broker_reachable", "1 if the last backlog measurement succeeded", LABELS
)
DECISIONS = Counter(
    "eoport_pool_scaling_decisions", "Scaling decisions by action", (*LABELS, "action")
)


def record_decision(namespace: str, pool: str, decision: Decision) -> None:
    """Export one decision."""
    labels = (namespace, pool)
    BACKLOG_BURSTS.labels(*labels).set(decision.effective_backlog_bursts)
    BACKLOG_SECONDS.labels(*labels).set(decision.backlog_s)
    DESIRED_REPLICAS.labels(*labels).set(decision.replicas)
    CURRENT_REPLICAS.labels(*labels).set(decision.current)
    WORKER_RATE.labels(*labels).set(decision.worker_rate)
    BROKER_REACHABLE.labels(*labels).set(1)
    DECISIONS.labels(*labels, decision.action).inc()


def record_broker_down(namespace: str, pool: str) -> None:
    """Export a failed backlog measurement."""
    BROKER_REACHABLE.labels(namespace, pool).set(0)
