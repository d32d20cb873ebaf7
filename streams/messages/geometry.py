"""GeoJSON geometry validation shared by product footprints and subscription AOIs.

:func:`parse_geometry` applies the same rules to both (RFC 7946: Polygon or MultiPolygon,
lon/lat degrees on WGS84, closed rings, valid and non-empty), so a footprint that a
product carries is always one an AOI can be matched against.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import shapely
from shapely import geometry as sgeom
from shapely.validation import explain_validity

from streams._infra.errors import SchemaError


class InvalidGeometryError(SchemaError, ValueError):
    """A GeoJSON geometry that is malformed, invalid or outside lon/lat bounds.

    Also a :class:`ValueError`, so pydantic validators turn it into a validation error
    carrying the same one-line message.
    """


# ---------------------------------------------------------------------------- geometry


MAX_POSITIONS = 100_000
"""Most positions a geometry may have (AOIs are matched against every product)."""


def _check_ring(ring: Any, where: str) -> list[tuple[float, float]]:
    if not isinstance(ring, Sequence) or isinstance(ring, str | bytes):
        raise InvalidGeometryError(f"{where} is not a list of positions")
    if len(ring) == 0:
        raise InvalidGeometryError(f"{where} is empty")
    if len(ring) > MAX_POSITIONS:
        raise InvalidGeometryError(
            f"{where} has {len(ring)} positions; at most {MAX_POSITIONS} are accepted"
        )
    points: list[tuple[float, float]] = []
    for k, pos in enumerate(ring):
        if (
            not isinstance(pos, Sequence)
            or isinstance(pos, str | bytes)
            or len(pos) not in (2, 3)
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos)
        ):
            raise InvalidGeometryError(
                f"{where} position {k} must be [lon, lat] or [lon, lat, height] numbers, "
                f"got {pos!r}"
            )
        lon, lat = float(pos[0]), float(pos[1])
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise InvalidGeometryError(f"{where} position {k} is not finite: {pos!r}")
        if not -180.0 <= lon <= 180.0:
            raise InvalidGeometryError(
                f"{where} position {k}: longitude {lon:g} outside [-180, 180]"
            )
        if not -90.0 <= lat <= 90.0:
            raise InvalidGeometryError(f"{where} position {k}: latitude {lat:g} outside [-90, 90]")
        points.append((lon, lat))
    if len(points) < 4:
        raise InvalidGeometryError(
            f"{where} has {len(points)} positions; a closed ring needs at least 4 "
            "(the last repeating the first)"
        )
    if points[0] != points[-1]:
        raise InvalidGeometryError(
            f"{where} is not closed: first position {list(points[0])} differs from last "
            f"{list(points[-1])}"
        )
    lons = [p[0] for p in points]
    global_band = min(lons) == -180.0 and max(lons) == 180.0
    if max(lons) - min(lons) > 180.0 and not global_band:
        raise InvalidGeometryError(
            f"{where} spans more than 180 degrees of longitude; a polygon crossing the "
            "antimeridian must be split into a MultiPolygon at +/-180"
        )
    return points


def _polygon(coords: Any, where: str) -> sgeom.Polygon:
    if not isinstance(coords, Sequence) or isinstance(coords, str | bytes):
        raise InvalidGeometryError(f"{where} coordinates must be a list of rings")
    if len(coords) == 0:
        raise InvalidGeometryError(f"{where} is empty (no rings)")
    rings = [
        _check_ring(ring, f"{where} {'exterior ring' if i == 0 else f'hole {i}'}")
        for i, ring in enumerate(coords)
    ]
    return sgeom.Polygon(rings[0], rings[1:])


def parse_geometry(
    obj: Any,
    allowed: Sequence[str] = ("Polygon", "MultiPolygon"),
    what: str = "geometry",
) -> sgeom.Polygon | sgeom.MultiPolygon:
    """Validate a GeoJSON geometry (RFC 7946, lon/lat degrees) and build its shapely shape.

    Parameters
    ----------
    obj
        A mapping ``{"type": ..., "coordinates": ...}``.
    allowed
        Accepted geometry types (``"Polygon"``, ``"MultiPolygon"``).
    what
        Name of the geometry in error messages (``"aoi"``, ``"footprint"``).

    Returns
    -------
    shapely.Polygon or shapely.MultiPolygon
        The valid, non-empty geometry with non-zero area.

    Raises
    ------
    InvalidGeometryError
        With a one-line message naming the problem: wrong type, empty, unclosed ring,
        too few positions, longitude outside [-180, 180], latitude outside [-90, 90],
        antimeridian crossing (a ring spanning more than 180 degrees of longitude, unless
        it reaches both -180 and +180: a band around the globe), self-intersection (with
        its location), zero area.
    """
    if not isinstance(obj, Mapping):
        raise InvalidGeometryError(f"{what} must be a GeoJSON geometry object")
    gtype = obj.get("type")
    if gtype not in allowed:
        raise InvalidGeometryError(
            f"{what} type must be one of {', '.join(allowed)}, got {gtype!r}"
        )
    coords = obj.get("coordinates")
    shape: sgeom.Polygon | sgeom.MultiPolygon
    if gtype == "Polygon":
        shape = _polygon(coords, f"{what} polygon")
    else:
        if not isinstance(coords, Sequence) or isinstance(coords, str | bytes) or not coords:
            raise InvalidGeometryError(f"{what} multipolygon is empty (no polygons)")
        shape = sgeom.MultiPolygon(
            [_polygon(p, f"{what} polygon {i}") for i, p in enumerate(coords)]
        )
    if shape.convex_hull.area <= 0.0:
        raise InvalidGeometryError(f"{what} has zero area (its positions lie on a line)")
    n_positions = int(shapely.get_num_coordinates(shape))
    if n_positions > MAX_POSITIONS:
        raise InvalidGeometryError(
            f"{what} has {n_positions} positions; at most {MAX_POSITIONS} are accepted"
        )
    if not shape.is_valid:
        raise InvalidGeometryError(f"{what} is not a valid {gtype}: {explain_validity(shape)}")
    if shape.is_empty or shape.area <= 0.0:
        raise InvalidGeometryError(f"{what} has zero area")
    return shape


def plain_geometry(obj: Any) -> dict[str, Any]:
    """Coordinates as plain lists of floats (tuples and ints normalised)."""

    def conv(c: Any) -> Any:
        if isinstance(c, int | float):
            return float(c)
        return [conv(x) for x in c]

    return {"type": obj["type"], "coordinates": conv(obj["coordinates"])}
