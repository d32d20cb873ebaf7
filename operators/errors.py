"""Errors of the scaling operator and the local scaler.

Bad input (a pool spec or acquisition plan that cannot be used) raises a specific
subclass with a one-line message; the kopf handlers turn them into
:class:`kopf.PermanentError` (no retry until the object changes).
"""

from __future__ import annotations


class OperatorError(Exception):
    """Base class of every error raised by :mod:`operators`."""


class InvalidPoolSpecError(OperatorError, ValueError):
    """A ``FocusingPool`` spec (or a :class:`operators.pool.PoolSpec`) is inconsistent."""


class InvalidPlanError(OperatorError, ValueError):
    """An acquisition plan entry is malformed (times, replicas, station)."""


class MetricsFormatError(OperatorError, ValueError):
    """A worker's ``/metrics`` page cannot be parsed."""


class KubernetesApiError(OperatorError):
    """A Kubernetes API call failed.

    Parameters
    ----------
    status
        HTTP status code (0 when the server could not be reached).
    message
        One-line description (method, path, server message).
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


class WorkerStartError(OperatorError):
    """A local worker process could not be started."""
