"""kopf handlers of ``FocusingPool``: own the worker Deployment, measure, decide, scale.

:func:`build_registry` returns a fresh :class:`kopf.OperatorRegistry` (no module-level
handlers: tests and embedders run several operators in one process):

- **create / update / resume** (:func:`reconcile`): parse the spec, create the worker
  Deployment owned by the pool, or patch its pod template when ``spec.worker`` changed.
- **timer** every ``interval_s`` (:func:`evaluate`): ensure the Deployment exists, measure
  the backlog (:func:`operators.measure.measure_backlog` in a thread), read the
  acquisition plan (inline + ConfigMap), scrape the workers' focusing rate, run the policy,
  patch ``spec.replicas`` of the Deployment when the decision changes it, post an Event,
  and write ``status`` (only the fields that changed).

Failures: broker unreachable -> the size is held, ``BrokerReachable=False`` (a Warning
Event on the transition only), the timer simply runs again next interval: no exception,
so no fast retry loop. Kubernetes API unreachable -> :class:`kopf.TemporaryError` with a
delay of a few intervals. Invalid spec -> ``SpecValid=False`` and nothing is touched.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import kopf

from operators import metrics
from operators._kube import KubeClient, KubeConnection
from operators.crd import GROUP, PLURAL, VERSION, KafkaTarget, PlanSource, PoolConfig, parse_pool
from operators.errors import InvalidPlanError, InvalidPoolSpecError, KubernetesApiError
from operators.measure import BrokerUnavailableError, measure_backlog
from operators.plan import AcquisitionPlan, plan_from_configmap
from operators.scaler import Autoscaler
from operators.scrape import scrape_pods
from operators.status import (
    Condition,
    decision_conditions,
    decision_status,
    iso,
    merge_conditions,
    status_changes,
)
from operators.throughput import RateTracker
from operators.workload import build_deployment, deployment_name, label_selector, pod_template
from streams import KafkaBus

log = logging.getLogger(__name__)

TEMPLATE_HASH = "eoport.dev/template-hash"
"""Deployment annotation: hash of the pod template the operator last rendered."""

DEPLOYMENTS = "apps/deployments"
PODS = "pods"
CONFIGMAPS = "configmaps"


def default_bus(target: KafkaTarget) -> KafkaBus:
    """The bus the operator measures the backlog with."""
    return KafkaBus(target.bootstrap_servers, client_id="eoport-operator")


@dataclass(frozen=True, slots=True)
class OperatorOptions:
    """How the operator runs.

    Parameters
    ----------
    namespace
        Namespace watched (the Role is namespace-scoped).
    interval_s
        Evaluation period of each pool, s (reaction time to a backlog is at most this
        plus the measurement time).
    connection
        API server and credentials; ``None``: the pod's service account.
    bus_factory
        Builds the Kafka client of a pool from its target (tests shorten timeouts).
    scrape_timeout_s
        Time allowed to read one worker's ``/metrics``, s.
    api_retry_s
        Delay before retrying after a Kubernetes API failure, s.
    clock
        POSIX time source.
    """

    namespace: str
    interval_s: float = 2.0
    connection: KubeConnection | None = None
    bus_factory: Callable[[KafkaTarget], Any] = default_bus
    scrape_timeout_s: float = 1.0
    api_retry_s: float = 10.0
    clock: Callable[[], float] = time.time


@dataclass(slots=True)
class PoolRuntime:
    """What the operator remembers of one pool between evaluations (in its kopf memo)."""

    autoscaler: Autoscaler | None = None
    tracker: RateTracker = field(default_factory=RateTracker)
    bus: Any = None
    target: KafkaTarget | None = None
    broker_reachable: bool | None = None

    def bus_for(self, target: KafkaTarget, factory: Callable[[KafkaTarget], Any]) -> Any:
        """The pool's Kafka client, rebuilt when the target changed."""
        if self.bus is None or self.target != target:
            self.bus, self.target = factory(target), target
        return self.bus


def _deployments_path(namespace: str) -> str:
    return f"/apis/apps/v1/namespaces/{namespace}/deployments"


