"""Delivery: real webhook receiver, local and S3 object stores, pull queue, ledger."""

from __future__ import annotations

import base64
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from streams._infra.bus import KafkaBus
from streams._infra.errors import ConfigurationError
from streams._infra.lag import group_lag
from streams._infra.objectstore import ObjectStore
from streams._infra.retry import RetryPolicy
from streams._infra.runtime import RuntimeConfig, StageRuntime
from streams._infra.s3server import LocalS3Server
from streams.deliver.ledger import DeliveryLedger, DeliveryStatus, InvalidAckIdError
from streams.deliver.netguard import NetworkPolicy, parse_networks
from streams.deliver.policy import TargetPolicy
from streams.deliver.service import DeliveryService
from streams.deliver.stage import Deliverer
from streams.deliver.subscriptions import SqliteSubscriptionStore, Subscription, SubscriptionSpec
from streams.deliver.subscriptions import new_subscription as _new_subscription
from streams.messages.products import ProductRecord

T0 = datetime(2026, 11, 25, 6, 0, 0, tzinfo=UTC)
AOI = {"type": "Polygon", "coordinates": [[[10, 45], [11, 45], [11, 46], [10, 46], [10, 45]]]}


# ---------------------------------------------------------------- helpers


class FakeClock:
    """Injectable clock: time moves only when the test says so."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def item(self) -> dict[str, Any]:
        """The notification: the product's STAC Item."""
        item: dict[str, Any] = json.loads(self.body)
        return item

    @property
    def burst_id(self) -> int:
        return int(self.item["properties"]["eoport:burst_key"].rsplit("/", 1)[1])


