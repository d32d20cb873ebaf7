"""Access control of the eoport API: who is calling, and bounded requests.

Callers authenticate with ``Authorization: Bearer <credential>`` (or ``X-API-Key``):

- **OpenID Connect** access tokens (deployments): a JWT verified against the configured
  issuer's JSON Web Key Set (signature with an asymmetric algorithm from the allowed
  list, ``iss``, ``aud``, ``exp`` and ``nbf`` with a small leeway, ``sub`` required). The
  key set is fetched from ``EOPORT_OIDC_JWKS_URL`` or discovered from the issuer's
  ``/.well-known/openid-configuration``, cached for ``oidc_jwks_ttl_s`` and refetched
  when a token names an unknown ``kid`` (at most once per ``oidc_jwks_min_refresh_s``,
  responses bounded in size and number of keys), so a key rotation is picked up without
  letting random ``kid`` values hammer the identity provider.
- **API keys** (the embedded default): ``eop_...`` keys stored hashed in the subscription
  store (:mod:`streams.deliver.apikeys`); :func:`create_api_key` makes one
  (``eoport demo --serve`` prints one).

The subject (``sub`` claim, or the key's owner) owns what it creates: each caller sees
and changes only its own subscriptions, queues and deliveries; callers with the admin
role (``EOPORT_ADMIN_ROLE``, read from the token claim ``EOPORT_OIDC_ROLES_CLAIM``, a
dotted path such as ``realm_access.roles``, or given to an API key) see everything.
STAC search is public or needs a caller, by ``EOPORT_STAC_PUBLIC``
(:func:`require_reader`).

Requests are bounded before parsing: :class:`BodyLimitMiddleware` answers 413 as soon
as a body (declared or streamed) exceeds ``EOPORT_MAX_BODY_BYTES``.

Wiring (:func:`install_security`): call it from :func:`eoport.api.main.create_app`; the
route dependencies find what it installed on ``app.state``. Without it they fall back
to the defaults of :class:`eoport.config.ApiSettings` (API keys only, nothing public
but STAC), never to an open API.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import jwt
from fastapi import Depends, FastAPI, HTTPException, Request

from eoport.config import ALLOWED_JWS_ALGORITHMS, ApiSettings
from streams.deliver.apikeys import API_KEY_PREFIX, ApiKeyStore, create_api_key
from streams.deliver.policy import SubscriptionLimits, TargetPolicy

log = logging.getLogger(__name__)

__all__ = [
    "ALLOWED_ALGORITHMS", "AdminDep", "ApiPolicy", "Authenticator", "BodyLimitMiddleware",
    "JwksCache", "OidcVerifier", "Principal", "ReaderDep", "UserDep", "create_api_key",
    "current_user", "install_security", "require_admin", "require_reader",
]  # fmt: skip

ALLOWED_ALGORITHMS = ALLOWED_JWS_ALGORITHMS
"""Asymmetric JWS algorithms a deployment may allow (never ``none`` or HMAC)."""

REALM = 'Bearer realm="eoport"'


# ---------------------------------------------------------------------------- principal


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    Attributes
    ----------
    subject
        Owner id of what the caller creates (token ``sub`` or the API key's owner).
    roles
        Roles from the token claim or the API key.
    admin
        Sees and changes everything.
    method
        How the caller authenticated.
    """

    subject: str
    roles: frozenset[str] = frozenset()
    admin: bool = False
    method: Literal["oidc", "apikey", "anonymous"] = "apikey"

    def may_access(self, owner: str) -> bool:
        """Whether this caller may read or change something owned by ``owner``."""
        return self.admin or (bool(self.subject) and owner == self.subject)


ANONYMOUS = Principal("", method="anonymous")


