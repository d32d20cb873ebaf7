"""AOI subscriptions: what a user wants delivered, where, and which bursts to focus.

A :class:`Subscription` names an area of interest (GeoJSON Polygon or MultiPolygon,
lon/lat degrees), product filters (modes, swaths, polarisations, product types; empty
means any) and a delivery target: a webhook (CDSE ``NotificationEndpoint`` style, http or
https with optional basic auth), an object-store prefix (``file://`` or ``s3://``) or a
pull queue acknowledged by AckId (sentinel1-facts.md, "Conventions users already know").

Subscriptions persist in a :class:`SubscriptionStore`; :class:`SqliteSubscriptionStore`
is the embedded, durable implementation (one sqlite file, every change one transaction).
The distributed setup can put a compacted Kafka topic behind the same protocol.
:class:`SubscriptionIndex` matches a footprint and attributes against the AOIs with a
shapely STRtree; :class:`LiveSubscriptionIndex` rebuilds it when the store changes.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, TypeAlias
from urllib.parse import urlsplit

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    SerializationInfo,
    field_serializer,
    field_validator,
    model_validator,
)
from shapely import STRtree
from shapely import geometry as sgeom
from shapely.geometry.base import BaseGeometry

from streams.errors import PermanentError
from streams.products import (
    MODES,
    POLARISATIONS,
    PRODUCT_TYPES,
    SWATHS,
    ProductAttributes,
    ProductRecord,
    _plain_geometry,
    parse_geometry,
)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Current time, aware UTC (the default clock)."""
    return datetime.now(UTC)


class SubscriptionNotFoundError(PermanentError):
    """No subscription with the given id."""


class SubscriptionStatus(StrEnum):
    """Lifecycle of a subscription (strings: they appear in the HTTP API)."""

    ACTIVE = "active"
    PAUSED = "paused"


# ---------------------------------------------------------------------------- filters


_FILTER_FIELDS: dict[str, tuple[str, frozenset[str]]] = {
    "mode": ("modes", MODES),
    "instrumentmode": ("modes", MODES),
    "operationalmode": ("modes", MODES),
    "swath": ("swaths", SWATHS),
    "swathidentifier": ("swaths", SWATHS),
    "polarisation": ("polarisations", POLARISATIONS),
    "polarization": ("polarisations", POLARISATIONS),
    "polarisationchannels": ("polarisations", POLARISATIONS),
    "producttype": ("product_types", PRODUCT_TYPES),
}
_CLAUSE = re.compile(
    r"^\s*(?P<name>[A-Za-z_]+)\s+(?:eq\s+'(?P<eq>[^']*)'|in\s+\((?P<in>[^)]*)\))\s*$",
    re.IGNORECASE,
)


def _check_values(values: list[str], known: frozenset[str], what: str) -> list[str]:
    out = [v.strip().upper() for v in values]
    bad = [v for v in out if v not in known]
    if bad:
        raise ValueError(f"unknown {what} {bad}; known: {sorted(known)}")
    return sorted(set(out))


class ProductFilter(BaseModel):
    """Attribute filters of a subscription; an empty list accepts any value."""

    model_config = ConfigDict(extra="forbid")

    modes: list[str] = Field(default_factory=list)
    swaths: list[str] = Field(default_factory=list)
    polarisations: list[str] = Field(default_factory=list)
    product_types: list[str] = Field(default_factory=list)

    @field_validator("modes")
    @classmethod
    def _modes(cls, v: list[str]) -> list[str]:
        return _check_values(v, MODES, "mode")

    @field_validator("swaths")
    @classmethod
    def _swaths(cls, v: list[str]) -> list[str]:
        return _check_values(v, SWATHS, "swath")

    @field_validator("polarisations")
    @classmethod
    def _pols(cls, v: list[str]) -> list[str]:
        return _check_values(v, POLARISATIONS, "polarisation")

    @field_validator("product_types")
    @classmethod
    def _types(cls, v: list[str]) -> list[str]:
        return _check_values(v, PRODUCT_TYPES, "product type")

    def accepts(self, attrs: ProductAttributes) -> bool:
        """Whether a product with these attributes passes every non-empty filter."""
        return (
            (not self.modes or attrs.mode in self.modes)
            and (not self.swaths or attrs.swath in self.swaths)
            and (not self.polarisations or attrs.polarisation in self.polarisations)
            and (not self.product_types or attrs.product_type in self.product_types)
        )


