"""Kubernetes probes and Prometheus metrics of a stage process, on one small HTTP port.

``eoport run STAGE`` serves, when ``EOPORT_METRICS_PORT`` is set:

- ``GET /healthz`` — liveness: 200 while the process runs its loop (503 once it stopped);
- ``GET /readyz`` — readiness: 200 only when the stage can do work (its consumer is
  subscribed and, for a focusing worker, its FFT plans are loaded), else 503 with the
  reason; a Deployment sends no traffic and the operator counts no capacity before that;
- ``GET /metrics`` — the process's Prometheus metrics (text exposition 0.0.4).

The server is a standard-library ``ThreadingHTTPServer`` on a daemon thread: constant
work per request, no dependency on the stage's own threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

Check = Callable[[], str | None]
"""A probe condition: ``None`` when it holds, else the reason it does not (one line)."""


class ProbeServer:
    """``/healthz``, ``/readyz`` and ``/metrics`` on ``host:port``.

    Parameters
    ----------
    port
        TCP port (0: any free port; see :attr:`port` after :meth:`start`).
    host
        Address to bind (``0.0.0.0`` in a pod).
    """

    def __init__(self, port: int, host: str = "0.0.0.0") -> None:  # noqa: S104 - pod probes
        self._ready: list[Check] = []
        self._live: list[Check] = []
        probes = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
                elif path in ("/healthz", "/readyz"):
                    checks = probes._live if path == "/healthz" else probes._live + probes._ready
                    reasons = [r for r in (c() for c in checks) if r is not None]
                    body = ("ok\n" if not reasons else "\n".join(reasons) + "\n").encode()
                    self._send(503 if reasons else 200, body, "text/plain; charset=utf-8")
                else:
                    self._send(404, b"not found\n", "text/plain; charset=utf-8")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="probes", daemon=True
        )

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._server.server_address[1])

    def ready_when(self, check: Check) -> None:
        """Add a readiness condition."""
        self._ready.append(check)

    def live_when(self, check: Check) -> None:
        """Add a liveness condition (also required for readiness)."""
        self._live.append(check)

    def start(self) -> ProbeServer:
        """Serve in the background; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()


def event_check(event: threading.Event, reason: str) -> Check:
    """A condition that holds once ``event`` is set."""
    return lambda: None if event.is_set() else reason
