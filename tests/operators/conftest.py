"""Fixtures of the operator tests: a Kubernetes API emulator (kmock) knowing the
resources the operator and kopf touch, and a running operator against it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import kmock
import pytest

from operators._kube import KubeConnection
from operators.crd import KafkaTarget
from operators.handlers import OperatorOptions
from operators.operator import operator_main
from streams import KafkaBus
from tests.conftest import TEST_SESSION_TIMEOUT_MS
from tests.operators.emulator import Emulator

NAMESPACE = "eoport-test"
POOLS = "eoport.dev/v1alpha1/focusingpools"
DEPLOYMENTS = "apps/v1/deployments"
TEST_AGENT = "eoport-test"
"""User-Agent of the tests' own API calls (left out of the RBAC comparison)."""


@pytest.fixture(autouse=True)
def _close_looptime_loop(
    event_loop_policy: asyncio.AbstractEventLoopPolicy,
) -> Iterator[None]:
    """Close the event loop the looptime plugin makes before each test.

    With pytest-asyncio 1.x its ``event_loop_policy`` fixture is autouse, so looptime's
    ``pytest_pyfunc_call`` hook calls ``policy.get_event_loop()`` before *every* test,
    sync ones included, which creates a loop nobody closes; it is collected later,
    failing whichever test runs then with "unclosed event loop" (warnings are errors).
    Closing it once is enough: afterwards ``get_event_loop()`` raises instead of creating.
    """
    yield
    try:
        loop = event_loop_policy.get_event_loop()
    except RuntimeError:
        return
    if not loop.is_running() and not loop.is_closed():
        loop.close()
        event_loop_policy.set_event_loop(None)


def operator_bus(target: KafkaTarget) -> KafkaBus:
    """The operator's bus with test timeouts."""
    return KafkaBus(
        target.bootstrap_servers, client_id="eoport-operator-test",
        session_timeout_ms=TEST_SESSION_TIMEOUT_MS, message_timeout_ms=10_000,
    )  # fmt: skip


@dataclass
class RunningOperator:
    """An operator task against the emulator."""

    server: Emulator
    task: asyncio.Task[None]
    stop: asyncio.Event

    @property
    def url(self) -> str:
        return str(self.server.url).rstrip("/")

    async def api(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """One call to the emulator's API (as a user would with kubectl)."""
        headers = {"User-Agent": TEST_AGENT}
        if method == "PATCH":
            headers["Content-Type"] = "application/merge-patch+json"
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, self.url + path, json=body, headers=headers) as resp,
        ):
            assert resp.status < 400, f"{method} {path}: {resp.status} {await resp.text()}"
            return await resp.json(content_type=None)

    def obj(self, resource: str, name: str) -> Any:
        """Current state of an object in the emulator (``None`` if absent/deleted)."""
        key = (kmock.resource(resource), NAMESPACE, name)
        if key not in self.server.objects:
            return None
        obj = self.server.objects[key]
        return None if obj.deleted else dict(obj.raw)

    def events(self, reason: str | None = None) -> list[dict[str, Any]]:
        """Events posted so far (optionally of one reason)."""
        found = []
        for (resource, _, _), obj in self.server.objects.items():
            if resource.plural == "events" and not obj.deleted:
                raw = dict(obj.raw)
                if reason is None or raw.get("reason") == reason:
                    found.append(raw)
        return found

    async def wait_for(
        self, check: Callable[[], Any], timeout_s: float = 20.0, what: str = "condition"
    ) -> tuple[Any, float]:
        """Poll ``check`` every 20 ms until truthy; its value and the time it took."""
        start = time.monotonic()
        while True:
            value = check()
            if value:
                return value, time.monotonic() - start
            if self.task.done():
                self.task.result()  # re-raise the operator's crash
                raise AssertionError(f"operator stopped while waiting for {what}")
            if time.monotonic() - start > timeout_s:
                raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_operator(interval_s: float = 0.3) -> AsyncIterator[RunningOperator]:
    """A Kubernetes API emulator on a local port and the real kopf operator
    (:func:`operators.operator.operator_main`) against it, until the block exits.

    The tests run it with :func:`asyncio.run` in plain (sync) tests: the event loop is
    created and closed here, not by pytest plugins."""
    async with Emulator() as server, kmock.Server(server):
        server.declare()
        async with _operator(server, interval_s) as running:
            yield running


@contextlib.asynccontextmanager
async def _operator(server: Emulator, interval_s: float) -> AsyncIterator[RunningOperator]:
    options = OperatorOptions(
        namespace=NAMESPACE,
        interval_s=interval_s,
        connection=KubeConnection(str(server.url).rstrip("/"), insecure=True, namespace=NAMESPACE),
        bus_factory=operator_bus,
        scrape_timeout_s=0.5,
        api_retry_s=1.0,
    )
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(operator_main(options, stop_flag=stop, ready_flag=ready))
    running = RunningOperator(server, task, stop)
    await running.wait_for(ready.is_set, what="operator ready")
    try:
        yield running
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15.0)
