"""Evaluate a filter tree on a STAC Item in Python (three-valued, like SQL)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from streams.catalogue.cql2.tree import (
    E1,
    E2,
    S1,
    S2,
    TEMPORAL_CONDITIONS,
    And,
    ArrayLiteral,
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
)  # fmt: skip

Truth = bool | None
"""Three-valued logic: ``None`` is *unknown*."""


def _and3(values: Sequence[Truth]) -> Truth:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _or3(values: Sequence[Truth]) -> Truth:
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def _cmp(op: str, a: Any, b: Any) -> Truth:
    if a is None or b is None:
        return None
    if op == "=":
        return bool(a == b)
    if op == "<>":
        return bool(a != b)
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


@lru_cache(maxsize=256)
def like_regex(pattern: str) -> re.Pattern[str]:
    """CQL2 ``like`` pattern -> regular expression (``%`` any run, ``_`` one character,
    ``\\`` escapes the next character; case-sensitive, whole value)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def spatial_predicate(op: str, a: BaseGeometry, b: BaseGeometry) -> bool:
    """Shapely predicate of a CQL2 spatial operator."""
    return bool(getattr(a, op.removeprefix("s_"))(b))


def array_predicate(op: str, a: Sequence[str], b: Sequence[str]) -> bool:
    """CQL2 array operator on two string arrays (set semantics except ``a_equals``)."""
    if op == "a_equals":
        return tuple(a) == tuple(b)
    if op == "a_contains":
        return set(b) <= set(a)
    if op == "a_containedBy":
        return set(a) <= set(b)
    return bool(set(a) & set(b))


class _Evaluator:
    def __init__(self, item: Mapping[str, Any]) -> None:
        self.item = item
        self._shape: BaseGeometry | None = None

    def scalar(self, x: Scalar) -> Any:
        return x.value if isinstance(x, Literal) else x.q.value_of(self.item)

    def geometry(self, x: Property | GeometryLiteral) -> BaseGeometry | None:
        if isinstance(x, GeometryLiteral):
            return x.shape
        if self._shape is None:
            geom = x.q.value_of(self.item)
            if geom is None:
                return None
            try:
                self._shape = shapely.geometry.shape(geom)
            except (ValueError, TypeError, AttributeError, shapely.errors.ShapelyError):
                return None
        return self._shape

    def array(self, x: Property | ArrayLiteral) -> tuple[str, ...] | None:
        if isinstance(x, ArrayLiteral):
            return x.values
        value: tuple[str, ...] | None = x.q.value_of(self.item)
        return value

    def eval(self, e: Expr) -> Truth:  # noqa: C901 - one branch per node type
        if isinstance(e, BoolConst):
            return e.value
        if isinstance(e, And):
            return _and3([self.eval(a) for a in e.args])
        if isinstance(e, Or):
            return _or3([self.eval(a) for a in e.args])
        if isinstance(e, Not):
            v = self.eval(e.arg)
            return None if v is None else not v
        if isinstance(e, Comparison):
            return _cmp(e.op, self.scalar(e.left), self.scalar(e.right))
        if isinstance(e, Like):
            v = self.scalar(e.value)
            return None if v is None else like_regex(e.pattern).fullmatch(v) is not None
        if isinstance(e, Between):
            v = self.scalar(e.value)
            return _and3([_cmp(">=", v, self.scalar(e.low)), _cmp("<=", v, self.scalar(e.high))])
        if isinstance(e, In):
            v = self.scalar(e.value)
            return None if v is None else any(v == i.value for i in e.items)
        if isinstance(e, IsNull):
            return e.value.q.value_of(self.item) is None
        if isinstance(e, Spatial):
            a, b = self.geometry(e.left), self.geometry(e.right)
            return None if a is None or b is None else spatial_predicate(e.op, a, b)
        if isinstance(e, Temporal):
            ends = [
                self.scalar(e.left.start), self.scalar(e.left.end),
                self.scalar(e.right.start), self.scalar(e.right.end),
            ]  # fmt: skip
            if e.op == "t_disjoint":
                return _or3([_cmp("<", ends[E1], ends[S2]), _cmp(">", ends[S1], ends[E2])])
            return _and3([_cmp(op, ends[i], ends[j]) for i, op, j in TEMPORAL_CONDITIONS[e.op]])
        a_arr, b_arr = self.array(e.left), self.array(e.right)
        if a_arr is None or b_arr is None:
            return None
        return array_predicate(e.op, a_arr, b_arr)


def evaluate(expr: Expr, item: Mapping[str, Any]) -> bool:
    """Whether ``item`` (a STAC Item as a mapping) matches the filter (unknown -> no)."""
    return _Evaluator(item).eval(expr) is True


def matcher(expr: Expr) -> Callable[[Mapping[str, Any]], bool]:
    """A reusable ``item -> bool`` for subscription matching."""
    return lambda item: evaluate(expr, item)


def properties_of(expr: Expr) -> frozenset[str]:
    """Names of the queryables a filter refers to."""
    found: set[str] = set()

    def walk(x: Any) -> None:
        if isinstance(x, Property):
            found.add(x.q.name)
        elif isinstance(x, tuple):
            for v in x:
                walk(v)
        elif hasattr(x, "__dataclass_fields__") and not isinstance(x, GeometryLiteral):
            for name in x.__dataclass_fields__:
                walk(getattr(x, name))

    walk(expr)
    return frozenset(found)
