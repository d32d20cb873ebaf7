"""Access control over real HTTP: OIDC tokens (local RSA keys, JWKS served over loopback),
API keys, owners, admin, secrets at rest."""

from __future__ import annotations

import stat
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Depends, FastAPI
from jwt.algorithms import RSAAlgorithm
from pytest_httpserver import HTTPServer

from eoport.api import ApiState
from eoport.api.auth import (
    AuthenticationError,
    Authenticator,
    JwksCache,
    OidcVerifier,
    install_security,
    require_reader,
)
from eoport.config import ApiSettings
from streams.deliver import open_stores
from streams.deliver.apikeys import ApiKeyStore
from streams.deliver.ledger import DeliveryLedger
from streams.deliver.service import DeliveryService
from streams.deliver.subscriptions import SqliteSubscriptionStore
from streams.messages.products import ProductRecord
from tests.eoport.apihelp import Running, running_api, serve

ISSUER = "https://idp.example.test/realms/eo"
AUDIENCE = "eoport"
AOI = {"type": "Polygon", "coordinates": [[[10, 45], [11, 45], [11, 46], [10, 46], [10, 45]]]}
T0 = datetime(2026, 11, 25, 6, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def keys() -> dict[str, rsa.RSAPrivateKey]:
    """The issuer's signing keys k1, k2 and an attacker's key."""
    return {
        name: rsa.generate_private_key(public_exponent=65537, key_size=2048)
        for name in ("k1", "k2", "evil")
    }


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    out: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**out, "kid": kid, "use": "sig", "alg": "RS256"}


def mint(key: rsa.RSAPrivateKey, kid: str | None = "k1", **claims: Any) -> str:
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 300,
        "realm_access": {"roles": ["user"]},
    }  # fmt: skip
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(body, key, algorithm="RS256", headers=headers)


def serve_jwks(server: HTTPServer, *entries: dict[str, Any]) -> str:
    server.clear()
    server.expect_request("/jwks").respond_with_json({"keys": list(entries)})
    return str(server.url_for("/jwks"))


@pytest.fixture
def state(tmp_path: Path) -> ApiState:
    stores = open_stores(tmp_path)
    return ApiState.of(stores, clock=lambda: T0)


@pytest.fixture
def oidc_api(
    state: ApiState, tmp_path: Path, httpserver: HTTPServer, keys: dict[str, rsa.RSAPrivateKey]
) -> Iterator[tuple[Running, str]]:
    url = serve_jwks(httpserver, jwk(keys["k1"], "k1"))
    with running_api(
        state, tmp_path, oidc_issuer=ISSUER, oidc_audience=AUDIENCE, oidc_jwks_url=url,
        oidc_roles_claim="realm_access.roles", oidc_jwks_min_refresh_s=0.0,
        max_running_subscriptions=5,
    ) as run:  # fmt: skip
        yield run, url


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def count(state: ApiState) -> int:
    return len(state.subscriptions.all())


# ---------------------------------------------------------------- tokens


