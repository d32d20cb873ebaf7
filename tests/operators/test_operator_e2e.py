"""The kopf operator end to end: real handlers, kmock's Kubernetes API over HTTP, Tansu
providing the lag."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, start_http_server

from operators.crd import API_VERSION, KIND
from operators.workload import selector_labels
from streams import KafkaBus, LocalBroker, TopicSpec, ensure_topics
from tests.conftest import make_test_bus
from tests.operators.conftest import (
    DEPLOYMENTS,
    NAMESPACE,
    POOLS,
    TEST_AGENT,
    RunningOperator,
    running_operator,
)
from tests.operators.emulator import Emulator
from tests.operators.rbac import needed_permissions, role_permissions

pytestmark = pytest.mark.broker


def pool_body(name: str, bootstrap: str, topic: str, group: str, **spec: Any) -> dict[str, Any]:
    """A FocusingPool with short windows for tests."""
    body: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "uid": str(uuid.uuid4()),
            "generation": 1,
            "resourceVersion": "1",
        },  # fmt: skip
        "spec": {
            "kafka": {
                "bootstrapServers": bootstrap,
                "jobTopic": topic,
                "consumerGroup": group,
                "timeoutSeconds": 2,
            },  # fmt: skip
            "minReplicas": 0,
            "maxReplicas": 8,
            "targetBacklogSeconds": 30,
            "scaleDown": {"stabilizationWindowSeconds": 2},
            "rateWindowSeconds": 3,
            "worker": {"image": "ghcr.io/eoport/eoport:test"},
        },
    }
    body["spec"].update(spec)
    return body


def produce_jobs(bus: KafkaBus, topic: str, n: int) -> None:
    producer = bus.producer()
    for i in range(n):
        producer.send(topic, f"05A5A5/IW{i % 3 + 1}/VV/{249424 + i}", b"{}")
    producer.flush(10)


POOLS_PATH = f"/apis/eoport.dev/v1alpha1/namespaces/{NAMESPACE}/focusingpools"


def replicas_of(op: RunningOperator, pool: str) -> int | None:
    dep = op.obj(DEPLOYMENTS, f"{pool}-workers")
    return None if dep is None else int(dep["spec"]["replicas"])


def status_of(op: RunningOperator, pool: str) -> dict[str, Any]:
    return dict((op.obj(POOLS, pool) or {}).get("status") or {})


def condition(op: RunningOperator, pool: str, kind: str) -> dict[str, Any]:
    found: dict[str, Any] = {c["type"]: c for c in status_of(op, pool).get("conditions", [])}
    return dict(found.get(kind) or {})


def assert_role_covers(server: Emulator) -> set[tuple[str, str, str]]:
    """Every API call of kopf and the handlers is allowed by the Role; returns them."""
    needed = needed_permissions(server, skip_agent=TEST_AGENT)
    missing = needed - role_permissions()
    assert not missing, f"the Role lacks {sorted(missing)}"
    return needed


def test_backlog_scales_the_deployment_up_then_down(
    bus: KafkaBus, new_topic: Callable[..., str]
) -> None:
    asyncio.run(_backlog_scales_the_deployment_up_then_down(bus, new_topic))


async def _backlog_scales_the_deployment_up_then_down(
    bus: KafkaBus, new_topic: Callable[..., str]
) -> None:
    topic, group = new_topic(partitions=6), f"focus-{uuid.uuid4().hex[:6]}"
    async with running_operator() as op:
        body = pool_body("pool-a", bus.bootstrap_servers, topic, group)
        await op.api("POST", f"/apis/eoport.dev/v1alpha1/namespaces/{NAMESPACE}/focusingpools",
                     body)  # fmt: skip
        dep, _ = await op.wait_for(lambda: op.obj(DEPLOYMENTS, "pool-a-workers"), what="deployment")
        assert dep["spec"]["replicas"] == 0
        assert dep["metadata"]["ownerReferences"][0]["uid"] == body["metadata"]["uid"]

        produce_jobs(bus, topic, 40)  # 40 x 2.758 s = 110 s of sensing / 30 s -> 4 workers
        t0 = time.monotonic()
        await op.wait_for(
            lambda: (op.obj(DEPLOYMENTS, "pool-a-workers") or {})["spec"]["replicas"] == 4,
            what="scale-up to 4",
        )
        reaction_s = time.monotonic() - t0
        status, _ = await op.wait_for(
            lambda: (
                (op.obj(POOLS, "pool-a") or {}).get("status", {}).get("desiredReplicas") == 4
                and op.obj(POOLS, "pool-a")["status"]
            ),
            what="status",
        )
        assert status["backlogBursts"] == 40
        assert status["backlogSeconds"] == pytest.approx(40 * 2.758273, abs=0.01)
        assert status["lastDecision"]["action"] == "scale-up"
        conditions = {c["type"]: c for c in status["conditions"]}
        assert conditions["BrokerReachable"]["status"] == "True"
        assert conditions["Scaling"]["reason"] == "ScaledUp"
        events, _ = await op.wait_for(lambda: op.events("ScaledUp"), what="ScaledUp event")
        assert events[0]["type"] == "Normal" and "scale-up 0 -> 4" in events[0]["message"]
        assert events[0]["involvedObject"]["name"] == "pool-a"
        assert events[0]["involvedObject"]["kind"] == KIND

        consumer = bus.consumer(group, [topic])
        try:
            got: list[Any] = []
            deadline = time.monotonic() + 20
            while len(got) < 40 and time.monotonic() < deadline:
                got += await asyncio.to_thread(consumer.poll, 0.2)
            assert len(got) == 40
            assert replicas_of(op, "pool-a") == 4  # nothing committed yet: still 4
            t_commit = time.monotonic()
            for record in got:
                consumer.commit(record)
        finally:
            consumer.close()
        t_drained = time.monotonic()
        await op.wait_for(lambda: replicas_of(op, "pool-a") == 0, what="scale-down to 0")
        down_s = time.monotonic() - t_drained
        # the last recommendation of 4 was made at most one interval (0.3 s) before the
        # first commit; the scale-down window (2 s) runs from it
        assert time.monotonic() - t_commit >= 2.0 - 0.3 - 0.1
        await op.wait_for(lambda: op.events("ScaledDown"), what="ScaledDown event")
        assert REGISTRY.get_sample_value(
            "eoport_pool_desired_replicas", {"namespace": NAMESPACE, "pool": "pool-a"}
        ) == 0  # fmt: skip
        # deletion: kopf stops the timer and lifts its finalizer; the Deployment is owned
        assert op.obj(POOLS, "pool-a")["metadata"]["finalizers"] == ["eoport.dev/operator"]
        await op.api("DELETE", f"{POOLS_PATH}/pool-a")
        await op.wait_for(lambda: op.obj(POOLS, "pool-a") is None, what="pool deleted")
    assert_role_covers(op.server)
    print(f"\nreaction: backlog -> Deployment patched {reaction_s:.2f} s (interval 0.3 s); "
          f"drained -> scaled down {down_s:.2f} s (windows: rate 3 s, scale-down 2 s)")  # fmt: skip


def test_broker_down_holds_the_size_and_sets_the_condition(tansu_broker_fn: LocalBroker) -> None:
    asyncio.run(_broker_down_holds_the_size_and_sets_the_condition(tansu_broker_fn))


async def _broker_down_holds_the_size_and_sets_the_condition(tansu_broker_fn: LocalBroker) -> None:
    bus = make_test_bus(tansu_broker_fn)
    topic, group = "focus-jobs-down", "focus-down"
    ensure_topics(bus, [TopicSpec(topic, 4)])
    async with running_operator() as op:
        await op.api("POST", POOLS_PATH, pool_body("pool-b", bus.bootstrap_servers, topic, group))
        produce_jobs(bus, topic, 30)  # 82.7 s of sensing -> 3 workers
        await op.wait_for(lambda: replicas_of(op, "pool-b") == 3, what="scale-up to 3")
        tansu_broker_fn.kill()
        await op.wait_for(
            lambda: condition(op, "pool-b", "BrokerReachable").get("status") == "False",
            timeout_s=30, what="BrokerReachable=False",
        )  # fmt: skip
        cond = condition(op, "pool-b", "BrokerReachable")
        assert cond["reason"] == "BrokerUnavailable" and cond["message"]
        status = status_of(op, "pool-b")
        assert status["lastDecision"]["reason"] == "hold 3: broker unreachable"
        assert status["desiredReplicas"] == 3
        await op.wait_for(lambda: op.events("BrokerUnreachable"), what="Warning event")
        await asyncio.sleep(3.0)  # several evaluations with the broker down
        assert replicas_of(op, "pool-b") == 3  # size held (no scale-down to 0)
        assert len(op.events("BrokerUnreachable")) == 1  # on the transition only
        assert op.events("BrokerUnreachable")[0]["type"] == "Warning"
        assert not op.task.done()  # no crash
    assert_role_covers(op.server)


@pytest.fixture
def worker_metrics() -> Iterator[int]:
    """A worker's /metrics (real prometheus_client server): 10 bursts in 20 s of focusing,
    0.5 bursts/s. Returns the port."""
    registry = CollectorRegistry()
    focus = Histogram("eoport_focus_seconds", "focus time", registry=registry)
    for _ in range(10):
        focus.observe(2.0)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    yield int(server.server_port)
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_planned_pass_prescales_with_the_measured_worker_rate(
    bus: KafkaBus, new_topic: Callable[..., str], worker_metrics: int
) -> None:
    asyncio.run(
        _planned_pass_prescales_with_the_measured_worker_rate(bus, new_topic, worker_metrics)
    )


async def _planned_pass_prescales_with_the_measured_worker_rate(
    bus: KafkaBus, new_topic: Callable[..., str], worker_metrics: int
) -> None:
    """A pass (from the plan ConfigMap) starting in 20 s, lead 60 s, no backlog at all:
    the pool is raised before any burst. 3 bursts per 2.758 s = 1.09 jobs/s at the
    measured 0.5 bursts/s x 0.8 needs 3 workers (the default 1.2 bursts/s would give 2)."""
    topic, group = new_topic(partitions=6), f"focus-{uuid.uuid4().hex[:6]}"
    now = time.time()
    passes = [{"station": "svalbard", "start": now + 20, "stop": now + 320, "burstsPerCycle": 3}]
    async with running_operator() as op:
        await op.api("POST", f"/api/v1/namespaces/{NAMESPACE}/configmaps", {
            "metadata": {"name": "plan", "namespace": NAMESPACE},
            "data": {"passes.yaml": json.dumps(passes)},
        })  # fmt: skip
        for i in range(2):  # two running workers serving their metrics
            await op.api("POST", f"/api/v1/namespaces/{NAMESPACE}/pods", {
                "metadata": {"name": f"pool-c-workers-{i}", "namespace": NAMESPACE,
                             "labels": selector_labels("pool-c")},
                "status": {"phase": "Running", "podIP": "127.0.0.1"},
            })  # fmt: skip
        later = {"station": "kiruna", "start": "2099-01-01T00:00:00Z",
                 "stop": "2099-01-01T00:10:00Z", "replicas": 7}  # fmt: skip
        body = pool_body(
            "pool-c", bus.bootstrap_servers, topic, group,
            plan={"leadSeconds": 60, "passes": [later],
                  "configMapRef": {"name": "plan", "key": "passes.yaml"}},
        )  # fmt: skip
        body["spec"]["worker"]["metricsPort"] = worker_metrics
        await op.api("POST", POOLS_PATH, body)
        await op.wait_for(lambda: replicas_of(op, "pool-c") == 3, what="pre-scaling to 3")
        status, _ = await op.wait_for(
            lambda: status_of(op, "pool-c").get("desiredReplicas") == 3 and status_of(op, "pool-c"),
            what="status",
        )
        assert status["backlogBursts"] == 0
        assert status["workerBurstsPerSecond"] == pytest.approx(0.5)
        assert "planned pass (svalbard): 3" in status["lastDecision"]["reason"]
        plan_condition = condition(op, "pool-c", "PlanAvailable")
        assert plan_condition["status"] == "True" and plan_condition["message"] == "2 passes"
        dep = op.obj(DEPLOYMENTS, "pool-c-workers")
        container = dep["spec"]["template"]["spec"]["containers"][0]
        assert container["ports"][0]["containerPort"] == worker_metrics
        # the template follows the pool: a new image is rolled out, replicas untouched
        await op.api("PATCH", f"{POOLS_PATH}/pool-c",
                     {"spec": {"worker": {"image": "ghcr.io/eoport/eoport:next"}}})  # fmt: skip
        await op.wait_for(
            lambda: (op.obj(DEPLOYMENTS, "pool-c-workers") or {})["spec"]["template"]["spec"][
                "containers"][0]["image"] == "ghcr.io/eoport/eoport:next",
            what="template update",
        )  # fmt: skip
        assert replicas_of(op, "pool-c") == 3
    needed = assert_role_covers(op.server)
    assert needed == role_permissions(), "the Role grants more than the operator uses"


def test_invalid_spec_is_reported_and_nothing_is_created() -> None:
    asyncio.run(_invalid_spec_is_reported_and_nothing_is_created())


async def _invalid_spec_is_reported_and_nothing_is_created() -> None:
    async with running_operator() as op:
        body = pool_body("pool-d", "127.0.0.1:1", "t", "g", minReplicas=5, maxReplicas=2)
        await op.api("POST", POOLS_PATH, body)
        cond, _ = await op.wait_for(
            lambda: condition(op, "pool-d", "SpecValid"), what="SpecValid condition"
        )
        assert (
            cond["status"] == "False"
            and "maxReplicas 2 < max(1, minReplicas 5)" in (cond["message"])
        )
        await asyncio.sleep(1.0)
        assert op.obj(DEPLOYMENTS, "pool-d-workers") is None
        assert not op.task.done()
