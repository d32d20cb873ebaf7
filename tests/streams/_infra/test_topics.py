"""Topics created at a stage's start, also while the broker restarts."""

from __future__ import annotations

import threading
import time

import pytest

from streams._infra.broker import LocalBroker
from streams._infra.errors import BrokerUnavailableError
from streams._infra.retry import STARTUP_RETRY
from streams._infra.topics import TopicSpec, ensure_topics
from tests.conftest import make_test_bus


def test_topics_created_once_and_left_as_they_are(tansu_broker_fn: LocalBroker) -> None:
    bus = make_test_bus(tansu_broker_fn)
    assert ensure_topics(bus, [TopicSpec("a", 2), TopicSpec("b", 1)]) == {"a": 2, "b": 1}
    assert ensure_topics(bus, [TopicSpec("a", 5)]) == {"a": 2}  # an existing topic stays


def test_a_stage_starting_while_the_broker_restarts_waits_for_it(
    tansu_broker_fn: LocalBroker,
) -> None:
    # seen in the fault suite: the assembler's start-up met the broker's SIGKILL and exited
    bus = make_test_bus(tansu_broker_fn)
    tansu_broker_fn.kill()
    with pytest.raises(BrokerUnavailableError):
        ensure_topics(bus, [TopicSpec("jobs", 3)], timeout_s=1.0)  # no retry: at once
    restart = threading.Timer(2.0, tansu_broker_fn.start)
    restart.start()
    t0 = time.monotonic()
    try:
        created = ensure_topics(bus, [TopicSpec("jobs", 3)], timeout_s=1.0, retry=STARTUP_RETRY)
    finally:
        restart.join()
    assert created == {"jobs": 3}
    assert time.monotonic() - t0 >= 2.0
