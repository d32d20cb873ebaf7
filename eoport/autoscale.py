"""Focusing workers scaled on one machine by the operator's policy.

``eoport run focus --autoscale MIN..MAX`` and the demo start focusing workers as processes
(``eoport run focus``) and let :class:`operators.local.LocalScaler` — the same policy the
Kubernetes operator runs (:mod:`operators.policy`) — start and stop them with the
``focus-jobs`` backlog of the focus group, counted in bursts and seconds of sensing.
Each worker serves its probes and metrics on its own port, from which the scaler reads
its focusing rate.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from eoport.errors import InvalidArgumentError
from operators.local import LocalScaler, command_worker, kafka_backlog
from operators.plan import AcquisitionPlan
from operators.pool import PoolSpec
from streams.focus import FocusWorkerSettings

DEMO_TARGET_BACKLOG_S = 2 * 2.758273
"""Target backlog per worker of the embedded default: two IW burst cycles of sensing (a
worker focuses a burst in about a second; more backlog means latency)."""


def parse_range(text: str) -> tuple[int, int]:
    """``MIN..MAX`` (or ``N``) -> ``(min, max)`` workers.

    Raises
    ------
    InvalidArgumentError
        Not a range of counts with ``0 <= min <= max``, ``max >= 1``.
    """
    m = re.fullmatch(r"\s*(\d+)\s*(?:\.\.\s*(\d+))?\s*", text)
    if m is None:
        raise InvalidArgumentError(f"--autoscale {text!r}: give MIN..MAX workers, e.g. 1..4")
    low = int(m.group(1))
    high = int(m.group(2)) if m.group(2) is not None else low
    if high < max(1, low):
        raise InvalidArgumentError(f"--autoscale {text!r}: need 0 <= MIN <= MAX and MAX >= 1")
    return low, high


def focus_pool(
    settings: FocusWorkerSettings,
    workers: tuple[int, int],
    *,
    log_dir: Path | None = None,
    plan: AcquisitionPlan | None = None,
    target_backlog_s: float = DEMO_TARGET_BACKLOG_S,
    scale_down_window_s: float = 10.0,
    interval_s: float = 1.0,
) -> LocalScaler:
    """A :class:`~operators.local.LocalScaler` of ``eoport run focus`` processes with
    ``settings`` (passed on as ``EOPORT_*`` variables); call ``run(stop)`` in a thread.

    Parameters
    ----------
    settings
        The workers' settings (broker, object store, group, FFT settings).
    workers
        ``(min, max)`` processes; ``max`` is also capped by the job topic's partitions.
    log_dir
        Where each worker's output goes (``None``: discarded).
    plan
        Expected passes, to start workers before the first burst arrives.
    target_backlog_s
        Seconds of sensing waiting per worker that call for another one, s.
    scale_down_window_s
        How long the lower recommendation must hold before workers are stopped, s.
    interval_s
        Evaluation period, s.
    """
    env = settings.to_env()
    env.pop("EOPORT_METRICS_PORT", None)  # one port per worker, given by the scaler
    spec = PoolSpec(
        min_replicas=workers[0],
        max_replicas=workers[1],
        target_backlog_s=target_backlog_s,
        scale_down_window_s=scale_down_window_s,
        rate_window_s=10.0,
    )
    return LocalScaler(
        spec,
        kafka_backlog(settings.make_bus(), settings.group_id, settings.topics.focus_jobs),
        command_worker(
            [sys.executable, "-m", "eoport", "run", "focus"], env=env, log_dir=log_dir
        ),
        plan=plan,
        interval_s=interval_s,
        metrics=True,
    )
