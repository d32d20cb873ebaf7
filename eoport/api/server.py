"""Serving the API: ``eoport run api`` and the demo run :func:`make_server`."""

from __future__ import annotations

import uvicorn

from eoport.api.deps import ApiState
from eoport.api.main import create_app
from eoport.config import ApiSettings
from streams.timeline.view import TimelineView


def make_server(
    settings: ApiSettings,
    state: ApiState | None = None,
    *,
    timeline: TimelineView | None = None,
    timeline_metrics: bool = True,
) -> uvicorn.Server:
    """A uvicorn server for the API on ``settings.host:settings.port`` (call ``run()``,
    or run it in a thread and set ``should_exit`` to stop it).

    Access logs are off (they went to stdout, mixing with a command's JSON output);
    request counts and latencies are in ``/metrics``. Shutdown waits at most 2 s for open
    requests (the dashboard's event streams).
    """
    app = create_app(settings, state=state, timeline=timeline, timeline_metrics=timeline_metrics)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)
