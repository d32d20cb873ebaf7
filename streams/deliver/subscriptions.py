"""AOI subscriptions: what a user wants delivered, where, and which bursts to focus.

A :class:`Subscription` names an area of interest (GeoJSON Polygon or MultiPolygon,
lon/lat degrees), product filters (modes, swaths, polarisations, product types; empty
means any) and a delivery target: a webhook (CDSE ``NotificationEndpoint`` style, http or
https with optional basic auth), an object-store prefix (``file://`` or ``s3://``) or a
pull queue acknowledged by AckId (``docs/sentinel1-facts.md``, "Conventions users already
know"); the models are in :mod:`streams.subscription_models` and re-exported here.

Subscriptions persist in a :class:`SubscriptionStore`; :class:`SqliteSubscriptionStore`
is the embedded, durable implementation (one sqlite file, every change one transaction).
The distributed setup can put a compacted Kafka topic behind the same protocol.
:class:`SubscriptionIndex` matches a footprint and attributes against the AOIs with a
shapely STRtree; :class:`LiveSubscriptionIndex` rebuilds it when the store changes.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeAlias

from shapely import STRtree
from shapely.geometry.base import BaseGeometry

from streams._infra.errors import PermanentError
from streams._infra.sqlite import SqliteFile
from streams.deliver.models import (
    Clock,
    ObjectStoreTarget,
    ProductFilter,
    QueueTarget,
    Subscription,
    SubscriptionNotFoundError,
    SubscriptionSpec,
    SubscriptionStatus,
    Target,
    WebhookTarget,
    new_subscription,
    overlaps,
    parse_filter,
    utc_now,
)
from streams.deliver.policy import LimitExceededError, SubscriptionLimits
from streams.deliver.secrets import SecretBox
from streams.messages.products import ProductAttributes, ProductRecord, parse_geometry

# ---------------------------------------------------------------------------- stores


class InvalidPageTokenError(PermanentError, ValueError):
    """A paging token this service did not hand out (API: 400)."""


class SubscriptionStore(Protocol):
    """Where subscriptions live. ``revision`` grows with every change (index rebuilds)."""

    def add(self, sub: Subscription, *, limits: SubscriptionLimits | None = None) -> None:
        """Store a new subscription or replace the one with the same id; with ``limits``,
        refuse (:class:`LimitExceededError`) a change that would exceed the owner's."""

    def get(self, sub_id: str) -> Subscription:
        """The subscription, or :class:`SubscriptionNotFoundError`."""

    def all(self) -> list[Subscription]:
        """Every subscription, oldest first."""

    def running(self, *, secrets: bool = True) -> list[Subscription]:
        """The subscriptions with status ``active``, oldest first (``secrets=False``:
        target credentials left out)."""

    def page(
        self, owner: str | None, limit: int, token: str | None = None
    ) -> tuple[list[Subscription], str | None]:
        """Up to ``limit`` subscriptions of ``owner`` (``None``: everyone's), oldest first,
        after the position ``token`` names; and the token of the next page (``None``:
        last page)."""

    def count_by_status(self) -> dict[str, int]:
        """Number of subscriptions per status (cheap: for health and metrics)."""

    def count_for_owner(self, owner: str) -> dict[str, int]:
        """Number of ``owner``'s subscriptions per status."""

    def delete(self, sub_id: str) -> None:
        """Remove it, or :class:`SubscriptionNotFoundError`."""

    def revision(self) -> int:
        """Counter incremented by every change."""


_BUMP_REVISION = ("UPDATE meta SET value = value + 1 WHERE key = 'revision'",)
"""Run before every commit: the change counter that live indexes follow."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriptions (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    body TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'active'
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('revision', 0);
"""

_SECRET_FIELDS = ("password", "secret_key")
"""Target fields holding secrets: sealed (:class:`SecretBox`) in the stored body."""


def _seal(body: dict[str, Any], box: SecretBox) -> dict[str, Any]:
    target = dict(body.get("target") or {})
    for name in _SECRET_FIELDS:
        value = target.get(name)
        if isinstance(value, str) and not SecretBox.is_sealed(value):
            target[name] = box.seal(value)
    return {**body, "target": target}


def _unseal(body: dict[str, Any], box: SecretBox) -> dict[str, Any]:
    target = dict(body.get("target") or {})
    for name in _SECRET_FIELDS:
        value = target.get(name)
        if SecretBox.is_sealed(value):
            target[name] = box.open(str(value))
    return {**body, "target": target}


