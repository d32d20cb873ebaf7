"""The scaling policy driving focus-worker *processes* on one machine (no Kubernetes).

:class:`LocalScaler` runs the same :class:`~operators.scaler.Autoscaler` as the operator:
every ``interval_s`` it measures the backlog (:func:`kafka_backlog`: the consumer group's
lag, exact on Tansu), reads the workers' focusing rate from their ``/metrics`` when they
serve one, evaluates the policy and starts or stops worker processes to match:

- a new worker is started with :data:`WorkerFactory` (e.g. :func:`command_worker`:
  ``eoport run focus``), given a name and, when asked, a free metrics port;
- a worker to remove gets SIGTERM (the newest first) and is left to finish its current
  job and leave the group; it is killed only after ``stop_timeout_s``. It no longer
  counts as running once signalled;
- a worker that exits on its own is reaped (and replaced by the next decision if the
  policy still wants it);
- broker unreachable: the pool is held, the decision says so, the loop goes on.

Every evaluation is recorded in :attr:`LocalScaler.timeline` (time, decided and running
workers, backlog, reason) so a demo can print the workers over time.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from operators.backlog import BacklogSample
from operators.errors import MetricsFormatError, WorkerStartError
from operators.measure import BrokerUnavailableError, measure_backlog
from operators.plan import AcquisitionPlan
from operators.policy import Decision
from operators.pool import PoolSpec
from operators.scaler import Autoscaler
from operators.throughput import FocusCounters, RateTracker, parse_focus_counters

log = logging.getLogger(__name__)

BacklogSource = Callable[[int], BacklogSample]
"""Measures the backlog; called with the number of running workers."""

WorkerFactory = Callable[[str, int | None], "subprocess.Popen[bytes]"]
"""Starts one worker process: ``(name, metrics_port_or_None) -> Popen``."""


def kafka_backlog(bus: Any, group: str, topic: str, timeout_s: float = 5.0) -> BacklogSource:
    """A :data:`BacklogSource` measuring ``group``'s lag on ``topic`` through ``bus``."""

    def measure(workers: int) -> BacklogSample:
        return measure_backlog(bus, group, topic, timeout_s=timeout_s, workers=workers)

    return measure


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def command_worker(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    log_dir: Path | None = None,
    name_env: str = "EOPORT_WORKER_NAME",
    metrics_port_env: str = "EOPORT_METRICS_PORT",
) -> WorkerFactory:
    """A :data:`WorkerFactory` running ``argv`` (e.g. ``["eoport", "run", "focus"]``).

    Parameters
    ----------
    argv
        Command line of one worker.
    env
        Extra environment (over this process's).
    cwd
        Working directory.
    log_dir
        If given, each worker's stdout and stderr go to ``{log_dir}/{name}.log``;
        otherwise they are discarded.
    name_env, metrics_port_env
        Variables giving the worker its name and its metrics port.
    """

    def start(name: str, metrics_port: int | None) -> subprocess.Popen[bytes]:
        environment = {**os.environ, **(env or {}), name_env: name}
        if metrics_port is not None:
            environment[metrics_port_env] = str(metrics_port)
        out: IO[bytes] | int = subprocess.DEVNULL
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            out = (log_dir / f"{name}.log").open("ab")
        try:
            return subprocess.Popen(
                list(argv), env=environment, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except OSError as exc:
            raise WorkerStartError(f"cannot start worker {name} ({argv[0]}): {exc}") from exc
        finally:
            if not isinstance(out, int):
                out.close()

    return start


def scrape_local(port: int, timeout_s: float = 0.5) -> FocusCounters | None:
    """Focus counters from ``http://127.0.0.1:{port}/metrics`` (``None`` if unavailable)."""
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/metrics", timeout=timeout_s
        ) as response:
            text = response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, TimeoutError):
        return None
    try:
        return parse_focus_counters(text)
    except MetricsFormatError:
        return None


