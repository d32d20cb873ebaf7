"""Where subscriptions may deliver (SSRF), and bounded requests, over real HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from eoport.api import ApiState
from streams.deliver import open_stores
from streams.deliver.ledger import DeliveryStatus
from streams.deliver.netguard import (
    BlockedTargetError,
    NetworkPolicy,
    address_problem,
    parse_networks,
)
from streams.deliver.policy import TargetPolicy
from streams.deliver.service import DeliveryService
from streams.deliver.subscriptions import SubscriptionSpec, new_subscription
from streams.messages.products import ProductRecord
from tests.eoport.apihelp import Running, running_api

T0 = datetime(2026, 11, 25, 6, 0, 0, tzinfo=UTC)
AOI = {"type": "Polygon", "coordinates": [[[10, 45], [11, 45], [11, 46], [10, 46], [10, 45]]]}


class Receiver:
    """A loopback HTTP server recording requests; answers ``status`` (+ ``Location``)."""

    def __init__(self, status: int = 204, location: str | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(status)
                if location is not None:
                    self.send_header("Location", location)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def state(tmp_path: Path) -> ApiState:
    return ApiState.of(open_stores(tmp_path), clock=lambda: T0)


@pytest.fixture
def api(state: ApiState, tmp_path: Path) -> Iterator[Running]:
    with running_api(
        state, tmp_path, max_running_subscriptions=50, max_subscriptions=50,
        objectstore_prefixes=["s3://eoport-deliveries/{user}/", f"file://{tmp_path}/out/{{user}}/"],
    ) as run:  # fmt: skip
        yield run


def product() -> ProductRecord:
    return ProductRecord.model_validate(
        {
            "burst_key": "1/IW1/VV/7", "processing_version": "0.1.0", "mode": "IW",
            "swath": "IW1", "polarisation": "VV", "burst_id": 7, "data_take_id": 1,
            "footprint": {"type": "Polygon", "coordinates": [[[10.2, 45.2], [10.4, 45.2],
                          [10.4, 45.4], [10.2, 45.4], [10.2, 45.2]]]},
            "sensing_start": T0 - timedelta(seconds=3), "sensing_stop": T0 - timedelta(seconds=1),
            "url": "file:///x/p.h5", "size_bytes": 1,
        }
    )  # fmt: skip


# ---------------------------------------------------------------- creation


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://localhost:22/", "loopback"),
        ("http://0.0.0.0:9092/", "unspecified"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.1.2.3/hook", "private"),
        ("http://192.168.0.10/hook", "private"),
        ("http://100.100.100.200/hook", "non-public"),  # shared space (Alibaba metadata)
        ("http://[fd00:ec2::254]/hook", "private"),  # AWS IPv6 metadata
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),  # IPv4-mapped loopback
        ("http://[2002:7f00:1::1]/hook", "loopback"),  # 6to4 wrapping 127.0.0.1
        ("http://224.0.0.1/hook", "multicast"),
        ("http://2130706433/hook", "loopback"),  # 127.0.0.1 as one integer
        ("http://0177.0.0.1/hook", "loopback"),  # octal
        ("ftp://93.184.215.14/x", "http:// or https://"),
        ("gopher://93.184.215.14/x", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
    ],
)
def test_blocked_webhooks_refused_and_nothing_stored(
    api: Running, state: ApiState, url: str, why: str
) -> None:
    alice = api.client("alice")
    r = alice.post("/subscriptions", json={"aoi": AOI, "target": {"kind": "webhook", "url": url}})
    assert r.status_code == 422, r.text
    assert why in r.json()["detail"]
    cdse = alice.post(
        "/odata/v1/Subscriptions",
        json={"SubscriptionType": "push", "NotificationEndpoint": url},
    )
    assert cdse.status_code in (400, 422) and why in cdse.json()["detail"]
    assert state.subscriptions.all() == []


def test_public_webhook_accepted(api: Running) -> None:
    r = api.client("alice").post(
        "/subscriptions",
        json={"aoi": AOI, "target": {"kind": "webhook", "url": "https://93.184.215.14/h"}},
    )
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("target", "status", "why"),
    [
        ({"prefix": "file:///var/lib/eoport/anything"}, 403, "not one this deployment grants"),
        ({"prefix": "s3://someone-elses-bucket/x", "access_key": "a", "secret_key": "b"}, 403,
         "not one this deployment grants"),
        ({"prefix": "s3://eoport-deliveries/bob/x", "access_key": "a", "secret_key": "b"}, 403,
         "not one this deployment grants"),
        ({"prefix": "s3://eoport-deliveries/alice/x"}, 403, "own access_key"),
        ({"prefix": "s3://eoport-deliveries/alice/../bob"}, 422, "'..' segments"),
        ({"prefix": "s3://eoport-deliveries/alice/x", "access_key": "a"}, 422, "both access_key"),
    ],
)  # fmt: skip
def test_objectstore_prefixes_per_user(
    api: Running, state: ApiState, target: dict[str, Any], status: int, why: str
) -> None:
    r = api.client("alice").post(
        "/subscriptions", json={"aoi": AOI, "target": {"kind": "objectstore", **target}}
    )
    assert r.status_code == status, r.text
    assert why in r.json()["detail"]
    assert state.subscriptions.all() == []


def test_objectstore_granted_prefix_with_own_credentials(api: Running, tmp_path: Path) -> None:
    alice = api.client("alice")
    r = alice.post("/subscriptions", json={"aoi": AOI, "target": {
        "kind": "objectstore", "prefix": "s3://eoport-deliveries/alice/run1",
        "access_key": "alice-key", "secret_key": "alice-secret-99"}})  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["target"]["secret_key"] == "**********" and "alice-secret-99" not in r.text
    local = alice.post("/subscriptions", json={"aoi": AOI, "target": {
        "kind": "objectstore", "prefix": f"file://{tmp_path}/out/alice/x"}})  # fmt: skip
    assert local.status_code == 201, local.text


# ---------------------------------------------------------------- delivery time


def test_dns_rebinding_caught_at_delivery(tmp_path: Path, receiver: Receiver) -> None:
    """The name resolved to a public address at creation and to loopback at delivery."""
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])

    def resolver(host: str, port: int) -> list[str]:
        assert host == "hook.example.test"
        return next(answers)

    policy = TargetPolicy(NetworkPolicy(resolver=resolver))
    stores = open_stores(tmp_path)
    spec = SubscriptionSpec.model_validate({"aoi": AOI, "target": {
        "kind": "webhook", "url": f"http://hook.example.test:{receiver.port}/h"}})  # fmt: skip
    sub = new_subscription(spec, owner="alice")
    policy.check(sub.target, sub.owner)  # creation: the public answer passes
    stores.subscriptions.add(sub)
    service = DeliveryService(
        stores.subscriptions, stores.ledger, clock=lambda: T0, target_policy=policy
    )
    (attempt,) = service.handle(product())
    service.close()
    assert attempt.status is DeliveryStatus.FAILED
    assert "127.0.0.1 is a loopback address" in (attempt.error or "")
    assert receiver.requests == []


def test_connection_pinned_to_checked_address(tmp_path: Path, receiver: Receiver) -> None:
    """A name that only our resolver knows: the request can only have gone to the checked
    address, with the name kept in ``Host``."""
    policy = TargetPolicy(
        NetworkPolicy(parse_networks(["127.0.0.1/32"]), resolver=lambda h, p: ["127.0.0.1"])
    )
    stores = open_stores(tmp_path)
    url = f"http://only-in-our-resolver.invalid:{receiver.port}/hook?x=1"
    spec = SubscriptionSpec.model_validate(
        {"aoi": AOI, "target": {"kind": "webhook", "url": url}, "notification_format": "cdse"}
    )
    sub = new_subscription(spec, owner="alice")
    stores.subscriptions.add(sub)
    service = DeliveryService(
        stores.subscriptions, stores.ledger, clock=lambda: T0, target_policy=policy
    )
    (attempt,) = service.handle(product())
    service.close()
    assert attempt.status is DeliveryStatus.DELIVERED, attempt.error
    (req,) = receiver.requests
    assert req["path"] == "/hook?x=1"
    assert req["headers"]["Host"] == f"only-in-our-resolver.invalid:{receiver.port}"
    body = json.loads(req["body"])
    assert body["SubscriptionId"] == sub.id and body["value"]["type"] == "Feature"


def test_redirects_are_not_followed(tmp_path: Path) -> None:
    inner = Receiver()
    outer = Receiver(status=302, location=f"http://127.0.0.1:{inner.port}/internal")
    try:
        policy = TargetPolicy(NetworkPolicy(parse_networks(["127.0.0.1/32"])))
        stores = open_stores(tmp_path)
        spec = SubscriptionSpec.model_validate(
            {"aoi": AOI, "target": {"kind": "webhook", "url": f"http://127.0.0.1:{outer.port}/"}}
        )
        stores.subscriptions.add(new_subscription(spec, owner="alice"))
        service = DeliveryService(
            stores.subscriptions, stores.ledger, clock=lambda: T0, target_policy=policy
        )
        (attempt,) = service.handle(product())
        service.close()
        assert attempt.status is DeliveryStatus.FAILED
        assert "HTTP 302" in (attempt.error or "") and "not followed" in (attempt.error or "")
        assert len(outer.requests) == 1 and inner.requests == []
    finally:
        inner.close()
        outer.close()


def test_address_rules() -> None:
    allow = parse_networks(["127.0.0.1/32", "10.0.0.0/8"])
    assert address_problem("8.8.8.8") is None
    assert address_problem("2001:4860:4860::8888") is None
    assert address_problem("127.0.0.1", allow) is None
    assert address_problem("10.9.9.9", allow) is None
    assert "loopback" in str(address_problem("127.0.0.2", allow))
    assert "link-local" in str(address_problem("fe80::1"))
    with pytest.raises(ValueError, match="not an IP address"):
        parse_networks(["not-a-net"])
    with pytest.raises(BlockedTargetError, match="credentials"):
        NetworkPolicy().resolve("https://u:p@93.184.215.14/")


# ---------------------------------------------------------------- bounded requests


def test_oversized_body_is_413_before_parsing(api: Running, state: ApiState) -> None:
    alice = api.client("alice")
    big = b'{"aoi": ' + b" " * (9 * 1024 * 1024) + b"}"
    r = alice.post("/subscriptions", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"aoi": '
        for _ in range(10):
            yield b" " * (1024 * 1024)
        yield b"}"

    streamed = httpx.post(
        f"{api.base_url}/subscriptions", content=chunks(),
        headers={"Content-Type": "application/json",
                 "Authorization": f"Bearer {api.keys['alice']}"},
    )  # fmt: skip
    assert streamed.status_code == 413
    assert state.subscriptions.all() == []


def test_vertex_count_bounded_over_all_rings(api: Running, state: ApiState) -> None:
    """Two rings of 60,000 positions each: 120,000 in total, over the cap of 100,000
    (each ring alone is under it); refused before any geometry is built."""

    def ring(x0: float, n: int) -> list[list[float]]:
        pts = [[x0 + 0.5 * i / n, 45.0 + 0.001 * (i % 2)] for i in range(n - 1)]
        return [*pts, pts[0]]

    aoi = {"type": "MultiPolygon", "coordinates": [[ring(10.0, 60_000)], [ring(12.0, 60_000)]]}
    r = api.client("alice").post("/subscriptions", json={"aoi": aoi, "target": {"kind": "queue"}})
    assert r.status_code == 422
    assert "more than 100000 positions in total" in r.json()["detail"]
    assert state.subscriptions.all() == []


def make_certificate(tmp_path: Path, name: str) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate for ``name`` signed by it: (ca, cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "eoport test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(1)
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = (tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))  # fmt: skip
    return paths


def test_https_pinned_address_keeps_sni_and_certificate_name(tmp_path: Path) -> None:
    """https to a name only our resolver knows: the connection goes to the checked
    address, TLS sends the name (SNI) and the certificate is verified against it."""
    import ssl

    ca, cert, key = make_certificate(tmp_path, "hook.example.test")
    receiver = Receiver()
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    seen_sni: list[str | None] = []
    server_ctx.sni_callback = lambda sock, name, ctx: seen_sni.append(name)
    receiver.server.socket = server_ctx.wrap_socket(receiver.server.socket, server_side=True)
    try:
        client = httpx.Client(verify=ssl.create_default_context(cafile=str(ca)), trust_env=False)
        policy = TargetPolicy(
            NetworkPolicy(parse_networks(["127.0.0.1/32"]), resolver=lambda h, p: ["127.0.0.1"])
        )
        stores = open_stores(tmp_path / "state")
        for name, status in (("hook.example.test", DeliveryStatus.DELIVERED),
                             ("other.example.test", DeliveryStatus.PENDING)):  # fmt: skip
            url = f"https://{name}:{receiver.port}/h"
            spec = SubscriptionSpec.model_validate(
                {"aoi": AOI, "target": {"kind": "webhook", "url": url}}
            )
            sub = new_subscription(spec, owner=name)
            stores.subscriptions.add(sub)
            service = DeliveryService(
                stores.subscriptions, stores.ledger, clock=lambda: T0, target_policy=policy,
                http=client, policy=None,
            )  # fmt: skip
            (attempt,) = [a for a in service.handle(product()) if a.subscription_id == sub.id]
            service.close()
            stores.subscriptions.delete(sub.id)
            assert attempt.status is status, attempt.error
        assert "certificate is not valid for 'other.example.test'" in (attempt.error or "")
        # the second name does not match the certificate: refused after SNI, nothing sent
        assert seen_sni[:1] == ["hook.example.test"] and "other.example.test" in seen_sni
        assert len(receiver.requests) == 1
        assert receiver.requests[0]["headers"]["Host"] == f"hook.example.test:{receiver.port}"
        client.close()
    finally:
        receiver.close()
