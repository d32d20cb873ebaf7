"""Serve the eoport API with the dashboard router and a timeline view on a free loopback
port (a real uvicorn server in a thread), for the dashboard tests."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from eoport.api.deps import ApiState
from eoport.api.main import create_app
from eoport.config import ApiSettings
from streams import find_free_port
from streams.timeline.view import TimelineView


@contextmanager
def serve_dashboard(
    view: TimelineView | None, state: ApiState, *, public_aois: bool = True
) -> Iterator[str]:
    """Yield the base URL of a running API serving ``view`` at ``/dashboard`` (``None``:
    an API without a timeline). The timeline's gauges are not exported by the API (tests
    register their own collector); the API's other stores live in a temporary directory;
    ``public_aois``: the map shows every AOI to anonymous callers (as in the demo)."""
    with tempfile.TemporaryDirectory(prefix="eoport-api-") as tmp:
        settings = ApiSettings(
            state_dir=Path(tmp), dashboard_public_aois=public_aois, index_products=False,
            run_timeline=False,
        )  # fmt: skip
        app = create_app(settings, state=state, timeline=view, timeline_metrics=False)
        if view is None:
            app.state.timeline = None  # create_app opened the (empty) one of ``settings``
        with _serve(app) as url:
            yield url


@contextmanager
def _serve(app: FastAPI) -> Iterator[str]:
    port = find_free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False,
        timeout_graceful_shutdown=2,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="dashboard-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "API did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