@dataclass(slots=True)
class LocalWorker:
    """One worker process.

    Parameters
    ----------
    name
        ``worker-{n}``.
    process
        The process.
    metrics_port
        Its metrics port, or ``None``.
    started
        POSIX time it was started, s.
    stopping_since
        POSIX time SIGTERM was sent, or ``None`` while running.
    """

    name: str
    process: subprocess.Popen[bytes]
    metrics_port: int | None
    started: float
    stopping_since: float | None = None

    @property
    def alive(self) -> bool:
        """Whether the process has not exited."""
        return self.process.poll() is None


@dataclass(frozen=True, slots=True)
class ScalingRecord:
    """One evaluation of the local scaler (for "workers over time").

    Parameters
    ----------
    time
        POSIX s.
    replicas
        Workers decided.
    running
        Workers running after applying the decision (not counting stopping ones).
    stopping
        Workers signalled and not yet exited.
    backlog_bursts, backlog_s
        Backlog measured (jobs; seconds of sensing), ``-1``/``nan`` if unmeasured.
    action, reason
        The decision.
    """

    time: float
    replicas: int
    running: int
    stopping: int
    backlog_bursts: int
    backlog_s: float
    action: str
    reason: str


@dataclass(frozen=True, slots=True)
class WorkerExit:
    """How a worker ended: ``signalled`` (scaled down) or not (crashed/finished)."""

    name: str
    time: float
    returncode: int
    signalled: bool
    killed: bool


