"""AOI subscriptions: what a user wants delivered, where, and which bursts to focus.

A :class:`Subscription` names an area of interest (GeoJSON Polygon or MultiPolygon,
lon/lat degrees), product filters (modes, swaths, polarisations, product types; empty
means any) and a delivery target: a webhook (CDSE ``NotificationEndpoint`` style, http or
https with optional basic auth), an object-store prefix (``file://`` or ``s3://``) or a
pull queue acknowledged by AckId (sentinel1-facts.md, "Conventions users already know");
the models are in :mod:`streams.subscription_models` and re-exported here.

Subscriptions persist in a :class:`SubscriptionStore`; :class:`SqliteSubscriptionStore`
is the embedded, durable implementation (one sqlite file, every change one transaction).
The distributed setup can put a compacted Kafka topic behind the same protocol.
:class:`SubscriptionIndex` matches a footprint and attributes against the AOIs with a
shapely STRtree; :class:`LiveSubscriptionIndex` rebuilds it when the store changes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeAlias

from shapely import STRtree
from shapely.geometry.base import BaseGeometry

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
    parse_filter,
    utc_now,
)
from streams.messages.products import ProductAttributes, ProductRecord, parse_geometry

# ---------------------------------------------------------------------------- stores


class SubscriptionStore(Protocol):
    """Where subscriptions live. ``revision`` grows with every change (index rebuilds)."""

    def add(self, sub: Subscription) -> None:
        """Store a new subscription (replaces one with the same id)."""

    def get(self, sub_id: str) -> Subscription:
        """The subscription, or :class:`SubscriptionNotFoundError`."""

    def all(self) -> list[Subscription]:
        """Every subscription, oldest first."""

    def count_by_status(self) -> dict[str, int]:
        """Number of subscriptions per status (cheap: for health and metrics)."""

    def delete(self, sub_id: str) -> None:
        """Remove it, or :class:`SubscriptionNotFoundError`."""

    def revision(self) -> int:
        """Counter incremented by every change."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriptions (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('revision', 0);
"""


class SqliteSubscriptionStore:
    """Durable embedded store: one sqlite file (WAL), each change one transaction.

    Safe across threads and processes (one connection per call; writers serialise on
    sqlite's lock), so the API process and the delivery process can share the file.

    Parameters
    ----------
    path
        The sqlite file; its directory is created.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("UPDATE meta SET value = value + 1 WHERE key = 'revision'")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def add(self, sub: Subscription) -> None:
        """Store (or replace) a subscription."""
        with self._write() as con:
            con.execute(
                "INSERT OR REPLACE INTO subscriptions (id, created, body) VALUES (?, ?, ?)",
                (sub.id, sub.created.isoformat(), sub.storage_json()),
            )

    def get(self, sub_id: str) -> Subscription:
        """The subscription with this id."""
        with self._connect() as con:
            row = con.execute("SELECT body FROM subscriptions WHERE id = ?", (sub_id,)).fetchone()
        if row is None:
            raise SubscriptionNotFoundError(f"no subscription {sub_id!r}")
        return Subscription.model_validate_json(row[0])

    def all(self) -> list[Subscription]:
        """Every subscription, oldest first."""
        with self._connect() as con:
            rows = con.execute("SELECT body FROM subscriptions ORDER BY created, rowid").fetchall()
        return [Subscription.model_validate_json(r[0]) for r in rows]

    def count_by_status(self) -> dict[str, int]:
        """Number of subscriptions per status, counted by the database (health checks and
        metrics do constant work: no subscription is parsed)."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT json_extract(body, '$.status'), COUNT(*) FROM subscriptions GROUP BY 1"
            ).fetchall()
        return {str(status): int(n) for status, n in rows}

    def delete(self, sub_id: str) -> None:
        """Remove a subscription."""
        with self._write() as con:
            cur = con.execute("DELETE FROM subscriptions WHERE id = ?", (sub_id,))
            if cur.rowcount == 0:
                raise SubscriptionNotFoundError(f"no subscription {sub_id!r}")

    def revision(self) -> int:
        """Change counter (persisted with the data)."""
        with self._connect() as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()
        return int(row[0])


# ---------------------------------------------------------------------------- matching


Footprint: TypeAlias = BaseGeometry | Mapping[str, Any]


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

    def match(self, footprint: Footprint, attrs: ProductAttributes) -> list[Subscription]:
        """Subscriptions whose AOI shares area with ``footprint`` and whose filters accept
        ``attrs``, in creation order."""
        shape = _as_shape(footprint)
        hits = sorted(int(i) for i in self._tree.query(shape, predicate="intersects"))
        return [self._subs[i] for i in hits if self._subs[i].matches(shape, attrs)]

    def match_product(self, product: ProductRecord) -> list[Subscription]:
        """Subscriptions a product is for."""
        return self.match(product.shape, product.attributes)

    def should_focus(self, footprint: Footprint, attrs: ProductAttributes) -> bool:
        """Whether any subscription wants a burst with this footprint and attributes."""
        return bool(self.match(footprint, attrs))


class LiveSubscriptionIndex:
    """A :class:`SubscriptionIndex` that follows a store: rebuilt when its revision moves.

    Parameters
    ----------
    store
        The subscription store.
    """

    def __init__(self, store: SubscriptionStore) -> None:
        self.store = store
        self._revision = -1
        self._index = SubscriptionIndex(())
        self._lock = threading.Lock()

    def current(self) -> SubscriptionIndex:
        """The index, rebuilt first if the store changed since the last call."""
        with self._lock:
            rev = self.store.revision()
            if rev != self._revision:
                self._index = SubscriptionIndex(self.store.all())
                self._revision = rev
            return self._index

    def match(self, footprint: Footprint, attrs: ProductAttributes) -> list[Subscription]:
        """See :meth:`SubscriptionIndex.match`."""
        return self.current().match(footprint, attrs)

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
    "utc_now",
)