class AuthenticationError(Exception):
    """Credentials missing or invalid (401), or the identity provider unreachable (503)."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------------------- JWKS


class JwksCache:
    """The issuer's signing keys, fetched and cached.

    Parameters
    ----------
    jwks_url
        The key set URL; ``None``: discovered from ``issuer``.
    issuer
        Issuer URL (for discovery).
    ttl_s
        Keys older than this are refetched before use, s.
    min_refresh_s
        Unknown ``kid``: refetch at most this often, s.
    timeout_s
        HTTP timeout, s.
    max_bytes, max_keys
        Bounds of an accepted key-set document.
    client
        HTTP client (default: one of its own, no proxies from the environment).
    """

    def __init__(
        self,
        jwks_url: str | None,
        issuer: str | None = None,
        *,
        ttl_s: float = 600.0,
        min_refresh_s: float = 30.0,
        timeout_s: float = 5.0,
        max_bytes: int = 512 * 1024,
        max_keys: int = 64,
        client: httpx.Client | None = None,
    ) -> None:
        if jwks_url is None and issuer is None:
            raise ValueError("a JWKS cache needs a key-set URL or an issuer")
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.ttl_s = ttl_s
        self.min_refresh_s = min_refresh_s
        self.max_bytes = max_bytes
        self.max_keys = max_keys
        self.client = client or httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched = -float("inf")
        self._lock = threading.Lock()
        self.fetches = 0

    def _get_json(self, url: str) -> Any:
        with self.client.stream("GET", url) as response:
            if response.status_code != 200:
                raise AuthenticationError(f"{url} answered HTTP {response.status_code}", 503)
            data = b""
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > self.max_bytes:
                    raise AuthenticationError(f"{url}: document over {self.max_bytes} bytes", 503)
        return json.loads(data)

    def _key_set_url(self) -> str:
        if self.jwks_url is None:
            assert self.issuer is not None
            meta = self._get_json(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
            uri = meta.get("jwks_uri") if isinstance(meta, Mapping) else None
            if not isinstance(uri, str):
                raise AuthenticationError("issuer metadata has no jwks_uri", 503)
            self.jwks_url = uri
        return self.jwks_url

    def _refresh(self) -> None:
        self._fetched = time.monotonic()
        self.fetches += 1
        try:
            doc = self._get_json(self._key_set_url())
        except (httpx.HTTPError, ValueError) as exc:
            raise AuthenticationError(f"cannot fetch the issuer's keys: {exc}", 503) from None
        entries = doc.get("keys") if isinstance(doc, Mapping) else None
        if not isinstance(entries, list):
            raise AuthenticationError("the issuer's key set has no 'keys' list", 503)
        keys: dict[str, jwt.PyJWK] = {}
        for entry in entries[: self.max_keys]:
            if not isinstance(entry, Mapping) or entry.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(dict(entry))
            except jwt.PyJWTError:
                continue  # unsupported key type: skip it, keep the others
            keys[str(entry.get("kid", ""))] = key
        self._keys = keys

    def key(self, kid: str | None) -> jwt.PyJWK:
        """The signing key ``kid`` names (the only key when the token names none).

        Raises
        ------
        AuthenticationError
            401 for an unknown key; 503 when the key set cannot be fetched.
        """
        with self._lock:
            now = time.monotonic()
            if now - self._fetched > self.ttl_s:
                self._refresh()
            name = kid or ""
            if name not in self._keys and now - self._fetched >= self.min_refresh_s:
                self._refresh()  # a rotated key: fetch once, bounded
            found = self._keys.get(name)
            if found is None and kid is None and len(self._keys) == 1:
                found = next(iter(self._keys.values()))
        if found is None:
            raise AuthenticationError(f"token signed with an unknown key (kid {kid!r})")
        return found


@dataclass
class OidcVerifier:
    """Verifies OpenID Connect access tokens (JWT).

    Parameters
    ----------
    issuer, audience
        Expected ``iss`` and ``aud``.
    jwks
        The issuer's keys.
    algorithms
        Allowed JWS algorithms (a subset of :data:`ALLOWED_ALGORITHMS`).
    roles_claim
        Dotted path of the roles claim (``roles``, ``realm_access.roles``); a list of
        strings or a space-separated string.
    admin_role
        Role that makes a caller admin.
    leeway_s
        Clock skew tolerated on ``exp``/``nbf``/``iat``, s.
    """

    issuer: str
    audience: str
    jwks: JwksCache
    algorithms: tuple[str, ...] = ("RS256", "PS256", "ES256", "EdDSA")
    roles_claim: str = "roles"
    admin_role: str = "admin"
    leeway_s: float = 30.0

    def __post_init__(self) -> None:
        bad = set(self.algorithms) - ALLOWED_ALGORITHMS
        if bad:
            raise ValueError(f"JWS algorithms {sorted(bad)} not allowed (asymmetric only)")

    def roles_of(self, claims: Mapping[str, Any]) -> frozenset[str]:
        """The roles in the configured claim."""
        value: Any = claims
        for part in self.roles_claim.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if isinstance(value, str):
            return frozenset(value.split())
        if isinstance(value, list):
            return frozenset(v for v in value if isinstance(v, str))
        return frozenset()

    def verify(self, token: str) -> Principal:
        """The caller a valid token stands for.

        Raises
        ------
        AuthenticationError
            Malformed, wrongly signed, expired, not yet valid, wrong issuer or audience,
            unknown key or disallowed algorithm (401); key set unavailable (503).
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthenticationError("malformed bearer token") from None
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise AuthenticationError(f"token algorithm {alg!r} is not accepted")
        kid = header.get("kid")
        key = self.jwks.key(kid if isinstance(kid, str) else None)
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[str(alg)],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iss", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("token expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthenticationError("token not valid yet (nbf)") from None
        except jwt.InvalidAudienceError:
            raise AuthenticationError("token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise AuthenticationError("token from another issuer") from None
        except jwt.InvalidSignatureError:
            raise AuthenticationError("token signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"invalid token: {exc}") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject or len(subject) > 256:
            raise AuthenticationError("token has no usable 'sub'")
        roles = self.roles_of(claims)
        return Principal(subject, roles, self.admin_role in roles, "oidc")


# ---------------------------------------------------------------------------- authenticator


@dataclass
class Authenticator:
    """Turns request credentials into a :class:`Principal`.

    Parameters
    ----------
    api_keys
        Key store (``None``: API keys not accepted).
    oidc
        Token verifier (``None``: bearer JWTs not accepted).
    admin_role
        Role of API keys that makes the caller admin.
    """

    api_keys: ApiKeyStore | None = None
    oidc: OidcVerifier | None = None
    admin_role: str = "admin"

    def authenticate(self, authorization: str | None, api_key: str | None) -> Principal | None:
        """The caller, or ``None`` when no credentials were given.

        Raises
        ------
        AuthenticationError
            Credentials given but not valid.
        """
        credential = api_key
        if credential is None and authorization:
            scheme, _, value = authorization.strip().partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise AuthenticationError("use 'Authorization: Bearer <token or API key>'")
            credential = value.strip()
        if credential is None:
            return None
        if credential.startswith(API_KEY_PREFIX):
            if self.api_keys is None:
                raise AuthenticationError("API keys are not accepted here")
            found = self.api_keys.verify(credential)
            if found is None:
                raise AuthenticationError("invalid or revoked API key")
            return Principal(found.owner, found.roles, self.admin_role in found.roles, "apikey")
        if self.oidc is None:
            raise AuthenticationError("bearer tokens are not accepted here (no OIDC issuer)")
        return self.oidc.verify(credential)


@dataclass(frozen=True)
class ApiPolicy:
    """What the routes enforce besides identity.

    Attributes
    ----------
    targets
        Which webhook addresses and object-store prefixes subscriptions may use.
    limits
        Per-user subscription limits and the pull-queue length.
    stac_public
        STAC search without credentials.
    """

    targets: TargetPolicy = field(default_factory=TargetPolicy)
    limits: SubscriptionLimits = field(default_factory=SubscriptionLimits)
    stac_public: bool = True
    dashboard_public_aois: bool = False
    """Show every subscription's AOI on the dashboard map to anyone (a local demo);
    otherwise callers see their own AOIs, admins all, anonymous callers none."""


@dataclass
class Security:
    """What :func:`install_security` puts on ``app.state.security``."""

    authenticator: Authenticator
    policy: ApiPolicy


def _store_path(app: FastAPI) -> Path | None:
    state = getattr(app.state, "eoport", None)
    path = getattr(getattr(state, "subscriptions", None), "path", None)
    return Path(path) if path is not None else None


def build_security(settings: Any, app: FastAPI) -> Security:
    """The security of ``app`` from :class:`eoport.config.ApiSettings` ``settings``.

    API keys are read from the subscription store's sqlite file (when the app's store is
    the embedded one).
    """
    path = _store_path(app) if settings.api_keys else None
    oidc = None
    if settings.oidc_issuer:
        jwks = JwksCache(
            settings.oidc_jwks_url, settings.oidc_issuer, ttl_s=settings.oidc_jwks_ttl_s,
            min_refresh_s=settings.oidc_jwks_min_refresh_s,
        )  # fmt: skip
        oidc = OidcVerifier(
            settings.oidc_issuer, str(settings.oidc_audience), jwks,
            tuple(settings.oidc_algorithms), settings.oidc_roles_claim, settings.admin_role,
            settings.oidc_leeway_s,
        )  # fmt: skip
    authenticator = Authenticator(
        ApiKeyStore(path) if path is not None else None, oidc, settings.admin_role
    )
    policy = ApiPolicy(
        settings.target_policy(), settings.limits(), settings.stac_public,
        bool(getattr(settings, "dashboard_public_aois", False)),
    )  # fmt: skip
    return Security(authenticator, policy)


_FALLBACK_LOCK = threading.Lock()


def security_of(request: Request) -> Security:
    """The security installed on the app (built once from ``ApiSettings()`` defaults and
    the environment when :func:`install_security` was not called)."""
    app = request.app
    found = getattr(app.state, "security", None)
    if isinstance(found, Security):
        return found
    with _FALLBACK_LOCK:
        found = getattr(app.state, "security", None)
        if not isinstance(found, Security):
            found = build_security(ApiSettings(), app)
            app.state.security = found
    return found


# ---------------------------------------------------------------------------- dependencies


def _unauthorized(message: str, status: int = 401) -> HTTPException:
    if status != 401:
        return HTTPException(status, message)
    error = f'{REALM}, error="invalid_token", error_description="{message}"'
    return HTTPException(401, message, headers={"WWW-Authenticate": error})


def optional_user(request: Request) -> Principal | None:
    """The caller, ``None`` without credentials; 401/503 for bad credentials."""
    sec = security_of(request)
    try:
        return sec.authenticator.authenticate(
            request.headers.get("authorization"), request.headers.get("x-api-key")
        )
    except AuthenticationError as exc:
        log.info("authentication refused: %s", exc)
        raise _unauthorized(str(exc), exc.status) from None


def current_user(request: Request) -> Principal:
    """The authenticated caller (401 with ``WWW-Authenticate`` without credentials)."""
    user = optional_user(request)
    if user is None:
        raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": REALM})
    return user


def require_admin(request: Request) -> Principal:
    """The caller, who must have the admin role (403 otherwise)."""
    user = current_user(request)
    if not user.admin:
        raise HTTPException(403, "admin role required")
    return user


def require_reader(request: Request) -> Principal:
    """For the STAC routes: anyone when ``stac_public``, else an authenticated caller.

    Use as a router dependency: ``APIRouter(dependencies=[Depends(require_reader)])``.
    """
    if security_of(request).policy.stac_public:
        user = optional_user(request)
        return user if user is not None else ANONYMOUS
    return current_user(request)


def api_policy(request: Request) -> ApiPolicy:
    """The :class:`ApiPolicy` of the app."""
    return security_of(request).policy


UserDep = Annotated[Principal, Depends(current_user)]
AdminDep = Annotated[Principal, Depends(require_admin)]
ReaderDep = Annotated[Principal, Depends(require_reader)]
PolicyDep = Annotated[ApiPolicy, Depends(api_policy)]


# ---------------------------------------------------------------------------- body limit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimitMiddleware:
    """ASGI middleware: a request body over ``max_bytes`` gets 413 before the app parses
    it: a larger ``Content-Length`` at once; a body without one (chunked) is read up to
    the limit first (memory bounded by ``max_bytes``) and refused as soon as the count
    passes it.

    Parameters
    ----------
    app
        The wrapped ASGI application.
    max_bytes
        Largest accepted body.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = 8 * 1024 * 1024) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            {"detail": f"request body larger than {self.max_bytes} bytes"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope)
        if declared is not None and (declared < 0 or declared > self.max_bytes):
            await self._reject(send)
            return
        if declared_length(scope) is not None:
            # the server delivers at most the declared length, checked above
            await self.app(scope, receive, send)
            return
        # no Content-Length (chunked): read up to the limit before the app sees anything
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # client gone
            body = message.get("body", b"")
            seen += len(body)
            if seen > self.max_bytes:
                await self._reject(send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length`` (``None``: not declared; ``-1``: malformed)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None


# ---------------------------------------------------------------------------- wiring


def install_security(app: FastAPI, settings: Any = None) -> Security:
    """Install authentication, the API policy and the body limit on ``app``.

    Call from :func:`eoport.api.main.create_app` after ``app.state.eoport`` is set and
    before the app serves (the middleware cannot be added later).

    Parameters
    ----------
    app
        The application.
    settings
        :class:`eoport.config.ApiSettings` (other settings classes, or ``None``: the
        ``ApiSettings`` defaults and the environment, with their ``state_dir``).
    """
    if not isinstance(settings, ApiSettings):
        base = {} if settings is None else {"state_dir": settings.state_dir}
        settings = ApiSettings(**base)
    sec = build_security(settings, app)
    app.state.security = sec
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    return sec
