"""API keys of the embedded deployment, hashed at rest.

A key is ``eop_<key id>_<secret>``: 12 hex digits naming the row and 43 url-safe
characters of secret (256 random bits). Only the SHA-256 digest of the secret is
stored; with that much entropy a fast hash is enough (nothing to brute-force), and the
comparison is constant-time. Keys live in a table of the subscription store's sqlite
file (mode 0600), so ``eoport demo --serve`` and the API find them without more
configuration. Deployments with an identity provider use OpenID Connect tokens instead
(:mod:`eoport.api.auth`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from streams._infra.sqlite import SqliteFile

__all__ = ["API_KEY_PREFIX", "ApiKey", "ApiKeyStore", "create_api_key"]

API_KEY_PREFIX = "eop_"
_KEY = re.compile(r"^eop_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    owner TEXT NOT NULL,
    roles TEXT NOT NULL,
    name TEXT,
    created TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True)
class ApiKey:
    """Who a valid key stands for."""

    key_id: str
    owner: str
    roles: frozenset[str]
    name: str | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyStore:
    """API keys in a sqlite file (the subscription store's).

    Parameters
    ----------
    path
        The sqlite file (created 0600 if missing).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db = SqliteFile(self.path, private=True)
        with self.db.connect() as con:
            con.executescript(_SCHEMA)

    def create(self, owner: str, roles: Iterable[str] = (), name: str | None = None) -> str:
        """A new key for ``owner`` with ``roles``; the key text is returned only here."""
        if not owner or len(owner) > 256:
            raise ValueError("an API key needs an owner of 1 to 256 characters")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        with self.db.write() as con:
            con.execute(
                "INSERT INTO api_keys (key_id, digest, owner, roles, name, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key_id, _digest(secret), owner, ",".join(sorted(set(roles))), name,
                 datetime.now(UTC).isoformat()),
            )  # fmt: skip
        return f"{API_KEY_PREFIX}{key_id}_{secret}"

    def verify(self, key: str) -> ApiKey | None:
        """Who ``key`` stands for, or ``None`` (malformed, unknown, revoked or wrong)."""
        m = _KEY.match(key)
        if m is None:
            return None
        key_id, secret = m.groups()
        with self.db.connect() as con:
            row = con.execute(
                "SELECT digest, owner, roles, name, revoked FROM api_keys WHERE key_id = ?",
                (key_id,),
            ).fetchone()
        expected = row[0] if row is not None else "0" * 64
        ok = hmac.compare_digest(expected, _digest(secret))
        if row is None or not ok or row[4]:
            return None
        roles = frozenset(r for r in str(row[2]).split(",") if r)
        return ApiKey(key_id, str(row[1]), roles, row[3])

    def revoke(self, key_id: str) -> bool:
        """Revoke a key by its id; ``False`` when there is no such key."""
        with self.db.write() as con:
            cur = con.execute("UPDATE api_keys SET revoked = 1 WHERE key_id = ?", (key_id,))
            return cur.rowcount > 0


def create_api_key(
    store: ApiKeyStore | str | Path, owner: str, roles: Iterable[str] = (),
    name: str | None = None,
) -> str:  # fmt: skip
    """Create an API key for ``owner`` (``store``: a key store or its sqlite file, e.g. the
    subscription store's ``path``); return the key text (shown once, stored hashed)."""
    keys = store if isinstance(store, ApiKeyStore) else ApiKeyStore(store)
    return keys.create(owner, roles, name)
