"""Errors raised by the streaming layer.

Every stage decides what to do with a failed record from the class of its error:

- :class:`RetryableError`: the world is temporarily broken (broker down, request timed
  out, object store answered 5xx). Retry the same record after a delay (the error's own
  ``retry_after_s`` when it knows one, else :class:`streams._infra.retry.RetryPolicy`'s);
  do not commit its offset.
- :class:`PermanentError`: the record itself is bad (corrupt chunk, schema violation).
  Retrying cannot help: publish it to ``dead-letters`` with the reason, commit, go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streams._infra.records import OutgoingRecord


class StreamError(Exception):
    """Root of every error raised by :mod:`streams`."""


class RetryableError(StreamError):
    """A transient failure: the same operation may succeed later.

    Parameters
    ----------
    message
        What failed, in one line.
    retry_after_s
        When the failing side said how long to wait (e.g. HTTP ``Retry-After``), s;
        ``None`` lets the retry policy choose.
    """

    def __init__(self, message: str = "", *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PermanentError(StreamError):
    """A failure caused by the input itself: retrying the same input fails again."""


class BrokerUnavailableError(RetryableError):
    """The Kafka-protocol broker cannot be reached or did not acknowledge in time."""


class DeliveryError(RetryableError):
    """Records were not acknowledged by the broker.

    Parameters
    ----------
    message
        What failed, in one line.
    undelivered
        The records that were not acknowledged, in send order, so the caller can send
        them again (sending twice is safe: every effect is keyed by a deterministic id).
    """

    def __init__(self, message: str, undelivered: Sequence[OutgoingRecord] = ()) -> None:
        self.undelivered: list[OutgoingRecord] = list(undelivered)
        super().__init__(message)


class ObjectStoreError(RetryableError):
    """The object store failed transiently (5xx, connection reset, timeout)."""


class ObjectNotFoundError(PermanentError):
    """An object-store key that was expected to exist does not."""


class ChunkError(PermanentError):
    """A raw-chunks record that is corrupt or inconsistent (checksum, header, offset)."""


class SchemaError(PermanentError):
    """A record whose value does not follow the topic's schema."""


class GapError(PermanentError):
    """Part of a channel's byte stream is missing and will not arrive any more."""


class ConfigurationError(PermanentError):
    """A component was started with settings it cannot work with."""


class BrokerBinaryNotFoundError(ConfigurationError):
    """The Tansu broker binary is not installed where it is looked for."""
