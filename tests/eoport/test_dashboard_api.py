"""The dashboard's JSON endpoints on their own (a real server, a synthetic timeline)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from eoport.api.deps import ApiState, open_state
from streams.deliver.models import SubscriptionSpec, new_subscription
from streams.timeline.store import TimelineStore
from streams.timeline.view import TimelineView
from tests.streams.timeline.serve import serve_dashboard
from tests.streams.timeline.synth import SynthPass
from tests.streams.timeline.test_view import ROLES, T0, as_records

AOI = {
    "type": "Polygon",
    "coordinates": [[[10.0, 45.0], [10.2, 45.0], [10.2, 45.2], [10.0, 45.2], [10.0, 45.0]]],
}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[str, SynthPass, ApiState]]:
    synth = SynthPass(t0=T0)
    store = TimelineStore(tmp_path / "timeline.sqlite")
    store.apply(as_records(synth.records()), ROLES)
    t = T0.timestamp()
    for k in range(4):
        store.add_samples(t + 5 * k, [("raw-chunks", "eoport-assembler", 50 * k, 3)], 3600)
        store.add_samples(t + 5 * k, [("focus-jobs", "eoport-focus", 12, 4 + k)], 3600)
    state = open_state(tmp_path / "state")
    spec = SubscriptionSpec.model_validate(
        {"name": "Po valley", "aoi": AOI, "target": {"kind": "queue"}}
    )
    state.subscriptions.add(new_subscription(spec))
    decisions = [{"time": t, "action": "scale-up", "replicas": 3, "current": 1, "reason": "x"}]
    view = TimelineView(
        tmp_path / "timeline.sqlite",
        workers=lambda: 3,
        decisions=lambda: decisions,
        clock=lambda: t + 17,
    )
    with serve_dashboard(view, state) as url:
        yield url, synth, state


def get(url: str, path: str, **params: Any) -> Any:
    response = httpx.get(url + path, params=params, timeout=10)
    response.raise_for_status()
    return response.json()


def test_passes_bursts_and_one_burst(api: tuple[str, SynthPass, ApiState]) -> None:
    url, synth, _ = api
    (p,) = get(url, "/dashboard/api/passes")
    assert p["pass_key"] == "SVALBARD/pass-1" and p["bursts"] == 12
    assert p["outcomes"] == {"product": 10, "failed": 1, "skipped": 1, "pending": 0}
    bursts = get(url, "/dashboard/api/bursts")  # default: the latest pass
    assert [b["burst_key"] for b in bursts] == synth.keys
    assert bursts == get(url, "/dashboard/api/bursts", pass_key="SVALBARD/pass-1")
    one = get(url, f"/dashboard/api/bursts/{synth.key(0)}")
    assert one == bursts[0]
    assert one["stamps"]["delivered"] == "2026-12-04T12:00:12.758273Z"
    assert set(one["segments"]) == {
        "to_station", "to_kafka", "assemble", "aux", "publish", "queue", "focus", "write",
        "deliver", "total",
    }  # fmt: skip
    missing = httpx.get(url + "/dashboard/api/bursts/nope/IW1/VV/1", timeout=10)
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_latency_throughput_backlog_workers_selection(
    api: tuple[str, SynthPass, ApiState],
) -> None:
    url, _, _ = api
    latency = get(url, "/dashboard/api/latency", pass_key="SVALBARD/pass-1")
    total = next(s for s in latency["segments"] if s["stage"] == "total")
    assert total["count"] == 10 and total["budget_s"] == 600.0
    assert total["p50_s"] <= total["p95_s"] <= total["p99_s"]
    assert len(total["histogram"]) == len(latency["bounds_s"]) + 1
    # window: bursts whose latest stamp is within 2 s of the view's clock (T0 + 17 s)
    recent = [
        b for b in get(url, "/dashboard/api/bursts")
        if max(datetime.fromisoformat(v) for v in b["stamps"].values()).timestamp()
        >= T0.timestamp() + 15
    ]  # fmt: skip
    assert 0 < len(recent) < 12
    assert get(url, "/dashboard/api/latency", window_s=2)["bursts"] == len(recent)
    tp = get(url, "/dashboard/api/throughput", window_s=10, windows=2)
    assert tp["chunks_per_s"] == pytest.approx(10.0) and tp["chunks_total"] == 150
    backlog = {e["topic"]: e for e in get(url, "/dashboard/api/backlog")["topics"]}
    assert backlog["focus-jobs"]["bursts"] == 7
    assert backlog["focus-jobs"]["sensing_s"] == pytest.approx(7 * 2.758273, abs=1e-3)
    assert backlog["focus-jobs"]["growth_per_s"] == pytest.approx(0.2)
    workers = get(url, "/dashboard/api/workers")
    assert workers["running"] == 3 and workers["source"] == "provider"
    assert workers["decisions"][0]["action"] == "scale-up"
    # focus intervals of consecutive bursts overlap: 4 s + 0.1 i each, 0.92 s apart
    assert workers["max_concurrent_focus"] >= 2
    sel = get(url, "/dashboard/api/selection")
    assert sel["counts"] == {"product": 10, "skipped": 1, "failed": 1, "pending": 0}


def test_events_and_map(api: tuple[str, SynthPass, ApiState]) -> None:
    url, synth, state = api
    events = get(url, "/dashboard/api/events")
    kinds = {e["kind"] for e in events}
    assert kinds == {"gap", "burst-incomplete", "focus-failed", "focus-skipped"}
    failed = get(url, "/dashboard/api/events", kind="focus-failed")
    assert [e["reason"] for e in failed] == ["corrupt packets"]
    assert failed[0]["burst_key"] == synth.key(4) and failed[0]["pass_key"] == "SVALBARD/pass-1"
    fc = get(url, "/dashboard/api/map")
    feature_kinds = [f["properties"]["kind"] for f in fc["features"]]
    assert feature_kinds.count("footprint") == 10 and feature_kinds.count("aoi") == 1
    aoi = next(f for f in fc["features"] if f["properties"]["kind"] == "aoi")
    assert aoi["geometry"] == AOI and aoi["properties"]["name"] == "Po valley"


def test_aois_are_private_unless_the_policy_publishes_them(
    api: tuple[str, SynthPass, ApiState],
) -> None:
    _, _, state = api
    view = TimelineView(Path(tempfile.mkdtemp()) / "empty.sqlite")
    with serve_dashboard(view, state, public_aois=False) as url:
        fc = get(url, "/dashboard/api/map")  # an anonymous caller
        assert [f for f in fc["features"] if f["properties"]["kind"] == "aoi"] == []


def test_snapshot_equals_the_endpoints_and_streams_live(
    api: tuple[str, SynthPass, ApiState],
) -> None:
    url, _, _ = api
    snap = get(url, "/dashboard/api/snapshot")
    assert snap["pass_key"] == "SVALBARD/pass-1"
    assert snap["passes"] == get(url, "/dashboard/api/passes")
    assert snap["bursts"] == get(url, "/dashboard/api/bursts")
    assert snap["latency"] == get(url, "/dashboard/api/latency", pass_key="SVALBARD/pass-1")
    assert snap["selection"] == get(url, "/dashboard/api/selection")
    with httpx.stream("GET", url + "/dashboard/api/stream", timeout=10) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        event, data = None, None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
                break
    assert event == "snapshot" and data is not None
    assert data["bursts"] == snap["bursts"] and data["version"] == snap["version"]


def test_page_and_static_files_are_local(api: tuple[str, SynthPass, ApiState]) -> None:
    url, _, _ = api
    page = httpx.get(url + "/dashboard", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for src in ("/dashboard/static/vendor/leaflet/leaflet.js",
                "/dashboard/static/dashboard/dashboard.js",
                "/dashboard/static/dashboard/dashboard.css"):  # fmt: skip
        assert src in page.text
        assert httpx.get(url + src, timeout=10).status_code == 200
    assert "http://" not in page.text and "https://" not in page.text
    escape = httpx.get(url + "/dashboard/static/../routes/dashboard.py", timeout=10)
    assert escape.status_code == 404


def test_without_a_timeline_the_endpoints_answer_503(tmp_path: Path) -> None:
    with serve_dashboard(None, open_state(tmp_path)) as url:
        response = httpx.get(url + "/dashboard/api/passes", timeout=10)
    assert response.status_code == 503 and "timeline" in response.json()["detail"]


def test_install_exports_the_timeline_gauges_in_the_apps_metrics(tmp_path: Path) -> None:
    from prometheus_client import generate_latest

    from eoport.api.main import create_app
    from eoport.api.routes import dashboard

    synth = SynthPass(t0=T0)
    TimelineStore(tmp_path / "t.sqlite").apply(as_records(synth.records()), ROLES)
    app = create_app(state=open_state(tmp_path / "state"))
    dashboard.install(app, TimelineView(tmp_path / "t.sqlite"), metrics=True)
    assert app.state.timeline.path == tmp_path / "t.sqlite"
    text = generate_latest(app.state.metrics_registry).decode()
    assert 'eoport_timeline_bursts{outcome="product"} 10.0' in text
    assert 'eoport_timeline_events{kind="gap"} 1.0' in text
