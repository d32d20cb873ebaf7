"""Catalogue storage: the :class:`Catalogue` protocol and its embedded SQLite implementation.

:class:`SqliteCatalogue` keeps every item in one SQLite file (WAL journal, one connection
per call, so the API and the stages may share the file across threads and processes):

- table ``items``: the item JSON, its id (unique), collection, temporal extent
  (``t_start``/``t_end``, integer microseconds), footprint (WKB) and bounds, and one typed
  column per queryable (``q_*``) holding :meth:`Queryable.normalise`'s value, the value
  :func:`streams.catalogue.cql2.evaluate` compares too;
- R*Tree virtual table ``items_rtree`` on the bounds: ``bbox`` and ``intersects`` first
  select candidates through it, then an exact shapely test (SQL function
  ``cql2_spatial``) keeps the footprints that really intersect.

Writing an item whose id exists replaces it (a replayed product rewrites its item).
Searches combine ids, collections, bbox or intersects, datetime, a CQL2 filter
(:class:`~streams.catalogue.cql2.SqliteCompiler`, parameterised), ``sortby`` and keyset
paging (:mod:`streams.catalogue.search`).

:class:`streams.catalogue.postgis.PostgisCatalogue` implements the same protocol on
PostgreSQL/PostGIS; :func:`open_catalogue` picks one by URL.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import shapely
from shapely.geometry.base import BaseGeometry

from streams._infra.errors import ConfigurationError
from streams._infra.sqlite import SqliteFile
from streams.catalogue.cql2 import SqliteCompiler, spatial_predicate
from streams.catalogue.cql2.sql import LITERAL_MARK
from streams.catalogue.errors import ItemNotFoundError
from streams.catalogue.queryables import (
    QUERYABLES,
    Kind,
    format_timestamp,
)
from streams.catalogue.search import SearchPage, SearchQuery, decode_token, encode_token
from streams.catalogue.sqlparts import (
    common_where,
    item_row,
    keyset_after,
    order_by,
    search_shape,
)
from streams.catalogue.stac import product_to_stac_item

if TYPE_CHECKING:
    from streams.messages.products import ProductRecord

SCHEMA_VERSION = 1

_SQL_TYPES = {
    Kind.STRING: "TEXT",
    Kind.NUMBER: "REAL",
    Kind.INTEGER: "INTEGER",
    Kind.TIMESTAMP: "INTEGER",
    Kind.STRING_ARRAY: "TEXT",
}


@dataclass(frozen=True)
class CollectionExtent:
    """What a collection holds: item count, bounds, first start and last end."""

    count: int
    bbox: tuple[float, float, float, float] | None
    start: str | None
    end: str | None


class Catalogue(Protocol):
    """A store of STAC items that can be searched."""

    def upsert(self, item: Mapping[str, Any]) -> None:
        """Store an item, replacing one with the same id."""

    def upsert_many(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Store items in one transaction; returns how many."""

    def get(self, item_id: str, collection: str | None = None) -> dict[str, Any]:
        """The stored item (raises :class:`ItemNotFoundError`)."""

    def delete(self, item_id: str) -> bool:
        """Remove an item; whether it existed."""

    def search(self, query: SearchQuery) -> SearchPage:
        """One page of the items matching ``query``."""

    def extent(self, collection: str) -> CollectionExtent:
        """Count and extent of a collection's items."""

    def close(self) -> None:
        """Release resources."""


# ---------------------------------------------------------------------------- helpers


@lru_cache(maxsize=64)
def _literal_shape(wkb: bytes) -> BaseGeometry:
    shape = shapely.from_wkb(wkb)
    shapely.prepare(shape)
    return shape


def _shape(wkb: bytes) -> BaseGeometry:
    # a search literal (marked, see SqliteCompiler) is parsed and prepared once per query;
    # an item's footprint is parsed row by row
    if wkb[:1] == LITERAL_MARK:
        return _literal_shape(wkb[1:])
    return shapely.from_wkb(wkb)


def _sql_spatial(op: str, a: bytes | None, b: bytes | None) -> int | None:
    """SQL function ``cql2_spatial(op, wkb, wkb)``: the shapely predicate, NULL-aware."""
    if a is None or b is None:
        return None
    return int(spatial_predicate(op, _shape(a), _shape(b)))


# ---------------------------------------------------------------------------- SQLite