@dataclass
class WebhookReceiver:
    """A real HTTP server in a thread: records POSTs, can fail N times or be down."""

    port: int = 0
    fail_next: int = 0
    fail_status: int = 503
    credentials: tuple[str, str] | None = None
    requests: list[Received] = field(default_factory=list)
    refused: int = 0
    delay_s: float = 0.0
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if receiver.delay_s > 0:
                    time.sleep(receiver.delay_s)
                if receiver.credentials is not None:
                    user, pw = receiver.credentials
                    token = base64.b64encode(f"{user}:{pw}".encode()).decode()
                    if self.headers.get("Authorization") != f"Basic {token}":
                        receiver.refused += 1
                        self.send_response(401)
                        self.end_headers()
                        return
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    receiver.refused += 1
                    self.send_response(receiver.fail_status)
                    self.end_headers()
                    return
                receiver.requests.append(Received(self.path, dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    r.start()
    yield r
    r.stop()


def make_product(burst_id: int = 249435, **over: Any) -> ProductRecord:
    data: dict[str, Any] = {
        "burst_key": f"123456/IW2/VV/{burst_id}",
        "processing_version": "0.1.0",
        "mode": "IW",
        "swath": "IW2",
        "polarisation": "VV",
        "burst_id": burst_id,
        "data_take_id": 123456,
        "footprint": {
            "type": "Polygon",
            "coordinates": [[[10.2, 45.2], [10.6, 45.2], [10.6, 45.4], [10.2, 45.4], [10.2, 45.2]]],
        },
        "sensing_start": T0 - timedelta(seconds=3.19),
        "sensing_stop": T0,
        "url": "file:///nonexistent/p.h5",
        "size_bytes": 10,
    }
    data.update(over)
    return ProductRecord.model_validate(data)


@dataclass
class Env:
    store: SqliteSubscriptionStore
    ledger: DeliveryLedger
    clock: FakeClock
    service: DeliveryService
    tmp: Path

    def subscribe(self, target: dict[str, Any], **over: Any) -> Subscription:
        spec = SubscriptionSpec.model_validate({"aoi": AOI, "target": target, **over})
        sub = _new_subscription(spec, clock=self.clock)
        self.store.add(sub)
        return sub

    def restart(self, policy: RetryPolicy | None = None) -> None:
        """A new service on the same files (as after a process restart)."""
        self.service.close()
        self.store = SqliteSubscriptionStore(self.tmp / "subs.sqlite")
        self.ledger = DeliveryLedger(self.tmp / "ledger.sqlite")
        self.service = new_service(self, policy or self.service.policy)


POLICY = RetryPolicy(max_attempts=4, base_delay_s=10.0, max_delay_s=100.0, jitter=0.5)


def local_policy(tmp: Path) -> TargetPolicy:
    """Test targets: the loopback receivers and prefixes under the test directory."""
    return TargetPolicy(
        NetworkPolicy(parse_networks(["127.0.0.1/32"])),
        (f"file://{tmp}/", "s3://eoport-deliveries/"),
    )


def new_service(env: Env, policy: RetryPolicy, s3: Any = None) -> DeliveryService:
    return DeliveryService(
        env.store, env.ledger, policy=policy, clock=env.clock, rng=random.Random(7), s3=s3,
        target_policy=local_policy(env.tmp),
    )  # fmt: skip


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    store = SqliteSubscriptionStore(tmp_path / "subs.sqlite")
    ledger = DeliveryLedger(tmp_path / "ledger.sqlite")
    clock = FakeClock(T0 + timedelta(seconds=5))
    e = Env(store, ledger, clock, None, tmp_path)  # type: ignore[arg-type]
    e.service = new_service(e, POLICY)
    yield e
    e.service.close()


# ---------------------------------------------------------------- webhook


def test_webhook_delivery_with_basic_auth(env: Env, receiver: WebhookReceiver) -> None:
    receiver.credentials = ("alice", "s3cret")
    sub = env.subscribe(
        {"kind": "webhook", "url": receiver.url, "username": "alice", "password": "s3cret"}
    )
    product = make_product()
    attempts = env.service.handle(product)
    assert [a.status for a in attempts] == [DeliveryStatus.DELIVERED]
    assert len(receiver.requests) == 1
    req = receiver.requests[0]
    assert req.path == "/hook"
    assert req.headers["Idempotency-Key"] == f"{sub.id}:{product.product_id}"
    item = req.item
    assert item["id"] == product.product_id and item["type"] == "Feature"
    assert item["properties"]["eoport:timeline"]["delivered"] == "2026-11-25T06:00:05Z"
    row = env.ledger.get(sub.id, product.product_id)
    assert row is not None and row.status is DeliveryStatus.DELIVERED
    assert row.attempt == 1 and row.delivered_at == env.clock.now
    assert row.latency_s == pytest.approx(5.0, abs=1e-9)  # sensing stop T0, delivered T0+5 s


def test_replayed_product_is_not_pushed_twice(env: Env, receiver: WebhookReceiver) -> None:
    env.subscribe({"kind": "webhook", "url": receiver.url})
    product = make_product()
    assert len(env.service.handle(product)) == 1
    assert env.service.handle(product) == []
    assert env.service.handle(ProductRecord.from_bytes(product.to_bytes())) == []
    assert len(receiver.requests) == 1
    env.service.handle(make_product(burst_id=249436))
    assert len(receiver.requests) == 2


def test_non_matching_products_are_not_delivered(env: Env, receiver: WebhookReceiver) -> None:
    env.subscribe({"kind": "webhook", "url": receiver.url}, filters={"polarisations": ["VH"]})
    env.subscribe({"kind": "webhook", "url": receiver.url, "timeout_s": 5})
    far = make_product(
        footprint={
            "type": "Polygon",
            "coordinates": [[[20, 45], [21, 45], [21, 46], [20, 46], [20, 45]]],
        }
    )
    assert env.service.handle(far) == []
    assert len(env.service.handle(make_product())) == 1  # only the unfiltered one
    assert len(receiver.requests) == 1


def test_retries_with_backoff_until_delivered(env: Env, receiver: WebhookReceiver) -> None:
    receiver.fail_next = 2
    sub = env.subscribe({"kind": "webhook", "url": receiver.url})
    product = make_product()
    (first,) = env.service.handle(product)
    assert first.status is DeliveryStatus.PENDING and first.attempt == 1
    assert "HTTP 503" in (first.error or "")
    assert first.next_retry is not None
    d1 = (first.next_retry - env.clock.now).total_seconds()
    assert 5.0 <= d1 <= 10.0  # base 10 s, jitter 50 %
    assert env.service.retry_due() == []  # not yet due
    assert env.service.handle(product) == []  # a replay does not bypass the schedule
    env.clock.advance(d1)
    (second,) = env.service.retry_due()
    assert second.status is DeliveryStatus.PENDING and second.attempt == 2
    assert second.next_retry is not None
    d2 = (second.next_retry - env.clock.now).total_seconds()
    assert 10.0 <= d2 <= 20.0  # doubled
    env.clock.advance(d2)
    (third,) = env.service.retry_due()
    assert third.status is DeliveryStatus.DELIVERED and third.attempt == 3
    assert third.first_attempt == first.first_attempt
    assert len(receiver.requests) == 1 and receiver.refused == 2
    row = env.ledger.get(sub.id, product.product_id)
    assert row is not None and row.status is DeliveryStatus.DELIVERED
    assert env.service.next_retry() is None


def test_endpoint_down_fails_after_budget_kept_and_retryable(
    env: Env, receiver: WebhookReceiver
) -> None:
    port = receiver.port
    receiver.stop()  # connection refused from now on
    sub = env.subscribe({"kind": "webhook", "url": f"http://127.0.0.1:{port}/hook"})
    product = make_product()
    (a,) = env.service.handle(product)
    assert POLICY.max_attempts is not None
    for _ in range(POLICY.max_attempts - 1):
        assert a.status is DeliveryStatus.PENDING and a.next_retry is not None
        env.clock.now = a.next_retry
        (a,) = env.service.retry_due()
    assert a.status is DeliveryStatus.FAILED and a.attempt == POLICY.max_attempts
    assert "unreachable" in (a.error or "") and "gave up after 4 attempts" in (a.error or "")
    failed = env.ledger.entries(sub.id, DeliveryStatus.FAILED)
    assert [f.product_id for f in failed] == [product.product_id]
    env.clock.advance(10_000)
    assert env.service.retry_due() == []  # failed stays failed until asked
    # the endpoint comes back on the same port; an operator asks for a retry
    receiver.port = port
    receiver.start()
    retry = env.service.request_retry(sub.id, product.product_id)
    assert retry.status is DeliveryStatus.PENDING
    (b,) = env.service.retry_due()
    assert b.status is DeliveryStatus.DELIVERED and b.attempt == POLICY.max_attempts + 1
    assert len(receiver.requests) == 1


def test_max_age_gives_up(env: Env, receiver: WebhookReceiver) -> None:
    receiver.fail_next = 100
    env.service.policy = RetryPolicy(max_attempts=100, base_delay_s=60, max_age_s=100, jitter=0)
    env.subscribe({"kind": "webhook", "url": receiver.url})
    (a,) = env.service.handle(make_product())
    assert a.status is DeliveryStatus.PENDING
    env.clock.advance(60)
    (b,) = env.service.retry_due()
    assert b.status is DeliveryStatus.PENDING
    env.clock.advance(120)
    (c,) = env.service.retry_due()
    assert c.status is DeliveryStatus.FAILED and "180 s since the first attempt" in (c.error or "")


def test_rejected_credentials_fail_at_once(env: Env, receiver: WebhookReceiver) -> None:
    receiver.credentials = ("alice", "s3cret")
    env.subscribe(
        {"kind": "webhook", "url": receiver.url, "username": "alice", "password": "wrong"}
    )
    (a,) = env.service.handle(make_product())
    assert a.status is DeliveryStatus.FAILED and a.attempt == 1
    assert "HTTP 401" in (a.error or "")
    assert receiver.requests == [] and receiver.refused == 1


def test_slow_endpoint_times_out_and_is_retried(env: Env, receiver: WebhookReceiver) -> None:
    receiver.delay_s = 1.0
    env.subscribe({"kind": "webhook", "url": receiver.url, "timeout_s": 0.2})
    fast = WebhookReceiver()
    fast.start()
    try:
        env.subscribe({"kind": "webhook", "url": fast.url})
        attempts = env.service.handle(make_product())
        assert sorted(a.status.value for a in attempts) == ["delivered", "pending"]
        (slow,) = [a for a in attempts if a.status is DeliveryStatus.PENDING]
        assert "timed out" in (slow.error or "")
        assert len(fast.requests) == 1
        receiver.delay_s = 0.0
        assert slow.next_retry is not None
        env.clock.now = slow.next_retry
        (again,) = env.service.retry_due()
        assert again.status is DeliveryStatus.DELIVERED and again.attempt == 2
    finally:
        fast.stop()


def test_ledger_survives_restart(env: Env, receiver: WebhookReceiver) -> None:
    receiver.fail_next = 1
    sub = env.subscribe({"kind": "webhook", "url": receiver.url})
    delivered, pending = make_product(1), make_product(2)
    receiver.fail_next = 0
    env.service.handle(delivered)
    receiver.fail_next = 1
    (p,) = env.service.handle(pending)
    assert p.status is DeliveryStatus.PENDING and p.next_retry is not None
    env.restart()
    # the pending one is retried by the new service, the delivered one never again
    assert env.service.handle(delivered) == []
    env.clock.now = p.next_retry
    (again,) = env.service.retry_due()
    assert again.status is DeliveryStatus.DELIVERED and again.attempt == 2
    assert env.service.handle(pending) == []
    assert sorted(r.burst_id for r in receiver.requests) == [1, 2]
    assert env.ledger.counts()[DeliveryStatus.DELIVERED] == 2
    assert {a.product_id for a in env.ledger.entries(sub.id)} == {
        delivered.product_id,
        pending.product_id,
    }


def test_backoff_policy_numbers() -> None:
    policy = RetryPolicy(base_delay_s=2.0, max_delay_s=30.0, jitter=0.0)
    rng = random.Random(0)
    assert [policy.delay_s(n, rng) for n in range(1, 7)] == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    jittered = RetryPolicy(base_delay_s=2.0, max_delay_s=30.0, jitter=0.5)
    draws = [jittered.delay_s(3, rng) for _ in range(200)]
    assert min(draws) >= 4.0 and max(draws) <= 8.0
    assert max(draws) - min(draws) > 3.0  # spread, not constant
    with pytest.raises(ConfigurationError, match="jitter"):
        RetryPolicy(jitter=2.0)


# ---------------------------------------------------------------- object stores


def write_source(tmp: Path, data: bytes) -> str:
    src = tmp / "products" / "s1-burst.h5"
    src.parent.mkdir(parents=True)
    src.write_bytes(data)
    return f"file://{src}"


def test_objectstore_copy_and_link_to_local_directory(env: Env) -> None:
    data = bytes(range(256)) * 40
    product = make_product(url=write_source(env.tmp, data), size_bytes=len(data))
    copy_dir = env.tmp / "out-copy"
    link_dir = env.tmp / "out-link"
    env.subscribe({"kind": "objectstore", "prefix": f"file://{copy_dir}"})
    env.subscribe({"kind": "objectstore", "prefix": f"file://{link_dir}/", "mode": "link"})
    attempts = env.service.handle(product)
    assert [a.status for a in attempts] == [DeliveryStatus.DELIVERED] * 2
    folder = copy_dir / product.product_id
    assert (folder / "s1-burst.h5").read_bytes() == data
    record = ProductRecord.from_bytes((folder / "product.json").read_bytes())
    assert record.url == f"file://{folder}/s1-burst.h5"
    linked = ProductRecord.from_bytes((link_dir / product.product_id / "product.json").read_bytes())
    assert linked.url == product.url
    assert sorted(p.name for p in (link_dir / product.product_id).iterdir()) == ["product.json"]
    assert env.service.handle(product) == []


def test_objectstore_missing_source_fails(env: Env) -> None:
    env.subscribe({"kind": "objectstore", "prefix": f"file://{env.tmp}/out"})
    (a,) = env.service.handle(make_product(url=f"file://{env.tmp}/missing.h5"))
    assert a.status is DeliveryStatus.FAILED and "no object at" in (a.error or "")


def test_objectstore_copy_to_s3(env: Env, s3_server: LocalS3Server) -> None:
    bucket = s3_server.create_bucket("eoport-deliveries")
    data = b"\x00\x01burst-bytes" * 1000
    product = make_product(url=write_source(env.tmp, data), size_bytes=len(data))
    env.service.close()
    env.service = new_service(env, POLICY, s3=s3_server.endpoint)
    env.subscribe({"kind": "objectstore", "prefix": f"{bucket}user-a",
                   "access_key": "user-a", "secret_key": "user-a-secret"})  # fmt: skip
    (a,) = env.service.handle(product)
    assert a.status is DeliveryStatus.DELIVERED, a.error
    store = ObjectStore(f"{bucket}user-a", s3=s3_server.endpoint)
    base = f"s3://eoport-deliveries/user-a/{product.product_id}"
    assert store.get_bytes(f"{base}/s1-burst.h5") == data
    record = ProductRecord.from_bytes(store.get_bytes(f"{base}/product.json"))
    assert record.url == f"{base}/s1-burst.h5"


# ---------------------------------------------------------------- pull queue


def test_pull_queue_and_ack_semantics(env: Env) -> None:
    sub = env.subscribe({"kind": "queue"})
    other = env.subscribe({"kind": "queue"})
    products = [make_product(burst_id=b) for b in (11, 12, 13)]
    for p in products:
        env.clock.advance(1)
        (a,) = [x for x in env.service.handle(p) if x.subscription_id == sub.id]
        assert a.status is DeliveryStatus.DELIVERED
    assert env.service.handle(products[0]) == []  # replay: not queued twice
    msgs = env.ledger.queue_pull(sub.id)
    assert [m.product_id for m in msgs] == [p.product_id for p in products]
    assert msgs[0].product["timeline"]["delivered"] == "2026-11-25T06:00:06Z"
    assert env.ledger.queue_pull(sub.id, max_messages=1)[0].ack_id == msgs[0].ack_id
    # acking the second acks the first too
    assert env.ledger.queue_ack(sub.id, msgs[1].ack_id) == 2
    assert [m.product_id for m in env.ledger.queue_pull(sub.id)] == [products[2].product_id]
    assert env.ledger.queue_ack(sub.id, msgs[0].ack_id) == 0  # already acknowledged
    assert env.ledger.queue_size(other.id) == 3  # other subscription untouched
    with pytest.raises(InvalidAckIdError):
        env.ledger.queue_ack(sub.id, "banana")
    with pytest.raises(InvalidAckIdError, match="never issued"):
        env.ledger.queue_ack(sub.id, "999999")


def test_deleted_subscription_pending_delivery_is_marked_failed(
    env: Env, receiver: WebhookReceiver
) -> None:
    receiver.fail_next = 1
    sub = env.subscribe({"kind": "webhook", "url": receiver.url})
    (a,) = env.service.handle(make_product())
    env.store.delete(sub.id)
    assert a.next_retry is not None
    env.clock.now = a.next_retry
    (b,) = env.service.retry_due()
    assert b.status is DeliveryStatus.FAILED and b.error == "subscription deleted"
    assert json.loads(b.to_bytes())["status"] == "failed"


# ---------------------------------------------------------------- consumer loop on Kafka


def wait_for(predicate: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def collect(consumer: Any, n: int, timeout_s: float = 30.0) -> list[Any]:
    """Poll until ``n`` records arrived."""
    got: list[Any] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < n:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(got)} of {n} records arrived")
        got.extend(consumer.poll(0.2))
    return got


def run_in_thread(
    bus: KafkaBus, group: str, topic: str, service: DeliveryService, deliveries: str, dlq: str
) -> tuple[threading.Thread, threading.Event, StageRuntime]:
    """The deliver stage on ``topic`` under the stage runtime, in a thread."""
    stop = threading.Event()
    runtime = StageRuntime(
        Deliverer(service, deliveries_topic=deliveries),
        bus,
        RuntimeConfig(group, [topic], dead_letters_topic=dlq, poll_timeout_s=0.1),
    )
    thread = threading.Thread(target=runtime.run, args=(stop,), daemon=True)
    thread.start()
    return thread, stop, runtime


@pytest.mark.broker
def test_deliver_stage_commits_after_ledger_and_never_duplicates(
    tmp_path: Path,
    bus: KafkaBus,
    new_topic: Callable[..., str],
    receiver: WebhookReceiver,
) -> None:
    topic, deliveries, dlq = new_topic(2), new_topic(1), new_topic(1)
    store = SqliteSubscriptionStore(tmp_path / "subs.sqlite")
    ledger = DeliveryLedger(tmp_path / "ledger.sqlite")
    spec = SubscriptionSpec.model_validate(
        {"aoi": AOI, "target": {"kind": "webhook", "url": receiver.url}}
    )
    store.add(_new_subscription(spec))
    producer = bus.producer()
    products = [make_product(burst_id=b) for b in range(1, 6)]
    for p in products + products[:2]:  # the first two twice: an upstream replay
        producer.send(topic, p.key, p.to_bytes())
    producer.send(topic, "junk", b"not a product record")
    producer.flush()
    receiver.fail_next = 1  # the first POST fails: a real-time retry after ~50 ms
    policy = RetryPolicy(base_delay_s=0.05, max_delay_s=0.2, jitter=0.0)

    def service() -> DeliveryService:
        return DeliveryService(store, ledger, policy=policy, target_policy=local_policy(tmp_path))

    thread, stop, _ = run_in_thread(bus, "eoport-delivery-test", topic, service(), deliveries, dlq)
    wait_for(lambda: len(receiver.requests) == 5)
    wait_for(lambda: group_lag(bus, "eoport-delivery-test", topic).total == 0)
    stop.set()
    thread.join(10)
    got = sorted(r.burst_id for r in receiver.requests)
    assert got == [1, 2, 3, 4, 5]
    for r in receiver.requests:
        timeline = r.item["properties"]["eoport:timeline"]
        assert "kafka_append" in timeline and "delivered" in timeline
    # the same group resumes after the committed offsets: only the new product arrives
    new = make_product(burst_id=6)
    producer.send(topic, new.key, new.to_bytes())
    producer.flush()
    thread, stop, _ = run_in_thread(bus, "eoport-delivery-test", topic, service(), deliveries, dlq)
    wait_for(lambda: len(receiver.requests) == 6)
    stop.set()
    thread.join(10)
    # a new group re-reads everything from the start: the ledger stops every duplicate
    thread, stop, runtime = run_in_thread(
        bus, "eoport-delivery-replay", topic, service(), deliveries, dlq
    )
    # 5 + 2 replayed + 1 junk + 1 new, all handled and committed
    wait_for(lambda: runtime.stats.records == 9)
    wait_for(lambda: group_lag(bus, "eoport-delivery-replay", topic).total == 0)
    probe = bus.consumer("eoport-delivery-probe", [dlq])
    dead = collect(probe, 2)  # one junk record per reading group
    stop.set()
    thread.join(10)
    probe.close()
    assert len(receiver.requests) == 6
    assert dead[0].value == b"not a product record"
    assert b"invalid product record" in dead[0].headers["x-error"]
    # every attempt (one failed, six delivered) was published on `deliveries`
    audit = bus.consumer("eoport-delivery-audit", [deliveries])
    seen = collect(audit, 7)
    audit.close()
    statuses = sorted(json.loads(r.value)["status"] for r in seen)
    assert statuses == ["delivered"] * 6 + ["pending"]