@dataclass(slots=True)
class LocalScaler:
    """Start and stop local worker processes following the scaling policy.

    Parameters
    ----------
    spec
        Pool parameters (``max_replicas`` bounds the processes; the partition count of
        the job topic too).
    backlog
        Backlog measurement (:func:`kafka_backlog`).
    start_worker
        Starts one worker (:func:`command_worker`).
    plan
        Acquisition plan for pre-scaling (optional).
    interval_s
        Evaluation period, s.
    stop_timeout_s
        Time a signalled worker gets to finish its job before SIGKILL, s.
    metrics
        Give each worker a free metrics port and read its focusing rate there.
    clock
        POSIX time source.
    """

    spec: PoolSpec
    backlog: BacklogSource
    start_worker: WorkerFactory
    plan: AcquisitionPlan | None = None
    interval_s: float = 1.0
    stop_timeout_s: float = 120.0
    metrics: bool = False
    clock: Callable[[], float] = time.time
    timeline: list[ScalingRecord] = field(default_factory=list)
    exits: list[WorkerExit] = field(default_factory=list)
    autoscaler: Autoscaler = field(init=False)
    _workers: list[LocalWorker] = field(default_factory=list)
    _tracker: RateTracker = field(default_factory=RateTracker)
    _counter: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.autoscaler = Autoscaler(self.spec)

    @property
    def running(self) -> list[LocalWorker]:
        """Workers alive and not signalled."""
        return [w for w in self._workers if w.stopping_since is None and w.alive]

    @property
    def stopping(self) -> list[LocalWorker]:
        """Workers signalled and not yet exited."""
        return [w for w in self._workers if w.stopping_since is not None and w.alive]

    def _reap(self, now: float) -> None:
        for w in list(self._workers):
            code = w.process.poll()
            if code is None:
                if w.stopping_since is not None and now - w.stopping_since > self.stop_timeout_s:
                    log.warning("worker %s did not stop in %.0f s: killing", w.name,
                                self.stop_timeout_s)  # fmt: skip
                    w.process.kill()
                    code = w.process.wait()
                    self._workers.remove(w)
                    self.exits.append(WorkerExit(w.name, now, code, True, True))
                continue
            self._workers.remove(w)
            signalled = w.stopping_since is not None
            if not signalled:
                log.warning("worker %s exited on its own (code %s)", w.name, code)
            self.exits.append(WorkerExit(w.name, now, code, signalled, False))

    def _start(self, now: float) -> None:
        self._counter += 1
        name = f"worker-{self._counter}"
        port = free_port() if self.metrics else None
        process = self.start_worker(name, port)
        self._workers.append(LocalWorker(name, process, port, now))
        log.info("started %s (pid %d)", name, process.pid)

    def _signal_stop(self, worker: LocalWorker, now: float) -> None:
        worker.stopping_since = now
        try:
            worker.process.send_signal(signal.SIGTERM)
        except ProcessLookupError:  # pragma: no cover - exited meanwhile
            pass
        log.info("stopping %s (SIGTERM)", worker.name)

    def _throughput(self) -> Any:
        running = self.running
        if self.metrics:
            for w in running:
                if w.metrics_port is not None:
                    self._tracker.update(w.name, scrape_local(w.metrics_port))
        names = [w.name for w in running]
        self._tracker.forget_except(names)
        return self._tracker.throughput(names)

    def step(self) -> Decision | None:
        """One evaluation: reap, measure, decide, start/stop workers, record.

        Returns
        -------
        Decision or None
            ``None`` when the broker could not be reached (the pool is held).
        """
        with self._lock:
            now = self.clock()
            self._reap(now)
            current = len(self.running)
            try:
                sample = self.backlog(current)
            except BrokerUnavailableError as exc:
                self.timeline.append(ScalingRecord(
                    now, current, current, len(self.stopping), -1, float("nan"), "hold",
                    f"hold {current}: broker unreachable ({exc})",
                ))  # fmt: skip
                return None
            self.autoscaler.observe(sample)
            decision = self.autoscaler.decide(now, current, self._throughput(), self.plan)
            for _ in range(decision.replicas - current):
                self._start(now)
            if decision.replicas < current:
                newest_first = sorted(self.running, key=lambda w: w.started, reverse=True)
                for w in newest_first[: current - decision.replicas]:
                    self._signal_stop(w, now)
            self.timeline.append(ScalingRecord(
                now, decision.replicas, len(self.running), len(self.stopping),
                decision.backlog_bursts, decision.backlog_s, decision.action, decision.reason,
            ))  # fmt: skip
            return decision

    def ready(self, timeout_s: float = 0.5) -> list[LocalWorker]:
        """Running workers whose ``/readyz`` answers 200 (warmed up, consuming); workers
        without a metrics port count as ready once started."""
        out = []
        for w in self.running:
            if w.metrics_port is None:
                out.append(w)
                continue
            try:
                with urllib.request.urlopen(  # noqa: S310 - a local port we started
                    f"http://127.0.0.1:{w.metrics_port}/readyz", timeout=timeout_s
                ) as response:
                    if response.status == 200:
                        out.append(w)
            except OSError:  # not listening yet, or 503 (HTTPError is an OSError)
                continue
        return out

    def run(self, stop: threading.Event) -> None:
        """Evaluate every ``interval_s`` until ``stop`` is set, then stop every worker."""
        try:
            while not stop.is_set():
                started = time.monotonic()
                self.step()
                stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))
        finally:
            self.close()

    def close(self) -> None:
        """SIGTERM every worker, wait up to ``stop_timeout_s``, SIGKILL the rest."""
        with self._lock:
            now = self.clock()
            for w in self.running:
                self._signal_stop(w, now)
            deadline = time.monotonic() + self.stop_timeout_s
            for w in list(self._workers):
                try:
                    w.process.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    w.process.kill()
                    w.process.wait()
                    self.exits.append(WorkerExit(w.name, self.clock(), w.process.returncode,
                                                 True, True))  # fmt: skip
                    self._workers.remove(w)
            self._reap(self.clock())

    def workers_over_time(self) -> list[tuple[float, int]]:
        """``(time, running workers)`` after each evaluation (for plots and JSON)."""
        return [(r.time, r.running) for r in self.timeline]
