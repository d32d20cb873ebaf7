"""Translate a filter tree to a parameterised SQL boolean expression."""

from __future__ import annotations

from typing import Any

import shapely

from streams.catalogue.cql2.tree import (
    E1,
    E2,
    S1,
    S2,
    TEMPORAL_CONDITIONS,
    And,
    ArrayLiteral,
    ArrayOp,
    Between,
    BoolConst,
    Comparison,
    Expr,
    GeometryLiteral,
    In,
    IsNull,
    Like,
    Literal,
    Not,
    Or,
    Property,
    Scalar,
    Spatial,
    Temporal,
    kind_of,
)  # fmt: skip
from streams.catalogue.queryables import Kind, Queryable, canonical_array


def like_glob(pattern: str) -> str:
    """CQL2 ``like`` pattern -> SQLite GLOB pattern (case-sensitive, like the regex)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            c = pattern[i + 1]
            out.append(f"[{c}]" if c in "*?[" else c)
            i += 2
            continue
        if c == "%":
            out.append("*")
        elif c == "_":
            out.append("?")
        else:
            out.append(f"[{c}]" if c in "*?[" else c)
        i += 1
    return "".join(out)


class SqlCompiler:
    """Translate a filter tree to a parameterised SQL boolean expression.

    Subclasses give the dialect: parameter placeholder, column of a queryable, spatial,
    ``like`` and array predicates. :meth:`compile` returns ``(sql, params)``; ``sql``
    never contains a value, only placeholders and column names from the queryable table.
    """

    placeholder = "?"

    def column(self, q: Queryable) -> str:
        return q.column

    def param(self, value: Any, params: list[Any]) -> str:
        params.append(value)
        return self.placeholder

    def compile(self, expr: Expr) -> tuple[str, list[Any]]:
        params: list[Any] = []
        return self.expr(expr, params), params

    def scalar(self, x: Scalar, params: list[Any]) -> str:
        return self.param(x.value, params) if isinstance(x, Literal) else self.column(x.q)

    def expr(self, e: Expr, p: list[Any]) -> str:  # noqa: C901 - one branch per node type
        if isinstance(e, BoolConst):
            return "(1 = 1)" if e.value else "(1 = 0)"
        if isinstance(e, And | Or):
            joiner = " AND " if isinstance(e, And) else " OR "
            return "(" + joiner.join(self.expr(a, p) for a in e.args) + ")"
        if isinstance(e, Not):
            return f"(NOT {self.expr(e.arg, p)})"
        if isinstance(e, Comparison):
            if kind_of(e.left) is Kind.STRING_ARRAY:
                return self.array_equals(e, p)
            return f"({self.scalar(e.left, p)} {e.op} {self.scalar(e.right, p)})"
        if isinstance(e, Like):
            return self.like(self.scalar(e.value, p), e.pattern, p)
        if isinstance(e, Between):
            v = self.scalar(e.value, p)
            lo = self.scalar(e.low, p)
            hi = self.scalar(e.high, p)
            return f"({v} BETWEEN {lo} AND {hi})"
        if isinstance(e, In):
            v = self.scalar(e.value, p)
            marks = ", ".join(self.param(i.value, p) for i in e.items)
            return f"({v} IN ({marks}))"
        if isinstance(e, IsNull):
            return f"({self.column(e.value.q)} IS NULL)"
        if isinstance(e, Spatial):
            return self.spatial(e, p)
        if isinstance(e, Temporal):
            return self.temporal(e, p)
        return self.array(e, p)

    def temporal(self, e: Temporal, p: list[Any]) -> str:
        ends = (e.left.start, e.left.end, e.right.start, e.right.end)
        if e.op == "t_disjoint":
            conds = [(E1, "<", S2), (S1, ">", E2)]
            joiner = " OR "
        else:
            conds = list(TEMPORAL_CONDITIONS[e.op])
            joiner = " AND "
        parts = [
            f"({self.scalar(ends[i], p)} {op} {self.scalar(ends[j], p)})" for i, op, j in conds
        ]
        return "(" + joiner.join(parts) + ")"

    def like(self, value_sql: str, pattern: str, p: list[Any]) -> str:
        raise NotImplementedError

    def spatial(self, e: Spatial, p: list[Any]) -> str:
        raise NotImplementedError

    def array(self, e: ArrayOp, p: list[Any]) -> str:
        raise NotImplementedError

    def array_equals(self, e: Comparison, p: list[Any]) -> str:
        raise NotImplementedError


LITERAL_MARK = b"L"
"""Prefix of a geometry literal's WKB passed to SQLite's ``cql2_spatial`` (WKB itself
starts with 0x00 or 0x01): the function parses and prepares a marked literal once."""


class SqliteCompiler(SqlCompiler):
    """SQLite dialect of :class:`SqlCompiler` for :class:`~streams.catalogue.store.SqliteCatalogue`.

    Columns hold the normalised values (:meth:`Queryable.normalise`): timestamps as
    INTEGER microseconds, string arrays as compact JSON text, the geometry as WKB.
    ``like`` becomes a case-sensitive ``GLOB``; spatial operators call the connection's
    ``cql2_spatial(op, wkb, wkb)`` function (shapely, the same predicate as
    :func:`evaluate`); array operators use ``json_each``.
    """

    def __init__(self, table: str = "items") -> None:
        self.table = table

    def column(self, q: Queryable) -> str:
        if q.kind is Kind.GEOMETRY:
            return f"{self.table}.geometry"
        return f"{self.table}.{q.column}"

    def like(self, value_sql: str, pattern: str, p: list[Any]) -> str:
        return f"({value_sql} GLOB {self.param(like_glob(pattern), p)})"

    def spatial(self, e: Spatial, p: list[Any]) -> str:
        def side(x: Property | GeometryLiteral) -> str:
            if isinstance(x, Property):
                return self.column(x.q)
            return self.param(LITERAL_MARK + shapely.to_wkb(x.shape), p)

        op = self.param(e.op, p)
        return f"cql2_spatial({op}, {side(e.left)}, {side(e.right)})"

    def _array_side(self, x: Property | ArrayLiteral, p: list[Any]) -> str:
        if isinstance(x, Property):
            return self.column(x.q)
        return self.param(canonical_array(x.values), p)

    def array_equals(self, e: Comparison, p: list[Any]) -> str:
        return f"({self.scalar(e.left, p)} {e.op} {self.scalar(e.right, p)})"

    def array(self, e: ArrayOp, p: list[Any]) -> str:
        a = self._array_side(e.left, p)
        b = self._array_side(e.right, p)
        if e.op == "a_equals":
            return f"({a} = {b})"
        # each side is referenced twice: its parameter (if any) is repeated, in text order
        if e.op == "a_contains":  # every element of b is in a
            b2 = self._array_side(e.right, p)
            a2 = self._array_side(e.left, p)
            body = (
                f"NOT EXISTS (SELECT 1 FROM json_each({b2}) AS jb WHERE jb.value NOT IN "
                f"(SELECT ja.value FROM json_each({a2}) AS ja))"
            )
        elif e.op == "a_containedBy":  # every element of a is in b
            a2 = self._array_side(e.left, p)
            b2 = self._array_side(e.right, p)
            body = (
                f"NOT EXISTS (SELECT 1 FROM json_each({a2}) AS ja WHERE ja.value NOT IN "
                f"(SELECT jb.value FROM json_each({b2}) AS jb))"
            )
        else:  # a_overlaps
            a2 = self._array_side(e.left, p)
            b2 = self._array_side(e.right, p)
            body = (
                f"EXISTS (SELECT 1 FROM json_each({a2}) AS ja WHERE ja.value IN "
                f"(SELECT jb.value FROM json_each({b2}) AS jb))"
            )
        return f"(CASE WHEN {a} IS NULL OR {b} IS NULL THEN NULL ELSE {body} END)"


POSTGIS_FUNCTIONS = {
    "s_intersects": "ST_Intersects", "s_equals": "ST_Equals", "s_disjoint": "ST_Disjoint",
    "s_touches": "ST_Touches", "s_within": "ST_Within", "s_overlaps": "ST_Overlaps",
    "s_crosses": "ST_Crosses", "s_contains": "ST_Contains",
}  # fmt: skip
"""PostGIS function of each CQL2 spatial operator (both evaluate with GEOS, as shapely)."""


def like_pattern_postgres(pattern: str) -> str:
    """CQL2 ``like`` pattern -> PostgreSQL ``LIKE ... ESCAPE '\\'`` pattern: the same
    wildcards and escape; a lone trailing backslash (a literal in CQL2) is doubled."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if i + 1 < len(pattern):
                out.append(pattern[i : i + 2])
                i += 2
                continue
            out.append("\\\\")
        else:
            out.append(c)
        i += 1
    return "".join(out)


