"""Reading a FocusingPool spec."""

from __future__ import annotations

from typing import Any

import pytest

from operators.crd import parse_pool
from operators.errors import InvalidPoolSpecError
from operators.scrape import pod_metrics_url
from sar.constants import IW_BURST_CYCLE


def minimal() -> dict[str, Any]:
    return {"kafka": {"bootstrapServers": "kafka:9092"}, "worker": {"image": "eoport:1"}}


def test_minimal_spec_gets_the_documented_defaults() -> None:
    pool = parse_pool(minimal())
    assert pool.kafka.job_topic == "focus-jobs" and pool.kafka.consumer_group == "eoport-focus"
    s = pool.scaling
    assert (s.min_replicas, s.max_replicas, s.target_backlog_s) == (0, 8, 30.0)
    assert s.sensing_s_per_job == IW_BURST_CYCLE and s.scale_down_only_when_drained
    assert pool.worker.args == ("run", "focus") and pool.worker.wisdom is None
    assert pool.plan.config_map is None and pool.plan.inline.passes == ()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kafka": {}}, "bootstrapServers missing"),
        ({"worker": {}}, "spec.worker.image missing"),
        ({"maxReplicas": "many"}, "must be an integer"),
        ({"minReplicas": 4, "maxReplicas": 2}, "maxReplicas 2 < max"),
        ({"targetUtilisation": 1.5}, "targetUtilisation 1.5 > 1"),
        ({"plan": {"passes": [{"station": "s", "start": 5, "stop": 1}]}}, "spec.plan.passes"),
        ({"plan": {"configMapRef": {}}}, "configMapRef.name missing"),
        ({"worker": {"image": "x", "wisdom": {}}}, "exactly one of"),
        ({"worker": {"image": "x", "env": "A=1"}}, "list of objects"),
    ],
)
def test_bad_specs_raise_one_line_errors(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidPoolSpecError, match=message):
        parse_pool({**minimal(), **change})


def test_wisdom_from_a_configmap_is_read_only() -> None:
    spec = minimal()
    spec["worker"]["wisdom"] = {"configMap": "wisdom", "mountPath": "/w"}
    wisdom = parse_pool(spec).worker.wisdom
    assert wisdom is not None and wisdom.read_only and wisdom.path == "/w/fftw.wisdom"


def test_pod_metrics_url() -> None:
    running = {"status": {"phase": "Running", "podIP": "10.1.2.3"}}
    assert pod_metrics_url(running, 9108) == "http://10.1.2.3:9108/metrics"
    assert pod_metrics_url({"status": {"phase": "Pending"}}, 9108) is None
    v6 = {"status": {"phase": "Running", "podIP": "fd00::1"}}
    assert pod_metrics_url(v6, 9108) == "http://[fd00::1]:9108/metrics"
