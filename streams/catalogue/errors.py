"""Errors of the catalogue: bad queries (the API answers 400) and missing items (404)."""

from __future__ import annotations

from streams._infra.errors import PermanentError, StreamError


class CatalogueError(StreamError):
    """Root of the catalogue's errors."""


class QueryError(CatalogueError, ValueError):
    """A search request that cannot be answered as given (bad bbox, datetime, limit,
    paging token, sort field): the message says what and why, in one line."""


class CqlError(QueryError):
    """A CQL2 filter that is malformed, uses an unsupported operator, names a property
    that is not queryable, or compares values of different types."""


class ItemNotFoundError(CatalogueError, LookupError):
    """No item (or collection) with the requested id."""


class InvalidItemError(CatalogueError, PermanentError):
    """An item that cannot be stored (no id, no geometry, unparseable datetime)."""
