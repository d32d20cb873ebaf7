"""Shared input/output helpers of the subcommands."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from eoport.errors import InputFileError, InvalidArgumentError


def read_input_file(path: str, *, what: str = "input file") -> bytes:
    """Read a whole input file, with one-line errors for missing, empty or directory paths."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{what} not found: {path}")
    if p.is_dir():
        raise InputFileError(f"{what} is a directory, not a file: {path}")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read {what} {path}: {exc.strerror}") from exc
    if not data:
        raise InputFileError(f"{what} is empty: {path}")
    return data


def check_input_path(path: str, *, what: str = "input file") -> Path:
    """Check that ``path`` names an existing, non-empty regular file."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{what} not found: {path}")
    if p.is_dir():
        raise InputFileError(f"{what} is a directory, not a file: {path}")
    if p.stat().st_size == 0:
        raise InputFileError(f"{what} is empty: {path}")
    return p


def parse_lat_lon(text: str) -> tuple[float, float]:
    """Parse ``LAT,LON`` (degrees) with range checks."""
    parts = text.split(",")
    if len(parts) != 2:
        raise InvalidArgumentError(f"--center must be LAT,LON in degrees, got {text!r}")
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError as exc:
        raise InvalidArgumentError(f"--center must be LAT,LON in degrees, got {text!r}") from exc
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise InvalidArgumentError(f"--center latitude {lat} is outside [-90, 90] degrees")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise InvalidArgumentError(f"--center longitude {lon} is outside [-180, 180] degrees")
    return lat, lon


def _default(obj: Any) -> Any:
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def print_json(obj: Any) -> None:
    """Print ``obj`` as one JSON line on stdout."""
    sys.stdout.write(json.dumps(obj, default=_default, allow_nan=True) + "\n")
    sys.stdout.flush()
