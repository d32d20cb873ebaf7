"""CQL2-JSON (and, through the ``cql2`` package, CQL2-text) -> validated filter tree."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import shapely

from streams.catalogue.cql2.tree import (
    ALL_OPS,
    COMPARISONS,
    MAX_DEPTH,
    MAX_IN_LIST,
    MAX_NODES,
    SPATIAL_OPS,
    TEMPORAL_OPS,
    And,
    ArrayLiteral,
    ArrayOp,
    Between,
    BoolConst,
    Comparison,
    Expr,
    GeometryLiteral,
    In,
    Interval,
    IsNull,
    Like,
    Literal,
    Not,
    Or,
    Property,
    Scalar,
    Spatial,
    Temporal,
    describe,
    kind_of,
)  # fmt: skip
from streams.catalogue.errors import CqlError, QueryError
from streams.catalogue.geometry import bbox_polygon, parse_bbox, parse_search_geometry
from streams.catalogue.queryables import (
    EPOCH,
    OPEN_END,
    OPEN_START,
    Kind,
    Queryable,
    lookup,
    parse_timestamp,
)

_BY_LOWER = {op.lower(): op for op in ALL_OPS}


class _Parser:
    def __init__(self, queryables: Mapping[str, Queryable] | None) -> None:
        self.queryables = queryables
        self.nodes = 0

    def count(self) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise CqlError(f"filter is too large (more than {MAX_NODES} values)")

    def prop(self, obj: Mapping[str, Any]) -> Property:
        name = obj.get("property")
        if not isinstance(name, str) or len(obj) != 1:
            raise CqlError(f'a property reference is {{"property": name}}, got {_short(obj)}')
        try:
            return Property(lookup(name, self.queryables))
        except QueryError as exc:
            raise CqlError(str(exc)) from None

    def expr(self, obj: Any, depth: int) -> Expr:
        self.count()
        if depth > MAX_DEPTH:
            raise CqlError(f"filter is nested deeper than {MAX_DEPTH} levels")
        if isinstance(obj, bool):
            return BoolConst(obj)
        if not isinstance(obj, Mapping) or "op" not in obj:
            raise CqlError(f'expected a predicate {{"op": ..., "args": [...]}}, got {_short(obj)}')
        raw_op = obj.get("op")
        args = obj.get("args")
        if set(obj) - {"op", "args"}:
            extra = ", ".join(sorted(set(obj) - {"op", "args"}))
            raise CqlError(f"unexpected member(s) {extra} in predicate {raw_op!r}")
        if not isinstance(raw_op, str):
            raise CqlError(f"operator must be a string, got {_short(raw_op)}")
        op = _BY_LOWER.get(raw_op.lower())
        if op is None:
            raise CqlError(f"unsupported operator {raw_op!r}; supported: {', '.join(ALL_OPS)}")
        if not isinstance(args, list):
            raise CqlError(f"{op}: 'args' must be a list")
        if op in ("and", "or"):
            if len(args) < 2:
                raise CqlError(f"{op} needs at least 2 arguments, got {len(args)}")
            parts = tuple(self.expr(a, depth + 1) for a in args)
            return And(parts) if op == "and" else Or(parts)
        if op == "not":
            self.arity(op, args, 1)
            return Not(self.expr(args[0], depth + 1))
        if op in COMPARISONS:
            self.arity(op, args, 2)
            left, right = self.scalar(args[0], op), self.scalar(args[1], op)
            kind = self.samekind_of(op, left, right)
            if op not in ("=", "<>") and kind is Kind.STRING_ARRAY:
                raise CqlError(f"{op} cannot compare arrays")
            return Comparison(op, left, right)
        if op == "isNull":
            self.arity(op, args, 1)
            if not (isinstance(args[0], Mapping) and "property" in args[0]):
                raise CqlError("isNull takes one property reference")
            return IsNull(self.prop(args[0]))
        if op == "like":
            self.arity(op, args, 2)
            value = self.scalar(args[0], op)
            if kind_of(value) is not Kind.STRING:
                raise CqlError("like: the first argument must be a string property")
            if not isinstance(args[1], str):
                raise CqlError("like: the pattern must be a string literal")
            return Like(value, args[1])
        if op == "between":
            self.arity(op, args, 3)
            v, lo, hi = (self.scalar(a, op) for a in args)
            self.samekind_of(op, v, lo)
            self.samekind_of(op, v, hi)
            return Between(v, lo, hi)
        if op == "in":
            self.arity(op, args, 2)
            value = self.scalar(args[0], op)
            if not isinstance(args[1], list) or not args[1]:
                raise CqlError("in: the second argument must be a non-empty list of literals")
            if len(args[1]) > MAX_IN_LIST:
                raise CqlError(f"in: at most {MAX_IN_LIST} values")
            items: list[Literal] = []
            for a in args[1]:
                lit = self.scalar(a, op)
                if not isinstance(lit, Literal):
                    raise CqlError("in: the list must hold literals only")
                self.samekind_of(op, value, lit)
                items.append(lit)
            return In(value, tuple(items))
        if op in SPATIAL_OPS:
            self.arity(op, args, 2)
            return Spatial(op, self.geometry(args[0], op), self.geometry(args[1], op))
        if op in TEMPORAL_OPS:
            self.arity(op, args, 2)
            return Temporal(op, self.interval(args[0], op), self.interval(args[1], op))
        self.arity(op, args, 2)
        return ArrayOp(op, self.array(args[0], op), self.array(args[1], op))

    @staticmethod
    def arity(op: str, args: list[Any], n: int) -> None:
        if len(args) != n:
            raise CqlError(f"{op} takes {n} argument(s), got {len(args)}")

    @staticmethod
    def samekind_of(op: str, a: Scalar, b: Scalar) -> Kind:
        ka, kb = kind_of(a), kind_of(b)
        if ka == kb or (ka.numeric and kb.numeric):
            return ka
        raise CqlError(f"{op}: cannot compare {describe(a)} with {describe(b)}")

    def scalar(self, obj: Any, op: str) -> Scalar:
        self.count()
        if isinstance(obj, bool):
            raise CqlError(f"{op}: boolean literals are not comparable (no boolean queryable)")
        if isinstance(obj, str):
            return Literal(obj, Kind.STRING)
        if isinstance(obj, int | float):
            if not math.isfinite(obj):
                raise CqlError(f"{op}: numbers must be finite")
            return Literal(obj, Kind.NUMBER)
        if isinstance(obj, Mapping):
            if "property" in obj:
                prop = self.prop(obj)
                if not (prop.q.kind.scalar or op in ("=", "<>")):
                    raise CqlError(
                        f"{op}: {prop.q.name!r} is a {prop.q.kind.value}; use the "
                        f"{'s_' if prop.q.kind is Kind.GEOMETRY else 'a_'}* functions"
                    )
                if prop.q.kind is Kind.GEOMETRY:
                    raise CqlError(f"{op}: geometries are compared with s_* functions")
                return prop
            if "timestamp" in obj and len(obj) == 1:
                return Literal(parse_timestamp(obj["timestamp"]), Kind.TIMESTAMP)
            if "date" in obj and len(obj) == 1:
                raise CqlError(
                    f"{op}: dates cannot be compared with timestamps; use "
                    '{"timestamp": "YYYY-MM-DDT00:00:00Z"} or t_intersects with a date'
                )
            if "op" in obj:
                raise CqlError(f"{op}: function {obj.get('op')!r} is not supported")
        raise CqlError(f"{op}: unsupported argument {_short(obj)}")

    def geometry(self, obj: Any, op: str) -> Property | GeometryLiteral:
        self.count()
        if isinstance(obj, Mapping) and "property" in obj:
            prop = self.prop(obj)
            if prop.q.kind is not Kind.GEOMETRY:
                raise CqlError(f"{op}: {prop.q.name!r} is not a geometry")
            return prop
        if isinstance(obj, Mapping) and "bbox" in obj and len(obj) == 1:
            shape = bbox_polygon(parse_bbox(obj["bbox"]))
            return GeometryLiteral(json.dumps(shapely.geometry.mapping(shape)), shape)
        try:
            shape = parse_search_geometry(obj, f"{op} geometry")
        except QueryError as exc:
            raise CqlError(str(exc)) from None
        return GeometryLiteral(json.dumps(obj, separators=(",", ":")), shape)

    def instant(self, obj: Any, op: str, end: bool) -> Scalar:
        self.count()
        if obj == "..":
            return Literal(OPEN_END if end else OPEN_START, Kind.TIMESTAMP)
        if isinstance(obj, Mapping) and "property" in obj:
            prop = self.prop(obj)
            if prop.q.kind is not Kind.TIMESTAMP:
                raise CqlError(f"{op}: {prop.q.name!r} is not a timestamp")
            return prop
        if isinstance(obj, Mapping) and len(obj) == 1 and ("timestamp" in obj or "date" in obj):
            obj = next(iter(obj.values()))
        if isinstance(obj, str):
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", obj):
                day = _date_micros(obj)
                return Literal(day + (86_400_000_000 - 1 if end else 0), Kind.TIMESTAMP)
            return Literal(parse_timestamp(obj), Kind.TIMESTAMP)
        raise CqlError(f"{op}: unsupported temporal argument {_short(obj)}")

    def interval(self, obj: Any, op: str) -> Interval:
        if isinstance(obj, Mapping) and "interval" in obj and len(obj) == 1:
            bounds = obj["interval"]
            if not isinstance(bounds, list) or len(bounds) != 2:
                raise CqlError(f'{op}: an interval is {{"interval": [start, end]}}')
            return Interval(self.instant(bounds[0], op, False), self.instant(bounds[1], op, True))
        if isinstance(obj, Mapping) and "date" in obj and len(obj) == 1:
            return Interval(self.instant(obj, op, False), self.instant(obj, op, True))
        point = self.instant(obj, op, False)
        if point == Literal(OPEN_START, Kind.TIMESTAMP):
            raise CqlError(f"{op}: '..' is only allowed inside an interval")
        return Interval(point, point)

    def array(self, obj: Any, op: str) -> Property | ArrayLiteral:
        self.count()
        if isinstance(obj, Mapping) and "property" in obj:
            prop = self.prop(obj)
            if prop.q.kind is not Kind.STRING_ARRAY:
                raise CqlError(f"{op}: {prop.q.name!r} is not an array")
            return prop
        if isinstance(obj, list):
            if len(obj) > MAX_IN_LIST:
                raise CqlError(f"{op}: at most {MAX_IN_LIST} values in an array")
            if not all(isinstance(v, str) for v in obj):
                raise CqlError(f"{op}: array literals must hold strings")
            return ArrayLiteral(tuple(obj))
        raise CqlError(f"{op}: expected an array property or a list, got {_short(obj)}")


def _date_micros(text: str) -> int:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise CqlError(f"invalid date {text!r}") from None
    return (day - EPOCH.date()) // timedelta(microseconds=1)


def _short(obj: Any) -> str:
    text = json.dumps(obj, default=str) if not isinstance(obj, str) else repr(obj)
    return text if len(text) <= 80 else text[:77] + "..."


def parse_cql2_json(obj: Any, queryables: Mapping[str, Queryable] | None = None) -> Expr:
    """Validate a CQL2-JSON filter and build its tree.

    Parameters
    ----------
    obj
        The decoded JSON (a mapping ``{"op": ..., "args": [...]}`` or a boolean).
    queryables
        Allowed properties (default :data:`~streams.catalogue.queryables.QUERYABLES`).

    Raises
    ------
    CqlError
        One line naming the problem (unknown property, unsupported operator, wrong
        argument count or type, invalid timestamp or geometry, too large or deep).
    """
    try:
        return _Parser(queryables).expr(obj, 0)
    except CqlError:
        raise
    except QueryError as exc:  # a bad timestamp, bbox or geometry inside the filter
        raise CqlError(str(exc)) from None


def parse_cql2_text(text: str, queryables: Mapping[str, Queryable] | None = None) -> Expr:
    """Parse CQL2-text by converting it to CQL2-JSON with the ``cql2`` package.

    Raises
    ------
    CqlError
        If the text does not parse, or the ``cql2`` package is not installed.
    """
    try:
        import cql2
    except ImportError:  # pragma: no cover - optional dependency
        raise CqlError(
            "filter-lang cql2-text needs the optional 'cql2' package; send cql2-json instead"
        ) from None
    try:
        as_json = cql2.Expr(text).to_json()
    except Exception as exc:  # noqa: BLE001 - the parser raises its own error types
        raise CqlError(f"invalid cql2-text: {str(exc).splitlines()[0]}") from None
    return parse_cql2_json(as_json, queryables)


def cql2_text_available() -> bool:
    """Whether :func:`parse_cql2_text` can work (the ``cql2`` package is importable)."""
    try:
        import cql2  # noqa: F401
    except ImportError:  # pragma: no cover
        return False
    return True
