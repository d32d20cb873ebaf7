"""Serve the eoport API with the dashboard router and a timeline view on a free loopback
port (a real uvicorn server in a thread), for the dashboard tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from eoport.api.deps import ApiState
from eoport.api.main import create_app
from eoport.api.routes import dashboard
from streams import find_free_port
from streams.timeline.view import TimelineView


@contextmanager
def serve_dashboard(view: TimelineView | None, state: ApiState) -> Iterator[str]:
    """Yield the base URL of a running API serving ``view`` at ``/dashboard`` (``None``:
    an API without a timeline)."""
    app = create_app(state=state)
    if view is not None:
        dashboard.install(app, view)
    else:
        app.include_router(dashboard.router)
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
