"""The kustomize base in operators/manifests: parses, validates, builds, applies (dry run)."""

from __future__ import annotations

import asyncio
import copy
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kmock
import pytest
import yaml

from operators.crd import API_VERSION, GROUP, KIND, PLURAL, VERSION, WISDOM_ENV, parse_pool
from operators.handlers import OperatorOptions
from operators.operator import make_settings
from operators.plan import plan_from_configmap
from operators.status import decision_status
from operators.workload import build_deployment, deployment_name
from tests.operators.emulator import Emulator
from tests.operators.rbac import role_permissions

MANIFESTS = Path(__file__).parents[2] / "operators" / "manifests"
KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


def documents() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(MANIFESTS.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                yield path.name, doc


def the(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for _, d in documents() if d["kind"] == kind
             and (name is None or d["metadata"]["name"] == name)]  # fmt: skip
    assert len(found) == 1, f"{len(found)} {kind} {name or ''} in the manifests"
    return found[0]


def crd_schema() -> dict[str, Any]:
    version = the("CustomResourceDefinition")["spec"]["versions"][0]
    return dict(version["schema"]["openAPIV3Schema"])


def strict_json_schema(node: Any) -> Any:
    """The CRD's OpenAPI v3 schema as JSON Schema draft 4 (``exclusiveMinimum: true`` has
    the same meaning there), objects closed where Kubernetes would *prune* unknown fields:
    a typo in an example is an error here instead of a silently dropped setting."""
    if isinstance(node, list):
        return [strict_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict_json_schema(v) for k, v in node.items()}
    if (
        node.get("type") == "object"
        and "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def validate(pool: dict[str, Any]) -> None:
    schema = strict_json_schema(crd_schema())
    schema["properties"]["metadata"] = {"type": "object"}
    schema["properties"]["apiVersion"] = {"type": "string"}
    schema["properties"]["kind"] = {"type": "string"}
    jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    ).validate(pool)


def with_defaults(schema: dict[str, Any], value: Any) -> Any:
    """``value`` with the schema's defaults applied as the API server does (to objects
    present in the value only)."""
    if not isinstance(value, dict) or schema.get("type") != "object":
        return value
    out = dict(value)
    for key, sub in (schema.get("properties") or {}).items():
        if key not in out and "default" in sub:
            out[key] = copy.deepcopy(sub["default"])
        if key in out:
            out[key] = with_defaults(sub, out[key])
    return out


def test_every_file_parses_and_names_its_objects() -> None:
    docs = list(documents())
    kinds = sorted(d["kind"] for _, d in docs)
    assert kinds == sorted([
        "Namespace", "CustomResourceDefinition", "ServiceAccount", "Role", "RoleBinding",
        "Deployment", "Service", "Service", "ConfigMap", "FocusingPool",
    ])  # fmt: skip
    for name, doc in docs:
        assert doc["apiVersion"] and doc["metadata"]["name"], name
    listed = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(p.name for p in MANIFESTS.glob("*.yaml")
                                    if p.name != "kustomization.yaml")  # fmt: skip


def test_crd_names_match_the_operator() -> None:
    crd = the("CustomResourceDefinition")
    assert crd["metadata"]["name"] == f"{PLURAL}.{GROUP}"
    assert (crd["spec"]["group"], crd["spec"]["names"]["kind"]) == (GROUP, KIND)
    assert crd["spec"]["names"]["plural"] == PLURAL
    version = crd["spec"]["versions"][0]
    assert version["name"] == VERSION and version["subresources"] == {"status": {}}


def test_printer_columns_show_fields_the_operator_writes() -> None:
    version = the("CustomResourceDefinition")["spec"]["versions"][0]
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert {"Desired", "Current", "Backlog-s", "Decision"} <= set(columns)
    from operators.policy import decide
    from tests.operators.helpers import history, sample

    spec = parse_pool(the("FocusingPool")["spec"]).scaling
    from operators.plan import AcquisitionPlan
    from operators.throughput import WorkerThroughput

    d = decide(history(sample(0.0, [3, 4])), WorkerThroughput(), AcquisitionPlan(), spec, 0.0, 1)
    written = {**decision_status(d), "replicas": 1}
    for name, path in columns.items():
        parts = path.lstrip(".").split(".")
        if parts[0] != "status":
            continue
        value: Any = written
        for part in parts[1:]:
            value = value[part]
        assert value is not None, name


def test_example_pool_validates_and_parses() -> None:
    pool = the("FocusingPool")
    assert pool["apiVersion"] == API_VERSION
    validate(pool)
    config = parse_pool(with_defaults(crd_schema()["properties"]["spec"], pool["spec"]))
    assert config.scaling.max_replicas == 12 and config.scaling.plan_bursts_per_cycle == 6
    assert config.worker.wisdom is not None and config.worker.wisdom.claim == "eoport-fftw-wisdom"
    assert config.plan.config_map == "eoport-pass-plan"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("maxReplicas",), 0, "less than the minimum"),
        (("kafka", "bootstrapServers"), "kafka", "does not match"),
        (("targetBacklogSeconds",), 0, "less than or equal to the minimum"),
        (("maxReplica",), 3, "Additional properties"),
        (("plan", "passes"), [{"station": "x", "start": "2026-12-04T15:02:00Z"}], "'stop'"),
        (("plan", "passes"), [{"station": "x", "start": "soon", "stop": "later"}], "date-time"),
        (("worker", "wisdom", "volume"), "x", "Additional properties"),
        (("scaleDown", "onlyWhenDrained"), "yes", "is not of type 'boolean'"),
    ],
)
def test_invalid_pools_are_rejected_by_the_schema(
    path: tuple[str, ...], value: Any, message: str
) -> None:
    pool = copy.deepcopy(the("FocusingPool"))
    node = pool["spec"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError, match=message):
        validate(pool)


