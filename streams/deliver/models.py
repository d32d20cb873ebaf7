"""Subscription models: what a user wants delivered and where (:mod:`streams.subscriptions`).

A :class:`Subscription` names an area of interest (GeoJSON Polygon or MultiPolygon,
lon/lat degrees), product filters (modes, swaths, polarisations, product types; empty
means any) and a delivery target: a webhook (CDSE ``NotificationEndpoint`` style, http or
https with optional basic auth), an object-store prefix (``file://`` or ``s3://``) or a
pull queue acknowledged by AckId (sentinel1-facts.md, "Conventions users already know").
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

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
from streams.messages.products import (
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
        return plain_geometry(v)

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
            and overlaps(self.shape, footprint)
        )

    def public_dict(self) -> dict[str, Any]:
        """JSON form for API responses (password masked)."""
        return self.model_dump(mode="json")

    def storage_json(self) -> str:
        """JSON form for the store (credentials kept)."""
        return self.model_dump_json(context={"reveal_secrets": True})


def overlaps(a: BaseGeometry, b: BaseGeometry) -> bool:
    """Whether ``a`` and ``b`` share interior points (touching edges do not count)."""
    return bool(a.intersects(b)) and not bool(a.touches(b))


def new_subscription(spec: SubscriptionSpec, clock: Clock = utc_now) -> Subscription:
    """A subscription with a fresh id (UUID4) and the creation time from ``clock``."""
    data = spec.model_dump(mode="json", context={"reveal_secrets": True})
    data["filter"] = None
    return Subscription.model_validate({**data, "id": str(uuid.uuid4()), "created": clock()})
