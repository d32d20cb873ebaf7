"""Timeline settings from the environment and what they configure."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.timeline.settings import TIMELINE_FILE, TimelineSettings, open_view


def test_defaults_and_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EOPORT_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("EOPORT_SAMPLE_INTERVAL_S", "2.5")
    monkeypatch.setenv("EOPORT_TOPICS__FOCUS_JOBS", "jobs-v2")
    monkeypatch.setenv("EOPORT_FOCUS_GROUP", "focus-blue")
    monkeypatch.setenv("EOPORT_BUDGETS_S", '{"total": 300}')
    s = TimelineSettings()
    assert s.db_path == tmp_path / TIMELINE_FILE and s.client_id == "eoport-timeline"
    config = s.config()
    assert config.sample_interval_s == 2.5 and config.jobs_topic == "jobs-v2"
    assert config.roles["jobs-v2"] == "jobs" and config.roles["l1-products"] == "products"
    assert ("focus-blue", "jobs-v2") in config.watched
    view = open_view(s, workers=lambda: 4)
    assert view.budgets["total"] == 300.0 and view.budgets["focus"] == 120.0
    assert "jobs-v2" in view.burst_topics and view.workers().running == 4
    assert (tmp_path / TIMELINE_FILE).exists()  # the view creates an empty store


def test_an_explicit_file_wins(tmp_path: Path) -> None:
    s = TimelineSettings(state_dir=tmp_path / "a", timeline_file=tmp_path / "b.sqlite")
    assert s.db_path == tmp_path / "b.sqlite"
