"""CQL2-JSON filters (OGC 21-065r2, Common Query Language): parse, evaluate, translate.

:func:`parse_cql2_json` validates a filter against the queryables
(:mod:`streams.catalogue.queryables`) and builds a small typed tree; an unknown property,
an unsupported operator or a comparison of mismatched types raises
:class:`~streams.catalogue.errors.CqlError` with a one-line message (the API answers 400).
The tree is then either

- evaluated on an item in Python (:func:`evaluate`, subscription matching), or
- translated to a parameterised SQL ``WHERE`` fragment (:class:`SqliteCompiler`): values
  always travel as parameters, column names come from the fixed queryable table.

Both follow SQL's three-valued logic (a comparison with a null is *unknown*, ``NOT
unknown`` is unknown, an item matches when the filter is *true*), so a search and a
subscription agree on every item.

Supported (CQL2 conformance classes): basic-cql2 (``and or not = <> < <= > >= isNull``),
advanced-comparison-operators (``like between in``), basic-spatial-functions and
spatial-functions (``s_intersects s_equals s_disjoint s_touches s_within s_overlaps
s_crosses s_contains``, with GeoJSON or ``{"bbox": [...]}`` literals),
temporal-functions (``t_after t_before t_contains t_disjoint t_during t_equals
t_finishedBy t_finishes t_intersects t_meets t_metBy t_overlappedBy t_overlaps
t_startedBy t_starts`` on instants and intervals), array-functions (``a_equals
a_contains a_containedBy a_overlaps``). Not supported: ``casei``/``accenti`` and other
functions, property-to-property spatial or array operations of different kinds, arithmetic.
"""

from __future__ import annotations

from streams.catalogue.cql2.evaluate import (
    array_predicate,
    evaluate,
    like_regex,
    matcher,
    properties_of,
    spatial_predicate,
)
from streams.catalogue.cql2.parse import cql2_text_available, parse_cql2_json, parse_cql2_text
from streams.catalogue.cql2.sql import (
    PostgisCompiler,
    SqlCompiler,
    SqliteCompiler,
    like_glob,
    like_pattern_postgres,
)
from streams.catalogue.cql2.tree import (
    ALL_OPS,
    ARRAY_OPS,
    COMPARISONS,
    MAX_DEPTH,
    MAX_IN_LIST,
    MAX_NODES,
    SPATIAL_OPS,
    TEMPORAL_OPS,
    Expr,
)

__all__ = [
    "ALL_OPS", "ARRAY_OPS", "COMPARISONS", "MAX_DEPTH", "MAX_IN_LIST", "MAX_NODES",
    "SPATIAL_OPS", "TEMPORAL_OPS", "Expr", "PostgisCompiler", "SqlCompiler", "SqliteCompiler",
    "array_predicate", "cql2_text_available", "evaluate", "like_glob", "like_pattern_postgres",
    "like_regex", "matcher", "parse_cql2_json", "parse_cql2_text", "properties_of",
    "spatial_predicate",
]  # fmt: skip
