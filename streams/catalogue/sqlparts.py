"""SQL shared by the catalogue backends (SQLite, PostGIS): the column values of an item,
the backend-neutral search conditions, ``ORDER BY`` and the keyset paging predicate.

Rows hold the normalised queryable values (:meth:`Queryable.normalise`; string arrays as
compact JSON text); ``ORDER BY`` puts NULLs first ascending and last descending, and
always ends with the item id, so a keyset cursor (sort values then id) is total.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from streams.catalogue.errors import InvalidItemError, QueryError
from streams.catalogue.geometry import BBox, bbox_boxes, bbox_polygon
from streams.catalogue.queryables import (
    QUERYABLES,
    Kind,
    Queryable,
    canonical_array,
    parse_timestamp,
)
from streams.catalogue.search import SearchQuery, SortKey


def _value(q: Queryable, item: Mapping[str, Any]) -> Any:
    v = q.value_of(item)
    if q.kind is Kind.STRING_ARRAY and v is not None:
        return canonical_array(v)
    return v


def _extent_micros(props: Mapping[str, Any], item_id: str) -> tuple[int, int]:
    def stamp(name: str) -> int | None:
        raw = props.get(name)
        if raw is None:
            return None
        try:
            return parse_timestamp(raw, f"item {item_id} {name}")
        except QueryError as exc:
            raise InvalidItemError(str(exc)) from None

    dt = stamp("datetime")
    start = stamp("start_datetime")
    end = stamp("end_datetime")
    lo = start if start is not None else dt
    hi = end if end is not None else dt
    if lo is None or hi is None:
        raise InvalidItemError(f"item {item_id} has neither datetime nor start/end_datetime")
    return lo, hi


def item_row(item: Mapping[str, Any]) -> dict[str, Any]:
    """Column values of an item for any SQL backend (raises :class:`InvalidItemError`):
    id, collection, temporal extent, footprint WKB and bounds, item JSON, ``q_*`` values."""
    item_id = item.get("id")
    collection = item.get("collection")
    if not isinstance(item_id, str) or not item_id:
        raise InvalidItemError("item has no string id")
    if not isinstance(collection, str) or not collection:
        raise InvalidItemError(f"item {item_id} has no collection")
    props = item.get("properties")
    if not isinstance(props, Mapping):
        raise InvalidItemError(f"item {item_id} has no properties")
    try:
        shape = shapely.geometry.shape(item.get("geometry"))
    except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.ShapelyError):
        raise InvalidItemError(f"item {item_id} has no valid GeoJSON geometry") from None
    if shape.is_empty:
        raise InvalidItemError(f"item {item_id} has an empty geometry")
    t_start, t_end = _extent_micros(props, item_id)
    minx, miny, maxx, maxy = shape.bounds
    row: dict[str, Any] = {
        "id": item_id,
        "collection": collection,
        "t_start": t_start,
        "t_end": t_end,
        "geometry": shapely.to_wkb(shape),
        "minx": minx,
        "miny": miny,
        "maxx": maxx,
        "maxy": maxy,
        "content": json.dumps(item, separators=(",", ":")),
    }
    for q in QUERYABLES.values():
        if q.kind is not Kind.GEOMETRY:
            row[q.column] = _value(q, item)
    return row


def keyset_after(
    sort: tuple[SortKey, ...], cursor: list[Any], p: list[Any], mark: str = "?"
) -> str:
    """Keyset predicate: rows strictly after ``cursor`` in ``ORDER BY sort, id``
    (ASC sorts NULLS FIRST, DESC NULLS LAST); ``mark`` is the dialect's placeholder."""
    ors: list[str] = []
    eqs: list[str] = []
    eq_params: list[Any] = []
    for key, value in zip(sort, cursor, strict=False):
        col = f"items.{key.queryable.column}"
        if value is None:
            after = "(1 = 0)" if key.descending else f"({col} IS NOT NULL)"
            after_params: list[Any] = []
        elif key.descending:
            after, after_params = f"({col} < {mark} OR {col} IS NULL)", [value]
        else:
            after, after_params = f"({col} > {mark})", [value]
        ors.append("(" + " AND ".join([*eqs, after]) + ")")
        p += eq_params + after_params
        if value is None:
            eqs.append(f"({col} IS NULL)")
        else:
            eqs.append(f"({col} = {mark})")
            eq_params = [*eq_params, value]
    ors.append("(" + " AND ".join([*eqs, f"(items.id > {mark})"]) + ")")
    p += [*eq_params, cursor[-1]]
    return "(" + " OR ".join(ors) + ")"


def common_where(query: SearchQuery, p: list[Any], mark: str = "?") -> list[str]:
    """The backend-neutral conditions of a search: ids, collections, datetime."""
    where: list[str] = []
    if query.ids:
        where.append(f"items.id IN ({', '.join([mark] * len(query.ids))})")
        p += list(query.ids)
    if query.collections:
        where.append(f"items.collection IN ({', '.join([mark] * len(query.collections))})")
        p += list(query.collections)
    if query.interval is not None:
        start, end = query.interval
        if start is not None:
            where.append(f"items.t_end >= {mark}")
            p.append(start)
        if end is not None:
            where.append(f"items.t_start <= {mark}")
            p.append(end)
    return where


def search_shape(query: SearchQuery) -> tuple[BaseGeometry | None, list[BBox]]:
    """The geometry a search's bbox or intersects asks for, and its bounding boxes (two
    across the antimeridian)."""
    if query.bbox is not None:
        return bbox_polygon(query.bbox), bbox_boxes(query.bbox)
    if query.intersects is not None:
        return query.intersects, [query.intersects.bounds]
    return None, []


def order_by(sort: tuple[SortKey, ...]) -> str:
    """``ORDER BY`` terms of a sort (explicit NULLS placement, id last)."""
    terms = [
        f"items.{k.queryable.column} {'DESC NULLS LAST' if k.descending else 'ASC NULLS FIRST'}"
        for k in sort
    ]
    return ", ".join([*terms, "items.id ASC"])
