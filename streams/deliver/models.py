"""Subscription models: what a user wants delivered and where (:mod:`streams.subscriptions`).

A :class:`Subscription` belongs to an ``owner`` (the authenticated subject that created
it) and names an area of interest (GeoJSON Polygon or MultiPolygon, lon/lat degrees),
product filters and a delivery target: a webhook (CDSE ``NotificationEndpoint`` style,
http or https with optional basic auth), an object-store prefix (``file://`` or
``s3://``, written with the target's own credentials) or a pull queue acknowledged by
AckId (``docs/sentinel1-facts.md``, "Conventions users already know").

Filters: ``filter`` is either CQL2-JSON, the same language as the STAC API's
``/search`` (evaluated on the product's STAC Item, :mod:`streams.catalogue.cql2`), or
the older OData-like text (``"Mode eq 'IW'"``, :func:`parse_filter`), which is merged
into the attribute lists of ``filters`` (kept working: every stored subscription still
loads and matches as before).

Sizes are bounded before anything expensive is built: an AOI's positions are counted
on the decoded JSON (:func:`count_positions`) before shapely sees it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    SerializationInfo,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)
from shapely import geometry as sgeom
from shapely.geometry.base import BaseGeometry

from streams._infra.errors import PermanentError
from streams.catalogue.cql2 import Expr, evaluate, parse_cql2_json
from streams.messages.products import (
    MAX_POSITIONS,
    MODES,
    POLARISATIONS,
    PRODUCT_TYPES,
    SWATHS,
    ProductAttributes,
    parse_geometry,
    plain_geometry,
)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Current time, aware UTC (the default clock)."""
    return datetime.now(UTC)


class SubscriptionNotFoundError(PermanentError):
    """No subscription with the given id."""


class SubscriptionStatus(StrEnum):
    """Lifecycle of a subscription (strings: they appear in the HTTP API).

    ``active`` (CDSE ``running``) matches products; ``paused`` and ``cancelled`` match
    nothing; ``cancelled`` subscriptions do not count against the per-user limits.
    """

    ACTIVE = "active"
    PAUSED = "paused"
    CANCELLED = "cancelled"


NotificationFormat = Literal["stac-item", "cdse"]
"""Webhook body: the product's STAC Item itself (``stac-item``, native default), or the
CDSE notification (``SubscriptionEvent``, ``ProductId``, ..., ``value``: the Item)."""


def count_positions(value: Any, limit: int = MAX_POSITIONS) -> int:
    """Number of numeric positions in GeoJSON ``coordinates`` (nested lists), counted
    without building geometry; stops as soon as ``limit`` is exceeded.

    Raises
    ------
    ValueError
        When there are more than ``limit`` positions.
    """
    count = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if not isinstance(item, list | tuple) or not item:
            continue
        if not isinstance(item[0], list | tuple):
            count += 1  # a position: [lon, lat(, h)]
            if count > limit:
                raise ValueError(f"geometry has more than {limit} positions in total")
            continue
        stack.extend(item)
    return count


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


_FILTER_VALUES = {
    "modes": (MODES, "mode"),
    "swaths": (SWATHS, "swath"),
    "polarisations": (POLARISATIONS, "polarisation"),
    "product_types": (PRODUCT_TYPES, "product type"),
}
"""Allowed values and their name in error messages, per :class:`ProductFilter` field."""


class ProductFilter(BaseModel):
    """Attribute filters of a subscription; an empty list accepts any value."""

    model_config = ConfigDict(extra="forbid")

    modes: list[str] = Field(default_factory=list)
    swaths: list[str] = Field(default_factory=list)
    polarisations: list[str] = Field(default_factory=list)
    product_types: list[str] = Field(default_factory=list)

    @field_validator("modes", "swaths", "polarisations", "product_types")
    @classmethod
    def _known_values(cls, v: list[str], info: ValidationInfo) -> list[str]:
        known, what = _FILTER_VALUES[str(info.field_name)]
        return _check_values(v, known, what)

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


