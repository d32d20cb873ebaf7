"""eoport's HTTP API: subscriptions, deliveries, pull queues, health and metrics.

Build it with :func:`create_app`; the STAC API (``/stac/...``) and the dashboard are to
be mounted beside the routers here.
"""

from __future__ import annotations

from eoport.api.app import ApiState, create_app, open_state

__all__ = ["ApiState", "create_app", "open_state"]
