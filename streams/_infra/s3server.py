"""A local S3-compatible server for the demo and the tests (moto, in memory).

The broker's durable storage (Tansu ``s3://`` engine) and the object store
(:mod:`streams.objectstore` with ``s3://`` URLs) both talk to it. Everything it holds is
lost when the server stops; it survives broker and stage restarts, which is what the
restart tests and the demo need.
"""

from __future__ import annotations

import logging
import socket
import subprocess as _subprocess
import sys
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from streams._infra.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class S3Endpoint:
    """Where an S3-compatible service is and how to sign requests to it.

    Parameters
    ----------
    endpoint_url
        ``http://host:port`` of the service.
    access_key, secret_key
        Credentials (any non-empty strings for moto).
    region
        Region name. Not ``us-east-1``: s3fs creates buckets with a location constraint.
    """

    endpoint_url: str
    access_key: str = "eoport"
    secret_key: str = "eoport-secret"  # noqa: S105 - local test server credentials
    region: str = "eu-central-1"

    def storage_options(self) -> dict[str, Any]:
        """fsspec/s3fs ``storage_options`` for this endpoint."""
        return {
            "key": self.access_key,
            "secret": self.secret_key,
            "client_kwargs": {"endpoint_url": self.endpoint_url, "region_name": self.region},
        }


def create_bucket(endpoint: S3Endpoint, bucket: str) -> None:
    """Create ``bucket`` on ``endpoint`` if it does not exist yet."""
    import s3fs

    fs = s3fs.S3FileSystem(**endpoint.storage_options(), skip_instance_cache=True)
    if not fs.exists(bucket):
        fs.mkdir(bucket, region_name=endpoint.region)


class LocalS3Server:
    """A moto S3 server, in a thread of this process or in a subprocess.

    Parameters
    ----------
    port
        TCP port; a free one if ``None``.
    host
        Interface to bind.
    region
        Region used for buckets created through :meth:`create_bucket`.
    subprocess
        Run moto in its own Python process (isolated from the caller's GIL, survives
        the caller's crashes: the demo's choice); a thread of this process otherwise.
    """

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        region: str = "eu-central-1",
        *,
        subprocess: bool = False,
    ) -> None:
        from streams._infra.ports import find_free_port

        self.host = host
        self.port = port if port is not None else find_free_port(host)
        self.endpoint = S3Endpoint(endpoint_url=f"http://{host}:{self.port}", region=region)
        self.subprocess = subprocess
        self._server: Any = None

    def start(self, timeout_s: float = 20.0) -> None:
        """Start serving (returns once the port accepts connections)."""
        if self._server is not None:
            return
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigurationError("moto[server] is not installed") from exc
        if self.subprocess:
            self._server = _subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)],
                stdout=_subprocess.DEVNULL,
                stderr=_subprocess.DEVNULL,
                stdin=_subprocess.DEVNULL,
            )
        else:
            logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request
            self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
            self._server.start()
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise ConfigurationError(
                        f"moto S3 server on port {self.port} did not start in {timeout_s} s"
                    ) from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop serving; every bucket and object is lost."""
        if self._server is None:
            return
        if isinstance(self._server, _subprocess.Popen):
            self._server.terminate()
            try:
                self._server.wait(timeout=5)
            except _subprocess.TimeoutExpired:
                self._server.kill()
                self._server.wait(timeout=5)
        else:
            self._server.stop()
        self._server = None

    def create_bucket(self, bucket: str) -> str:
        """Create ``bucket`` and return its ``s3://bucket/`` URL."""
        create_bucket(self.endpoint, bucket)
        return f"s3://{bucket}/"

    def __enter__(self) -> LocalS3Server:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
