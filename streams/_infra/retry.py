"""The one retry policy of the streaming layer.

Every retry in eoport — a stage re-running a record after a transient failure, the
delivery stage scheduling another webhook attempt, a producer flush that did not get
every acknowledgement — draws its delay from :class:`RetryPolicy`. A transient failure
may carry its own delay: :class:`streams.errors.RetryableError` has ``retry_after_s``
(e.g. an HTTP ``Retry-After`` header, or a broker that said when to come back), which
wins over the policy's exponential schedule, as kopf's ``TemporaryError(delay=...)`` does.

Delays grow exponentially from ``base_delay_s`` and are capped at ``max_delay_s``; a
fraction ``jitter`` of each delay is drawn at random so that many clients retrying
against one recovering endpoint spread out ("full jitter" when ``jitter`` is 1; AWS
Architecture Blog, "Exponential Backoff And Jitter", 2015).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from streams._infra.errors import ConfigurationError, RetryableError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to retry a failed operation and when to give up.

    Parameters
    ----------
    max_attempts
        Attempts per retry budget, the first one included, before giving up; ``None``
        retries forever (a stage that must not skip its input, e.g. the assembler).
    base_delay_s
        Delay after the first failed attempt, s; doubles with every further attempt.
    max_delay_s
        Cap of the delay, s.
    max_age_s
        Give up once this many seconds passed since the budget began, s (``None``: no
        age limit).
    jitter
        Fraction of the delay drawn at random: the delay is ``d * (1 - jitter * u)`` with
        ``u`` uniform in [0, 1).
    """

    max_attempts: int | None = 8
    base_delay_s: float = 2.0
    max_delay_s: float = 600.0
    max_age_s: float | None = 24 * 3600.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ConfigurationError("retry policy: max_attempts must be at least 1")
        if self.base_delay_s < 0 or self.max_delay_s < self.base_delay_s:
            raise ConfigurationError("retry policy: need 0 <= base_delay_s <= max_delay_s")
        if not 0.0 <= self.jitter <= 1.0:
            raise ConfigurationError("retry policy: jitter must be within [0, 1]")
        if self.max_age_s is not None and self.max_age_s <= 0:
            raise ConfigurationError("retry policy: max_age_s must be positive")

    def delay_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """Delay after the ``attempt``-th failed attempt (1-based) of a budget, s."""
        nominal = min(self.max_delay_s, self.base_delay_s * 2.0 ** max(0, attempt - 1))
        u = (rng or _RNG).random()
        return nominal * (1.0 - self.jitter * u)

    def delay_for(
        self, error: BaseException, attempt: int, rng: random.Random | None = None
    ) -> float:
        """The delay before retrying after ``error``: the error's own ``retry_after_s``
        when it carries one, else :meth:`delay_s`."""
        own = getattr(error, "retry_after_s", None)
        if own is not None:
            return max(0.0, float(own))
        return self.delay_s(attempt, rng)

    def gives_up(self, attempt: int, age_s: float) -> bool:
        """Whether a budget with ``attempt`` failed attempts, begun ``age_s`` seconds ago,
        is spent."""
        if self.max_attempts is not None and attempt >= self.max_attempts:
            return True
        return self.max_age_s is not None and age_s >= self.max_age_s


_RNG = random.Random()

STAGE_RETRY = RetryPolicy(max_attempts=None, base_delay_s=0.2, max_delay_s=5.0, max_age_s=None)
"""Retry of infrastructure steps that must eventually succeed (object-store writes of
the assembler, producer flushes, commits): forever, 0.2 s growing to 5 s."""


class StopRequestedError(Exception):
    """The process was asked to stop while an operation was still being retried."""


def retry_until_done(
    operation: Callable[[], T],
    *,
    policy: RetryPolicy = STAGE_RETRY,
    stop: threading.Event | None = None,
    on_retry: Callable[[RetryableError, int, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``operation`` until it succeeds, retrying on :class:`RetryableError`.

    Parameters
    ----------
    operation
        Called with no argument; must be safe to repeat (every effect in eoport is keyed
        by a deterministic id).
    policy
        Delays and budget; when the budget is spent the last error is raised.
    stop
        When set while waiting, :class:`StopRequestedError` is raised (the caller must then
        not commit what the operation was for).
    on_retry
        Called with ``(error, attempt, delay_s)`` before each wait (logging, metrics).
    sleep
        Waits ``delay_s`` seconds (tests pass a fake).

    Raises
    ------
    RetryableError
        The last error, once the policy gives up.
    StopRequestedError
        If ``stop`` was set while retrying.
    """
    attempt = 0
    started = time.monotonic()
    while True:
        try:
            return operation()
        except RetryableError as exc:
            attempt += 1
            if policy.gives_up(attempt, time.monotonic() - started):
                raise
            delay = policy.delay_for(exc, attempt)
            if on_retry is not None:
                on_retry(exc, attempt, delay)
            if stop is not None:
                if stop.wait(delay):
                    raise StopRequestedError(str(exc)) from exc
            else:
                sleep(delay)