def test_valid_token_creates_and_owns(
    oidc_api: tuple[Running, str], keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    run, _ = oidc_api
    c = run.client(None)
    r = c.post("/subscriptions", json={"aoi": AOI, "target": {"kind": "queue"}},
               headers=bearer(mint(keys["k1"])))  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["owner"] == "alice"
    listed = c.get("/subscriptions", headers=bearer(mint(keys["k1"]))).json()
    assert [s["id"] for s in listed["subscriptions"]] == [r.json()["id"]]
    other = c.get("/subscriptions", headers=bearer(mint(keys["k1"], sub="carol"))).json()
    assert other["subscriptions"] == []


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("expired", "token expired"),
        ("not-yet", "not valid yet"),
        ("wrong-key", "signature does not verify"),
        ("audience", "another audience"),
        ("issuer", "another issuer"),
        ("unknown-kid", "unknown key"),
        ("no-sub", "sub"),
        ("garbage", "malformed"),
        ("hs256", "algorithm 'HS256' is not accepted"),
        ("none", "algorithm 'none' is not accepted"),
    ],
)
def test_bad_tokens_are_401_and_change_nothing(
    oidc_api: tuple[Running, str], keys: dict[str, rsa.RSAPrivateKey], state: ApiState,
    case: str, message: str,
) -> None:  # fmt: skip
    run, _ = oidc_api
    now = int(time.time())
    k1 = keys["k1"]
    tokens: dict[str, Callable[[], str]] = {
        "expired": lambda: mint(k1, exp=now - 120, iat=now - 600),  # past the 30 s leeway
        "not-yet": lambda: mint(k1, nbf=now + 600),
        "wrong-key": lambda: mint(keys["evil"]),  # claims kid k1, signed by another key
        "audience": lambda: mint(k1, aud="someone-else"),
        "issuer": lambda: mint(k1, iss="https://evil.example.test"),
        "unknown-kid": lambda: mint(keys["evil"], kid="k9"),
        "no-sub": lambda: mint(k1, sub=None),
        "garbage": lambda: "not.a.jwt",
        "hs256": lambda: jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "exp": now + 300},
            "public-key-as-hmac-secret-32-bytes!", algorithm="HS256", headers={"kid": "k1"},
        ),  # fmt: skip
        "none": lambda: jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "exp": now + 300},
            None,  # type: ignore[arg-type]
            algorithm="none",
        ),  # fmt: skip
    }
    token = tokens[case]()
    c = run.client(None)
    r = c.post("/subscriptions", json={"aoi": AOI, "target": {"kind": "queue"}},
               headers=bearer(token))  # fmt: skip
    assert r.status_code == 401, r.text
    assert message in r.json()["detail"]
    assert r.headers["WWW-Authenticate"].startswith('Bearer realm="eoport"')
    assert c.get("/subscriptions", headers=bearer(token)).status_code == 401
    assert count(state) == 0


def test_no_credentials_is_401_everywhere(oidc_api: tuple[Running, str]) -> None:
    run, _ = oidc_api
    c = run.client(None)
    for method, path in [
        ("GET", "/subscriptions"), ("POST", "/subscriptions"), ("GET", "/subscriptions/x"),
        ("DELETE", "/subscriptions/x"), ("GET", "/subscriptions/x/queue"),
        ("POST", "/subscriptions/x/ack"), ("GET", "/odata/v1/Subscriptions/Info"),
        ("POST", "/odata/v1/Subscriptions"), ("GET", "/odata/v1/Subscriptions(x)/Read"),
    ]:  # fmt: skip
        r = c.request(method, path, json={})
        assert r.status_code == 401, (method, path, r.text)
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="eoport"'
    bad_key = c.get("/subscriptions", headers=bearer("eop_000000000000_" + "x" * 43))
    assert bad_key.status_code == 401 and "API key" in bad_key.json()["detail"]
    basic = c.get("/subscriptions", headers={"Authorization": "Basic YWxpY2U6cHc="})
    assert basic.status_code == 401