def _encode_token(created: str, rowid: int) -> str:
    raw = json.dumps([created, rowid], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        created, rowid = json.loads(raw)
        if isinstance(created, str) and isinstance(rowid, int):
            return created, rowid
    except (ValueError, TypeError, binascii.Error):
        pass
    raise InvalidPageTokenError(f"page token {token[:40]!r} is not one this service issued")


class SqliteSubscriptionStore:
    """Durable embedded store: one sqlite file (WAL, mode 0600), each change one
    transaction; webhook passwords and object-store secret keys sealed with ``box``.

    Safe across threads and processes (one connection per call; writers serialise on
    sqlite's lock), so the API process, the ``deliver`` stage and the assembler share the
    file. Rows written by earlier versions are migrated when the file is opened: owner
    and status columns are added (legacy rows: owner ``''``, visible to admins) and
    secrets stored in clear are sealed.

    Parameters
    ----------
    path
        The sqlite file; its directory is created (0700 when new).
    box
        Encrypts the secrets; default: the key file next to ``path``
        (:meth:`SecretBox.for_state_dir`).
    """

    def __init__(self, path: str | Path, box: SecretBox | None = None) -> None:
        self.path = Path(path)
        # replaced secrets leave no trace in the file
        self.db = SqliteFile(self.path, private=True, pragmas=("secure_delete = ON",))
        self.box = box if box is not None else SecretBox.for_state_dir(self.path.parent)
        with self.db.connect() as con:
            con.executescript(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        with self.db.connect() as con:
            columns = {r[1] for r in con.execute("PRAGMA table_info(subscriptions)")}
        if "owner" not in columns:
            with self.db.write(_BUMP_REVISION) as con:
                con.execute("ALTER TABLE subscriptions ADD COLUMN owner TEXT NOT NULL DEFAULT ''")
                con.execute(
                    "ALTER TABLE subscriptions ADD COLUMN status TEXT NOT NULL DEFAULT 'active'"
                )
                con.execute(
                    "UPDATE subscriptions SET owner = COALESCE(json_extract(body, '$.owner'), ''),"
                    " status = COALESCE(json_extract(body, '$.status'), 'active')"
                )
        with self.db.connect() as con:
            con.execute(
                "CREATE INDEX IF NOT EXISTS subscriptions_owner ON subscriptions (owner, created)"
            )
            rows = con.execute(
                "SELECT id, body FROM subscriptions WHERE "
                "json_extract(body, '$.target.url') LIKE '%@%' OR "
                + " OR ".join(
                    f"(json_extract(body, '$.target.{f}') IS NOT NULL AND "
                    f"json_extract(body, '$.target.{f}') NOT LIKE 'fernet:v1:%')"
                    for f in _SECRET_FIELDS
                )
            ).fetchall()
        if rows:  # secrets in clear (earlier versions): seal them, leave no trace in the file
            with self.db.write(_BUMP_REVISION) as con:
                for sub_id, body in rows:
                    sub = self._load(body)  # moves URL credentials to the secret fields
                    sealed = json.dumps(_seal(json.loads(sub.storage_json()), self.box))
                    con.execute("UPDATE subscriptions SET body = ? WHERE id = ?", (sealed, sub_id))
            with self.db.connect() as con:
                con.execute("VACUUM")
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _load(self, body: str, *, secrets: bool = True) -> Subscription:
        data = json.loads(body)
        if not secrets:  # matching only: never decrypt (and never need the key)
            target = {
                k: v for k, v in (data.get("target") or {}).items()
                if k not in (*_SECRET_FIELDS, "username", "access_key")
            }  # fmt: skip
            return Subscription.model_validate({**data, "target": target})
        return Subscription.model_validate(_unseal(data, self.box))

    @staticmethod
    def _check_limits(
        con: sqlite3.Connection, sub: Subscription, limits: SubscriptionLimits
    ) -> None:
        checks = (
            (sub.running, limits.max_running, "status = 'active'",
             "running subscription(s) per user; pause or cancel one first"),
            (sub.status is not SubscriptionStatus.CANCELLED, limits.max_total,
             "status <> 'cancelled'",
             "subscriptions (running or paused) per user; delete or cancel one first"),
        )  # fmt: skip
        for applies, limit, counted, what in checks:
            if not applies or limit is None:
                continue
            (n,) = con.execute(
                f"SELECT COUNT(*) FROM subscriptions WHERE owner = ? AND {counted} AND id <> ?",
                (sub.owner, sub.id),
            ).fetchone()
            if n >= limit:
                raise LimitExceededError(f"at most {limit} {what}")

    def add(self, sub: Subscription, *, limits: SubscriptionLimits | None = None) -> None:
        """Store (or replace) a subscription, its secrets sealed.

        Raises
        ------
        LimitExceededError
            With ``limits``: the owner would have too many running or total subscriptions.
        """
        body = json.dumps(_seal(json.loads(sub.storage_json()), self.box))
        with self.db.write(_BUMP_REVISION) as con:
            if limits is not None:
                self._check_limits(con, sub, limits)
            con.execute(
                "INSERT INTO subscriptions (id, created, body, owner, status) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "body = excluded.body, owner = excluded.owner, status = excluded.status",
                (sub.id, sub.created.isoformat(), body, sub.owner, sub.status.value),
            )

    def get(self, sub_id: str) -> Subscription:
        """The subscription with this id (secrets decrypted)."""
        with self.db.connect() as con:
            row = con.execute("SELECT body FROM subscriptions WHERE id = ?", (sub_id,)).fetchone()
        if row is None:
            raise SubscriptionNotFoundError(f"no subscription {sub_id!r}")
        return self._load(row[0])

    def all(self) -> list[Subscription]:
        """Every subscription, oldest first."""
        with self.db.connect() as con:
            rows = con.execute("SELECT body FROM subscriptions ORDER BY created, rowid").fetchall()
        return [self._load(r[0]) for r in rows]

    def running(self, *, secrets: bool = True) -> list[Subscription]:
        """The subscriptions with status ``active``, oldest first (what indexes need);
        ``secrets=False`` leaves the target credentials out (early selection only
        matches, it never sends)."""
        with self.db.connect() as con:
            rows = con.execute(
                "SELECT body FROM subscriptions WHERE status = 'active' ORDER BY created, rowid"
            ).fetchall()
        return [self._load(r[0], secrets=secrets) for r in rows]

    def page(
        self, owner: str | None, limit: int, token: str | None = None
    ) -> tuple[list[Subscription], str | None]:
        """One page of subscriptions, oldest first (see :class:`SubscriptionStore`).

        Raises
        ------
        InvalidPageTokenError
            For a token this store did not hand out.
        """
        sql = "SELECT created, rowid, body FROM subscriptions WHERE 1 = 1"
        args: list[Any] = []
        if owner is not None:
            sql += " AND owner = ?"
            args.append(owner)
        if token is not None:
            created, rowid = _decode_token(token)
            sql += " AND (created > ? OR (created = ? AND rowid > ?))"
            args += [created, created, rowid]
        sql += " ORDER BY created, rowid LIMIT ?"
        args.append(limit + 1)
        with self.db.connect() as con:
            rows = con.execute(sql, args).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        subs = [self._load(r[2]) for r in rows]
        return subs, (_encode_token(rows[-1][0], rows[-1][1]) if more and rows else None)

    def count_by_status(self) -> dict[str, int]:
        """Number of subscriptions per status, counted by the database (health checks and
        metrics do constant work: no subscription is parsed)."""
        with self.db.connect() as con:
            rows = con.execute("SELECT status, COUNT(*) FROM subscriptions GROUP BY 1").fetchall()
        return {str(status): int(n) for status, n in rows}

    def count_for_owner(self, owner: str) -> dict[str, int]:
        """Number of ``owner``'s subscriptions per status."""
        with self.db.connect() as con:
            rows = con.execute(
                "SELECT status, COUNT(*) FROM subscriptions WHERE owner = ? GROUP BY 1", (owner,)
            ).fetchall()
        return {str(status): int(n) for status, n in rows}

    def delete(self, sub_id: str) -> None:
        """Remove a subscription."""
        with self.db.write(_BUMP_REVISION) as con:
            cur = con.execute("DELETE FROM subscriptions WHERE id = ?", (sub_id,))
            if cur.rowcount == 0:
                raise SubscriptionNotFoundError(f"no subscription {sub_id!r}")

    def revision(self) -> int:
        """Change counter (persisted with the data)."""
        with self.db.connect() as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()
        return int(row[0])


# ---------------------------------------------------------------------------- matching


Footprint: TypeAlias = BaseGeometry | Mapping[str, Any]


def stac_item_of(product: ProductRecord) -> dict[str, Any]:
    """The product's STAC Item (no links), what CQL2 filters and notifications see."""
    from streams.catalogue.stac import product_to_stac_item

    return product_to_stac_item(product)


def _as_shape(footprint: Footprint) -> BaseGeometry:
    if isinstance(footprint, BaseGeometry):
        return footprint
    return parse_geometry(footprint, ("Polygon", "MultiPolygon"), "footprint")


class SubscriptionIndex:
    """Spatial index of active subscriptions (shapely STRtree over the AOIs).

    Parameters
    ----------
    subscriptions
        Subscriptions to index; paused ones are left out.
    """

    def __init__(self, subscriptions: Iterable[Subscription]) -> None:
        self._subs = [s for s in subscriptions if s.status is SubscriptionStatus.ACTIVE]
        self._tree = STRtree([s.shape for s in self._subs])

    def __len__(self) -> int:
        return len(self._subs)

    def _near(self, shape: BaseGeometry) -> list[Subscription]:
        hits = sorted(int(i) for i in self._tree.query(shape, predicate="intersects"))
        return [self._subs[i] for i in hits]

    def match(
        self,
        footprint: Footprint,
        attrs: ProductAttributes,
        item: Callable[[], Mapping[str, Any]] | None = None,
    ) -> list[Subscription]:
        """Subscriptions whose AOI shares area with ``footprint``, whose filters accept
        ``attrs`` and whose CQL2 filter (if any) accepts the STAC Item ``item()`` (built
        once, on demand), in creation order."""
        shape = _as_shape(footprint)
        cached: list[Mapping[str, Any]] = []

        def once() -> Mapping[str, Any]:
            if not cached and item is not None:
                cached.append(item())
            return cached[0]

        getter = once if item is not None else None
        return [s for s in self._near(shape) if s.matches(shape, attrs, getter)]

    def candidates(self, footprint: Footprint, attrs: ProductAttributes) -> list[Subscription]:
        """Subscriptions whose AOI and attribute filters accept a product, CQL2 filters
        not evaluated (what early selection starts from, before any item exists)."""
        shape = _as_shape(footprint)
        return [
            s for s in self._near(shape) if s.filters.accepts(attrs) and overlaps(s.shape, shape)
        ]

    def match_product(self, product: ProductRecord) -> list[Subscription]:
        """Subscriptions a product is for (CQL2 filters evaluated on its STAC Item)."""
        return self.match(product.shape, product.attributes, lambda: stac_item_of(product))

    def should_focus(self, footprint: Footprint, attrs: ProductAttributes) -> bool:
        """Whether any subscription may want a burst with this footprint and attributes
        (conservative: CQL2 filters, unknown before focusing, count as yes)."""
        return bool(self.candidates(footprint, attrs))


class LiveSubscriptionIndex:
    """A :class:`SubscriptionIndex` that follows a store: rebuilt when its revision moves.

    Parameters
    ----------
    store
        The subscription store.
    secrets
        Load target credentials (the ``deliver`` stage sends with them); ``False`` for
        matching only (the assembler's early selection).
    """

    def __init__(self, store: SubscriptionStore, *, secrets: bool = True) -> None:
        self.store = store
        self.secrets = secrets
        self._revision = -1
        self._index = SubscriptionIndex(())
        self._lock = threading.Lock()

    def current(self) -> SubscriptionIndex:
        """The index, rebuilt first if the store changed since the last call."""
        with self._lock:
            rev = self.store.revision()
            if rev != self._revision:
                self._index = SubscriptionIndex(self.store.running(secrets=self.secrets))
                self._revision = rev
            return self._index

    def match(
        self,
        footprint: Footprint,
        attrs: ProductAttributes,
        item: Callable[[], Mapping[str, Any]] | None = None,
    ) -> list[Subscription]:
        """See :meth:`SubscriptionIndex.match`."""
        return self.current().match(footprint, attrs, item)

    def candidates(self, footprint: Footprint, attrs: ProductAttributes) -> list[Subscription]:
        """See :meth:`SubscriptionIndex.candidates`."""
        return self.current().candidates(footprint, attrs)

    def match_product(self, product: ProductRecord) -> list[Subscription]:
        """See :meth:`SubscriptionIndex.match_product`."""
        return self.current().match_product(product)

    def should_focus(self, footprint: Footprint, attrs: ProductAttributes) -> bool:
        """See :meth:`SubscriptionIndex.should_focus`."""
        return self.current().should_focus(footprint, attrs)


def should_focus(
    index: SubscriptionIndex | LiveSubscriptionIndex,
    footprint: Footprint,
    attributes: ProductAttributes | Mapping[str, str],
) -> bool:
    """Whether a burst should be focused: some active subscription wants it.

    Parameters
    ----------
    index
        Index of the subscriptions.
    footprint
        Burst footprint predicted from the orbit (shapely geometry or GeoJSON, lon/lat).
    attributes
        Mode, swath, polarisation (and product type, default ``SLC``).
    """
    attrs = (
        attributes
        if isinstance(attributes, ProductAttributes)
        else ProductAttributes.model_validate(dict(attributes))
    )
    return index.should_focus(footprint, attrs)


__all__: Sequence[str] = (
    "Clock",
    "InvalidPageTokenError",
    "LimitExceededError",
    "LiveSubscriptionIndex",
    "ObjectStoreTarget",
    "ProductFilter",
    "QueueTarget",
    "SqliteSubscriptionStore",
    "Subscription",
    "SubscriptionIndex",
    "SubscriptionNotFoundError",
    "SubscriptionSpec",
    "SubscriptionStatus",
    "SubscriptionStore",
    "Target",
    "WebhookTarget",
    "new_subscription",
    "parse_filter",
    "should_focus",
    "stac_item_of",
    "utc_now",
)
