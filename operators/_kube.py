"""A minimal asynchronous Kubernetes API client (private): the few calls the operator
makes besides what kopf does itself (Deployments, Pods, ConfigMaps).

Kept small on purpose (aiohttp, which kopf already brings): no generated client, JSON in
and out, merge-patches only. The same :class:`KubeConnection` logs kopf in, so the
operator talks to one API server with one identity.

Every call the handlers make goes through :meth:`KubeClient.request`, which records
``(verb, resource)`` pairs in :attr:`KubeClient.calls`: the RBAC test compares them with
the Role in ``operators/manifests``.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from operators.errors import KubernetesApiError

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
USER_AGENT = "eoport-operator"


@dataclass(frozen=True, slots=True)
class KubeConnection:
    """Where the API server is and how to authenticate.

    Parameters
    ----------
    server
        Base URL, e.g. ``https://10.0.0.1:443``.
    token_path
        File holding a bearer token (re-read on each request: projected service-account
        tokens rotate), or ``None``.
    ca_path
        CA bundle of the server, or ``None`` for the system store.
    insecure
        Skip TLS verification (tests, emulators).
    namespace
        Default namespace (the operator's own).
    """

    server: str
    token_path: str | None = None
    ca_path: str | None = None
    insecure: bool = False
    namespace: str | None = None

    @classmethod
    def in_cluster(cls, sa_dir: Path = SERVICE_ACCOUNT_DIR) -> KubeConnection:
        """The pod's service account (``KUBERNETES_SERVICE_HOST``/``_PORT``).

        Raises
        ------
        KubernetesApiError
            If not running in a pod.
        """
        host = os.environ.get("KUBERNETES_SERVICE_HOST")
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host or not (sa_dir / "token").exists():
            raise KubernetesApiError(0, "not in a cluster: no KUBERNETES_SERVICE_HOST or token")
        namespace_file = sa_dir / "namespace"
        namespace = namespace_file.read_text().strip() if namespace_file.exists() else None
        host = f"[{host}]" if ":" in host else host
        return cls(
            server=f"https://{host}:{port}",
            token_path=str(sa_dir / "token"),
            ca_path=str(sa_dir / "ca.crt") if (sa_dir / "ca.crt").exists() else None,
            namespace=namespace,
        )

    def token(self) -> str | None:
        """The current bearer token, or ``None``."""
        if self.token_path is None:
            return None
        return Path(self.token_path).read_text().strip()


@dataclass(slots=True)
class KubeClient:
    """JSON calls against one API server (use as ``async with``).

    Parameters
    ----------
    connection
        Server and credentials.
    timeout_s
        Total time allowed per request, s.
    """

    connection: KubeConnection
    timeout_s: float = 10.0
    calls: set[tuple[str, str]] = field(default_factory=set)
    _session: aiohttp.ClientSession | None = None
    _closed: bool = False

    async def __aenter__(self) -> KubeClient:
        self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def open(self) -> None:
        """Create the HTTP session (idempotent).

        Raises
        ------
        KubernetesApiError
            After :meth:`close` (a handler still running during shutdown).
        """
        if self._closed:
            raise KubernetesApiError(0, "Kubernetes client closed (operator stopping)")
        if self._session is not None and not self._session.closed:
            return
        ssl_context: ssl.SSLContext | bool
        if self.connection.insecure:
            ssl_context = False
        else:
            ssl_context = ssl.create_default_context(cafile=self.connection.ca_path)
        self._session = aiohttp.ClientSession(
            base_url=self.connection.server,
            connector=aiohttp.TCPConnector(ssl=ssl_context),
            timeout=aiohttp.ClientTimeout(total=self.timeout_s),
        )

    async def close(self) -> None:
        """Close the HTTP session (for good: later requests fail)."""
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        verb: str,
        resource: str,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any] | None:
        """One API call.

        Parameters
        ----------
        method, path
            HTTP method and path (``/apis/apps/v1/namespaces/ns/deployments``).
        verb, resource
            RBAC verb and ``group/resource`` the call needs (recorded in :attr:`calls`).
        body, params, content_type
            JSON body, query parameters, body content type.

        Returns
        -------
        dict or None
            The JSON answer; ``None`` for 404 on a read.

        Raises
        ------
        KubernetesApiError
            For any other HTTP error, or when the server cannot be reached (status 0).
        """
        self.open()
        assert self._session is not None
        self.calls.add((verb, resource))
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        token = self.connection.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            headers["Content-Type"] = content_type
        try:
            async with self._session.request(
                method, path, json=body, params=params, headers=headers
            ) as response:
                if response.status == 404 and method == "GET":
                    return None
                if response.status >= 400:
                    text = (await response.text())[:300].replace("\n", " ")
                    raise KubernetesApiError(response.status, f"{method} {path}: {text}")
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KubernetesApiError(0, f"{method} {path}: {exc!r}") from exc
        return data if isinstance(data, dict) else None

    async def get(self, path: str, *, resource: str) -> dict[str, Any] | None:
        """GET one object (``None`` if absent)."""
        return await self.request("GET", path, verb="get", resource=resource)

    async def list(
        self, path: str, *, resource: str, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """GET a collection (items), optionally filtered by a label selector."""
        params = {"labelSelector": label_selector} if label_selector else None
        data = await self.request("GET", path, verb="list", resource=resource, params=params)
        items = (data or {}).get("items") or []
        return [i for i in items if isinstance(i, dict)]

    async def create(
        self, path: str, body: Mapping[str, Any], *, resource: str
    ) -> dict[str, Any] | None:
        """POST a new object to a collection path."""
        return await self.request("POST", path, verb="create", resource=resource, body=body)

    async def patch(
        self, path: str, body: Mapping[str, Any], *, resource: str
    ) -> dict[str, Any] | None:
        """Merge-patch one object (RFC 7386: ``None`` values delete keys)."""
        return await self.request(
            "PATCH", path, verb="patch", resource=resource, body=body,
            content_type="application/merge-patch+json",
        )  # fmt: skip
