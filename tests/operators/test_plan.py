"""Acquisition plans: parsing, windows, ConfigMap documents."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from operators.errors import InvalidPlanError
from operators.plan import (
    AcquisitionPlan,
    PlannedPass,
    parse_plan,
    parse_plan_document,
    parse_time,
    plan_from_configmap,
    plan_to_document,
)

START = datetime(2026, 12, 4, 15, 2, tzinfo=UTC).timestamp()


def test_parse_plan_entries_with_rfc3339_times() -> None:
    plan = parse_plan([
        {"station": "svalbard", "start": "2026-12-04T15:02:00Z", "stop": "2026-12-04T15:12:00Z",
         "burstsPerCycle": 6},
        {"station": "matera", "start": "2026-12-04T16:02:00+01:00", "stop": START + 1200,
         "replicas": 2},
    ])  # fmt: skip
    a, b = plan.passes
    assert (a.station, a.start, a.stop - a.start, a.bursts_per_cycle) == (
        "svalbard", START, 600.0, 6.0)  # fmt: skip
    assert b.start == START and b.replicas == 2 and b.bursts_per_cycle is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"start": "2026-12-04T15:02:00Z", "stop": "2026-12-04T15:12:00Z"}, "station missing"),
        ({"station": "s", "stop": "2026-12-04T15:12:00Z"}, "start missing"),
        ({"station": "s", "start": "yesterday", "stop": 5}, "not an RFC 3339 time"),
        ({"station": "s", "start": 10, "stop": 5}, "is not after start"),
        ({"station": "s", "start": 1, "stop": 5, "replicas": 1.5}, "not an integer"),
        ({"station": "s", "start": 1, "stop": 5, "replicas": -1}, "replicas -1 < 0"),
        ({"station": "s", "start": 1, "stop": 5, "burstsPerCycle": "six"}, "not a number"),
    ],
)
def test_bad_entries_raise_plan_errors(entry: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidPlanError, match=message):
        parse_plan([entry])


def test_active_window_includes_lead_and_tail_and_next_pass() -> None:
    p = PlannedPass("kiruna", START, START + 600)
    plan = AcquisitionPlan((p,))
    assert plan.active(START - 61, lead_s=60) == ()
    assert plan.active(START - 59, lead_s=60) == (p,)
    assert plan.active(START + 630, lead_s=60, tail_s=30) == (p,)
    assert plan.active(START + 631, lead_s=60, tail_s=30) == ()
    assert plan.next_pass(START - 1) == p and plan.next_pass(START + 1) is None


def test_configmap_document_round_trip_yaml_and_json() -> None:
    yaml_text = """
- station: svalbard
  start: 2026-12-04T15:02:00Z
  stop: 2026-12-04T15:12:00Z
  replicas: 3
"""
    plan = plan_from_configmap({"passes.yaml": yaml_text})
    assert plan.passes[0].start == START and plan.passes[0].replicas == 3
    assert parse_plan_document(plan_to_document(plan)) == plan
    assert plan_from_configmap({}) == AcquisitionPlan()
    with pytest.raises(InvalidPlanError, match="expected a list"):
        parse_plan_document("station: x")
    assert parse_time("2026-12-04T15:02:00", "t") == START  # naive means UTC