class PostgisCompiler(SqlCompiler):
    """PostgreSQL/PostGIS dialect for :class:`~streams.catalogue.postgis.PostgisCatalogue`.

    Placeholders ``%s`` (psycopg); text columns use the ``C`` collation so that ``<`` on
    strings orders by code point, as Python does; spatial operators are the PostGIS
    functions of :data:`POSTGIS_FUNCTIONS` on a ``geometry(4326)`` column; arrays are
    compact JSON text cast to ``jsonb``.
    """

    placeholder = "%s"

    def __init__(self, table: str = "items") -> None:
        self.table = table

    def column(self, q: Queryable) -> str:
        if q.kind is Kind.GEOMETRY:
            return f"{self.table}.geometry"
        return f"{self.table}.{q.column}"

    def like(self, value_sql: str, pattern: str, p: list[Any]) -> str:
        mark = self.param(like_pattern_postgres(pattern), p)
        return f"({value_sql} LIKE {mark} ESCAPE '\\')"

    def spatial(self, e: Spatial, p: list[Any]) -> str:
        def side(x: Property | GeometryLiteral) -> str:
            if isinstance(x, Property):
                return self.column(x.q)
            return f"ST_GeomFromWKB({self.param(shapely.to_wkb(x.shape), p)}, 4326)"

        return f"{POSTGIS_FUNCTIONS[e.op]}({side(e.left)}, {side(e.right)})"

    def _array_side(self, x: Property | ArrayLiteral, p: list[Any]) -> str:
        if isinstance(x, Property):
            return self.column(x.q)
        return f"({self.param(canonical_array(x.values), p)})::text"

    def array_equals(self, e: Comparison, p: list[Any]) -> str:
        return f"({self.scalar(e.left, p)} {e.op} {self.scalar(e.right, p)})"

    def array(self, e: ArrayOp, p: list[Any]) -> str:
        a = self._array_side(e.left, p)
        b = self._array_side(e.right, p)
        if e.op == "a_equals":
            return f"({a} = {b})"
        a2 = self._array_side(e.left, p)
        b2 = self._array_side(e.right, p)
        if e.op == "a_contains":
            body = f"(({a2})::jsonb @> ({b2})::jsonb)"
        elif e.op == "a_containedBy":
            body = f"(({a2})::jsonb <@ ({b2})::jsonb)"
        else:
            body = (
                f"EXISTS (SELECT 1 FROM jsonb_array_elements_text(({a2})::jsonb) AS ja "
                f"JOIN jsonb_array_elements_text(({b2})::jsonb) AS jb ON ja = jb)"
            )
        return f"(CASE WHEN {a} IS NULL OR {b} IS NULL THEN NULL ELSE {body} END)"