class SqliteCatalogue:
    """The embedded catalogue: one SQLite file with an R*Tree spatial index.

    Parameters
    ----------
    path
        The database file (its directory is created).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # WAL + NORMAL: a commit is durable once checkpointed; a power cut may lose the
        # last commits (the catalogue is rebuilt from l1-products), never corrupt the file
        self.db = SqliteFile(
            self.path, pragmas=("synchronous=NORMAL",),
            functions=(("cql2_spatial", 3, _sql_spatial),),
        )  # fmt: skip
        self._columns = [q for q in QUERYABLES.values() if q.kind is not Kind.GEOMETRY]
        with self.db.connect() as con:
            self._create(con)

    def _create(self, con: sqlite3.Connection) -> None:
        q_cols = ", ".join(f"{q.column} {_SQL_TYPES[q.kind]}" for q in self._columns)
        con.executescript(
            f"""
            CREATE TABLE IF NOT EXISTS items (
                rid INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                collection TEXT NOT NULL,
                t_start INTEGER NOT NULL,
                t_end INTEGER NOT NULL,
                geometry BLOB NOT NULL,
                minx REAL, miny REAL, maxx REAL, maxy REAL,
                content TEXT NOT NULL,
                {q_cols}
            );
            CREATE INDEX IF NOT EXISTS items_collection ON items (collection);
            CREATE INDEX IF NOT EXISTS items_time ON items (t_start, t_end);
            CREATE INDEX IF NOT EXISTS items_datetime ON items (q_datetime, id);
            CREATE VIRTUAL TABLE IF NOT EXISTS items_rtree USING rtree(rid, minx, maxx, miny, maxy);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            """
        )
        wanted = ",".join(q.column for q in self._columns)
        have = con.execute("SELECT value FROM meta WHERE key = 'columns'").fetchone()
        if have is not None and have[0] != wanted:
            self._rebuild(con)
        con.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('columns', ?), ('version', ?)",
            (wanted, str(SCHEMA_VERSION)),
        )

    def _rebuild(self, con: sqlite3.Connection) -> None:
        """Recreate the tables (the queryables changed) and re-index every stored item."""
        contents = [json.loads(r[0]) for r in con.execute("SELECT content FROM items")]
        con.executescript(
            "DROP TABLE items; DROP TABLE items_rtree; DELETE FROM meta WHERE key = 'columns';"
        )
        self._create(con)
        self._insert(con, contents)

    # ------------------------------------------------------------------ writes

    def _insert(self, con: sqlite3.Connection, items: Iterable[Mapping[str, Any]]) -> int:
        n = 0
        for item in items:
            row = item_row(item)
            cols = list(row)
            found = con.execute("SELECT rid FROM items WHERE id = ?", (row["id"],)).fetchone()
            if found is None:
                cur = con.execute(
                    f"INSERT INTO items ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    [row[c] for c in cols],
                )
                rid = cur.lastrowid
                con.execute(
                    "INSERT INTO items_rtree (rid, minx, maxx, miny, maxy) VALUES (?, ?, ?, ?, ?)",
                    (rid, row["minx"], row["maxx"], row["miny"], row["maxy"]),
                )
            else:
                rid = found[0]
                sets = ", ".join(f"{c} = ?" for c in cols)
                con.execute(
                    f"UPDATE items SET {sets} WHERE rid = ?", [row[c] for c in cols] + [rid]
                )
                con.execute(
                    "UPDATE items_rtree SET minx = ?, maxx = ?, miny = ?, maxy = ? WHERE rid = ?",
                    (row["minx"], row["maxx"], row["miny"], row["maxy"], rid),
                )
            n += 1
        return n

    def upsert(self, item: Mapping[str, Any]) -> None:
        """Store ``item`` (a STAC Item without links), replacing the item with its id.

        Raises
        ------
        InvalidItemError
            No id, collection, properties, valid geometry or datetime.
        """
        with self.db.write() as con:
            self._insert(con, [item])

    def upsert_many(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Store several items in one transaction (all or none); returns the count."""
        with self.db.write() as con:
            return self._insert(con, items)

    def delete(self, item_id: str) -> bool:
        """Remove the item ``item_id``; whether it was there."""
        with self.db.write() as con:
            found = con.execute("SELECT rid FROM items WHERE id = ?", (item_id,)).fetchone()
            if found is None:
                return False
            con.execute("DELETE FROM items WHERE rid = ?", (found[0],))
            con.execute("DELETE FROM items_rtree WHERE rid = ?", (found[0],))
            return True

    # ------------------------------------------------------------------ reads

    def get(self, item_id: str, collection: str | None = None) -> dict[str, Any]:
        """The stored item ``item_id`` (in ``collection`` when given).

        Raises
        ------
        ItemNotFoundError
        """
        with self.db.connect() as con:
            row = con.execute(
                "SELECT content, collection FROM items WHERE id = ?", (item_id,)
            ).fetchone()
        if row is None or (collection is not None and row[1] != collection):
            where = f" in collection {collection!r}" if collection else ""
            raise ItemNotFoundError(f"no item {item_id!r}{where}")
        item: dict[str, Any] = json.loads(row[0])
        return item

    def count(self) -> int:
        """Number of stored items."""
        with self.db.connect() as con:
            return int(con.execute("SELECT COUNT(*) FROM items").fetchone()[0])

    def extent(self, collection: str) -> CollectionExtent:
        """Count, bounds and time span of ``collection``'s items."""
        with self.db.connect() as con:
            n, x0, y0, x1, y1, t0, t1 = con.execute(
                "SELECT COUNT(*), MIN(minx), MIN(miny), MAX(maxx), MAX(maxy), MIN(t_start), "
                "MAX(t_end) FROM items WHERE collection = ?",
                (collection,),
            ).fetchone()
        if not n:
            return CollectionExtent(0, None, None, None)
        return CollectionExtent(
            int(n), (x0, y0, x1, y1), format_timestamp(int(t0)), format_timestamp(int(t1))
        )

    def _where(self, query: SearchQuery, p: list[Any]) -> list[str]:
        where = common_where(query, p)
        shape, boxes = search_shape(query)
        if shape is not None:
            box = "(minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?)"
            conds = " OR ".join(box for _ in boxes)
            where.append(f"items.rid IN (SELECT rid FROM items_rtree WHERE {conds})")
            for w, s, e, n in boxes:
                p += [e, w, n, s]
            where.append("cql2_spatial('s_intersects', items.geometry, ?) = 1")
            p.append(LITERAL_MARK + shapely.to_wkb(shape))
        if query.filter is not None:
            sql, params = SqliteCompiler("items").compile(query.filter)
            where.append(f"({sql}) = 1")
            p += params
        return where

    def search(self, query: SearchQuery) -> SearchPage:
        """One page of the items matching ``query``, in ``query.sortby`` order then id.

        Raises
        ------
        QueryError
            A paging token made for another sort order or not of this service.
        """
        p: list[Any] = []
        where = self._where(query, p)
        matched: int | None = None
        with self.db.connect() as con:
            if query.count:
                sql = "SELECT COUNT(*) FROM items"
                if where:
                    sql += " WHERE " + " AND ".join(where)
                matched = int(con.execute(sql, p).fetchone()[0])
            page_where = list(where)
            page_params = list(p)
            if query.token is not None:
                cursor = decode_token(query.token, query.sortby)
                page_where.append(keyset_after(query.sortby, cursor, page_params))
            cols = ", ".join(f"items.{k.queryable.column}" for k in query.sortby)
            sql = f"SELECT items.content, {cols}, items.id FROM items"
            if page_where:
                sql += " WHERE " + " AND ".join(page_where)
            sql += f" ORDER BY {order_by(query.sortby)} LIMIT ?"
            rows = con.execute(sql, [*page_params, query.limit + 1]).fetchall()
        items = [json.loads(r[0]) for r in rows[: query.limit]]
        token = None
        if len(rows) > query.limit:
            last = rows[query.limit - 1]
            token = encode_token(list(last[1:]), query.sortby)
        return SearchPage(items, token, matched)

    def close(self) -> None:
        """Nothing to release (one connection per call)."""


