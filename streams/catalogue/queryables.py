"""The properties of an item that a CQL2 filter may test and a search may sort by.

Every queryable has a kind (string, number, integer, timestamp, string array, geometry)
and one normalisation, :meth:`Queryable.value_of`, used both when the store writes its
typed columns and when :mod:`streams.catalogue.cql2` evaluates a filter on an item in
Python: the SQL search and the Python match therefore compare the very same values
(timestamps as integer microseconds since 1970-01-01T00:00:00Z, arrays as tuples of
strings, numbers as int or float). A value of the wrong type in an item counts as null.

``GET /queryables`` serves :func:`queryables_schema` (OGC API - Features - Part 3,
"Queryables": a JSON Schema whose ``properties`` are the queryables).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from streams.catalogue.errors import QueryError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

OPEN_START = -(2**62)
"""Microseconds standing for the unbounded start ``..`` of an interval."""

OPEN_END = 2**62
"""Microseconds standing for the unbounded end ``..`` of an interval."""

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


class Kind(StrEnum):
    """Type of a queryable's value."""

    STRING = "string"
    NUMBER = "number"
    INTEGER = "integer"
    TIMESTAMP = "timestamp"
    STRING_ARRAY = "string-array"
    GEOMETRY = "geometry"

    @property
    def scalar(self) -> bool:
        """Whether values of this kind can be compared with ``<``, sorted and ranged."""
        return self in (Kind.STRING, Kind.NUMBER, Kind.INTEGER, Kind.TIMESTAMP)

    @property
    def numeric(self) -> bool:
        """Number or integer."""
        return self in (Kind.NUMBER, Kind.INTEGER)


def parse_timestamp(text: str, what: str = "timestamp") -> int:
    """RFC 3339 date-time (with ``Z`` or an offset) -> integer microseconds since the epoch.

    Digits beyond the microsecond are truncated.

    Raises
    ------
    QueryError
        If ``text`` is not an RFC 3339 date-time with a time zone.
    """
    if not isinstance(text, str) or not _RFC3339.match(text):
        raise QueryError(
            f"{what} {text!r} is not an RFC 3339 date-time with a time zone "
            "(e.g. 2024-06-01T10:00:00Z)"
        )
    norm = text.upper().replace(" ", "T").replace("Z", "+00:00")
    frac = re.search(r"\.(\d+)", norm)
    if frac is not None and len(frac.group(1)) > 6:
        norm = norm.replace(frac.group(0), "." + frac.group(1)[:6])
    try:
        when = datetime.fromisoformat(norm)
    except ValueError as exc:
        raise QueryError(f"{what} {text!r} is not a valid date-time: {exc}") from None
    return (when - EPOCH) // _MICROSECOND


def format_timestamp(micros: int) -> str:
    """Integer microseconds since the epoch -> RFC 3339 UTC (``...Z``)."""
    when = EPOCH + timedelta(microseconds=micros)
    return when.isoformat().replace("+00:00", "Z")


