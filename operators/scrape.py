"""Reading the focus workers' ``/metrics`` pages (their focusing rate).

Each worker pod serves Prometheus metrics on its ``metrics`` port; the operator reads
``eoport_focus_seconds`` from the pods of the pool's Deployment directly (pod IP and
port), so it needs no Prometheus server. Pods without an IP (pending) are skipped; a pod
that does not answer counts as "no measurement" (the policy then relies on the others or
on the pool default).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from operators.errors import MetricsFormatError
from operators.throughput import FocusCounters, parse_focus_counters

log = logging.getLogger(__name__)


def pod_metrics_url(pod: Mapping[str, Any], port: int) -> str | None:
    """``http://{podIP}:{port}/metrics`` of a running pod, or ``None`` without an IP."""
    status = pod.get("status") or {}
    ip = status.get("podIP")
    if not ip or status.get("phase", "Running") not in ("Running", None):
        return None
    host = f"[{ip}]" if ":" in str(ip) else str(ip)
    return f"http://{host}:{port}/metrics"


async def scrape_counters(
    session: aiohttp.ClientSession, url: str, timeout_s: float
) -> FocusCounters | None:
    """The focus counters served at ``url`` (``None`` if unreachable or absent)."""
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
            if resp.status != 200:
                return None
            text = await resp.text()
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.debug("metrics of %s unreachable: %s", url, exc)
        return None
    try:
        return parse_focus_counters(text)
    except MetricsFormatError as exc:
        log.warning("metrics of %s unreadable: %s", url, exc)
        return None


async def scrape_pods(
    session: aiohttp.ClientSession,
    pods: Sequence[Mapping[str, Any]],
    port: int,
    timeout_s: float = 2.0,
) -> dict[str, FocusCounters | None]:
    """Focus counters of every pod (by pod name), read concurrently (none once the
    session is closed: the operator is stopping)."""
    if session.closed:
        return {}
    named: list[tuple[str, str]] = []
    for pod in pods:
        name = (pod.get("metadata") or {}).get("name")
        url = pod_metrics_url(pod, port)
        if name and url:
            named.append((str(name), url))
    results = await asyncio.gather(*(scrape_counters(session, url, timeout_s) for _, url in named))
    return {name: counters for (name, _), counters in zip(named, results, strict=True)}