def template_hash(template: Mapping[str, Any]) -> str:
    """Short stable hash of a pod template."""
    text = json.dumps(template, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


async def ensure_deployment(
    kube: KubeClient,
    body: Mapping[str, Any],
    name: str,
    namespace: str,
    pool: PoolConfig,
) -> tuple[dict[str, Any], bool]:
    """The pool's worker Deployment, created (owned by the pool, ``minReplicas``
    workers) if missing, its pod template patched if ``spec.worker`` changed.

    Returns
    -------
    (deployment, created)

    Raises
    ------
    KubernetesApiError
        If the API server refuses or cannot be reached.
    """
    path = f"{_deployments_path(namespace)}/{deployment_name(name)}"
    wanted = pod_template(name, pool)
    digest = template_hash(wanted)
    found = await kube.get(path, resource=DEPLOYMENTS)
    if found is None:
        manifest = build_deployment(name, namespace, pool, pool.scaling.min_replicas, owner=body)
        manifest["metadata"]["annotations"] = {TEMPLATE_HASH: digest}
        try:
            created = await kube.create(
                _deployments_path(namespace), manifest, resource=DEPLOYMENTS
            )
        except KubernetesApiError as exc:
            if exc.status != 409:
                raise
            created = await kube.get(path, resource=DEPLOYMENTS)
        if created is None:
            raise KubernetesApiError(500, f"deployment {path} vanished after creation")
        return created, True
    annotations = (found.get("metadata") or {}).get("annotations") or {}
    if annotations.get(TEMPLATE_HASH) != digest:
        patched = await kube.patch(
            path,
            {"metadata": {"annotations": {TEMPLATE_HASH: digest}}, "spec": {"template": wanted}},
            resource=DEPLOYMENTS,
        )
        return (patched or found), False
    return found, False


async def load_plan(
    kube: KubeClient, source: PlanSource, namespace: str
) -> tuple[AcquisitionPlan, Condition]:
    """Inline passes plus those of the referenced ConfigMap, and the ``PlanAvailable``
    condition (a missing or invalid ConfigMap leaves the inline plan only)."""
    passes = source.inline.passes
    if source.config_map is None:
        return AcquisitionPlan(passes), Condition(
            "PlanAvailable", "True", "Inline", f"{len(passes)} passes"
        )
    path = f"/api/v1/namespaces/{namespace}/configmaps/{source.config_map}"
    cm = await kube.get(path, resource=CONFIGMAPS)
    if cm is None:
        message = f"ConfigMap {source.config_map} not found"
        return AcquisitionPlan(passes), Condition("PlanAvailable", "False", "NotFound", message)
    try:
        extra = plan_from_configmap(cm.get("data") or {}, source.config_map_key)
    except InvalidPlanError as exc:
        return AcquisitionPlan(passes), Condition("PlanAvailable", "False", "Invalid", str(exc))
    total = passes + extra.passes
    return AcquisitionPlan(total), Condition(
        "PlanAvailable", "True", "ConfigMap", f"{len(total)} passes"
    )


def _runtime(memo: kopf.Memo) -> PoolRuntime:
    runtime = memo.get("pool")
    if not isinstance(runtime, PoolRuntime):
        runtime = PoolRuntime()
        memo["pool"] = runtime
    return runtime


def _apply_status(
    patch: kopf.Patch, status: Mapping[str, Any], new: dict[str, Any], now: float,
    conditions: list[Condition],
) -> None:  # fmt: skip
    new["conditions"] = merge_conditions(status.get("conditions"), conditions, now)
    for key, value in status_changes(status, new).items():
        patch.status[key] = value


def build_registry(options: OperatorOptions) -> kopf.OperatorRegistry:
    """A registry with the ``FocusingPool`` handlers for ``options``."""
    registry = kopf.OperatorRegistry()

    if options.connection is not None:
        connection = options.connection

        @kopf.on.login(registry=registry)
        def login(**_: Any) -> kopf.ConnectionInfo:
            return kopf.ConnectionInfo(
                server=connection.server,
                token=connection.token(),
                ca_path=connection.ca_path,
                insecure=connection.insecure,
                default_namespace=connection.namespace or options.namespace,
            )

    @kopf.on.startup(registry=registry)
    async def start(memo: kopf.Memo, **_: Any) -> None:
        memo["kube"] = KubeClient(options.connection or KubeConnection.in_cluster())
        memo["http"] = aiohttp.ClientSession()

    @kopf.on.cleanup(registry=registry)
    async def stop(memo: kopf.Memo, **_: Any) -> None:
        kube, http = memo.get("kube"), memo.get("http")
        if isinstance(kube, KubeClient):
            await kube.close()
        if isinstance(http, aiohttp.ClientSession):
            await http.close()

    @kopf.on.resume(GROUP, VERSION, PLURAL, registry=registry)
    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    @kopf.on.update(GROUP, VERSION, PLURAL, field="spec", registry=registry)
    async def reconcile(
        body: kopf.Body, spec: kopf.Spec, name: str, namespace: str | None, memo: kopf.Memo,
        patch: kopf.Patch, **_: Any,
    ) -> None:  # fmt: skip
        """Create or update the worker Deployment."""
        namespace = namespace or options.namespace
        try:
            pool = parse_pool(spec)
        except InvalidPoolSpecError as exc:
            raise kopf.PermanentError(f"invalid FocusingPool spec: {exc}") from exc
        try:
            _, created = await ensure_deployment(memo["kube"], body, name, namespace, pool)
        except KubernetesApiError as exc:
            raise kopf.TemporaryError(str(exc), delay=options.api_retry_s) from exc
        patch.status["deployment"] = deployment_name(name)
        if created:
            kopf.info(body, reason="DeploymentCreated",
                      message=f"worker Deployment {deployment_name(name)} created")  # fmt: skip

    @kopf.timer(GROUP, VERSION, PLURAL, interval=options.interval_s, registry=registry)
    async def evaluate(
        body: kopf.Body, spec: kopf.Spec, status: kopf.Status, name: str, namespace: str | None,
        memo: kopf.Memo, patch: kopf.Patch, logger: kopf.Logger, **_: Any,
    ) -> None:  # fmt: skip
        """Measure, decide, scale, report."""
        namespace = namespace or options.namespace
        now = options.clock()
        try:
            pool = parse_pool(spec)
        except InvalidPoolSpecError as exc:
            bad = [Condition("SpecValid", "False", "Invalid", str(exc))]
            _apply_status(patch, status, {}, now, bad)
            return
        kube: KubeClient = memo["kube"]
        runtime = _runtime(memo)
        if runtime.autoscaler is None:
            runtime.autoscaler = Autoscaler(pool.scaling)
        runtime.autoscaler.respec(pool.scaling)
        try:
            deployment, created = await ensure_deployment(kube, body, name, namespace, pool)
        except KubernetesApiError as exc:
            raise kopf.TemporaryError(str(exc), delay=options.api_retry_s) from exc
        if created:
            kopf.info(body, reason="DeploymentCreated",
                      message=f"worker Deployment {deployment_name(name)} created")  # fmt: skip
        dep_spec, dep_status = deployment.get("spec") or {}, deployment.get("status") or {}
        current = int(dep_spec.get("replicas") or 0)
        ready = int(dep_status.get("readyReplicas") or 0)
        observed = {
            "deployment": deployment_name(name),
            "replicas": int(dep_status.get("replicas") or 0),
            "readyReplicas": ready,
            "observedGeneration": (body.get("metadata") or {}).get("generation"),
        }
        conditions = [Condition("SpecValid", "True", "Parsed", "")]

        bus = runtime.bus_for(pool.kafka, options.bus_factory)
        try:
            sample = await asyncio.to_thread(
                measure_backlog, bus, pool.kafka.consumer_group, pool.kafka.job_topic,
                timeout_s=pool.kafka.timeout_s, workers=current, now=now,
            )  # fmt: skip
        except BrokerUnavailableError as exc:
            metrics.record_broker_down(namespace, name)
            if runtime.broker_reachable is not False:
                kopf.warn(body, reason="BrokerUnreachable", message=f"holding {current}: {exc}")
                logger.warning("broker unreachable, holding %d workers: %s", current, exc)
            runtime.broker_reachable = False
            held = {
                **observed,
                "desiredReplicas": current,
                "lastDecision": {
                    "time": iso(now), "action": "hold", "replicas": current,
                    "reason": f"hold {current}: broker unreachable",
                },
            }  # fmt: skip
            down = Condition("BrokerReachable", "False", "BrokerUnavailable", str(exc))
            _apply_status(patch, status, held, now, [*conditions, down])
            return
        if runtime.broker_reachable is False:
            kopf.info(body, reason="BrokerReachable", message="backlog measured again")
        runtime.broker_reachable = True
        conditions.append(Condition("BrokerReachable", "True", "Measured", ""))

        try:
            plan, plan_condition = await load_plan(kube, pool.plan, namespace)
            pods = await kube.list(
                f"/api/v1/namespaces/{namespace}/pods", resource=PODS,
                label_selector=label_selector(name),
            )  # fmt: skip
        except KubernetesApiError as exc:
            raise kopf.TemporaryError(str(exc), delay=options.api_retry_s) from exc
        conditions.append(plan_condition)
        counters = await scrape_pods(memo["http"], pods, pool.worker.metrics_port,
                                     options.scrape_timeout_s)  # fmt: skip
        for pod_name, value in counters.items():
            runtime.tracker.update(pod_name, value)
        names = [str((p.get("metadata") or {}).get("name")) for p in pods]
        runtime.tracker.forget_except(names)
        throughput = runtime.tracker.throughput(names)

        runtime.autoscaler.observe(sample)
        decision = runtime.autoscaler.decide(now, current, throughput, plan)
        if decision.replicas != current:
            path = f"{_deployments_path(namespace)}/{deployment_name(name)}"
            try:
                await kube.patch(path, {"spec": {"replicas": decision.replicas}},
                                 resource=DEPLOYMENTS)  # fmt: skip
            except KubernetesApiError as exc:
                raise kopf.TemporaryError(str(exc), delay=options.api_retry_s) from exc
            reason = "ScaledUp" if decision.action == "scale-up" else "ScaledDown"
            kopf.info(body, reason=reason, message=decision.reason)
            logger.info("%s", decision.reason)
        metrics.record_decision(namespace, name, decision)
        conditions.extend(decision_conditions(decision))
        workers_ready = Condition(
            "WorkersReady",
            "True" if ready >= decision.replicas else "False",
            "AllReady" if ready >= decision.replicas else "Starting",
            f"{ready}/{decision.replicas} ready",
        )
        new = {**observed, **decision_status(decision)}
        _apply_status(patch, status, new, now, [*conditions, workers_ready])

    return registry
