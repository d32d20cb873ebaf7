"""The ``FocusingPool`` custom resource (``eoport.dev/v1alpha1``): names and the spec as
typed configuration.

The schema lives in ``operators/manifests/crd.yaml`` (defaults are applied by the API
server); :func:`parse_pool` reads a spec dict, applying the same defaults, so that a CR
created without the defaults (an emulator, an old object) is read the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from operators.errors import InvalidPlanError, InvalidPoolSpecError
from operators.plan import PLAN_CONFIGMAP_KEY, AcquisitionPlan, parse_plan
from operators.pool import DEFAULT_WORKER_RATE, PoolSpec
from sar.constants import IW_BURST_CYCLE

GROUP = "eoport.dev"
VERSION = "v1alpha1"
PLURAL = "focusingpools"
KIND = "FocusingPool"
API_VERSION = f"{GROUP}/{VERSION}"

WISDOM_ENV = "EOPORT_FFT_WISDOM"
"""Environment variable naming the FFTW wisdom file of a worker."""


@dataclass(frozen=True, slots=True)
class KafkaTarget:
    """Where the focus jobs are and who consumes them.

    Parameters
    ----------
    bootstrap_servers
        ``host:port[,host:port...]``.
    job_topic, consumer_group
        Focus-job topic and the workers' consumer group.
    timeout_s
        Time allowed for one backlog measurement, s.
    """

    bootstrap_servers: str
    job_topic: str = "focus-jobs"
    consumer_group: str = "eoport-focus"
    timeout_s: float = 5.0


@dataclass(frozen=True, slots=True)
class WisdomVolume:
    """Shared FFTW wisdom mounted into every worker.

    Parameters
    ----------
    claim, config_map
        Exactly one: a PersistentVolumeClaim name (read-write: workers can add plans) or a
        ConfigMap name (read-only, prepared in advance).
    mount_path, file_name
        Where it is mounted and the wisdom file in it.
    read_only
        Mount read-only (always for a ConfigMap).
    """

    claim: str | None
    config_map: str | None
    mount_path: str = "/var/lib/eoport/wisdom"
    file_name: str = "fftw.wisdom"
    read_only: bool = False

    @property
    def path(self) -> str:
        """The wisdom file as the worker sees it (value of ``EOPORT_FFT_WISDOM``)."""
        return str(PurePosixPath(self.mount_path) / self.file_name)


@dataclass(frozen=True, slots=True)
class WorkerTemplate:
    """What the worker pods run (see ``spec.worker`` of the CRD)."""

    image: str
    image_pull_policy: str = "IfNotPresent"
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ("run", "focus")
    env: tuple[Mapping[str, Any], ...] = ()
    resources: Mapping[str, Any] = field(default_factory=dict)
    service_account: str | None = None
    node_selector: Mapping[str, str] = field(default_factory=dict)
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    metrics_port: int = 9108
    readiness_path: str = "/readyz"
    termination_grace_s: int = 120
    wisdom: WisdomVolume | None = None


@dataclass(frozen=True, slots=True)
class PlanSource:
    """Acquisition plan of a pool: inline passes and/or a ConfigMap (merged)."""

    inline: AcquisitionPlan = AcquisitionPlan()
    config_map: str | None = None
    config_map_key: str = PLAN_CONFIGMAP_KEY


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """A ``FocusingPool`` spec, parsed."""

    kafka: KafkaTarget
    scaling: PoolSpec
    plan: PlanSource
    worker: WorkerTemplate


def _section(spec: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = spec.get(key) or {}
    if not isinstance(value, Mapping):
        raise InvalidPoolSpecError(f"spec.{key} must be an object")
    return value


def _number(section: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidPoolSpecError(f"{where}.{key} must be a number, got {value!r}")
    return float(value)


def _integer(section: Mapping[str, Any], key: str, default: int, where: str) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidPoolSpecError(f"{where}.{key} must be an integer, got {value!r}")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise InvalidPoolSpecError(f"{where} must be a list of strings")
    return tuple(str(v) for v in value)


def _parse_kafka(spec: Mapping[str, Any]) -> KafkaTarget:
    kafka = _section(spec, "kafka")
    servers = kafka.get("bootstrapServers")
    if not isinstance(servers, str) or not servers:
        raise InvalidPoolSpecError("spec.kafka.bootstrapServers missing")
    return KafkaTarget(
        bootstrap_servers=servers,
        job_topic=str(kafka.get("jobTopic") or "focus-jobs"),
        consumer_group=str(kafka.get("consumerGroup") or "eoport-focus"),
        timeout_s=_number(kafka, "timeoutSeconds", 5.0, "spec.kafka"),
    )


def _parse_scaling(spec: Mapping[str, Any]) -> PoolSpec:
    up, down = _section(spec, "scaleUp"), _section(spec, "scaleDown")
    parts, plan, worker = _section(spec, "partitions"), _section(spec, "plan"), spec["worker"]
    return PoolSpec(
        min_replicas=_integer(spec, "minReplicas", 0, "spec"),
        max_replicas=_integer(spec, "maxReplicas", 8, "spec"),
        target_backlog_s=_number(spec, "targetBacklogSeconds", 30.0, "spec"),
        activation_backlog_s=_number(spec, "activationBacklogSeconds", 0.0, "spec"),
        target_utilisation=_number(spec, "targetUtilisation", 0.8, "spec"),
        default_worker_rate=_number(
            worker, "defaultBurstsPerSecond", DEFAULT_WORKER_RATE, "spec.worker"
        ),
        sensing_s_per_job=_number(spec, "sensingSecondsPerJob", IW_BURST_CYCLE, "spec"),
        rate_window_s=_number(spec, "rateWindowSeconds", 15.0, "spec"),
        scale_up_window_s=_number(up, "stabilizationWindowSeconds", 0.0, "spec.scaleUp"),
        scale_down_window_s=_number(down, "stabilizationWindowSeconds", 60.0, "spec.scaleDown"),
        scale_down_only_when_drained=bool(down.get("onlyWhenDrained", True)),
        limit_to_partitions_with_lag=bool(parts.get("limitToPartitionsWithLag", False)),
        exclude_stuck_partitions=bool(parts.get("excludeStuck", False)),
        stuck_after_s=_number(parts, "stuckAfterSeconds", 300.0, "spec.partitions"),
        plan_lead_s=_number(plan, "leadSeconds", 120.0, "spec.plan"),
        plan_tail_s=_number(plan, "tailSeconds", 0.0, "spec.plan"),
        plan_bursts_per_cycle=_number(plan, "burstsPerCycle", 3.0, "spec.plan"),
    )


def _parse_plan_source(spec: Mapping[str, Any]) -> PlanSource:
    plan = _section(spec, "plan")
    try:
        inline = parse_plan(plan.get("passes"))
    except InvalidPlanError as exc:
        raise InvalidPoolSpecError(f"spec.plan.passes: {exc}") from exc
    ref = plan.get("configMapRef")
    if ref is None:
        return PlanSource(inline)
    if not isinstance(ref, Mapping) or not ref.get("name"):
        raise InvalidPoolSpecError("spec.plan.configMapRef.name missing")
    return PlanSource(inline, str(ref["name"]), str(ref.get("key") or PLAN_CONFIGMAP_KEY))


def _parse_wisdom(worker: Mapping[str, Any]) -> WisdomVolume | None:
    wisdom = worker.get("wisdom")
    if wisdom is None:
        return None
    if not isinstance(wisdom, Mapping):
        raise InvalidPoolSpecError("spec.worker.wisdom must be an object")
    claim, config_map = wisdom.get("persistentVolumeClaim"), wisdom.get("configMap")
    if (claim is None) == (config_map is None):
        raise InvalidPoolSpecError(
            "spec.worker.wisdom needs exactly one of persistentVolumeClaim and configMap"
        )
    return WisdomVolume(
        claim=None if claim is None else str(claim),
        config_map=None if config_map is None else str(config_map),
        mount_path=str(wisdom.get("mountPath") or "/var/lib/eoport/wisdom"),
        file_name=str(wisdom.get("fileName") or "fftw.wisdom"),
        read_only=bool(wisdom.get("readOnly", False)) or config_map is not None,
    )


def _parse_worker(spec: Mapping[str, Any]) -> WorkerTemplate:
    worker = _section(spec, "worker")
    image = worker.get("image")
    if not isinstance(image, str) or not image:
        raise InvalidPoolSpecError("spec.worker.image missing")
    env = worker.get("env") or []
    if not isinstance(env, Sequence) or not all(isinstance(e, Mapping) for e in env):
        raise InvalidPoolSpecError("spec.worker.env must be a list of objects")
    return WorkerTemplate(
        image=image,
        image_pull_policy=str(worker.get("imagePullPolicy") or "IfNotPresent"),
        command=_strings(worker.get("command"), "spec.worker.command"),
        args=_strings(worker.get("args", ["run", "focus"]), "spec.worker.args"),
        env=tuple(dict(e) for e in env),
        resources=dict(_section(worker, "resources")),
        service_account=worker.get("serviceAccountName"),
        node_selector={str(k): str(v) for k, v in _section(worker, "nodeSelector").items()},
        pod_labels={str(k): str(v) for k, v in _section(worker, "podLabels").items()},
        metrics_port=_integer(worker, "metricsPort", 9108, "spec.worker"),
        readiness_path=str(worker.get("readinessPath") or "/readyz"),
        termination_grace_s=_integer(worker, "terminationGracePeriodSeconds", 120, "spec.worker"),
        wisdom=_parse_wisdom(worker),
    )


def parse_pool(spec: Mapping[str, Any]) -> PoolConfig:
    """A ``FocusingPool`` spec as a :class:`PoolConfig`.

    Raises
    ------
    InvalidPoolSpecError
        If a field is missing, of the wrong type, or the values are inconsistent
        (e.g. ``maxReplicas < minReplicas``).
    """
    if not isinstance(spec, Mapping):
        raise InvalidPoolSpecError("spec must be an object")
    worker = _parse_worker(spec)
    return PoolConfig(
        kafka=_parse_kafka(spec),
        scaling=_parse_scaling({**spec, "worker": _section(spec, "worker")}),
        plan=_parse_plan_source(spec),
        worker=worker,
    )