def test_crd_defaults_are_the_parser_defaults() -> None:
    """A minimal pool read with the API server's defaults applied, or without (an old
    object, an emulator), gives the same configuration."""
    minimal: dict[str, Any] = {
        "kafka": {"bootstrapServers": "k:9092"}, "worker": {"image": "eoport"},
        "scaleUp": {}, "scaleDown": {}, "partitions": {}, "plan": {"configMapRef": {"name": "p"}},
    }  # fmt: skip
    defaulted = with_defaults(crd_schema()["properties"]["spec"], minimal)
    assert defaulted["worker"]["metricsPort"] == 9108  # defaults were applied
    assert parse_pool(defaulted) == parse_pool(minimal)
    minimal["worker"]["wisdom"] = {"configMap": "w"}
    assert parse_pool(with_defaults(crd_schema()["properties"]["spec"], minimal)) == parse_pool(
        minimal
    )


def test_example_pool_renders_a_worker_deployment() -> None:
    pool = the("FocusingPool")
    config = parse_pool(pool["spec"])
    body = {**pool, "metadata": {**pool["metadata"], "uid": "u-1"}}
    dep = build_deployment("focus", "eoport", config, 2, owner=body)
    assert dep["metadata"]["name"] == deployment_name("focus") == "focus-workers"
    assert dep["metadata"]["ownerReferences"][0] == {
        "apiVersion": API_VERSION, "kind": KIND, "name": "focus", "uid": "u-1",
        "controller": True, "blockOwnerDeletion": True,
    }  # fmt: skip
    pod = dep["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env[WISDOM_ENV] == "/var/lib/eoport/wisdom/fftw.wisdom"
    assert env["EOPORT_BOOTSTRAP_SERVERS"] == "kafka.eoport.svc:9092"
    assert env["EOPORT_GROUP_ID"] == "eoport-focus" and env["EOPORT_METRICS_PORT"] == "9108"
    assert env["EOPORT_FFT_EFFORT"] == "patient"  # the pool's own env
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert container["volumeMounts"] == [
        {"name": "fftw-wisdom", "mountPath": "/var/lib/eoport/wisdom", "readOnly": False}
    ]
    assert pod["volumes"] == [
        {"name": "fftw-wisdom", "persistentVolumeClaim": {"claimName": "eoport-fftw-wisdom"}}
    ]
    assert pod["terminationGracePeriodSeconds"] == 120
    assert dep["spec"]["selector"]["matchLabels"].items() <= (
        dep["spec"]["template"]["metadata"]["labels"].items()
    )


def test_plan_configmap_parses() -> None:
    plan = plan_from_configmap(the("ConfigMap", "eoport-pass-plan")["data"])
    assert [p.station for p in plan.passes] == ["matera", "kiruna"]
    assert plan.passes[1].replicas == 6 and plan.passes[0].bursts_per_cycle == 3


def test_rbac_is_namespaced_least_privilege() -> None:
    assert not [d for _, d in documents() if d["kind"].startswith("Cluster")]
    allowed = role_permissions()
    assert not [p for p in allowed if "*" in p]
    assert ("", "events", "create") in allowed
    assert ("apps", "deployments", "delete") not in allowed  # owner references GC it
    settings = make_settings(OperatorOptions(namespace="eoport"))
    # no cluster-wide watch of namespaces/CRDs, no peering objects: no ClusterRole needed
    assert settings.scanning.disabled and settings.peering.standalone
    operator = the("Deployment", "eoport-operator")
    assert operator["spec"]["template"]["spec"]["serviceAccountName"] == "eoport-operator"
    assert operator["spec"]["replicas"] == 1 and operator["spec"]["strategy"]["type"] == "Recreate"


def kustomize() -> str:
    assert KUBECTL is not None
    done = subprocess.run([KUBECTL, "kustomize", str(MANIFESTS)], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_kubectl
def test_kustomize_builds_the_base() -> None:
    docs = [d for d in yaml.safe_load_all(kustomize()) if d]
    assert len(docs) == len(list(documents()))
    for doc in docs:
        cluster_scoped = doc["kind"] in ("Namespace", "CustomResourceDefinition")
        assert (doc["metadata"].get("namespace") == "eoport") != cluster_scoped, doc["kind"]
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "eoport"


async def kubectl_dry_run(server: Emulator, text: str) -> tuple[int, str]:
    assert KUBECTL is not None
    argv = [KUBECTL, "--server", str(server.url).rstrip("/"), "apply", "--dry-run=client",
            "--validate=false", "-f", "-"]  # fmt: skip
    done = await asyncio.to_thread(
        subprocess.run, argv, input=text, capture_output=True, text=True, timeout=60
    )
    return done.returncode, done.stdout + done.stderr


@needs_kubectl
def test_kubectl_apply_dry_run_against_an_api_emulator() -> None:
    asyncio.run(_kubectl_apply_dry_run())


async def _kubectl_apply_dry_run() -> None:
    """``kubectl apply --dry-run=client`` needs an API server for discovery (kind ->
    resource): it gets the emulator. The built base and a rendered worker Deployment go
    through; an unknown kind does not. (``--validate=false``: the emulator serves no
    OpenAPI document; the CR is validated against the CRD schema above.)"""
    async with Emulator() as server, kmock.Server(server):
        server.declare()
        rc, out = await kubectl_dry_run(server, kustomize())
        assert rc == 0, out
        assert out.count("(dry run)") == len(list(documents()))
        assert "focusingpool.eoport.dev/focus created (dry run)" in out
        pool = the("FocusingPool")
        dep = build_deployment("focus", "eoport", parse_pool(pool["spec"]), 1)
        rc, out = await kubectl_dry_run(server, json.dumps(dep))
        assert rc == 0 and "deployment.apps/focus-workers created (dry run)" in out, out
        bogus = {"apiVersion": "eoport.dev/v1alpha1", "kind": "FocusingPuddle",
                 "metadata": {"name": "x", "namespace": "eoport"}}  # fmt: skip
        rc, out = await kubectl_dry_run(server, json.dumps(bogus))
        assert rc != 0 and "FocusingPuddle" in out