def parse_filter(text: str) -> ProductFilter:
    """Parse an OData-like filter (the subset of CDSE's ``FilterParam`` eoport needs).

    Grammar: clauses joined by ``and``; a clause is ``Name eq 'value'`` or
    ``Name in ('a', 'b')``; names (case-insensitive): ``Mode``, ``Swath``,
    ``Polarisation``/``Polarization``, ``ProductType``.

    Example: ``"Mode eq 'IW' and Polarisation in ('VV', 'VH')"``.

    Raises
    ------
    ValueError
        With the offending clause, for anything outside the grammar.
    """
    values: dict[str, list[str]] = {}
    for clause in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        m = _CLAUSE.match(clause)
        if m is None:
            raise ValueError(
                f"filter clause {clause.strip()!r} not understood; use Name eq 'v' or "
                "Name in ('a', 'b') joined by 'and'"
            )
        name = m.group("name").lower()
        if name not in _FILTER_FIELDS:
            raise ValueError(
                f"filter attribute {m.group('name')!r} unknown; use Mode, Swath, "
                "Polarisation or ProductType"
            )
        field, _ = _FILTER_FIELDS[name]
        if m.group("eq") is not None:
            items = [m.group("eq")]
        else:
            items = [s.strip().strip("'") for s in m.group("in").split(",") if s.strip()]
        if field in values:
            raise ValueError(f"filter names {field} twice; use 'in (...)' for several values")
        values[field] = items
    return ProductFilter.model_validate(values)


# ---------------------------------------------------------------------------- targets


class WebhookTarget(BaseModel):
    """Push each matching product record as JSON to an http(s) URL (POST)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["webhook"] = "webhook"
    url: str
    username: str | None = None
    password: SecretStr | None = None
    timeout_s: float | None = Field(
        default=None, gt=0.0, le=120.0, description="request timeout, s (default: service's)"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"webhook url must be http:// or https:// with a host, got {v!r}")
        return v

    @model_validator(mode="after")
    def _auth(self) -> WebhookTarget:
        if (self.username is None) != (self.password is None):
            raise ValueError("basic auth needs both username and password")
        return self

    @field_serializer("password", when_used="json")
    def _password(self, v: SecretStr | None, info: SerializationInfo) -> str | None:
        if v is None:
            return None
        ctx = info.context
        if isinstance(ctx, Mapping) and ctx.get("reveal_secrets"):
            return v.get_secret_value()
        return "**********"

    @property
    def describe(self) -> str:
        """Target as shown in the ledger (credentials in the URL removed)."""
        parts = urlsplit(self.url)
        if parts.username is None and parts.password is None:
            return self.url
        netloc = parts.hostname or ""
        if parts.port is not None:
            netloc += f":{parts.port}"
        return parts._replace(netloc=netloc).geturl()


class ObjectStoreTarget(BaseModel):
    """Copy the product (``copy``) or write only its record (``link``) under a prefix.

    Each product lands in ``{prefix}/{product_id}/``: the data file (``copy``) and
    ``product.json`` (always, written last: its presence means the delivery is complete).
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["objectstore"] = "objectstore"
    prefix: str
    mode: Literal["copy", "link"] = "copy"

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme == "file":
            if not v.removeprefix("file://").startswith("/"):
                raise ValueError(f"file:// prefix needs an absolute path, got {v!r}")
        elif parts.scheme == "s3":
            if not parts.netloc:
                raise ValueError(f"s3:// prefix needs a bucket, got {v!r}")
        else:
            raise ValueError(f"object-store prefix must start with file:// or s3://, got {v!r}")
        return v.rstrip("/")

    @property
    def describe(self) -> str:
        """Target as shown in the ledger."""
        return self.prefix


