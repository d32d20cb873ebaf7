"""PostgreSQL/PostGIS catalogue storage, for deployments that outgrow the embedded SQLite
file (several API replicas, millions of items).

Same protocol and same search semantics as
:class:`~streams.catalogue.store.SqliteCatalogue`: a table of items with the footprint in
a ``geometry(Geometry, 4326)`` column under a GiST index (``bbox``/``intersects`` use
``ST_Intersects``), the temporal extent and one typed column per queryable, filters
translated by :class:`~streams.catalogue.cql2.PostgisCompiler` (parameterised), keyset
paging. Text columns use the ``C`` collation so string order is code-point order, as in
the SQLite store and in :func:`streams.catalogue.cql2.evaluate`.

Needs the ``psycopg`` package (3.x) and a server with the PostGIS extension; the
extension is created if the role may.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import shapely

from streams._infra.errors import ConfigurationError
from streams.catalogue.cql2 import PostgisCompiler
from streams.catalogue.errors import ItemNotFoundError
from streams.catalogue.queryables import QUERYABLES, Kind, format_timestamp
from streams.catalogue.search import SearchPage, SearchQuery, decode_token, encode_token
from streams.catalogue.sqlparts import (
    common_where,
    item_row,
    keyset_after,
    order_by,
    search_shape,
)
from streams.catalogue.store import SCHEMA_VERSION, CollectionExtent

if TYPE_CHECKING:
    import psycopg

_PG_TYPES = {
    Kind.STRING: 'TEXT COLLATE "C"',
    Kind.NUMBER: "DOUBLE PRECISION",
    Kind.INTEGER: "BIGINT",
    Kind.TIMESTAMP: "BIGINT",
    Kind.STRING_ARRAY: 'TEXT COLLATE "C"',
}
_M = "%s"


class PostgisCatalogue:
    """Items in a PostgreSQL database with PostGIS.

    Parameters
    ----------
    dsn
        libpq connection string or URL (``postgresql://user@host:5432/db``).
    table
        Table of the items (created if missing), default ``stac_items``.

    Raises
    ------
    ConfigurationError
        ``psycopg`` is not installed, or the server cannot be reached or lacks PostGIS.
    """

    def __init__(self, dsn: str, table: str = "stac_items") -> None:
        if not table.isidentifier():
            raise ConfigurationError(f"catalogue table name {table!r} is not an identifier")
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise ConfigurationError(
                "the PostgreSQL catalogue needs the 'psycopg' package (pip install psycopg)"
            ) from None
        self.dsn = dsn
        self.table = table
        self._columns = [q for q in QUERYABLES.values() if q.kind is not Kind.GEOMETRY]
        with self._connect() as con, con.transaction():
            self._create(con)

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection[Any]]:
        import psycopg

        try:
            con = psycopg.connect(self.dsn, autocommit=True)
        except psycopg.OperationalError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigurationError(f"cannot connect to the catalogue database: {first}") from None
        try:
            yield con
        finally:
            con.close()

    def _create(self, con: psycopg.Connection[Any]) -> None:
        import psycopg

        t = self.table
        try:
            con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error as exc:
            raise ConfigurationError(f"PostGIS is not available: {exc}".splitlines()[0]) from None
        q_cols = ", ".join(f"{q.column} {_PG_TYPES[q.kind]}" for q in self._columns)
        con.execute(
            f"""CREATE TABLE IF NOT EXISTS {t} (
                id TEXT COLLATE "C" PRIMARY KEY,
                collection TEXT COLLATE "C" NOT NULL,
                t_start BIGINT NOT NULL,
                t_end BIGINT NOT NULL,
                geometry geometry(Geometry, 4326) NOT NULL,
                minx DOUBLE PRECISION, miny DOUBLE PRECISION,
                maxx DOUBLE PRECISION, maxy DOUBLE PRECISION,
                content TEXT NOT NULL,
                {q_cols})"""
        )
        con.execute(f"CREATE INDEX IF NOT EXISTS {t}_geometry ON {t} USING GIST (geometry)")
        con.execute(f"CREATE INDEX IF NOT EXISTS {t}_collection ON {t} (collection)")
        con.execute(f"CREATE INDEX IF NOT EXISTS {t}_time ON {t} (t_start, t_end)")
        con.execute(f"CREATE INDEX IF NOT EXISTS {t}_datetime ON {t} (q_datetime, id)")
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {t}_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        wanted = ",".join(q.column for q in self._columns)
        have = con.execute(f"SELECT value FROM {t}_meta WHERE key = 'columns'").fetchone()
        if have is not None and have[0] != wanted:
            contents = [json.loads(r[0]) for r in con.execute(f"SELECT content FROM {t}")]
            con.execute(f"DROP TABLE {t}")
            con.execute(f"DELETE FROM {t}_meta WHERE key = 'columns'")
            self._create(con)
            self._insert(con, contents)
        con.execute(
            f"INSERT INTO {t}_meta (key, value) VALUES ('columns', %s), ('version', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (wanted, str(SCHEMA_VERSION)),
        )

    # ------------------------------------------------------------------ writes

    def _insert(self, con: psycopg.Connection[Any], items: Iterable[Mapping[str, Any]]) -> int:
        n = 0
        for item in items:
            row = item_row(item)
            cols = list(row)
            marks = [
                "ST_GeomFromWKB(%s, 4326)" if c == "geometry" else _M for c in cols
            ]  # fmt: skip
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c != "id")
            con.execute(
                f"INSERT INTO {self.table} ({', '.join(cols)}) VALUES ({', '.join(marks)}) "
                f"ON CONFLICT (id) DO UPDATE SET {updates}",
                [row[c] for c in cols],
            )
            n += 1
        return n

    def upsert(self, item: Mapping[str, Any]) -> None:
        """Store ``item``, replacing the item with its id (see ``SqliteCatalogue.upsert``)."""
        self.upsert_many([item])

    def upsert_many(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Store several items in one transaction (all or none); returns the count."""
        with self._connect() as con, con.transaction():
            return self._insert(con, items)

    def delete(self, item_id: str) -> bool:
        """Remove the item ``item_id``; whether it was there."""
        with self._connect() as con:
            cur = con.execute(f"DELETE FROM {self.table} WHERE id = %s", (item_id,))
            return cur.rowcount > 0

    # ------------------------------------------------------------------ reads

    def get(self, item_id: str, collection: str | None = None) -> dict[str, Any]:
        """The stored item ``item_id`` (in ``collection`` when given)."""
        with self._connect() as con:
            row = con.execute(
                f"SELECT content, collection FROM {self.table} WHERE id = %s", (item_id,)
            ).fetchone()
        if row is None or (collection is not None and row[1] != collection):
            where = f" in collection {collection!r}" if collection else ""
            raise ItemNotFoundError(f"no item {item_id!r}{where}")
        item: dict[str, Any] = json.loads(row[0])
        return item

    def count(self) -> int:
        """Number of stored items."""
        with self._connect() as con:
            row = con.execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()
        return int(row[0]) if row else 0

    def extent(self, collection: str) -> CollectionExtent:
        """Count, bounds and time span of ``collection``'s items."""
        with self._connect() as con:
            row = con.execute(
                "SELECT COUNT(*), MIN(minx), MIN(miny), MAX(maxx), MAX(maxy), MIN(t_start), "
                f"MAX(t_end) FROM {self.table} WHERE collection = %s",
                (collection,),
            ).fetchone()
        if row is None or not row[0]:
            return CollectionExtent(0, None, None, None)
        n, x0, y0, x1, y1, t0, t1 = row
        return CollectionExtent(
            int(n), (x0, y0, x1, y1), format_timestamp(int(t0)), format_timestamp(int(t1))
        )

    def _where(self, query: SearchQuery, p: list[Any]) -> list[str]:
        where = common_where(query, p, _M)
        shape, _ = search_shape(query)
        if shape is not None:
            where.append("ST_Intersects(items.geometry, ST_GeomFromWKB(%s, 4326))")
            p.append(shapely.to_wkb(shape))
        if query.filter is not None:
            sql, params = PostgisCompiler("items").compile(query.filter)
            where.append(f"({sql})")
            p += params
        return where

    def search(self, query: SearchQuery) -> SearchPage:
        """One page of the items matching ``query`` (see ``SqliteCatalogue.search``)."""
        p: list[Any] = []
        where = self._where(query, p)
        source = f"FROM {self.table} AS items"
        matched: int | None = None
        with self._connect() as con:
            if query.count:
                sql = f"SELECT COUNT(*) {source}"
                if where:
                    sql += " WHERE " + " AND ".join(where)
                row = con.execute(sql, p).fetchone()
                matched = int(row[0]) if row else 0
            page_where = list(where)
            page_params = list(p)
            if query.token is not None:
                cursor = decode_token(query.token, query.sortby)
                page_where.append(keyset_after(query.sortby, cursor, page_params, _M))
            cols = ", ".join(f"items.{k.queryable.column}" for k in query.sortby)
            sql = f"SELECT items.content, {cols}, items.id {source}"
            if page_where:
                sql += " WHERE " + " AND ".join(page_where)
            sql += f" ORDER BY {order_by(query.sortby)} LIMIT %s"
            rows = con.execute(sql, [*page_params, query.limit + 1]).fetchall()
        items = [json.loads(r[0]) for r in rows[: query.limit]]
        token = None
        if len(rows) > query.limit:
            token = encode_token(list(rows[query.limit - 1][1:]), query.sortby)
        return SearchPage(items, token, matched)

    def close(self) -> None:
        """Nothing to release (one connection per call)."""