def _mask(v: SecretStr | None, info: SerializationInfo) -> str | None:
    if v is None:
        return None
    ctx = info.context
    if isinstance(ctx, Mapping) and ctx.get("reveal_secrets"):
        return v.get_secret_value()
    return "**********"


class WebhookTarget(BaseModel):
    """POST a notification for each matching product to an http(s) URL.

    Credentials in the URL (``https://user:pw@host/``, accepted by earlier versions)
    are moved to ``username``/``password`` when the target is read, so they are stored
    encrypted and never shown. The address the URL resolves to is checked by
    :class:`streams.deliver.netguard.NetworkPolicy` at creation and before each delivery.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["webhook"] = "webhook"
    url: str = Field(max_length=2048)
    username: str | None = Field(default=None, max_length=256)
    password: SecretStr | None = Field(default=None, max_length=1024)
    timeout_s: float | None = Field(
        default=None, gt=0.0, le=120.0, description="request timeout, s (default: service's)"
    )

    @model_validator(mode="before")
    @classmethod
    def _url_credentials(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or not isinstance(data.get("url"), str):
            return data
        try:
            parts = urlsplit(data["url"])
            user, password = parts.username, parts.password
        except ValueError:
            return data
        if user is None and password is None:
            return data
        out = dict(data)
        netloc = parts.hostname or ""
        if ":" in netloc:
            netloc = f"[{netloc}]"
        if parts.port is not None:
            netloc += f":{parts.port}"
        out["url"] = parts._replace(netloc=netloc).geturl()
        if out.get("username") is None and out.get("password") is None:
            out["username"] = unquote(user or "")
            out["password"] = unquote(password or "")
        return out

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        try:
            parts = urlsplit(v)
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            raise ValueError(f"webhook url {v!r} is malformed") from None
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
        return _mask(v, info)

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
    The prefix must lie under one the deployment allows the owner
    (``EOPORT_OBJECTSTORE_PREFIXES``); ``s3://`` targets are written with the target's
    own ``access_key``/``secret_key`` (stored encrypted, never shown), never with the
    service's credentials.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["objectstore"] = "objectstore"
    prefix: str = Field(max_length=1024)
    mode: Literal["copy", "link"] = "copy"
    access_key: str | None = Field(default=None, max_length=256)
    secret_key: SecretStr | None = Field(default=None, max_length=1024)

    @field_serializer("secret_key", when_used="json")
    def _secret(self, v: SecretStr | None, info: SerializationInfo) -> str | None:
        return _mask(v, info)

    @model_validator(mode="after")
    def _credentials(self) -> ObjectStoreTarget:
        if (self.access_key is None) != (self.secret_key is None):
            raise ValueError("object-store credentials need both access_key and secret_key")
        return self

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if any(seg in ("..", ".") for seg in v.split("://", 1)[-1].split("/")):
            raise ValueError(f"object-store prefix must not contain '.' or '..' segments: {v!r}")
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


SubscriptionEvent = Literal["created", "modified", "deleted"]
"""CDSE ``SubscriptionEvent`` values; eoport's products are immutable (a new processing
version is a new product), so only ``created`` notifications are ever sent."""


def _created_only() -> list[SubscriptionEvent]:
    return ["created"]


class SubscriptionSpec(BaseModel):
    """What a client sends to create a subscription (``POST /subscriptions``).

    ``filter``: CQL2-JSON (an object, as ``/search`` takes it) evaluated on the product's
    STAC Item, or the legacy OData-like text (:func:`parse_filter`).
    """

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    aoi: dict[str, Any]
    filters: ProductFilter = Field(default_factory=ProductFilter)
    filter: str | dict[str, Any] | bool | None = Field(
        default=None,
        description="CQL2-JSON filter on the STAC Item (as in /search), or the legacy "
        "OData-like text, e.g. \"Mode eq 'IW'\" (see parse_filter)",
    )
    target: Target
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    notification_format: NotificationFormat = "stac-item"
    events: list[SubscriptionEvent] = Field(default_factory=_created_only, max_length=3)

    _expr: Expr | None = PrivateAttr(default=None)

    @field_validator("aoi", mode="before")
    @classmethod
    def _aoi_size(cls, v: Any) -> Any:
        if isinstance(v, Mapping):
            count_positions(v.get("coordinates"))
        return v

    @field_validator("aoi")
    @classmethod
    def _aoi(cls, v: dict[str, Any]) -> dict[str, Any]:
        parse_geometry(v, ("Polygon", "MultiPolygon"), "aoi")
        return plain_geometry(v)

    @field_validator("filter")
    @classmethod
    def _cql2(cls, v: str | dict[str, Any] | bool | None) -> str | dict[str, Any] | bool | None:
        if isinstance(v, dict | bool):
            parse_cql2_json(v)  # CqlError is a ValueError: a 422 naming the problem
        return v

    @model_validator(mode="after")
    def _merge_filter(self) -> SubscriptionSpec:
        if isinstance(self.filter, str):
            parsed = parse_filter(self.filter)
            merged = self.filters.model_dump()
            for key, values in parsed.model_dump().items():
                if values and merged[key]:
                    raise ValueError(f"{key} given both in filters and in filter")
                if values:
                    merged[key] = values
            self.filters = ProductFilter.model_validate(merged)
        return self

    @property
    def cql2(self) -> Expr | None:
        """The parsed CQL2 filter (``None``: no CQL2 filter), built once."""
        if self._expr is None and isinstance(self.filter, dict | bool):
            self._expr = parse_cql2_json(self.filter)
        return self._expr


class Subscription(SubscriptionSpec):
    """A stored subscription: the spec plus id, owner, creation time and status."""

    id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    created: AwareDatetime
    owner: str = Field(
        default="", max_length=256, description="subject that created it ('': legacy, admins)"
    )
    odata_filter: str | None = Field(
        default=None, max_length=20_000, description="CDSE FilterParam as given (echoed back)"
    )

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

    @property
    def running(self) -> bool:
        """Whether it matches products (status ``active``)."""
        return self.status is SubscriptionStatus.ACTIVE

    def matches(
        self,
        footprint: BaseGeometry,
        attrs: ProductAttributes,
        item: Callable[[], Mapping[str, Any]] | None = None,
    ) -> bool:
        """Whether a product (footprint, attributes, STAC Item) is for this subscription.

        A footprint matches when it shares area with the AOI (touching edges only do
        not count), the attributes pass the filters and, when the subscription has a
        CQL2 filter, the product's STAC Item (``item()``, built on demand) passes it; a
        CQL2 filter with no item to evaluate matches nothing. Paused and cancelled
        subscriptions match nothing.
        """
        if not (
            self.running and self.filters.accepts(attrs) and overlaps(self.shape, footprint)
        ):
            return False
        expr = self.cql2
        if expr is None:
            return True
        return item is not None and evaluate(expr, item())

    def public_dict(self) -> dict[str, Any]:
        """JSON form for API responses (secrets masked)."""
        return self.model_dump(mode="json")

    def storage_json(self) -> str:
        """JSON form with the secrets in clear (the store seals them before writing)."""
        return self.model_dump_json(context={"reveal_secrets": True})


def overlaps(a: BaseGeometry, b: BaseGeometry) -> bool:
    """Whether ``a`` and ``b`` share interior points (touching edges do not count)."""
    return bool(a.intersects(b)) and not bool(a.touches(b))


def new_subscription(
    spec: SubscriptionSpec, clock: Clock = utc_now, *, owner: str = "",
    odata_filter: str | None = None,
) -> Subscription:  # fmt: skip
    """A subscription of ``owner`` with a fresh id (UUID4) and the creation time from
    ``clock``; a legacy text ``filter`` is merged into ``filters``."""
    data = spec.model_dump(mode="json", context={"reveal_secrets": True})
    if isinstance(spec.filter, str):
        data["filter"] = None
    return Subscription.model_validate(
        {**data, "id": str(uuid.uuid4()), "created": clock(), "owner": owner,
         "odata_filter": odata_filter}
    )  # fmt: skip