class QueueTarget(BaseModel):
    """Append matching products to the subscription's pull queue (acknowledged by AckId)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["queue"] = "queue"

    @property
    def describe(self) -> str:
        """Target as shown in the ledger."""
        return "queue"


Target = Annotated[WebhookTarget | ObjectStoreTarget | QueueTarget, Field(discriminator="kind")]


# ---------------------------------------------------------------------------- subscription


class SubscriptionSpec(BaseModel):
    """What a client sends to create a subscription (``POST /subscriptions``)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    aoi: dict[str, Any]
    filters: ProductFilter = Field(default_factory=ProductFilter)
    filter: str | None = Field(
        default=None, description="OData-like filter, e.g. \"Mode eq 'IW'\" (see parse_filter)"
    )
    target: Target
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE

    @field_validator("aoi")
    @classmethod
    def _aoi(cls, v: dict[str, Any]) -> dict[str, Any]:
        parse_geometry(v, ("Polygon", "MultiPolygon"), "aoi")
        return _plain_geometry(v)

    @model_validator(mode="after")
    def _merge_filter(self) -> SubscriptionSpec:
        if self.filter is not None:
            parsed = parse_filter(self.filter)
            merged = self.filters.model_dump()
            for key, values in parsed.model_dump().items():
                if values and merged[key]:
                    raise ValueError(f"{key} given both in filters and in filter")
                if values:
                    merged[key] = values
            self.filters = ProductFilter.model_validate(merged)
        return self


class Subscription(SubscriptionSpec):
    """A stored subscription: the spec plus id, creation time and status."""

    id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    created: AwareDatetime

    _shape: BaseGeometry | None = PrivateAttr(default=None)

    @field_validator("created")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return v.astimezone(UTC)

    @property
    def shape(self) -> BaseGeometry:
        """AOI as a shapely geometry (lon/lat degrees), built once."""
        if self._shape is None:
            self._shape = sgeom.shape(self.aoi)
        return self._shape

    def matches(self, footprint: BaseGeometry, attrs: ProductAttributes) -> bool:
        """Whether a product (footprint, attributes) is for this subscription.

        A footprint matches when it shares area with the AOI (touching edges only do
        not count) and the attributes pass the filters; paused subscriptions match
        nothing.
        """
        return (
            self.status is SubscriptionStatus.ACTIVE
            and self.filters.accepts(attrs)
            and _overlaps(self.shape, footprint)
        )

    def public_dict(self) -> dict[str, Any]:
        """JSON form for API responses (password masked)."""
        return self.model_dump(mode="json")

    def storage_json(self) -> str:
        """JSON form for the store (credentials kept)."""
        return self.model_dump_json(context={"reveal_secrets": True})


def new_subscription(spec: SubscriptionSpec, clock: Clock = utc_now) -> Subscription:
    """A subscription with a fresh id (UUID4) and the creation time from ``clock``."""
    data = spec.model_dump(mode="json", context={"reveal_secrets": True})
    data["filter"] = None
    return Subscription.model_validate({**data, "id": str(uuid.uuid4()), "created": clock()})


def _overlaps(a: BaseGeometry, b: BaseGeometry) -> bool:
    return bool(a.intersects(b)) and not bool(a.touches(b))


# ---------------------------------------------------------------------------- stores


class SubscriptionStore(Protocol):
    """Where subscriptions live. ``revision`` grows with every change (index rebuilds)."""

    def add(self, sub: Subscription) -> None:
        """Store a new subscription (replaces one with the same id)."""

    def get(self, sub_id: str) -> Subscription:
        """The subscription, or :class:`SubscriptionNotFoundError`."""

    def all(self) -> list[Subscription]:
        """Every subscription, oldest first."""

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
)
