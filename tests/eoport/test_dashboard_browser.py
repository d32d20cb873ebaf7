"""The dashboard in a real browser (headless Debian Chromium): a timeline service on Tansu
fed with a synthetic pass, the API serving the page, the page updating live.

The demo-chain version (real focusing, screenshot for the README) is
``test_dashboard_demo.py`` (slow)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from eoport.api.deps import open_state
from streams._infra.broker import LocalBroker
from streams._infra.topics import DEFAULT_TOPICS, ensure_topics
from streams.deliver.models import SubscriptionSpec, new_subscription
from streams.timeline.service import TimelineConfig, run_timeline
from streams.timeline.store import TimelineStore
from streams.timeline.view import TimelineView
from tests.conftest import make_test_bus
from tests.streams.timeline.browser import open_dashboard, texts, wait_until_figures_match
from tests.streams.timeline.serve import serve_dashboard
from tests.streams.timeline.synth import SynthPass

pytestmark = pytest.mark.broker

AOI = {
    "type": "Polygon",
    "coordinates": [[[10.3, 45.1], [10.7, 45.1], [10.7, 45.5], [10.3, 45.5], [10.3, 45.1]]],
}


@pytest.fixture
def timeline(tansu_broker_fn: LocalBroker, tmp_path: Path) -> Iterator[Path]:
    bus = make_test_bus(tansu_broker_fn)
    ensure_topics(bus, DEFAULT_TOPICS)
    stop = threading.Event()
    db = tmp_path / "timeline.sqlite"
    config = TimelineConfig(db_path=db, sample_interval_s=1.0, poll_timeout_s=0.1)
    thread = threading.Thread(target=run_timeline, args=(bus, config, stop), daemon=True)
    thread.start()
    yield db
    stop.set()
    thread.join(timeout=20)


def stored(db: Path) -> int:
    return sum(TimelineStore(db).offsets().values()) if db.exists() else 0


@pytest.mark.timeout(180)
def test_dashboard_shows_the_pass_live_and_loads_nothing_external(
    tansu_broker_fn: LocalBroker, timeline: Path, tmp_path: Path
) -> None:
    producer = make_test_bus(tansu_broker_fn).producer()
    synth = SynthPass(t0=datetime.now(UTC))
    records = synth.records()
    first = 12 + len(synth.events())  # the jobs and events: bursts known, none focused
    synth.publish(producer, 0, first)
    state = open_state(tmp_path / "state")
    spec = SubscriptionSpec.model_validate(
        {"name": "east", "aoi": AOI, "target": {"kind": "queue"}}
    )
    state.subscriptions.add(new_subscription(spec))
    view = TimelineView(timeline, workers=lambda: 2)
    with serve_dashboard(view, state) as url, open_dashboard(url) as session:
        page = session.page
        page.wait_for_selector(".burst-row", timeout=30_000)
        assert page.locator(".status.live").count() == 1
        assert page.locator(".burst-row.outcome-pending").count() == 10
        # the rest of the pass arrives while the page is open: no reload needed
        synth.publish(producer, first, None)
        deadline = time.monotonic() + 30
        while stored(timeline) < len(records) and time.monotonic() < deadline:
            time.sleep(0.1)
        page.wait_for_function(
            "document.querySelectorAll('.burst-row.outcome-product').length === 10",
            timeout=30_000,
        )
        shown = wait_until_figures_match(page, url)
        assert shown["focused"] == "10" and shown["skipped"] == "1" and shown["failed"] == "1"
        assert shown["workers-running"] == "2" and shown["backlog-bursts"] == "12"
        assert shown["events-gap"] == "1" and shown["events-incomplete"] == "1"
        text = texts(page)
        assert text["total-p50"] == f"{float(shown['total-p50']):.2f} s"
        assert len(session.navigations) == 1  # live updates, one page load
        # rows: one per burst, failures, skips and incomplete bursts marked, with reasons
        rows = page.locator(".burst-row")
        assert rows.count() == 12
        failed = page.locator(f'.burst-row[data-burst="{synth.key(4)}"]')
        assert "outcome-failed" in (failed.get_attribute("class") or "")
        assert "corrupt packets" in failed.inner_text()
        skipped = page.locator(f'.burst-row[data-burst="{synth.key(7)}"]')
        assert "outcome-skipped" in (skipped.get_attribute("class") or "")
        incomplete = page.locator(f'.burst-row[data-burst="{synth.key(2)}"]')
        assert "50 lines missing" in incomplete.inner_text()
        assert incomplete.locator(".badge.incomplete").count() == 1
        first_row = page.locator(f'.burst-row[data-burst="{synth.key(0)}"]')
        assert first_row.locator(".bar[data-stage]").count() == 9  # every segment as a bar
        # histogram, stage table, events and the map
        assert page.locator("#histogram rect").count() >= 8
        bars = page.locator("#histogram rect")
        counts = [int(bars.nth(i).get_attribute("data-count") or 0) for i in range(bars.count())]
        assert sum(counts) == 10
        assert page.locator("#stages tbody tr").count() == 10
        assert page.locator('#events li[data-kind="focus-failed"]').count() == 1
        assert page.get_attribute("#map", "data-footprints") == "10"
        assert page.get_attribute("#map", "data-aois") == "1"
        assert page.locator("#map path.leaflet-interactive").count() == 11
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        assert session.external_requests() == []
        assert session.external_resources() == []
        assert session.console_errors == []
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
