"""Metric names used by PromQL expressions (rules, Grafana panels) and exported by a
``/metrics`` exposition, compared by the deploy tests."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
RULE_FILES = sorted((MONITORING / "prometheus" / "rules").glob("*.yml"))
DASHBOARD = MONITORING / "grafana" / "dashboards" / "eoport-latency.json"

_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "inf", "nan",
}  # fmt: skip
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_PROMETHEUS_OWN = {"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds"}
"""Series Prometheus makes itself."""


def metric_names(expr: str) -> set[str]:
    """Metric (series) names an expression reads.

    Strips string literals, label matchers, range/offset durations and grouping clauses,
    then keeps identifiers not followed by ``(`` (function calls and aggregations) that
    are not PromQL keywords or numbers.
    """
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\boffset\s+-?\w+", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for m in _IDENT.finditer(text):
        name = m.group(0)
        rest = text[m.end() :].lstrip()
        if rest.startswith("(") or name.lower() in _KEYWORDS:
            continue
        if re.fullmatch(r"\d+[smhdwy]?", name) or name.startswith("$"):
            continue
        names.add(name)
    return names


def rule_documents() -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in RULE_FILES]


def recorded_names() -> set[str]:
    """Names of the series the recording rules create."""
    return {r["record"] for doc in rule_documents() for g in doc["groups"] for r in g["rules"]
            if "record" in r}  # fmt: skip


def rule_expressions() -> list[str]:
    return [r["expr"] for doc in rule_documents() for g in doc["groups"] for r in g["rules"]]


def dashboard_expressions() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in board["panels"] for t in p.get("targets", []) if "expr" in t]


def exported_names(exposition: str) -> set[str]:
    """Series names a Prometheus text exposition offers, from its ``# TYPE`` lines (so
    labelled metrics without samples yet count too) and its samples."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
        "gauge": ("",),
        "untyped": ("",),
        "info": ("_info",),
    }
    names: set[str] = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split(" ", 3)
            if kind == "counter":  # a counter without samples is typed with its _total name
                family = family.removesuffix("_total")
            names.update(family + s for s in suffixes.get(kind, ("",)))
        elif line and not line.startswith("#"):
            names.add(_IDENT.match(line).group(0))  # type: ignore[union-attr]
    return names


def unknown(names: Iterable[str], exported: set[str]) -> set[str]:
    """``names`` neither exported, recorded by the rules, nor made by Prometheus."""
    return set(names) - exported - recorded_names() - _PROMETHEUS_OWN
