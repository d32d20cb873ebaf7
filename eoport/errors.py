"""Errors of the eoport application layer and their command-line exit statuses.

The CLI maps every error to one line on stderr and an exit status; no traceback
reaches the user unless ``--debug`` is given.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Exit statuses of the ``eoport`` command."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    INPUT = 3
    INVALID = 4
    PROCESSING = 5
    NOT_IMPLEMENTED = 6
    UNAVAILABLE = 7
    INTERRUPTED = 130
    INTERNAL = 70


class EoportError(Exception):
    """Root of the application's errors."""

    exit_status: ExitStatus = ExitStatus.FAILURE


class InputFileError(EoportError):
    """An input file is missing, empty or unreadable."""

    exit_status = ExitStatus.INPUT


class InvalidArgumentError(EoportError):
    """A command-line argument or parameter file is invalid."""

    exit_status = ExitStatus.INVALID


class NotImplementedYetError(EoportError):
    """The requested stage does not exist yet."""

    exit_status = ExitStatus.NOT_IMPLEMENTED


class ServiceUnavailableError(EoportError):
    """A required service (broker, object store) cannot be reached."""

    exit_status = ExitStatus.UNAVAILABLE