def canonical_array(values: tuple[str, ...]) -> str:
    """The JSON text a string array is stored as (compact, order kept)."""
    return json.dumps(list(values), separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Queryable:
    """One property that filters and sorts may name.

    Attributes
    ----------
    name
        Property name as in the item (``sar:instrument_mode``); ``id``, ``collection``
        and ``geometry`` are the item's top-level members.
    kind
        Value type.
    title, description
        For ``/queryables``.
    enum
        Allowed values (strings), empty when free.
    """

    name: str
    kind: Kind
    title: str
    description: str = ""
    enum: tuple[str, ...] = ()

    @property
    def column(self) -> str:
        """Name of the store's column holding the normalised value (``q_`` + the name
        with every character other than a-z, 0-9 replaced by ``_``)."""
        return "q_" + re.sub(r"[^a-z0-9]", "_", self.name.lower())

    @property
    def top_level(self) -> bool:
        """Whether the value is an item member rather than one of its properties."""
        return self.name in ("id", "collection", "geometry")

    def raw_of(self, item: Mapping[str, Any]) -> Any:
        """The value as it stands in ``item`` (``None`` when absent)."""
        if self.top_level:
            return item.get(self.name)
        props = item.get("properties")
        return props.get(self.name) if isinstance(props, Mapping) else None

    def normalise(self, raw: Any) -> Any:
        """A raw JSON value -> the comparable value (``None`` when null or mistyped).

        Strings stay strings; numbers become int or float (booleans and non-finite
        numbers are null); timestamps become integer microseconds; string arrays become
        tuples; geometries are returned as given (a GeoJSON mapping).
        """
        if raw is None:
            return None
        if self.kind is Kind.STRING:
            return raw if isinstance(raw, str) else None
        if self.kind.numeric:
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                return None
            if isinstance(raw, float) and not math.isfinite(raw):
                return None
            if self.kind is Kind.INTEGER and isinstance(raw, float):
                return int(raw) if raw.is_integer() else None
            return raw
        if self.kind is Kind.TIMESTAMP:
            try:
                return parse_timestamp(raw) if isinstance(raw, str) else None
            except QueryError:
                return None
        if self.kind is Kind.STRING_ARRAY:
            if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
                return None
            return tuple(raw)
        return raw if isinstance(raw, Mapping) else None

    def value_of(self, item: Mapping[str, Any]) -> Any:
        """The normalised value of this queryable in ``item``."""
        return self.normalise(self.raw_of(item))

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema of the property for ``/queryables``."""
        schema: dict[str, Any] = {"title": self.title}
        if self.description:
            schema["description"] = self.description
        if self.kind is Kind.STRING:
            schema["type"] = "string"
        elif self.kind is Kind.NUMBER:
            schema["type"] = "number"
        elif self.kind is Kind.INTEGER:
            schema["type"] = "integer"
        elif self.kind is Kind.TIMESTAMP:
            schema.update(type="string", format="date-time")
        elif self.kind is Kind.STRING_ARRAY:
            schema.update(type="array", items={"type": "string"})
        else:
            schema["$ref"] = "https://geojson.org/schema/Geometry.json"
        if self.enum:
            if self.kind is Kind.STRING_ARRAY:
                schema["items"] = {"type": "string", "enum": list(self.enum)}
            else:
                schema["enum"] = list(self.enum)
        return schema


def _q(
    name: str, kind: Kind, title: str, description: str = "", enum: tuple[str, ...] = ()
) -> Queryable:
    return Queryable(name, kind, title, description, enum)


_QUERYABLES = (
    _q("id", Kind.STRING, "Item id"),
    _q("collection", Kind.STRING, "Collection id"),
    _q("geometry", Kind.GEOMETRY, "Footprint", "Product footprint, GeoJSON lon/lat WGS84"),
    _q("datetime", Kind.TIMESTAMP, "Acquisition time", "Middle of the sensing interval"),
    _q("start_datetime", Kind.TIMESTAMP, "Sensing start"),
    _q("end_datetime", Kind.TIMESTAMP, "Sensing stop"),
    _q("platform", Kind.STRING, "Platform", "", ("sentinel-1a", "sentinel-1b", "sentinel-1c",
                                                 "sentinel-1d")),
    _q("constellation", Kind.STRING, "Constellation"),
    _q("sar:instrument_mode", Kind.STRING, "Instrument mode", "", ("IW", "EW", "SM", "WV")),
    _q("sar:frequency_band", Kind.STRING, "Frequency band"),
    _q("sar:polarizations", Kind.STRING_ARRAY, "Polarizations", "", ("HH", "HV", "VH", "VV")),
    _q("sar:beam_ids", Kind.STRING_ARRAY, "Beams (sub-swaths)"),
    _q("sar:relative_burst", Kind.INTEGER, "ESA burst ID",
       "Relative burst number within the repeat cycle (IW/EW bursts)"),
    _q("sar:resolution_range", Kind.NUMBER, "Slant-range resolution (m)"),
    _q("sar:resolution_azimuth", Kind.NUMBER, "Azimuth resolution (m)"),
    _q("sat:orbit_state", Kind.STRING, "Orbit direction", "", ("ascending", "descending")),
    _q("sat:absolute_orbit", Kind.INTEGER, "Absolute orbit"),
    _q("sat:relative_orbit", Kind.INTEGER, "Relative orbit (track)"),
    _q("sat:anx_datetime", Kind.TIMESTAMP, "Ascending node crossing time"),
    _q("processing:level", Kind.STRING, "Processing level"),
    _q("processing:version", Kind.STRING, "Processor version"),
    _q("processing:datetime", Kind.TIMESTAMP, "Processing time"),
    _q("product:type", Kind.STRING, "Product type"),
    _q("product:timeliness_category", Kind.STRING, "Timeliness category"),
    _q("published", Kind.TIMESTAMP, "Publication time"),
    _q("eoport:swath", Kind.STRING, "Sub-swath or beam", "IW1..IW3, EW1..EW5, S1..S6, WV1/2"),
    _q("eoport:burst_label", Kind.STRING, "Burst-map label", "e.g. t117_249424_iw1"),
    _q("eoport:data_take_id", Kind.INTEGER, "Data-take id"),
    _q("eoport:latency", Kind.NUMBER, "Product latency (s)",
       "Sensing stop to product written, seconds"),
)  # fmt: skip

QUERYABLES: dict[str, Queryable] = {q.name: q for q in _QUERYABLES}
"""Every queryable by name (the same for every collection)."""

SORTABLE = frozenset(q.name for q in _QUERYABLES if q.kind.scalar)
"""Names a search may sort by."""


def lookup(name: str, queryables: Mapping[str, Queryable] | None = None) -> Queryable:
    """The queryable called ``name``.

    Raises
    ------
    QueryError
        Naming the unknown property and the known ones.
    """
    table = QUERYABLES if queryables is None else queryables
    found = table.get(name)
    if found is None:
        # a "properties." prefix is sometimes sent by clients (STAC API sort/fields)
        found = table.get(name.removeprefix("properties."))
    if found is None:
        raise QueryError(
            f"unknown queryable {name!r}; queryable properties are: {', '.join(sorted(table))}"
        )
    return found


def queryables_schema(
    self_url: str, collection: str | None = None, queryables: Mapping[str, Queryable] | None = None
) -> dict[str, Any]:
    """The ``/queryables`` document (JSON Schema, draft 2019-09 as OGC API - Features -
    Part 3 asks; ``additionalProperties: false`` since only these are accepted)."""
    table = QUERYABLES if queryables is None else queryables
    title = f"Queryables of {collection}" if collection else "Queryables of every collection"
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": self_url,
        "type": "object",
        "title": title,
        "properties": {name: q.json_schema() for name, q in table.items()},
        "additionalProperties": False,
    }
