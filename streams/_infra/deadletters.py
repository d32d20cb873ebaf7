"""What a consumer does with a record it cannot process: retry with backoff, or
dead-letter it.

- :class:`streams.errors.RetryableError`: wait :meth:`Backoff.delay_s` and try the same
  record again; its offset is not committed meanwhile.
- :class:`streams.errors.PermanentError`: publish :func:`dead_letter` of the record to
  ``dead-letters`` (original key and value, the reason in headers), flush, then commit
  the original offset and go on. An operator can inspect and re-inject it later.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from streams._infra.records import OutgoingRecord, Record
from streams._infra.topics import DEAD_LETTERS

HEADER_ERROR = "x-error"
HEADER_ERROR_CLASS = "x-error-class"
HEADER_STAGE = "x-stage"
HEADER_SOURCE = "x-source"


def dead_letter(
    record: Record, error: Exception, stage: str, topic: str = DEAD_LETTERS
) -> OutgoingRecord:
    """The ``dead-letters`` record for ``record`` that failed with ``error`` in ``stage``.

    Keeps the original key and value; headers carry the original headers plus
    ``x-error`` (message, <= 1000 bytes), ``x-error-class``, ``x-stage`` and
    ``x-source`` (``topic/partition/offset``) so the record can be found and re-injected.
    """
    headers = dict(record.headers)
    headers[HEADER_ERROR] = str(error).encode("utf-8")[:1000]
    headers[HEADER_ERROR_CLASS] = type(error).__name__.encode("ascii", errors="replace")
    headers[HEADER_STAGE] = stage.encode("utf-8")
    headers[HEADER_SOURCE] = f"{record.topic}/{record.partition}/{record.offset}".encode()
    return OutgoingRecord(topic, record.key or "", record.value, headers)


@dataclass(slots=True)
class Backoff:
    """Exponential backoff with full jitter for retrying one operation.

    Parameters
    ----------
    initial_s
        Upper bound of the first delay, seconds.
    max_s
        Largest delay, seconds.
    factor
        Growth of the bound per attempt.
    rng
        Random source (seed it for reproducible delays).
    """

    initial_s: float = 0.2
    max_s: float = 30.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def delay_s(self) -> float:
        """Delay before the next attempt, seconds; advances the attempt counter."""
        bound = min(self.max_s, self.initial_s * self.factor**self.attempt)
        self.attempt += 1
        return self.rng.uniform(bound / 2, bound)

    def reset(self) -> None:
        """Start over after a success."""
        self.attempt = 0
