"""STAC API - Item Search parameters: validation into a :class:`SearchQuery`, paging tokens.

One entry point, :func:`build_query`, takes the parameters as a GET query string or a
POST body gives them (``bbox`` as text or numbers, ``filter`` as CQL2-JSON or, with the
optional ``cql2`` package, CQL2-text, ``sortby`` as ``+field,-field`` or
``[{"field", "direction"}]``) and raises :class:`~streams.catalogue.errors.QueryError`
with a one-line message for anything it cannot answer.

Paging is keyset pagination: the token is an opaque base64url text holding the sort
values and the id of the last item of the page, and the next page starts strictly after
them. An item inserted while a client pages therefore shifts nothing: it appears on a
later page if it sorts after the cursor, and never twice.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shapely.geometry.base import BaseGeometry

from streams.catalogue.cql2 import Expr, parse_cql2_json, parse_cql2_text
from streams.catalogue.errors import QueryError
from streams.catalogue.geometry import BBox, parse_bbox, parse_search_geometry
from streams.catalogue.queryables import (
    QUERYABLES,
    SORTABLE,
    Kind,
    Queryable,
    lookup,
    parse_timestamp,
)

DEFAULT_LIMIT = 10
"""Items per page when the request names no limit (STAC API default)."""

MAX_LIMIT = 1000
"""Largest ``limit`` accepted."""

MAX_IDS = 1000
"""Most ``ids`` or ``collections`` in one search."""

MAX_TOKEN_CHARS = 4096


@dataclass(frozen=True)
class SortKey:
    """One ``sortby`` term."""

    queryable: Queryable
    descending: bool = False

    @property
    def text(self) -> str:
        """``+name`` or ``-name``."""
        return ("-" if self.descending else "+") + self.queryable.name


DEFAULT_SORT = (SortKey(QUERYABLES["datetime"], descending=True),)
"""Newest acquisitions first; ties (and every order) end with the item id ascending."""


@dataclass(frozen=True)
class SearchQuery:
    """A validated search.

    Attributes
    ----------
    ids, collections
        Item ids and collection ids to restrict to (empty: any).
    bbox
        (west, south, east, north) degrees; west > east crosses the antimeridian.
    intersects
        A geometry the item footprints must intersect.
    interval
        (start, end) microseconds since the epoch, ``None`` for an open end; items whose
        [start_datetime, end_datetime] (or datetime) intersect it match.
    filter
        Parsed CQL2 filter.
    sortby
        Sort terms (the item id ascending always breaks ties).
    limit
        Items per page.
    token
        Paging token of the page to return (from the previous page's ``next`` link).
    count
        Whether to count every matching item (``numberMatched``).
    """

    ids: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()
    bbox: BBox | None = None
    intersects: BaseGeometry | None = None
    interval: tuple[int | None, int | None] | None = None
    filter: Expr | None = None
    sortby: tuple[SortKey, ...] = DEFAULT_SORT
    limit: int = DEFAULT_LIMIT
    token: str | None = None
    count: bool = True


@dataclass(frozen=True)
class SearchPage:
    """One page of results: items (stored form, no links), the token of the next page
    (``None`` on the last), and the number of matching items when counted."""

    items: list[dict[str, Any]]
    next_token: str | None
    matched: int | None


# ---------------------------------------------------------------------------- parameters


def parse_interval(value: str) -> tuple[int | None, int | None]:
    """A STAC ``datetime`` parameter: an instant, ``start/end``, ``../end``, ``start/..``
    (an empty side is open too).

    Raises
    ------
    QueryError
        Unparseable, both ends open, or start after end.
    """
    if not isinstance(value, str) or not value.strip():
        raise QueryError("datetime must be an RFC 3339 instant or interval 'start/end'")
    text = value.strip()
    if "/" not in text:
        instant = parse_timestamp(text, "datetime")
        return instant, instant
    if text.count("/") != 1:
        raise QueryError(f"datetime interval {value!r} must have exactly one '/'")
    left, right = (s.strip() for s in text.split("/"))
    start = None if left in ("", "..") else parse_timestamp(left, "datetime start")
    end = None if right in ("", "..") else parse_timestamp(right, "datetime end")
    if start is None and end is None:
        raise QueryError("datetime interval cannot be open at both ends")
    if start is not None and end is not None and start > end:
        raise QueryError(f"datetime interval {value!r} starts after it ends")
    return start, end


def parse_limit(value: Any) -> int:
    """``limit``: an integer in [1, :data:`MAX_LIMIT`]."""
    if isinstance(value, bool):
        raise QueryError("limit must be an integer")
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise QueryError(f"limit must be an integer, got {value!r}") from None
    if isinstance(value, float) and not value.is_integer():
        raise QueryError(f"limit must be an integer, got {value!r}")
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit


def parse_sortby(value: Any) -> tuple[SortKey, ...]:
    """``sortby`` (STAC API Sort extension): ``"+datetime,-id"`` (GET) or
    ``[{"field": "datetime", "direction": "desc"}]`` (POST)."""
    terms: list[tuple[str, bool]] = []
    if isinstance(value, str):
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            desc = part.startswith("-")
            terms.append((part.lstrip("+-").strip(), desc))
    elif isinstance(value, Sequence):
        for term in value:
            if not isinstance(term, Mapping) or not isinstance(term.get("field"), str):
                raise QueryError('sortby terms are {"field": name, "direction": asc|desc}')
            direction = str(term.get("direction", "asc")).lower()
            if direction not in ("asc", "desc"):
                raise QueryError(f"sortby direction must be asc or desc, got {direction!r}")
            terms.append((term["field"], direction == "desc"))
    else:
        raise QueryError("sortby must be a text like '+datetime,-id' or a list of terms")
    if not terms:
        return DEFAULT_SORT
    keys: list[SortKey] = []
    for name, desc in terms:
        q = lookup(name)
        if q.name not in SORTABLE:
            raise QueryError(f"cannot sort by {q.name!r} ({q.kind.value})")
        keys.append(SortKey(q, desc))
    return tuple(keys)


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        items = list(value)
    else:
        raise QueryError(f"{what} must be a list of strings")
    if len(items) > MAX_IDS:
        raise QueryError(f"at most {MAX_IDS} {what} per search")
    return tuple(items)


def parse_filter(value: Any, lang: str | None) -> Expr:
    """``filter`` with ``filter-lang`` (default: cql2-json for an object, cql2-text for
    text that does not start with ``{``)."""
    if lang not in (None, "cql2-json", "cql2-text"):
        raise QueryError(f"filter-lang must be cql2-json or cql2-text, got {lang!r}")
    if isinstance(value, str):
        text = value.strip()
        if lang == "cql2-json" or (lang is None and text.startswith("{")):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise QueryError(f"filter is not valid JSON: {exc.msg}") from None
        else:
            return parse_cql2_text(text)
    elif lang == "cql2-text":
        raise QueryError("filter-lang cql2-text needs the filter as text")
    return parse_cql2_json(value)


def build_query(
    *,
    ids: Any = None,
    collections: Any = None,
    bbox: Any = None,
    intersects: Any = None,
    datetime: Any = None,
    filter: Any = None,  # noqa: A002 - the STAC parameter's name
    filter_lang: str | None = None,
    sortby: Any = None,
    limit: Any = None,
    token: str | None = None,
    count: bool = True,
) -> SearchQuery:
    """Validate search parameters (GET or POST form) into a :class:`SearchQuery`.

    Raises
    ------
    QueryError
        One line naming the bad parameter: bbox and intersects together, invalid bbox,
        geometry, datetime, limit, sortby, token or filter (unknown queryable...).
    """
    if bbox is not None and intersects is not None:
        raise QueryError("bbox and intersects cannot be used together")
    sort = parse_sortby(sortby) if sortby is not None else DEFAULT_SORT
    if token is not None:
        decode_token(token, sort)  # reject a bad token before searching
    return SearchQuery(
        ids=_strings(ids, "ids") if ids is not None else (),
        collections=_strings(collections, "collections") if collections is not None else (),
        bbox=parse_bbox(bbox) if bbox is not None else None,
        intersects=parse_search_geometry(intersects) if intersects is not None else None,
        interval=parse_interval(datetime) if datetime is not None else None,
        filter=parse_filter(filter, filter_lang) if filter is not None else None,
        sortby=sort,
        limit=parse_limit(limit) if limit is not None else DEFAULT_LIMIT,
        token=token,
        count=count,
    )


# ---------------------------------------------------------------------------- tokens


def _signature(sort: Sequence[SortKey]) -> str:
    return hashlib.sha256(",".join(k.text for k in sort).encode()).hexdigest()[:12]


def encode_token(values: Sequence[Any], sort: Sequence[SortKey]) -> str:
    """Paging token after a row whose sort values (then id) are ``values``."""
    body = json.dumps({"s": _signature(sort), "k": list(values)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_token(token: str, sort: Sequence[SortKey]) -> list[Any]:
    """The cursor of a token (sort values then id).

    Raises
    ------
    QueryError
        Not a token of this service, or made for another sort order.
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise QueryError("invalid paging token")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError):
        raise QueryError("invalid paging token") from None
    if not isinstance(body, dict) or not isinstance(body.get("k"), list):
        raise QueryError("invalid paging token")
    if body.get("s") != _signature(sort):
        raise QueryError("paging token was made for another sortby; restart without it")
    values: list[Any] = body["k"]
    if len(values) != len(sort) + 1 or not isinstance(values[-1], str):
        raise QueryError("invalid paging token")
    for key, v in zip(sort, values, strict=False):
        ok = v is None or (
            isinstance(v, str)
            if key.queryable.kind is Kind.STRING
            else isinstance(v, int | float) and not isinstance(v, bool)
        )
        if not ok:
            raise QueryError("invalid paging token")
    return values
