"""Search geometries: ``bbox`` and ``intersects`` of a STAC search, CQL2 spatial literals.

Polygons follow the same rules as product footprints and subscription AOIs
(:func:`streams.messages.geometry.parse_geometry`: closed, valid, non-empty, lon/lat
within range, split at the antimeridian); a search may also use points and lines
(RFC 7946 §3.1). A bbox whose west edge is east of its east edge crosses the
antimeridian (STAC API - Item Search, "bbox") and becomes two boxes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import shapely
from shapely import geometry as sgeom
from shapely.geometry.base import BaseGeometry

from streams.catalogue.errors import QueryError
from streams.messages.geometry import MAX_POSITIONS, InvalidGeometryError, parse_geometry

BBox = tuple[float, float, float, float]
"""(west, south, east, north), degrees; west > east crosses the antimeridian."""

_POINTISH = ("Point", "MultiPoint", "LineString", "MultiLineString")


def parse_bbox(value: Any) -> BBox:
    """A STAC ``bbox`` (4 or 6 numbers, or the comma-separated text of a GET request).

    Six numbers (with heights) are reduced to their horizontal extent.

    Raises
    ------
    QueryError
        Wrong count, non-numbers, non-finite, out of range, or south > north.
    """
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
        try:
            numbers: list[float] = [float(p) for p in parts]
        except ValueError:
            raise QueryError(f"bbox {value!r} must be 4 or 6 comma-separated numbers") from None
    elif isinstance(value, Sequence) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        numbers = [float(v) for v in value]
    else:
        raise QueryError(f"bbox must be a list of 4 or 6 numbers, got {value!r}")
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4:
        raise QueryError(f"bbox must have 4 or 6 numbers, got {len(numbers)}")
    if not all(math.isfinite(v) for v in numbers):
        raise QueryError("bbox numbers must be finite")
    west, south, east, north = numbers
    for lon in (west, east):
        if not -180.0 <= lon <= 180.0:
            raise QueryError(f"bbox longitude {lon:g} outside [-180, 180]")
    for lat in (south, north):
        if not -90.0 <= lat <= 90.0:
            raise QueryError(f"bbox latitude {lat:g} outside [-90, 90]")
    if south > north:
        raise QueryError(f"bbox south {south:g} is north of its north {north:g}")
    return west, south, east, north


def bbox_boxes(bbox: BBox) -> list[BBox]:
    """The bbox as one or (across the antimeridian) two west <= east boxes."""
    west, south, east, north = bbox
    if west <= east:
        return [bbox]
    return [(west, south, 180.0, north), (-180.0, south, east, north)]


def bbox_polygon(bbox: BBox) -> BaseGeometry:
    """The bbox as a shapely Polygon (or MultiPolygon across the antimeridian).

    A degenerate bbox (zero width or height) is a line or a point, which still
    intersects the footprints it touches.
    """
    shapes = [sgeom.box(w, s, e, n) for w, s, e, n in bbox_boxes(bbox)]
    if len(shapes) == 1:
        return shapes[0]
    return sgeom.MultiPolygon([s for s in shapes if isinstance(s, sgeom.Polygon)])


def _positions(coords: Any, depth: int, where: str) -> list[tuple[float, float]]:
    """Flatten ``depth`` levels of nesting of positions, checking each."""
    if depth == 0:
        if (
            not isinstance(coords, Sequence)
            or isinstance(coords, str)
            or len(coords) not in (2, 3)
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in coords)
        ):
            raise QueryError(f"{where}: a position is [lon, lat] numbers, got {coords!r}")
        lon, lat = float(coords[0]), float(coords[1])
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise QueryError(f"{where}: position {coords!r} is not finite")
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            raise QueryError(f"{where}: position {coords!r} outside lon/lat range")
        return [(lon, lat)]
    if not isinstance(coords, Sequence) or isinstance(coords, str) or not coords:
        raise QueryError(f"{where}: coordinates must be a non-empty list")
    out: list[tuple[float, float]] = []
    for c in coords:
        out += _positions(c, depth - 1, where)
        if len(out) > MAX_POSITIONS:
            raise QueryError(f"{where} has more than {MAX_POSITIONS} positions")
    return out


def parse_search_geometry(obj: Any, what: str = "intersects") -> BaseGeometry:
    """A GeoJSON geometry of a search -> shapely geometry.

    Accepts Point, MultiPoint, LineString, MultiLineString, Polygon, MultiPolygon
    (polygons checked by :func:`streams.messages.geometry.parse_geometry`) and a
    GeometryCollection of those (not nested).

    Raises
    ------
    QueryError
        One line naming the problem.
    """
    if not isinstance(obj, Mapping):
        raise QueryError(f"{what} must be a GeoJSON geometry object")
    gtype = obj.get("type")
    if gtype in ("Polygon", "MultiPolygon"):
        try:
            return parse_geometry(obj, ("Polygon", "MultiPolygon"), what)
        except InvalidGeometryError as exc:
            raise QueryError(str(exc)) from None
    if gtype == "GeometryCollection" and not what.endswith(" member"):
        members = obj.get("geometries")
        if not isinstance(members, Sequence) or isinstance(members, str) or not members:
            raise QueryError(f"{what}: a GeometryCollection needs a non-empty 'geometries' list")
        if len(members) > MAX_POSITIONS:
            raise QueryError(f"{what}: too many geometries")
        shapes = [parse_search_geometry(m, f"{what} member") for m in members]
        total = sum(int(shapely.get_num_coordinates(g)) for g in shapes)
        if total > MAX_POSITIONS:
            raise QueryError(f"{what} has more than {MAX_POSITIONS} positions")
        return sgeom.GeometryCollection(shapes)
    if gtype not in _POINTISH:
        raise QueryError(
            f"{what} type must be one of Point, MultiPoint, LineString, MultiLineString, "
            f"Polygon, MultiPolygon, GeometryCollection; got {gtype!r}"
        )
    coords = obj.get("coordinates")
    if set(obj) - {"type", "coordinates", "bbox"}:
        raise QueryError(f"{what}: unexpected members {sorted(set(obj) - {'type', 'coordinates'})}")
    if gtype == "Point":
        return sgeom.Point(_positions(coords, 0, what)[0])
    if gtype == "MultiPoint":
        return sgeom.MultiPoint(_positions(coords, 1, what))
    if gtype == "LineString":
        points = _positions(coords, 1, what)
        if len(points) < 2:
            raise QueryError(f"{what}: a LineString needs at least 2 positions")
        return sgeom.LineString(points)
    lines = []
    if not isinstance(coords, Sequence) or isinstance(coords, str) or not coords:
        raise QueryError(f"{what}: coordinates must be a non-empty list")
    for line in coords:
        points = _positions(line, 1, what)
        if len(points) < 2:
            raise QueryError(f"{what}: each line needs at least 2 positions")
        lines.append(points)
    return sgeom.MultiLineString(lines)
