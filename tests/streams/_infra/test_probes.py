"""Stage probes over real HTTP: liveness, readiness with its reason, metrics."""

from __future__ import annotations

import threading

import httpx
from prometheus_client import Counter

from streams._infra.probes import ProbeServer, event_check

PROBED = Counter("eoport_test_probed", "A counter only this test increments")


def test_readiness_follows_its_conditions_and_metrics_are_served() -> None:
    warm = threading.Event()
    probes = ProbeServer(0, host="127.0.0.1")
    probes.ready_when(event_check(warm, "FFT plans not loaded yet"))
    probes.start()
    base = f"http://127.0.0.1:{probes.port}"
    try:
        assert httpx.get(f"{base}/healthz").status_code == 200
        r = httpx.get(f"{base}/readyz")
        assert r.status_code == 503 and "FFT plans not loaded yet" in r.text
        warm.set()
        assert httpx.get(f"{base}/readyz").status_code == 200
        PROBED.inc()
        m = httpx.get(f"{base}/metrics")
        assert m.status_code == 200 and m.headers["content-type"].startswith("text/plain")
        assert "eoport_test_probed_total 1.0" in m.text
        assert httpx.get(f"{base}/nothing").status_code == 404
    finally:
        probes.stop()
