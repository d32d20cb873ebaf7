"""Level-1 product records: the value of the ``l1-products`` topic and the STAC Item source.

A :class:`ProductRecord` describes one focused burst: its deterministic id (hash of the
burst key and the processing version, so a replayed focus job rewrites the same product),
footprint, sensing times, where the product lies in the object store, quality figures and
the latency timeline collected along the chain (all UTC).
:func:`streams.catalogue.stac.product_to_stac_item` turns it into a STAC Item.

GeoJSON geometry validation (:func:`parse_geometry`, :mod:`streams.geometry`) is
re-exported here, so footprints and subscription AOIs follow exactly the same rules
(RFC 7946: lon/lat degrees, WGS84).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from shapely import geometry as sgeom

from streams._infra.errors import SchemaError
from streams.messages.geometry import (
    MAX_POSITIONS,
    InvalidGeometryError,
    parse_geometry,
    plain_geometry,
)
from streams.messages.payload import Payload

__all__ = [
    "MAX_POSITIONS", "MODES", "POLARISATIONS", "PRODUCT_ID_PREFIX",
    "PRODUCT_TYPES", "SWATHS", "TIMELINE_STAGES",
    "InvalidGeometryError", "ProductAttributes", "ProductRecord", "make_product_id",
    "parse_geometry", "plain_geometry",
]  # fmt: skip

PRODUCT_ID_PREFIX = "S1L1-"
"""Prefix of every product id (the rest is a hash, see :func:`make_product_id`)."""

MODES = frozenset({"IW", "EW", "SM", "WV"})
"""Sentinel-1 acquisition modes (stripmap beams S1..S6 are reported as mode ``SM``)."""

SWATHS = frozenset(
    {"IW1", "IW2", "IW3", "EW1", "EW2", "EW3", "EW4", "EW5", "WV1", "WV2"}
    | {f"S{i}" for i in range(1, 7)}
)
"""Sub-swath / beam identifiers."""

POLARISATIONS = frozenset({"HH", "HV", "VH", "VV"})
"""Single-channel polarisations (transmit, receive)."""

PRODUCT_TYPES = frozenset({"SLC", "GRD", "RAW"})
"""Product types eoport knows (``SLC``: a focused single-look complex burst)."""

_ALLOWED: dict[str, frozenset[str]] = {
    "mode": MODES, "swath": SWATHS, "polarisation": POLARISATIONS, "product_type": PRODUCT_TYPES,
}  # fmt: skip
"""The values each enumerated field of :class:`ProductRecord` may take."""

TIMELINE_STAGES = (
    "sensing_start",
    "sensing_stop",
    "station_receive",
    "kafka_append",
    "burst_complete",
    "aux_complete",
    "focus_start",
    "focus_end",
    "product_written",
    "delivered",
)
"""Latency timeline stages in chain order (docs/architecture.md, "Latency timeline")."""

# ---------------------------------------------------------------------------- product


def make_product_id(burst_key: str, processing_version: str) -> str:
    """Deterministic product id: the same burst processed by the same version, same id.

    Parameters
    ----------
    burst_key
        ``datatake/swath/pol/burst_id`` (docs/architecture.md, "Exactly-once effects").
    processing_version
        Version of the processor that produced the product.

    Returns
    -------
    str
        ``S1L1-`` followed by the first 32 hex digits of SHA-256 of
        ``burst_key + "|" + processing_version``.
    """
    digest = hashlib.sha256(f"{burst_key}|{processing_version}".encode()).hexdigest()
    return PRODUCT_ID_PREFIX + digest[:32]


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _iso(value: datetime) -> str:
    return _utc(value).isoformat().replace("+00:00", "Z")


class ProductAttributes(BaseModel):
    """The attributes of a product that subscription filters look at."""

    model_config = ConfigDict(frozen=True)

    mode: str
    swath: str
    polarisation: str
    product_type: str = "SLC"


class ProductRecord(Payload):
    """One Level-1 product (a focused burst): value of the ``l1-products`` topic.

    Times are aware UTC datetimes; footprint is a GeoJSON Polygon in lon/lat degrees.
    ``product_id`` may be omitted: it is then derived from ``burst_key`` and
    ``processing_version`` (:func:`make_product_id`); a given id must match.
    """

    what: ClassVar[str] = "product record"
    schema_type: ClassVar[str] = "application/x-eoport-product+json"

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_id: str = ""
    burst_key: str = Field(min_length=1)
    processing_version: str = Field(min_length=1)
    platform: str = "sentinel-1a"
    mode: str
    swath: str
    polarisation: str
    product_type: str = "SLC"
    burst_id: int = Field(ge=0, description="ESA relative burst id (sar:relative_burst)")
    data_take_id: int = Field(ge=0)
    absolute_orbit: int | None = Field(default=None, ge=1)
    relative_orbit: int | None = Field(default=None, ge=1, le=175)
    burst_label: str | None = Field(
        default=None, description="ESA burst-map label, e.g. t117_249424_iw1 (IW bursts)"
    )
    orbit_state: Literal["ascending", "descending"] | None = None
    anx_datetime: AwareDatetime | None = None
    footprint: dict[str, Any]
    sensing_start: AwareDatetime
    sensing_stop: AwareDatetime
    url: str = Field(min_length=1, description="object-store URL of the product")
    size_bytes: int = Field(ge=0)
    media_type: str = "application/x-hdf5"
    checksum: str | None = Field(
        default=None, description="multihash (sha2-256) of the product file, when computed"
    )
    quicklook_url: str | None = Field(default=None, description="quick-look PNG next to it")
    quicklook_size: int | None = Field(default=None, ge=0, description="its size, bytes")
    sar: dict[str, float | int] | None = Field(
        default=None,
        description="resolutions, pixel spacings, bandwidth, looks of the SLC "
        "(streams.catalogue.sarparams.SarParameters)",
    )
    quality: dict[str, float] | None = None
    missing_lines: list[tuple[AwareDatetime, AwareDatetime]] = Field(
        default_factory=list,
        description="sensing-time spans (first, last line) of raw lines lost and zero-filled",
    )
    timeline: dict[str, AwareDatetime] = Field(default_factory=dict)
    timeliness: str = "PT1M"
    timeliness_category: str = "NRT-10m"

    @field_validator("mode", "swath", "polarisation", "product_type")
    @classmethod
    def _one_of(cls, v: str, info: ValidationInfo) -> str:
        allowed = _ALLOWED[str(info.field_name)]
        if v not in allowed:
            raise ValueError(f"{info.field_name} {v!r} not one of {sorted(allowed)}")
        return v

    @field_validator("footprint")
    @classmethod
    def _footprint(cls, v: dict[str, Any]) -> dict[str, Any]:
        parse_geometry(v, ("Polygon",), "footprint")
        return plain_geometry(v)

    @field_validator("sensing_start", "sensing_stop", "anx_datetime")
    @classmethod
    def _to_utc(cls, v: datetime | None) -> datetime | None:
        return None if v is None else _utc(v)

    @field_validator("timeline")
    @classmethod
    def _timeline(cls, v: dict[str, datetime]) -> dict[str, datetime]:
        for name in v:
            if not name.isidentifier():
                raise ValueError(f"timeline stage {name!r} is not a snake_case identifier")
        return {k: _utc(t) for k, t in v.items()}

    @model_validator(mode="after")
    def _consistent(self) -> ProductRecord:
        if self.sensing_stop < self.sensing_start:
            raise ValueError("sensing_stop is before sensing_start")
        expected = make_product_id(self.burst_key, self.processing_version)
        if not self.product_id:
            object.__setattr__(self, "product_id", expected)
        elif self.product_id != expected:
            raise ValueError(
                f"product_id {self.product_id!r} does not match burst_key and "
                f"processing_version (expected {expected!r})"
            )
        return self

    # ------------------------------------------------------------------ accessors

    @property
    def attributes(self) -> ProductAttributes:
        """Mode, swath, polarisation and product type, for subscription filters."""
        return ProductAttributes(
            mode=self.mode,
            swath=self.swath,
            polarisation=self.polarisation,
            product_type=self.product_type,
        )

    @property
    def shape(self) -> sgeom.Polygon:
        """Footprint as a shapely polygon (lon/lat degrees)."""
        return sgeom.shape(self.footprint)

    def with_timestamp(self, stage: str, when: datetime) -> ProductRecord:
        """A copy with one more (or a replaced) latency timeline stamp.

        Parameters
        ----------
        stage
            Stage name (see :data:`TIMELINE_STAGES`).
        when
            Aware datetime; stored in UTC.
        """
        if when.tzinfo is None:
            raise SchemaError(f"timeline stamp {stage!r} must be timezone-aware")
        timeline = dict(self.timeline)
        timeline[stage] = _utc(when)
        return self.model_copy(update={"timeline": timeline})

    def latency_s(self, start: str = "sensing_stop", stop: str = "delivered") -> float | None:
        """Seconds between two timeline stages (``sensing_stop`` is the record's field when
        absent from the timeline); ``None`` when a stage is missing."""
        stamps: dict[str, datetime] = {"sensing_stop": self.sensing_stop, **self.timeline}
        if start not in stamps or stop not in stamps:
            return None
        return (stamps[stop] - stamps[start]).total_seconds()

    # ------------------------------------------------------------------ serialisation

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-compatible dict (datetimes as ISO 8601 UTC strings)."""
        return self.model_dump(mode="json")

    @property
    def key(self) -> str:
        """Kafka key of the record (the product id)."""
        return self.product_id
