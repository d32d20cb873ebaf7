"""The worker Deployment of a pool (pure: a ``FocusingPool`` in, a manifest dict out).

The operator creates it owned by the pool (``ownerReferences``: deleting the pool deletes
the workers) and afterwards only patches two things: the pod template when the pool's
``spec.worker`` changes, and ``spec.replicas`` on each scaling decision.

The worker container gets its Kafka settings from the pool (``EOPORT_BOOTSTRAP_SERVERS``,
``EOPORT_GROUP_ID``, ``EOPORT_TOPICS__FOCUS_JOBS``: the group whose lag is measured is the
group the workers join), its metrics port (``EOPORT_METRICS_PORT``, port ``metrics``, also
serving the readiness probe), and the shared FFTW wisdom (``EOPORT_FFT_WISDOM`` on the
mounted volume) so that a new pod loads its FFT plans instead of planning for a minute.
User ``env`` entries come after these and win on a name clash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from operators.crd import API_VERSION, KIND, WISDOM_ENV, PoolConfig

POOL_LABEL = "eoport.dev/pool"
COMPONENT = "focus-worker"
WISDOM_VOLUME = "fftw-wisdom"


def deployment_name(pool: str) -> str:
    """Name of the worker Deployment of pool ``pool``."""
    return f"{pool}-workers"


def selector_labels(pool: str) -> dict[str, str]:
    """Labels selecting the worker pods of ``pool`` (Deployment selector, pod listing)."""
    return {POOL_LABEL: pool, "app.kubernetes.io/component": COMPONENT}


def label_selector(pool: str) -> str:
    """:func:`selector_labels` as a ``labelSelector`` query string."""
    return ",".join(f"{k}={v}" for k, v in sorted(selector_labels(pool).items()))


def owner_reference(owner: Mapping[str, Any]) -> dict[str, Any]:
    """Controller owner reference to the ``FocusingPool`` body ``owner``."""
    meta = owner.get("metadata") or {}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _environment(pool: PoolConfig) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "EOPORT_BOOTSTRAP_SERVERS", "value": pool.kafka.bootstrap_servers},
        {"name": "EOPORT_GROUP_ID", "value": pool.kafka.consumer_group},
        {"name": "EOPORT_TOPICS__FOCUS_JOBS", "value": pool.kafka.job_topic},
        {"name": "EOPORT_METRICS_PORT", "value": str(pool.worker.metrics_port)},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    if pool.worker.wisdom is not None:
        env.append({"name": WISDOM_ENV, "value": pool.worker.wisdom.path})
    env.extend(dict(e) for e in pool.worker.env)
    return env


def _volumes(pool: PoolConfig) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    wisdom = pool.worker.wisdom
    if wisdom is None:
        return [], []
    source: dict[str, Any]
    if wisdom.claim is not None:
        source = {"persistentVolumeClaim": {"claimName": wisdom.claim}}
    else:
        source = {"configMap": {"name": wisdom.config_map}}
    volume = {"name": WISDOM_VOLUME, **source}
    mount = {"name": WISDOM_VOLUME, "mountPath": wisdom.mount_path, "readOnly": wisdom.read_only}
    return [volume], [mount]


def pod_template(pool_name: str, pool: PoolConfig) -> dict[str, Any]:
    """The pod template of the worker Deployment."""
    w = pool.worker
    volumes, mounts = _volumes(pool)
    container: dict[str, Any] = {
        "name": "focus",
        "image": w.image,
        "imagePullPolicy": w.image_pull_policy,
        "args": list(w.args),
        "env": _environment(pool),
        "ports": [{"name": "metrics", "containerPort": w.metrics_port, "protocol": "TCP"}],
        "readinessProbe": {
            "httpGet": {"path": w.readiness_path, "port": "metrics"},
            "periodSeconds": 2,
            "failureThreshold": 1,
            "successThreshold": 1,
        },
        "resources": dict(w.resources),
        "volumeMounts": mounts,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    if w.command:
        container["command"] = list(w.command)
    spec: dict[str, Any] = {
        "containers": [container],
        "volumes": volumes,
        "terminationGracePeriodSeconds": w.termination_grace_s,
        "automountServiceAccountToken": False,  # workers never call the API
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    }
    if w.service_account:
        spec["serviceAccountName"] = w.service_account
    if w.node_selector:
        spec["nodeSelector"] = dict(w.node_selector)
    labels = {**w.pod_labels, **selector_labels(pool_name)}
    return {
        "metadata": {
            "labels": labels,
            "annotations": {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(w.metrics_port),
            },
        },
        "spec": spec,
    }


def build_deployment(
    pool_name: str,
    namespace: str,
    pool: PoolConfig,
    replicas: int,
    owner: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The worker Deployment of pool ``pool_name``.

    Parameters
    ----------
    pool_name, namespace
        The pool's name and namespace (the Deployment lives next to it).
    pool
        The parsed pool spec.
    replicas
        Initial size.
    owner
        The ``FocusingPool`` body, to set the controller owner reference.
    """
    metadata: dict[str, Any] = {
        "name": deployment_name(pool_name),
        "namespace": namespace,
        "labels": {**selector_labels(pool_name), "app.kubernetes.io/managed-by": "eoport-operator"},
    }
    if owner is not None:
        metadata["ownerReferences"] = [owner_reference(owner)]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector_labels(pool_name)},
            # a new template replaces pods one at a time, never below the current size
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": pod_template(pool_name, pool),
        },
    }
