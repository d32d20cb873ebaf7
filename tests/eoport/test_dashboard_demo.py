"""A demo pass through the whole chain (real focusing), watched at the same time by the
dashboard in headless Chromium and by a real Prometheus; the screenshot of the page is the
README's (``EOPORT_UPDATE_SCREENSHOT=1`` writes ``docs/img/dashboard.png``)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from eoport.pipeline import DEMO_TARGETS, LocalPipeline, aoi_box, sensing_span, simulate_pass
from streams.timeline.metrics import register_collector
from streams.timeline.settings import TimelineSettings, open_view, run_timeline_stage
from tests.deploy.conftest import STAGE_MODULES
from tests.deploy.promql import (
    dashboard_expressions,
    exported_names,
    metric_names,
    rule_expressions,
    unknown,
)
from tests.deploy.test_prometheus import Prometheus
from tests.streams.timeline.browser import open_dashboard, wait_until_figures_match
from tests.streams.timeline.serve import serve_dashboard

pytestmark = [pytest.mark.slow, pytest.mark.broker]

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "dashboard.png"
DURATION_S = 6.0
"""Two IW burst cycles: six bursts."""


@pytest.mark.timeout(900)
def test_demo_pass_on_the_dashboard_and_in_prometheus(tmp_path: Path) -> None:
    import importlib

    for name in STAGE_MODULES:
        importlib.import_module(name)
    datatake = simulate_pass("IW", DURATION_S)
    first, last = sensing_span(datatake)
    rate = len(datatake.data) / max(last - first, 1e-3)
    pipeline = LocalPipeline(tmp_path / "demo", focus_workers=2, api=False)
    stop = threading.Event()
    collector = None
    prometheus: Prometheus | None = None
    try:
        pipeline.start()
        settings = pipeline.stage_settings(TimelineSettings, sample_interval_s=1.0)
        assert isinstance(settings, TimelineSettings)
        thread = threading.Thread(
            target=run_timeline_stage, args=(settings, stop), name="timeline", daemon=True
        )
        thread.start()
        view = open_view(settings, workers=lambda: len(pipeline.workers))
        collector = register_collector(view)
        a, b = DEMO_TARGETS
        for name, box in (("demo-a", aoi_box(a.lat, a.lon)), ("demo-b", aoi_box(b.lat, b.lon)),
                          ("elsewhere", aoi_box(a.lat + 5.0, a.lon))):  # fmt: skip
            pipeline.subscribe({"name": name, "aoi": box, "target": {"kind": "queue"}})
        with serve_dashboard(view, pipeline.state) as url:
            prometheus = Prometheus(tmp_path, url.removeprefix("http://"))
            prometheus.wait_ready()
            prometheus.wait_for('up{job="eoport"} == 1', 1)
            with open_dashboard(url) as session:
                page = session.page
                pipeline.replay(
                    datatake.data, rate_bytes_per_s=rate,
                    relative_orbit=int(datatake.truth["relative_orbit"]),
                )  # fmt: skip
                page.wait_for_selector(".burst-row", timeout=120_000)
                assert pipeline.wait_done(["LOCAL/pass-1/1"], 600)
                n_products = len(pipeline.products)
                expected = len(pipeline.expected_deliveries())
                assert n_products >= 6 and expected >= 2
                page.wait_for_function(
                    f"document.querySelectorAll('.burst-row.outcome-product').length === "
                    f"{n_products}",
                    timeout=60_000,
                )
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:  # every delivery reached the timeline
                    done = sum(len(b.deliveries) for b in view.bursts())
                    if done >= expected:
                        break
                    time.sleep(0.2)
                shown = wait_until_figures_match(page, url)
                assert shown["focused"] == str(n_products)
                assert shown["workers-running"] == "2"
                (p,) = view.passes()
                assert p.pass_key == "LOCAL/pass-1" and p.replay_offset_s > 86_400
                total = next(s for s in view.latency(p.pass_key).segments if s.stage == "total")
                assert total.count >= 1 and 0 < (total.p50_s or 0) < 300
                assert page.locator(".burst-row").count() == len(pipeline.job_keys)
                assert page.get_attribute("#map", "data-footprints") == str(n_products)
                assert page.get_attribute("#map", "data-aois") == "3"
                page.wait_for_timeout(500)
                shot = tmp_path / "dashboard.png"
                page.screenshot(path=str(shot), full_page=True)
                assert session.external_requests() == []
                assert session.external_resources() == []
                assert session.console_errors == []
                assert len(session.navigations) == 1
            # Prometheus scraped the running chain: the rules answer with every stage
            series = prometheus.wait_for('eoport:burst_latency_seconds:p95_5m{stage="total"}', 1)
            assert 0 < float(series[0]["value"][1]) < 300
            for expr in (
                "eoport_focus_jobs_total",
                "eoport_chunks_consumed_total",
                "eoport_delivery_latency_seconds_bucket",
                "eoport:focus_seconds:p95_5m",
            ):
                assert prometheus.wait_for(expr, 1), expr  # fmt: skip
            import httpx

            exported = exported_names(httpx.get(url + "/metrics", timeout=10).text)
            used = set().union(*(metric_names(e) for e in rule_expressions()),
                               *(metric_names(e) for e in dashboard_expressions()))  # fmt: skip
            assert unknown(used, exported) == set()
        if os.environ.get("EOPORT_UPDATE_SCREENSHOT") == "1":
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, SCREENSHOT)
    finally:
        if prometheus is not None:
            prometheus.stop()
        if collector is not None:
            REGISTRY.unregister(collector)
        stop.set()
        pipeline.stop()
