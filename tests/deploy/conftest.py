"""A running eoport API with the timeline service on a private Tansu: what Prometheus and
promtool look at in the deploy tests."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from eoport.api.deps import open_state
from streams._infra.broker import LocalBroker
from streams._infra.bus import KafkaBus
from streams._infra.topics import DEFAULT_TOPICS, ensure_topics
from streams.timeline.metrics import register_collector
from streams.timeline.service import TimelineConfig, run_timeline
from streams.timeline.view import TimelineView
from tests.conftest import make_test_bus
from tests.streams.timeline.serve import serve_dashboard

STAGE_MODULES = (
    "streams._infra.metrics", "streams._infra.runtime", "streams.assemble.stage",
    "streams.focus.stage", "streams.deliver.service", "streams.timeline.metrics",
    "operators.metrics",
)  # fmt: skip
"""Modules defining the metrics of every process (imported: their metrics register)."""


@dataclass
class LiveApi:
    """The API's base URL, the bus of its broker and the timeline file."""

    url: str
    bus: KafkaBus
    db: Path

    def scrape(self) -> str:
        response = httpx.get(self.url + "/metrics", timeout=10)
        response.raise_for_status()
        return response.text


@pytest.fixture
def live_api(tansu_broker_fn: LocalBroker, tmp_path: Path) -> Iterator[LiveApi]:
    for name in STAGE_MODULES:
        importlib.import_module(name)
    bus = make_test_bus(tansu_broker_fn)
    ensure_topics(bus, DEFAULT_TOPICS)
    db = tmp_path / "timeline.sqlite"
    stop = threading.Event()
    config = TimelineConfig(db_path=db, sample_interval_s=0.5, poll_timeout_s=0.1)
    thread = threading.Thread(target=run_timeline, args=(bus, config, stop), daemon=True)
    thread.start()
    view = TimelineView(db)
    collector = register_collector(view)
    try:
        with serve_dashboard(view, open_state(tmp_path / "state")) as url:
            yield LiveApi(url, bus, db)
    finally:
        REGISTRY.unregister(collector)
        stop.set()
        thread.join(timeout=20)
