"""The one retry policy: delays, budgets, delays carried by errors, retry loops."""

from __future__ import annotations

import random
import threading

import pytest

from streams._infra.errors import ConfigurationError, RetryableError
from streams._infra.retry import RetryPolicy, StopRequestedError, retry_until_done


def test_delays_grow_to_the_cap_with_jitter() -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=4.0, jitter=0.5)
    rng = random.Random(0)
    bounds = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    delays = [policy.delay_s(n, rng) for n in range(1, 7)]
    assert all(b / 2 <= d <= b for d, b in zip(delays, bounds, strict=True))


def test_delay_carried_by_the_error_wins() -> None:
    policy = RetryPolicy(base_delay_s=2.0, max_delay_s=30.0, jitter=0.0)
    assert policy.delay_for(RetryableError("busy", retry_after_s=7.5), 1) == 7.5
    assert policy.delay_for(RetryableError("busy"), 3) == 8.0
    assert policy.delay_for(RetryableError("clock skew", retry_after_s=-3.0), 1) == 0.0


def test_budget_by_attempts_and_age() -> None:
    policy = RetryPolicy(max_attempts=3, max_age_s=60.0)
    assert not policy.gives_up(2, 10.0)
    assert policy.gives_up(3, 10.0)
    assert policy.gives_up(1, 60.0)
    forever = RetryPolicy(max_attempts=None, max_age_s=None)
    assert not forever.gives_up(10**6, 1e9)
    with pytest.raises(ConfigurationError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_retry_until_done_repeats_then_succeeds_and_waits_as_told() -> None:
    waits: list[float] = []
    calls = iter([RetryableError("a"), RetryableError("b", retry_after_s=3.0), "ok"])

    def op() -> str:
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    policy = RetryPolicy(max_attempts=None, base_delay_s=0.25, max_delay_s=1.0, jitter=0.0)
    assert retry_until_done(op, policy=policy, sleep=waits.append) == "ok"
    assert waits == [0.25, 3.0]


def test_retry_until_done_gives_up_with_the_last_error() -> None:
    policy = RetryPolicy(max_attempts=2, base_delay_s=0.0, max_delay_s=0.0)

    def op() -> None:
        raise RetryableError("down")

    with pytest.raises(RetryableError, match="down"):
        retry_until_done(op, policy=policy, sleep=lambda _s: None)


def test_stop_interrupts_a_retry_wait() -> None:
    stop = threading.Event()
    stop.set()

    def op() -> None:
        raise RetryableError("down")

    with pytest.raises(StopRequestedError):
        retry_until_done(op, stop=stop)
