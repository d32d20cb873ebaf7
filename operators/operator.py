"""Running the ``FocusingPool`` operator: kopf settings and the entry points.

- :func:`operator_main` (async): run until ``stop_flag`` is set (tests, embedding);
- :func:`run_operator`: blocking, with the operator's own Prometheus metrics server
  (``python -m operators`` and the CLI call it).

Settings chosen for least privilege (namespace-scoped Role, see ``manifests/rbac.yaml``):
one namespace, **standalone** (no peering objects: the operator Deployment runs one
replica with the ``Recreate`` strategy), **no cluster scanning** (no cluster-wide watch
of namespaces and CRDs), handler progress and diff-base kept in ``eoport.dev/``
annotations of the pool, Events only when the handlers post them explicitly.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import kopf
from prometheus_client import start_http_server

from operators.handlers import OperatorOptions, build_registry

log = logging.getLogger(__name__)


def make_settings(options: OperatorOptions) -> kopf.OperatorSettings:
    """kopf settings of the operator (see the module docstring)."""
    settings = kopf.OperatorSettings()
    settings.peering.standalone = True
    settings.scanning.disabled = True
    settings.posting.reporting_component = "eoport-operator"
    settings.posting.loggers = False
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="eoport.dev")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="eoport.dev", key="last-handled-configuration"
    )
    settings.persistence.finalizer = "eoport.dev/operator"
    settings.networking.request_timeout = 30.0
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.execution.max_workers = 4
    del options
    return settings


async def operator_main(
    options: OperatorOptions,
    *,
    stop_flag: asyncio.Event | threading.Event | None = None,
    ready_flag: asyncio.Event | threading.Event | None = None,
    liveness_endpoint: str | None = None,
) -> None:
    """Run the operator in the current event loop until ``stop_flag`` is set."""
    flags: dict[str, Any] = {}
    if stop_flag is not None:
        flags["stop_flag"] = stop_flag
    if ready_flag is not None:
        flags["ready_flag"] = ready_flag
    await kopf.operator(
        registry=build_registry(options),
        settings=make_settings(options),
        namespaces=[options.namespace],
        standalone=True,
        liveness_endpoint=liveness_endpoint,
        memo=kopf.Memo(),
        **flags,
    )


def run_operator(
    options: OperatorOptions,
    *,
    metrics_port: int | None = 9109,
    liveness_endpoint: str | None = "http://0.0.0.0:8080/healthz",
) -> None:
    """Run the operator until interrupted (SIGINT/SIGTERM handled by kopf).

    Parameters
    ----------
    options
        Namespace, interval, connection.
    metrics_port
        Port of the operator's Prometheus metrics (``None``: none).
    liveness_endpoint
        kopf's health endpoint for the liveness probe (``None``: none).
    """
    if metrics_port is not None:
        start_http_server(metrics_port)
    asyncio.run(operator_main(options, liveness_endpoint=liveness_endpoint))
