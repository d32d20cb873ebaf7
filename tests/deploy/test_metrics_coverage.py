"""Every metric the alert/recording rules and the Grafana dashboard query is one the code
exports (compared with a real scrape of a running API), and the extraction itself works."""

from __future__ import annotations

import pytest

from tests.deploy.conftest import LiveApi
from tests.deploy.promql import (
    dashboard_expressions,
    exported_names,
    metric_names,
    recorded_names,
    rule_expressions,
    unknown,
)


def test_metric_names_of_an_expression() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (le, stage) (rate(eoport_burst_latency_seconds_bucket"
        '{stage!="total", job=~"a.*"}[5m]))) > 600 and on () (sum(rate(eoport_focus_jobs_total'
        "[5m])) or vector(0)) == 0 unless eoport:gap_events:rate10m * 600 > 5 offset 1h"
    )
    assert metric_names(expr) == {
        "eoport_burst_latency_seconds_bucket", "eoport_focus_jobs_total",
        "eoport:gap_events:rate10m",
    }  # fmt: skip


def test_exported_names_from_type_lines() -> None:
    text = (
        "# HELP a_seconds x\n# TYPE a_seconds histogram\n# HELP b x\n# TYPE b counter\n"
        '# HELP c x\n# TYPE c gauge\nc{x="1"} 2.0\n'
    )
    assert exported_names(text) == {
        "a_seconds_bucket", "a_seconds_sum", "a_seconds_count", "a_seconds_created",
        "b_total", "b_created", "c",
    }  # fmt: skip


@pytest.mark.broker
def test_rules_and_dashboard_query_only_exported_metrics(live_api: LiveApi) -> None:
    exported = exported_names(live_api.scrape())
    rules = set().union(*(metric_names(e) for e in rule_expressions()))
    panels = set().union(*(metric_names(e) for e in dashboard_expressions()))
    assert len(rules) >= 10 and len(panels) >= 10
    assert unknown(rules, exported) == set()
    assert unknown(panels, exported) == set()
    # the dashboard reads recorded series that the rules define
    assert {n for n in panels if ":" in n} <= recorded_names()
    # and an unknown name is caught
    assert unknown({"eoport_no_such_metric_total"}, exported) == {"eoport_no_such_metric_total"}
