"""eoport's HTTP API: subscriptions, deliveries, pull queues, health and metrics.

:func:`eoport.api.main.create_app` builds it; routes are module-level routers in
:mod:`eoport.api.routes`, their dependencies in :mod:`eoport.api.deps`;
:func:`eoport.api.server.make_server` serves it.
"""

from __future__ import annotations

from eoport.api.deps import ApiState, open_state
from eoport.api.main import create_app

__all__ = ["ApiState", "create_app", "open_state"]
