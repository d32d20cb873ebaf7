"""The typed tree of a parsed CQL2 filter, and the operator tables."""

from __future__ import annotations

from dataclasses import dataclass, field

from shapely.geometry.base import BaseGeometry

from streams.catalogue.queryables import Kind, Queryable

MAX_DEPTH = 50
"""Deepest nesting of a filter accepted."""

MAX_NODES = 10_000
"""Most JSON values a filter may contain (geometry coordinates not counted)."""

MAX_IN_LIST = 1_000
"""Most values in an ``in`` list or array literal."""

COMPARISONS = ("=", "<>", "<", "<=", ">", ">=")
SPATIAL_OPS = (
    "s_intersects", "s_equals", "s_disjoint", "s_touches", "s_within", "s_overlaps",
    "s_crosses", "s_contains",
)  # fmt: skip
ARRAY_OPS = ("a_equals", "a_contains", "a_containedBy", "a_overlaps")

# temporal operators as conditions on (start1, end1) vs (start2, end2), ANDed;
# the CQL2 definitions (OGC 21-065r2 §6.5.5) with an instant t read as [t, t].
S1, E1, S2, E2 = 0, 1, 2, 3
TEMPORAL_CONDITIONS: dict[str, tuple[tuple[int, str, int], ...]] = {
    "t_after": ((S1, ">", E2),),
    "t_before": ((E1, "<", S2),),
    "t_contains": ((S1, "<", S2), (E1, ">", E2)),
    "t_during": ((S1, ">", S2), (E1, "<", E2)),
    "t_equals": ((S1, "=", S2), (E1, "=", E2)),
    "t_finishedBy": ((S1, "<", S2), (E1, "=", E2)),
    "t_finishes": ((S1, ">", S2), (E1, "=", E2)),
    "t_intersects": ((S1, "<=", E2), (E1, ">=", S2)),
    "t_meets": ((E1, "=", S2),),
    "t_metBy": ((S1, "=", E2),),
    "t_overlappedBy": ((S1, ">", S2), (S1, "<", E2), (E1, ">", E2)),
    "t_overlaps": ((S1, "<", S2), (E1, ">", S2), (E1, "<", E2)),
    "t_startedBy": ((S1, "=", S2), (E1, ">", E2)),
    "t_starts": ((S1, "=", S2), (E1, "<", E2)),
}
TEMPORAL_OPS = (*TEMPORAL_CONDITIONS, "t_disjoint")

LOGICAL_OPS = ("and", "or", "not")
ADVANCED_OPS = ("like", "between", "in")
ALL_OPS = (
    *LOGICAL_OPS, *COMPARISONS, "isNull", *ADVANCED_OPS, *SPATIAL_OPS, *TEMPORAL_OPS,
    *ARRAY_OPS,
)  # fmt: skip
_BY_LOWER = {op.lower(): op for op in ALL_OPS}


# ---------------------------------------------------------------------------- tree


@dataclass(frozen=True)
class Property:
    """A reference to a queryable."""

    q: Queryable


@dataclass(frozen=True)
class Literal:
    """A scalar literal: string, number, or timestamp (integer microseconds)."""

    value: str | int | float
    kind: Kind


@dataclass(frozen=True)
class GeometryLiteral:
    """A GeoJSON geometry (or bbox) literal."""

    geojson: str
    shape: BaseGeometry = field(compare=False)


@dataclass(frozen=True)
class ArrayLiteral:
    """A list of string literals (array functions)."""

    values: tuple[str, ...]


Scalar = Property | Literal


@dataclass(frozen=True)
class Interval:
    """Temporal argument: [start, end], each a timestamp property or literal; an instant
    has start == end."""

    start: Scalar
    end: Scalar


@dataclass(frozen=True)
class BoolConst:
    value: bool


@dataclass(frozen=True)
class And:
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    arg: Expr


@dataclass(frozen=True)
class Comparison:
    op: str
    left: Scalar
    right: Scalar


@dataclass(frozen=True)
class Like:
    value: Scalar
    pattern: str


@dataclass(frozen=True)
class Between:
    value: Scalar
    low: Scalar
    high: Scalar


@dataclass(frozen=True)
class In:
    value: Scalar
    items: tuple[Literal, ...]


@dataclass(frozen=True)
class IsNull:
    value: Property


@dataclass(frozen=True)
class Spatial:
    op: str
    left: Property | GeometryLiteral
    right: Property | GeometryLiteral


@dataclass(frozen=True)
class Temporal:
    op: str
    left: Interval
    right: Interval


@dataclass(frozen=True)
class ArrayOp:
    op: str
    left: Property | ArrayLiteral
    right: Property | ArrayLiteral


Expr = (
    BoolConst | And | Or | Not | Comparison | Like | Between | In | IsNull | Spatial | Temporal
    | ArrayOp
)  # fmt: skip


def kind_of(x: Scalar) -> Kind:
    return x.q.kind if isinstance(x, Property) else x.kind


def describe(x: Scalar) -> str:
    if isinstance(x, Property):
        return f"{x.q.name!r} ({x.q.kind.value})"
    return f"a {x.kind.value} literal"