def test_jwks_refetched_once_for_a_rotated_key(
    httpserver: HTTPServer, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    url = serve_jwks(httpserver, jwk(keys["k1"], "k1"))
    cache = JwksCache(url, min_refresh_s=3600.0)
    verifier = OidcVerifier(ISSUER, AUDIENCE, cache, roles_claim="realm_access.roles")
    assert verifier.verify(mint(keys["k1"])).subject == "alice"
    assert cache.fetches == 1
    # the issuer rotates to k2; the first k2 token triggers one fetch
    serve_jwks(httpserver, jwk(keys["k1"], "k1"), jwk(keys["k2"], "k2"))
    cache._fetched -= 3600.0  # the previous fetch is older than min_refresh_s
    principal = verifier.verify(mint(keys["k2"], kid="k2", realm_access={"roles": ["admin"]}))
    assert principal.admin and cache.fetches == 2
    # random kids do not hammer the issuer: no refetch within min_refresh_s
    for i in range(20):
        with pytest.raises(AuthenticationError, match="unknown key"):
            verifier.verify(mint(keys["evil"], kid=f"random-{i}"))
    assert cache.fetches == 2
    assert len(httpserver.log) == 1  # since the rotation (serve_jwks cleared the log)


def test_jwks_unavailable_is_503_not_open(
    httpserver: HTTPServer, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    httpserver.clear()
    httpserver.expect_request("/jwks").respond_with_data("down", status=502)
    verifier = OidcVerifier(ISSUER, AUDIENCE, JwksCache(str(httpserver.url_for("/jwks"))))
    with pytest.raises(AuthenticationError) as err:
        verifier.verify(mint(keys["k1"]))
    assert err.value.status == 503
    auth = Authenticator(oidc=None)
    with pytest.raises(AuthenticationError, match="no OIDC issuer"):
        auth.authenticate("Bearer " + mint(keys["k1"]), None)


# ---------------------------------------------------------------- owners


def queue_product(state: ApiState, burst: int) -> ProductRecord:
    product = ProductRecord.model_validate(
        {
            "burst_key": f"1/IW1/VV/{burst}", "processing_version": "0.1.0", "mode": "IW",
            "swath": "IW1", "polarisation": "VV", "burst_id": burst, "data_take_id": 1,
            "footprint": {"type": "Polygon", "coordinates": [[[10.2, 45.2], [10.4, 45.2],
                          [10.4, 45.4], [10.2, 45.4], [10.2, 45.2]]]},
            "sensing_start": "2026-11-25T05:59:57Z", "sensing_stop": "2026-11-25T05:59:59Z",
            "url": "file:///x/p.h5", "size_bytes": 1,
        }
    )  # fmt: skip
    service = DeliveryService(state.subscriptions, state.ledger, clock=lambda: T0)
    service.handle(product)
    service.close()
    return product


def test_users_see_and_change_only_their_own(state: ApiState, tmp_path: Path) -> None:
    with running_api(state, tmp_path, max_running_subscriptions=5) as run:
        alice, bob, root = run.client("alice"), run.client("bob"), run.client("root")
        mine = alice.post("/subscriptions", json={"aoi": AOI, "target": {"kind": "queue"}})
        assert mine.status_code == 201
        sub_id = mine.json()["id"]
        product = queue_product(state, 5)
        msgs = alice.get(f"/subscriptions/{sub_id}/queue").json()["messages"]
        ack_id = msgs[0]["ack_id"]
        before = state.subscriptions.get(sub_id)
        for method, path, body in [
            ("GET", f"/subscriptions/{sub_id}", None),
            ("PATCH", f"/subscriptions/{sub_id}", {"status": "paused"}),
            ("DELETE", f"/subscriptions/{sub_id}", None),
            ("GET", f"/subscriptions/{sub_id}/queue", None),
            ("POST", f"/subscriptions/{sub_id}/ack", {"ack_id": ack_id}),
            ("GET", f"/subscriptions/{sub_id}/deliveries", None),
            ("POST", f"/subscriptions/{sub_id}/deliveries/{product.product_id}/retry", None),
            ("GET", f"/odata/v1/Subscriptions({sub_id})", None),
            ("PATCH", f"/odata/v1/Subscriptions({sub_id})", {"Status": "paused"}),
            ("DELETE", f"/odata/v1/Subscriptions({sub_id})", None),
            ("GET", f"/odata/v1/Subscriptions({sub_id})/Read", None),
            ("POST", f"/odata/v1/Subscriptions({sub_id})/Ack?$ackid={ack_id}", None),
        ]:
            r = bob.request(method, path, json=body)
            assert r.status_code == 404, (method, path, r.text)
            assert "no subscription" in r.json()["detail"]
        assert bob.get("/subscriptions").json()["subscriptions"] == []
        assert bob.get("/subscriptions", params={"owner": "alice"}).json()["subscriptions"] == []
        assert bob.get("/odata/v1/Subscriptions/Info").json() == []
        # nothing changed
        assert state.subscriptions.get(sub_id) == before
        assert state.ledger.queue_size(sub_id) == 1
        # the admin sees and may change everything
        every = root.get("/subscriptions").json()["subscriptions"]
        assert [s["id"] for s in every] == [sub_id]
        assert root.get("/subscriptions", params={"owner": "bob"}).json()["subscriptions"] == []
        assert root.get(f"/subscriptions/{sub_id}/queue").json()["pending"] == 1
        assert root.patch(f"/subscriptions/{sub_id}", json={"status": "paused"}).status_code == 200
        # the owner acks her own queue
        r = alice.post(f"/subscriptions/{sub_id}/ack", json={"ack_id": ack_id})
        assert r.json() == {"acked": 1, "pending": 0}


def test_paging_of_subscriptions(state: ApiState, tmp_path: Path) -> None:
    with running_api(state, tmp_path, max_running_subscriptions=20, max_subscriptions=20) as run:
        alice = run.client("alice")
        ids = [
            alice.post("/subscriptions", json={"aoi": AOI, "target": {"kind": "queue"}}).json()[
                "id"
            ]
            for _ in range(7)
        ]
        run.client("bob").post("/subscriptions", json={"aoi": AOI, "target": {"kind": "queue"}})
        seen: list[str] = []
        token = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": 3} | ({"token": token} if token else {})
            page = alice.get("/subscriptions", params=params).json()
            seen += [s["id"] for s in page["subscriptions"]]
            pages += 1
            token = page["next"]
            if token is None:
                break
        assert sorted(seen) == sorted(ids) and len(seen) == 7 and pages == 3
        assert alice.get("/subscriptions", params={"token": "zzz"}).status_code == 400
        assert alice.get("/subscriptions", params={"limit": 100_000}).status_code == 422


def test_limits_cdse_defaults(state: ApiState, tmp_path: Path) -> None:
    with running_api(state, tmp_path) as run:  # CDSE: 1 running, 10 in all
        alice = run.client("alice")
        first = alice.post("/subscriptions", json={"aoi": AOI, "target": {"kind": "queue"}})
        assert first.status_code == 201
        second = alice.post("/subscriptions", json={"aoi": AOI, "target": {"kind": "queue"}})
        assert second.status_code == 403 and "running subscription" in second.json()["detail"]
        paused = alice.post(
            "/subscriptions", json={"aoi": AOI, "target": {"kind": "queue"}, "status": "paused"}
        )
        assert paused.status_code == 201
        resume = alice.patch(f"/subscriptions/{paused.json()['id']}", json={"status": "active"})
        assert resume.status_code == 403
        assert run.client("bob").post(
            "/subscriptions", json={"aoi": AOI, "target": {"kind": "queue"}}
        ).status_code == 201  # limits are per user
        assert len(state.subscriptions.all()) == 3


# ---------------------------------------------------------------- secrets at rest


def test_secrets_encrypted_files_private_keys_hashed(tmp_path: Path) -> None:
    stores = open_stores(tmp_path / "state")
    state = ApiState.of(stores)
    with running_api(state, tmp_path / "state", max_running_subscriptions=5) as run:
        alice = run.client("alice")
        r = alice.post(
            "/subscriptions",
            json={"aoi": AOI, "target": {"kind": "webhook", "url": "https://93.184.215.14/h",
                                         "username": "svc", "password": "pw-in-clear-1234"}},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        assert "pw-in-clear-1234" not in r.text
        legacy = alice.post(
            "/subscriptions",
            json={"aoi": AOI, "status": "paused",
                  "target": {"kind": "webhook", "url": "https://u2:url-pw-5678@93.184.215.14/h"}},
        )  # fmt: skip
        assert legacy.status_code == 201
        body = legacy.json()
        assert body["target"]["url"] == "https://93.184.215.14/h"
        assert body["target"]["username"] == "u2" and "url-pw-5678" not in legacy.text
        listing = alice.get("/subscriptions").text + alice.get("/odata/v1/Subscriptions/Info").text
        assert "pw-in-clear-1234" not in listing and "url-pw-5678" not in listing
        api_key = run.keys["alice"]
    subs_file = tmp_path / "state" / "subscriptions.sqlite"
    for name in ("subscriptions.sqlite", "deliveries.sqlite", "secrets.key"):
        mode = stat.S_IMODE((tmp_path / "state" / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))
    files = sorted((tmp_path / "state").glob("subscriptions.sqlite*"))
    raw = b"".join(p.read_bytes() for p in files)
    assert b"pw-in-clear-1234" not in raw, files
    assert b"url-pw-5678" not in raw, files
    assert api_key.encode() not in raw
    assert api_key[len("eop_") + 13 :].encode() not in raw
    # the delivery stage, with the same key file, reads the secrets back
    again = SqliteSubscriptionStore(subs_file)
    target = again.get(r.json()["id"]).target
    assert target.password is not None  # type: ignore[union-attr]
    assert target.password.get_secret_value() == "pw-in-clear-1234"  # type: ignore[union-attr]
    assert ApiKeyStore(subs_file).verify(api_key) is not None
    wrong = api_key[:-1] + ("B" if api_key.endswith("A") else "A")
    assert ApiKeyStore(subs_file).verify(wrong) is None


def test_legacy_store_migrated_secrets_sealed(tmp_path: Path) -> None:
    import json
    import sqlite3

    path = tmp_path / "subscriptions.sqlite"
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE subscriptions (id TEXT PRIMARY KEY, created TEXT NOT NULL, body TEXT);"
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "INSERT INTO meta VALUES ('revision', 3);"
    )
    body = {"id": "old-1", "created": "2026-01-01T00:00:00Z", "aoi": AOI,
            "target": {"kind": "webhook", "url": "https://x:plainpw@93.184.215.14/h"},
            "filters": {"modes": ["IW"]}, "status": "active"}  # fmt: skip
    con.execute("INSERT INTO subscriptions VALUES (?, ?, ?)",
                ("old-1", "2026-01-01T00:00:00+00:00", json.dumps(body)))  # fmt: skip
    con.commit()
    con.close()
    path.chmod(0o644)  # world-readable, as earlier versions left it
    store = SqliteSubscriptionStore(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sub = store.get("old-1")
    assert sub.owner == "" and sub.filters.modes == ["IW"]
    assert sub.target.password.get_secret_value() == "plainpw"  # type: ignore[union-attr]
    assert b"plainpw" not in path.read_bytes()
    assert store.count_by_status() == {"active": 1}


# ---------------------------------------------------------------- STAC reader dependency


@pytest.mark.parametrize("public", [True, False])
def test_require_reader_follows_stac_public(tmp_path: Path, public: bool) -> None:
    stores = open_stores(tmp_path)
    app = FastAPI()
    app.state.eoport = ApiState.of(stores)
    router = APIRouter(dependencies=[Depends(require_reader)])

    @router.get("/stac/search")
    def search() -> dict[str, str]:
        return {"ok": "yes"}

    app.include_router(router)
    install_security(app, ApiSettings(state_dir=tmp_path, stac_public=public))
    key = ApiKeyStore(stores.subscriptions.path).create("reader")  # type: ignore[attr-defined]
    with serve(app) as url:
        import httpx

        anonymous = httpx.get(f"{url}/stac/search")
        assert anonymous.status_code == (200 if public else 401)
        with_key = httpx.get(f"{url}/stac/search", headers=bearer(key))
        assert with_key.status_code == 200
        bad = httpx.get(f"{url}/stac/search", headers=bearer("eop_nonsense"))
        assert bad.status_code == 401  # bad credentials are refused even when public


def test_ledger_alone_is_private(tmp_path: Path) -> None:
    DeliveryLedger(tmp_path / "l.sqlite")
    assert stat.S_IMODE((tmp_path / "l.sqlite").stat().st_mode) == 0o600
    assert str(uuid.uuid4())  # ids stay opaque


def test_apikey_cli_create_and_revoke(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from eoport.cli import main

    monkeypatch.setenv("EOPORT_STATE_DIR", str(tmp_path))
    assert main(["apikey", "create", "ops", "--admin", "--json"]) == 0
    import json

    created = json.loads(capsys.readouterr().out)
    store = ApiKeyStore(tmp_path / "subscriptions.sqlite")
    found = store.verify(created["api_key"])
    assert found is not None and found.owner == "ops" and found.roles == {"admin"}
    assert stat.S_IMODE((tmp_path / "subscriptions.sqlite").stat().st_mode) == 0o600
    assert main(["apikey", "revoke", found.key_id]) == 0
    assert store.verify(created["api_key"]) is None
    assert main(["apikey", "revoke", found.key_id + "0"]) != 0
