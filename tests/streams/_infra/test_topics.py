"""Topics created at a stage's start, also while the broker restarts."""

from __future__ import annotations

import pytest

from streams._infra.broker import LocalBroker
from streams._infra.errors import BrokerUnavailableError
from streams._infra.topics import TopicSpec, ensure_topics
from tests.conftest import make_test_bus


def test_topics_created_once_and_left_as_they_are(tansu_broker_fn: LocalBroker) -> None:
    bus = make_test_bus(tansu_broker_fn)
    assert ensure_topics(bus, [TopicSpec("a", 2), TopicSpec("b", 1)]) == {"a": 2, "b": 1}
    assert ensure_topics(bus, [TopicSpec("a", 5)]) == {"a": 2}  # an existing topic stays


def test_a_broker_gone_while_topics_are_made_is_unavailable_not_misconfigured(
    tansu_broker_fn: LocalBroker,
) -> None:
    # seen in the fault suite: a stage's start-up met the broker's SIGKILL; librdkafka's
    # _TRANSPORT is not flagged retriable, and was reported as a configuration error
    bus = make_test_bus(tansu_broker_fn)
    tansu_broker_fn.kill()
    with pytest.raises(BrokerUnavailableError):
        ensure_topics(bus, [TopicSpec("jobs", 3)], timeout_s=1.0)
    tansu_broker_fn.start()
    assert ensure_topics(bus, [TopicSpec("jobs", 3)], timeout_s=10.0) == {"jobs": 3}