def index_product(catalogue: Catalogue, record: ProductRecord, **extras: Any) -> dict[str, Any]:
    """Describe a product as a STAC item and store it (a replayed product rewrites it).

    Parameters
    ----------
    catalogue
        Where to store the item.
    record
        The product record (a value of ``l1-products``).
    extras
        Keyword arguments of :func:`~streams.catalogue.stac.product_to_stac_item`
        (``sar``, ``checksum``, ``quicklook_url``...) the record does not carry yet.

    Returns
    -------
    dict
        The stored item (no links).
    """
    item = product_to_stac_item(record, **extras)
    catalogue.upsert(item)
    return item


def open_catalogue(url: str) -> Catalogue:
    """The catalogue at ``url``.

    ``sqlite:///relative/file.sqlite``, ``sqlite:////absolute/file.sqlite`` (SQLAlchemy's
    form) or a plain path: :class:`SqliteCatalogue`; ``postgresql://...`` (or
    ``postgres://``): :class:`~streams.catalogue.postgis.PostgisCatalogue`.

    Raises
    ------
    ConfigurationError
        Unknown scheme; PostgreSQL unreachable, without PostGIS, or ``psycopg`` missing.
    """
    if url.startswith("sqlite:///"):
        return SqliteCatalogue(url.removeprefix("sqlite:///"))
    if "://" not in url:
        return SqliteCatalogue(url)
    scheme = url.split("://", 1)[0]
    if scheme in ("postgresql", "postgres"):
        from streams.catalogue.postgis import PostgisCatalogue

        return PostgisCatalogue(url)
    raise ConfigurationError(
        f"unknown catalogue URL scheme {scheme!r}; use sqlite:///PATH or postgresql://..."
    )
