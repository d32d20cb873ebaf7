"""CDSE ``FilterParam`` (an OData ``$filter`` subset) -> native AOI + CQL2-JSON.

The Copernicus Data Space Ecosystem subscription API takes an OData filter. eoport
understands the clauses such clients write for Sentinel-1 (docs/cdse-subscriptions.md),
joined by ``and`` (parentheses around a clause allowed):

===========================================================  ==================================
clause                                                       becomes
===========================================================  ==================================
``Collection/Name eq 'SENTINEL-1'``                          (required value; anything else 400)
``Attributes/OData.CSC.StringAttribute/any(att:att/Name eq   ``productType`` ``IW_SLC__1S``,
'NAME' and att/OData.CSC.StringAttribute/Value eq 'V')``     ``EW_SLC__1S``, ``S1..S6_SLC__1S``,
                                                             ``WV_SLC__1S``: mode (and beam);
                                                             ``operationalMode``,
                                                             ``swathIdentifier``,
                                                             ``polarisationChannels`` (``VV``,
                                                             ``VV&VH``: any of them),
                                                             ``orbitDirection``,
                                                             ``platformSerialIdentifier``
                                                             (``A``..``D``), ``platformShortName``
                                                             (``SENTINEL-1``),
                                                             ``instrumentShortName`` (``SAR``)
``Attributes/OData.CSC.IntegerAttribute/any(att:att/Name eq  ``relativeOrbitNumber``,
'NAME' and att/OData.CSC.IntegerAttribute/Value OP N)``      ``burstId`` (OP: eq ne lt le gt ge)
``OData.CSC.Intersects(area=geography'SRID=4326;POLYGON((lon the AOI (POLYGON or
lat, ...))')``                                               MULTIPOLYGON, WKT lon lat)
``ContentDate/Start OP 2024-05-01T00:00:00.000Z`` (and       ``start_datetime`` /
``ContentDate/End``)                                         ``end_datetime`` (OP: eq lt le gt
                                                             ge)
===========================================================  ==================================

Everything else (``or``, ``not``, other attributes, ``Name``/``contains``, other
collections, GRD or RAW product types) is refused with :class:`ODataFilterError` naming
the clause (the API answers 400). Without an ``Intersects`` clause the AOI is the whole
Earth.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import shapely
from shapely import wkt as swkt

from streams.messages.products import MAX_POSITIONS

__all__ = ["WORLD", "ODataFilter", "ODataFilterError", "translate_filter"]

WORLD: dict[str, Any] = {
    "type": "Polygon",
    "coordinates": [[[-180.0, -90.0], [180.0, -90.0], [180.0, 90.0], [-180.0, 90.0],
                     [-180.0, -90.0]]],
}  # fmt: skip
"""The AOI of a subscription whose filter has no ``Intersects`` clause."""

MAX_FILTER_CHARS = 2_000_000
"""Longest FilterParam accepted (an AOI of :data:`MAX_POSITIONS` positions fits)."""


class ODataFilterError(ValueError):
    """A FilterParam eoport does not understand (one line naming the clause)."""


@dataclass(frozen=True)
class ODataFilter:
    """A translated FilterParam: the AOI (GeoJSON) and the CQL2-JSON filter (or None)."""

    aoi: dict[str, Any]
    cql2: dict[str, Any] | None


_OPS = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_PLATFORMS = {"A": "sentinel-1a", "B": "sentinel-1b", "C": "sentinel-1c", "D": "sentinel-1d"}
_STRING_ATTR = re.compile(
    r"^Attributes/OData\.CSC\.StringAttribute/any\(\s*(\w+)\s*:\s*\1/Name\s+eq\s+'([^']*)'\s+"
    r"and\s+\1/OData\.CSC\.StringAttribute/Value\s+eq\s+'([^']*)'\s*\)$"
)
_INT_ATTR = re.compile(
    r"^Attributes/OData\.CSC\.IntegerAttribute/any\(\s*(\w+)\s*:\s*\1/Name\s+eq\s+'([^']*)'\s+"
    r"and\s+\1/OData\.CSC\.IntegerAttribute/Value\s+(eq|ne|lt|le|gt|ge)\s+(-?\d+)\s*\)$"
)
_COLLECTION = re.compile(r"^Collection/Name\s+eq\s+'([^']*)'$")
_INTERSECTS = re.compile(
    r"^OData\.CSC\.Intersects\(\s*area\s*=\s*geography'SRID=4326;(.*)'\s*\)$", re.DOTALL
)
_CONTENT_DATE = re.compile(r"^ContentDate/(Start|End)\s+(eq|lt|le|gt|ge)\s+(\S+)$")
_PRODUCT_TYPE = re.compile(r"^(IW|EW|WV|S[1-6])_SLC__1S$")


def _split_and(text: str) -> list[str]:
    """Top-level ``and`` operands of ``text`` (outside quotes and parentheses)."""
    parts: list[str] = []
    depth, quoted, start, i = 0, False, 0, 0
    lower = text.lower()
    while i < len(text):
        c = text[i]
        if c == "'":
            quoted = not quoted
        elif not quoted and c == "(":
            depth += 1
        elif not quoted and c == ")":
            depth -= 1
            if depth < 0:
                raise ODataFilterError("FilterParam has an unbalanced ')'")
        elif not quoted and depth == 0 and c.isspace():
            for word in ("or", "not"):
                if re.match(rf"\s{word}[\s(]", lower[i:]):
                    raise ODataFilterError(
                        f"FilterParam: '{word}' is not supported; join clauses with 'and'"
                    )
            m = re.match(r"\s+and\s+", lower[i:])
            if m is not None:
                parts.append(text[start:i])
                i += m.end()
                start = i
                continue
        i += 1
    if quoted or depth != 0:
        raise ODataFilterError("FilterParam has an unclosed quote or parenthesis")
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _unwrap(clause: str) -> str:
    while clause.startswith("(") and clause.endswith(")"):
        depth = 0
        for k, c in enumerate(clause):
            depth += c == "("
            depth -= c == ")"
            if depth == 0 and k < len(clause) - 1:
                return clause
        clause = clause[1:-1].strip()
    return clause


def _clauses(text: str, depth: int = 0) -> list[str]:
    """The flat ``and`` operands of ``text``, parenthesised groups opened (nested ``and``)."""
    if depth > 16:
        raise ODataFilterError("FilterParam nests parentheses too deeply")
    out: list[str] = []
    for part in _split_and(text):
        inner = _unwrap(part)
        out += _clauses(inner, depth + 1) if inner != part else [part]
    return out


def _eq(prop: str, value: Any) -> dict[str, Any]:
    return {"op": "=", "args": [{"property": prop}, value]}


def _string_attribute(name: str, value: str) -> list[dict[str, Any]]:
    if name == "productType":
        m = _PRODUCT_TYPE.match(value)
        if m is None:
            raise ODataFilterError(
                f"productType {value!r}: eoport makes Sentinel-1 SLC products only "
                "(IW_SLC__1S, EW_SLC__1S, S1_SLC__1S..S6_SLC__1S, WV_SLC__1S)"
            )
        mode = m.group(1)
        if mode.startswith("S"):
            return [_eq("sar:instrument_mode", "SM"), _eq("eoport:swath", mode)]
        return [_eq("sar:instrument_mode", mode)]
    if name == "operationalMode":
        if value not in ("IW", "EW", "SM", "WV"):
            raise ODataFilterError(f"operationalMode {value!r} is not IW, EW, SM or WV")
        return [_eq("sar:instrument_mode", value)]
    if name == "swathIdentifier":
        return [_eq("eoport:swath", value)]
    if name == "polarisationChannels":
        pols = [p for p in re.split(r"[&+ ,]", value) if p]
        if not pols or any(p not in ("HH", "HV", "VH", "VV") for p in pols):
            raise ODataFilterError(f"polarisationChannels {value!r}: use e.g. 'VV' or 'VV&VH'")
        return [{"op": "a_overlaps", "args": [{"property": "sar:polarizations"}, pols]}]
    if name == "orbitDirection":
        if value.upper() not in ("ASCENDING", "DESCENDING"):
            raise ODataFilterError(f"orbitDirection {value!r} is not ASCENDING or DESCENDING")
        return [_eq("sat:orbit_state", value.lower())]
    if name == "platformSerialIdentifier":
        if value not in _PLATFORMS:
            raise ODataFilterError(f"platformSerialIdentifier {value!r} is not A, B, C or D")
        return [_eq("platform", _PLATFORMS[value])]
    if name == "platformShortName":
        if value != "SENTINEL-1":
            raise ODataFilterError("platformShortName: eoport serves SENTINEL-1 only")
        return []
    if name == "instrumentShortName":
        if value != "SAR":
            raise ODataFilterError("instrumentShortName: eoport serves SAR only")
        return []
    raise ODataFilterError(f"string attribute {name!r} is not supported (see the docs)")


def _integer_attribute(name: str, op: str, value: int) -> dict[str, Any]:
    props = {"relativeOrbitNumber": "sat:relative_orbit", "burstId": "sar:relative_burst"}
    if name not in props:
        raise ODataFilterError(
            f"integer attribute {name!r} is not supported; use relativeOrbitNumber or burstId"
        )
    return {"op": _OPS[op], "args": [{"property": props[name]}, value]}


def _area(text: str) -> dict[str, Any]:
    if text.count(",") + 1 > MAX_POSITIONS:
        raise ODataFilterError(f"Intersects area has more than {MAX_POSITIONS} positions")
    try:
        geom = swkt.loads(text)
    except shapely.errors.ShapelyError as exc:
        raise ODataFilterError(f"Intersects area is not valid WKT: {exc}") from None
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise ODataFilterError(
            f"Intersects area must be a POLYGON or MULTIPOLYGON, not {geom.geom_type}"
        )
    mapping: dict[str, Any] = json.loads(shapely.to_geojson(geom))
    return {"type": mapping["type"], "coordinates": mapping["coordinates"]}


def translate_filter(text: str | None) -> ODataFilter:
    """Translate a CDSE FilterParam (see the module docstring).

    Raises
    ------
    ODataFilterError
        For anything outside the supported subset (one line naming the clause).
    """
    if text is None or not text.strip():
        return ODataFilter(WORLD, None)
    if len(text) > MAX_FILTER_CHARS:
        raise ODataFilterError(f"FilterParam longer than {MAX_FILTER_CHARS} characters")
    aoi: dict[str, Any] | None = None
    args: list[dict[str, Any]] = []
    for clause in _clauses(text.strip()):
        if re.match(r"(?i)not[\s(]", clause):
            raise ODataFilterError("FilterParam: 'not' is not supported")
        if m := _COLLECTION.match(clause):
            if m.group(1) != "SENTINEL-1":
                raise ODataFilterError(
                    f"Collection/Name {m.group(1)!r}: eoport serves SENTINEL-1 only"
                )
        elif m := _STRING_ATTR.match(clause):
            args += _string_attribute(m.group(2), m.group(3))
        elif m := _INT_ATTR.match(clause):
            args.append(_integer_attribute(m.group(2), m.group(3), int(m.group(4))))
        elif m := _INTERSECTS.match(clause):
            if aoi is not None:
                raise ODataFilterError("FilterParam has more than one Intersects clause")
            aoi = _area(m.group(1).strip())
        elif m := _CONTENT_DATE.match(clause):
            prop = "start_datetime" if m.group(1) == "Start" else "end_datetime"
            stamp = {"timestamp": m.group(3)}
            args.append({"op": _OPS[m.group(2)], "args": [{"property": prop}, stamp]})
        else:
            shown = clause if len(clause) <= 120 else clause[:117] + "..."
            raise ODataFilterError(f"FilterParam clause not supported: {shown}")
    cql2: dict[str, Any] | None = None
    if len(args) == 1:
        cql2 = args[0]
    elif args:
        cql2 = {"op": "and", "args": args}
    return ODataFilter(aoi if aoi is not None else WORLD, cql2)
