"""A real eoport API for tests: uvicorn in a thread, stores under a temp dir, API keys.

``secured_app`` builds the app as ``eoport run api`` does (``create_app``) and makes
sure the security (:func:`eoport.api.auth.install_security`) and the CDSE router are
installed, whether or not ``create_app`` already does it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from eoport.api import ApiState, create_app
from eoport.config import ApiSettings
from streams.deliver.apikeys import create_api_key
from streams.deliver.subscriptions import SqliteSubscriptionStore


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def secured_app(settings: ApiSettings, state: ApiState) -> FastAPI:
    """The application as ``eoport run api`` builds it (security and the CDSE face
    included), on ``state``."""
    return create_app(settings, state=state)


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on a free loopback port; yield its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class Running:
    """A served API with three API-key users: alice, bob and an admin."""

    base_url: str
    state: ApiState
    keys: dict[str, str]
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def client(self, who: str | None) -> httpx.Client:
        """A client authenticated as ``who`` (``None``: anonymous)."""
        name = who or "anonymous"
        if name not in self.clients:
            headers = {} if who is None else {"Authorization": f"Bearer {self.keys[who]}"}
            self.clients[name] = httpx.Client(base_url=self.base_url, headers=headers, timeout=20)
        return self.clients[name]

    def close(self) -> None:
        for c in self.clients.values():
            c.close()


def api_keys_for(state: ApiState) -> dict[str, str]:
    """Keys of alice, bob (users) and root (admin) in the state's subscription store."""
    store = state.subscriptions
    assert isinstance(store, SqliteSubscriptionStore)
    return {
        "alice": create_api_key(store.path, "alice"),
        "bob": create_api_key(store.path, "bob"),
        "root": create_api_key(store.path, "root", roles=["admin"]),
    }


@contextmanager
def running_api(state: ApiState, tmp_path: Path, **settings: Any) -> Iterator[Running]:
    """The secured API on ``state`` with the settings given (state dir: ``tmp_path``)."""
    base: dict[str, Any] = {"state_dir": tmp_path, "index_products": False}
    s = ApiSettings(**(base | settings))
    keys = api_keys_for(state)
    with serve(secured_app(s, state)) as url:
        run = Running(url, state, keys)
        try:
            yield run
        finally:
            run.close()
