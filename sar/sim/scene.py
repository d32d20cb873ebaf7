"""Simulation scenes: point targets and their JSON file format.

A target file is ``{"targets": [{"lat": deg, "lon": deg, "height": m, "rcs": m2}, ...]}``
(``height`` defaults to 0).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sar.errors import SimulationError
from sar.geo.ellipsoid import geodetic_to_ecef


@dataclass(frozen=True)
class Target:
    """A point scatterer.

    Attributes
    ----------
    lat, lon
        Geodetic latitude and longitude, deg.
    height
        Height above the WGS84 ellipsoid, m.
    rcs
        Radar cross-section, m^2.
    """

    lat: float
    lon: float
    height: float = 0.0
    rcs: float = 1.0

    def __post_init__(self) -> None:
        validate_target(self)

    def to_dict(self) -> dict[str, float]:
        """JSON-serialisable form (the target-file record)."""
        return asdict(self)


def validate_target(t: Target, where: str = "target") -> None:
    """Raise :class:`SimulationError` if a target's values are out of range."""
    for name in ("lat", "lon", "height", "rcs"):
        value = getattr(t, name)
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            raise SimulationError(f"{where}: {name} must be a finite number, got {value!r}")
    if not -90.0 <= t.lat <= 90.0:
        raise SimulationError(f"{where}: lat {t.lat} outside [-90, 90]")
    if not -180.0 <= t.lon <= 180.0:
        raise SimulationError(f"{where}: lon {t.lon} outside [-180, 180]")
    if t.rcs < 0.0:
        raise SimulationError(f"{where}: rcs {t.rcs} must not be negative")


def _target_from_record(record: Any, i: int) -> Target:
    where = f"targets[{i}]"
    if not isinstance(record, dict):
        raise SimulationError(f"{where}: expected an object with lat, lon, height, rcs")
    missing = [k for k in ("lat", "lon", "rcs") if k not in record]
    if missing:
        raise SimulationError(f"{where}: missing key(s) {', '.join(missing)}")
    unknown = sorted(set(record) - {"lat", "lon", "height", "rcs"})
    if unknown:
        raise SimulationError(f"{where}: unknown key(s) {', '.join(unknown)}")
    values = {k: record.get(k, 0.0) for k in ("lat", "lon", "height", "rcs")}
    for k, v in values.items():
        if not isinstance(v, int | float) or isinstance(v, bool):
            raise SimulationError(f"{where}: {k} must be a number, got {v!r}")
    try:
        return Target(
            lat=float(values["lat"]),
            lon=float(values["lon"]),
            height=float(values["height"]),
            rcs=float(values["rcs"]),
        )
    except SimulationError as exc:
        raise SimulationError(str(exc).replace("target:", f"{where}:", 1)) from None


def parse_targets(document: Any) -> list[Target]:
    """Targets of a decoded target-file document.

    Raises
    ------
    SimulationError
        For a document that does not follow the format.
    """
    if not isinstance(document, dict) or "targets" not in document:
        raise SimulationError('target file must be an object with a "targets" list')
    records = document["targets"]
    if not isinstance(records, list):
        raise SimulationError('"targets" must be a list')
    return [_target_from_record(r, i) for i, r in enumerate(records)]


def load_targets(path: str | Path) -> list[Target]:
    """Read a target file.

    Parameters
    ----------
    path
        JSON file ``{"targets": [{"lat": deg, "lon": deg, "height": m, "rcs": m2}]}``.

    Returns
    -------
    list of Target

    Raises
    ------
    SimulationError
        Unreadable file, invalid JSON, missing keys, lat outside [-90, 90], lon outside
        [-180, 180], negative rcs (one-line message naming the record).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SimulationError(f"cannot read target file {p}: {exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SimulationError(
            f"invalid JSON in target file {p}: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    return parse_targets(document)


def targets_ecef(targets: list[Target]) -> npt.NDArray[np.float64]:
    """ECEF positions of targets, m, shape (n, 3)."""
    if not targets:
        return np.zeros((0, 3))
    return geodetic_to_ecef(
        [t.lat for t in targets], [t.lon for t in targets], [t.height for t in targets]
    ).reshape(-1, 3)


@dataclass(frozen=True)
class ClutterPatch:
    """Distributed clutter: random scatterers with complex Gaussian reflectivity.

    Attributes
    ----------
    lat_min, lat_max, lon_min, lon_max
        Patch bounds, deg.
    density
        Scatterers per km^2.
    sigma0
        Mean backscatter per scatterer area (linear), so each scatterer's mean
        ``|a|^2 = sigma0 * area / n``.
    height
        Height of the patch, m.
    """

    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float
    density: float = 2000.0
    sigma0: float = 0.05
    height: float = 0.0


def clutter_scatterers(
    patch: ClutterPatch, rng: np.random.Generator
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.complex128]]:
    """Random scatterer positions (ECEF m) and complex amplitudes of a clutter patch."""
    if patch.lat_max <= patch.lat_min or patch.lon_max <= patch.lon_min or patch.density <= 0:
        raise SimulationError("clutter patch needs lat_min < lat_max, lon_min < lon_max")
    lat_c = math.radians(0.5 * (patch.lat_min + patch.lat_max))
    area_km2 = (
        (patch.lat_max - patch.lat_min) * 111.32
        * (patch.lon_max - patch.lon_min) * 111.32 * math.cos(lat_c)
    )  # fmt: skip
    n = max(1, int(round(area_km2 * patch.density)))
    if n > 5_000_000:
        raise SimulationError(f"clutter patch would need {n} scatterers; reduce it")
    lat = rng.uniform(patch.lat_min, patch.lat_max, n)
    lon = rng.uniform(patch.lon_min, patch.lon_max, n)
    xyz = geodetic_to_ecef(lat, lon, patch.height)
    power = patch.sigma0 * area_km2 * 1e6 / n
    amp = np.sqrt(power / 2) * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
    return xyz, amp
