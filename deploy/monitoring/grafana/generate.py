"""Generate the eoport Grafana dashboard (``dashboards/eoport-latency.json``).

Uses grafana-foundation-sdk, pinned exactly (its versions carry an epoch)::

    pip install "grafana-foundation-sdk==1769699998!10.1.0"
    python deploy/monitoring/grafana/generate.py          # rewrites the JSON
    python deploy/monitoring/grafana/generate.py --check  # exit 1 if it is out of date

The queries read the recording rules of ``../prometheus/rules/eoport-recording.yml`` and
the metrics the code exports (``tests/deploy`` checks both against a real scrape).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

OUTPUT = Path(__file__).resolve().parent / "dashboards" / "eoport-latency.json"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="eoport-prometheus")
"""The datasource provisioned by ``provisioning/datasources/prometheus.yml``."""


def query(expr: str, legend: str, ref: str = "A") -> prometheus.Dataquery:
    """A range query of ``expr`` with a legend."""
    return prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref)


def series(
    title: str, unit: str, *queries: prometheus.Dataquery, span: int = 12
) -> timeseries.Panel:
    """A time-series panel."""
    panel = timeseries.Panel().title(title).unit(unit).datasource(DATASOURCE).height(8).span(span)
    for q in queries:
        panel = panel.with_target(q)
    return panel


def figure(title: str, unit: str, expr: str, legend: str, span: int = 4) -> stat.Panel:
    """A single-value panel."""
    return (
        stat.Panel().title(title).unit(unit).datasource(DATASOURCE).height(5).span(span)
        .with_target(query(expr, legend))
    )  # fmt: skip


def build() -> dict[str, object]:
    """The dashboard as a JSON-compatible dict."""
    board = (
        db.Dashboard("eoport: sensing to delivery")
        .uid("eoport-latency")
        .tags(["eoport", "sentinel-1", "latency"])
        .refresh("30s")
        .time("now-3h", "now")
        .timezone("utc")
        .with_row(db.Row("Latency (timeline service)"))
        .with_panel(figure("p50 sensing stop → delivered", "s",
                           'eoport:burst_latency_seconds:p50_5m{stage="total"}', "p50"))
        .with_panel(figure("p95 sensing stop → delivered", "s",
                           'eoport:burst_latency_seconds:p95_5m{stage="total"}', "p95"))
        .with_panel(figure("p99 sensing stop → delivered", "s",
                           'eoport:burst_latency_seconds:p99_5m{stage="total"}', "p99"))
        .with_panel(series(
            "Sensing stop → delivered", "s",
            query('eoport:burst_latency_seconds:p50_5m{stage="total"}', "p50", "A"),
            query('eoport:burst_latency_seconds:p95_5m{stage="total"}', "p95", "B"),
            query('eoport:burst_latency_seconds:p99_5m{stage="total"}', "p99", "C"),
        ))
        .with_panel(series(
            "p95 per stage", "s",
            query('eoport:burst_latency_seconds:p95_5m{stage!="total"}', "{{stage}}"),
        ))
        .with_panel(series(
            "Mean per stage", "s",
            query('eoport:burst_latency_seconds:mean_5m{stage!="total"}', "{{stage}}"),
        ))
        .with_panel(series(
            "Delivery and focusing (stage metrics)", "s",
            query("eoport:delivery_latency_seconds:p95_5m", "delivery p95 (per subscription)", "A"),
            query("eoport:focus_seconds:p95_5m", "focus p95 (per burst)", "B"),
        ))
        .with_row(db.Row("Flow"))
        .with_panel(series(
            "Throughput", "ops",
            query("eoport:chunks_consumed:rate1m", "chunks/s consumed", "A"),
            query("eoport:bursts_delivered:rate5m", "bursts/s delivered", "B"),
            query("eoport:focus_jobs:rate5m", "focus jobs/s {{outcome}}", "C"),
        ))
        .with_panel(series(
            "Backlog (seconds of sensing)", "s",
            query("eoport:backlog_sensing_seconds:max", "{{topic}}"),
        ))
        .with_panel(series(
            "Backlog (records)", "short", query("eoport:backlog_records:max", "{{topic}}"),
            span=8,
        ))
        .with_panel(figure("Gaps per 10 min", "short", "eoport:gap_events:rate10m * 600", "gaps"))
        .with_panel(series(
            "Events and bursts (timeline)", "short",
            query("sum by (kind) (eoport_timeline_events)", "{{kind}}", "A"),
            query("sum by (outcome) (eoport_timeline_bursts)", "bursts {{outcome}}", "B"),
        ))
        .with_panel(series(
            "Focusing workers (operator)", "short",
            query("sum by (pool) (eoport_pool_current_replicas)", "running {{pool}}", "A"),
            query("sum by (pool) (eoport_pool_desired_replicas)", "decided {{pool}}", "B"),
        ))
        .with_row(db.Row("Health"))
        .with_panel(series(
            "Scrape targets up", "short", query('up{job=~"eoport.*"}', "{{job}} {{instance}}"),
        ))
        .with_panel(series(
            "Stage stalls recovered by the watchdog", "short",
            query("sum by (stage) (increase(eoport_stage_stalls_total[15m]))", "{{stage}}"),
        ))
    )  # fmt: skip
    encoded = json.dumps(board.build(), cls=JSONEncoder, sort_keys=True)
    decoded: dict[str, object] = _without_nulls(json.loads(encoded))
    return decoded


def _without_nulls(value: Any) -> Any:
    """Drop ``null`` members (Grafana fills defaults for absent keys, not for nulls)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    """Write (or ``--check``) the dashboard JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args(argv)
    text = json.dumps(build(), indent=2, sort_keys=True) + "\n"
    if args.check:
        current = OUTPUT.read_text() if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(OUTPUT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
