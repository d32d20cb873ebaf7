"""Acquisition plan: the passes expected at the ground stations, to pre-scale for.

A pass brings minutes of data at once (a dual-polarisation IW pass: 6 bursts per
2.758 s burst cycle). Workers started when the first burst arrives are late: a pod must
be scheduled, import numpy/numba, and load its FFTW plans. The plan lets the policy raise
the pool a lead time before each pass start (AOS) and keep it through the pass (until LOS
plus a tail).

Plan entries come from the ``FocusingPool`` spec (``spec.plan.passes``, a list) or from a
ConfigMap (``spec.plan.configMapRef``: key ``passes.yaml`` holding the same list as YAML
or JSON), so that a mission-planning system can rewrite it without touching the pool::

    - station: svalbard
      start: "2026-12-04T15:02:00Z"     # AOS, RFC 3339 (UTC if no offset)
      stop: "2026-12-04T15:12:00Z"      # LOS
      burstsPerCycle: 6                 # optional: IW dual pol (3 = single pol)
      replicas: 4                       # optional: overrides burstsPerCycle
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml

from operators.errors import InvalidPlanError

PLAN_CONFIGMAP_KEY = "passes.yaml"
"""Key of the ConfigMap entry holding the pass list."""


@dataclass(frozen=True, slots=True)
class PlannedPass:
    """One expected pass at one station.

    Parameters
    ----------
    station
        Ground-station name (free text, shown in reasons and events).
    start, stop
        Expected first and last data of the pass, POSIX seconds (UTC).
    replicas
        Workers wanted during the pass; ``None`` to derive them from
        ``bursts_per_cycle`` and the measured worker rate.
    bursts_per_cycle
        Jobs expected per burst cycle (IW: 3 single polarisation, 6 dual); ``None`` for
        the pool default.
    """

    station: str
    start: float
    stop: float
    replicas: int | None = None
    bursts_per_cycle: float | None = None

    def __post_init__(self) -> None:
        if not self.stop > self.start:
            raise InvalidPlanError(
                f"pass at {self.station!r}: stop {self.stop} s is not after start {self.start} s"
            )
        if self.replicas is not None and self.replicas < 0:
            raise InvalidPlanError(f"pass at {self.station!r}: replicas {self.replicas} < 0")
        if self.bursts_per_cycle is not None and self.bursts_per_cycle <= 0:
            raise InvalidPlanError(
                f"pass at {self.station!r}: burstsPerCycle {self.bursts_per_cycle} <= 0"
            )

    def covers(self, now: float, lead_s: float, tail_s: float) -> bool:
        """Whether ``now`` lies in ``[start - lead_s, stop + tail_s]`` (seconds)."""
        return self.start - lead_s <= now <= self.stop + tail_s


@dataclass(frozen=True, slots=True)
class AcquisitionPlan:
    """Expected passes, any order (empty: no pre-scaling)."""

    passes: tuple[PlannedPass, ...] = ()

    def active(self, now: float, lead_s: float, tail_s: float = 0.0) -> tuple[PlannedPass, ...]:
        """Passes whose pre-scaling window ``[start - lead_s, stop + tail_s]`` holds ``now``
        (several when stations downlink at the same time), by start time."""
        hits = [p for p in self.passes if p.covers(now, lead_s, tail_s)]
        return tuple(sorted(hits, key=lambda p: p.start))

    def next_pass(self, now: float) -> PlannedPass | None:
        """The first pass starting after ``now``, or ``None``."""
        later = [p for p in self.passes if p.start > now]
        return min(later, key=lambda p: p.start) if later else None


def parse_time(value: Any, what: str) -> float:
    """An RFC 3339 string (``Z`` or offset; naive means UTC) or a number of POSIX
    seconds, as POSIX seconds.

    Raises
    ------
    InvalidPlanError
        If ``value`` is neither.
    """
    if isinstance(value, bool):
        raise InvalidPlanError(f"{what}: {value!r} is not a time")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return moment.timestamp()
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidPlanError(f"{what}: {value!r} is not an RFC 3339 time") from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    raise InvalidPlanError(f"{what}: {value!r} is not a time")


def _optional_number(entry: Mapping[str, Any], key: str, what: str) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidPlanError(f"{what}: {key} {value!r} is not a number")
    return float(value)


def parse_pass(entry: Mapping[str, Any], index: int = 0) -> PlannedPass:
    """One plan entry (``station``, ``start``, ``stop``, optional ``replicas`` and
    ``burstsPerCycle``) as a :class:`PlannedPass`.

    Raises
    ------
    InvalidPlanError
        If a field is missing or malformed.
    """
    what = f"plan entry {index}"
    if not isinstance(entry, Mapping):
        raise InvalidPlanError(f"{what}: {entry!r} is not a mapping")
    station = entry.get("station")
    if not isinstance(station, str) or not station:
        raise InvalidPlanError(f"{what}: station missing")
    for key in ("start", "stop"):
        if key not in entry:
            raise InvalidPlanError(f"{what} ({station}): {key} missing")
    replicas = _optional_number(entry, "replicas", what)
    if replicas is not None and replicas != int(replicas):
        raise InvalidPlanError(f"{what} ({station}): replicas {replicas} is not an integer")
    return PlannedPass(
        station=station,
        start=parse_time(entry["start"], f"{what} ({station}) start"),
        stop=parse_time(entry["stop"], f"{what} ({station}) stop"),
        replicas=None if replicas is None else int(replicas),
        bursts_per_cycle=_optional_number(entry, "burstsPerCycle", what),
    )


def parse_plan(entries: Sequence[Mapping[str, Any]] | None) -> AcquisitionPlan:
    """A list of plan entries (see the module docstring) as an :class:`AcquisitionPlan`."""
    if entries is None:
        return AcquisitionPlan()
    if isinstance(entries, str | bytes) or not isinstance(entries, Sequence):
        raise InvalidPlanError(f"plan: expected a list of passes, got {type(entries).__name__}")
    return AcquisitionPlan(tuple(parse_pass(e, i) for i, e in enumerate(entries)))


def parse_plan_document(text: str, source: str = "plan") -> AcquisitionPlan:
    """A YAML or JSON list of plan entries (e.g. a ConfigMap value) as a plan.

    Raises
    ------
    InvalidPlanError
        If the text is not a YAML/JSON list of valid entries.
    """
    try:
        data = yaml.safe_load(text) if text.strip() else []
    except yaml.YAMLError as exc:
        raise InvalidPlanError(f"{source}: not YAML/JSON: {exc}".splitlines()[0]) from exc
    if isinstance(data, Mapping) and "passes" in data:
        data = data["passes"]
    if not isinstance(data, list):
        raise InvalidPlanError(f"{source}: expected a list of passes")
    return parse_plan(data)


def plan_from_configmap(data: Mapping[str, str], key: str = PLAN_CONFIGMAP_KEY) -> AcquisitionPlan:
    """The plan stored in a ConfigMap's ``data`` under ``key`` (missing key: empty plan)."""
    text = data.get(key)
    return AcquisitionPlan() if text is None else parse_plan_document(text, f"ConfigMap {key}")


def plan_to_document(plan: AcquisitionPlan) -> str:
    """The plan as a JSON list (the ConfigMap/CR format, times in RFC 3339 UTC)."""
    entries: list[dict[str, Any]] = []
    for p in plan.passes:
        entry: dict[str, Any] = {
            "station": p.station,
            "start": datetime.fromtimestamp(p.start, UTC).isoformat().replace("+00:00", "Z"),
            "stop": datetime.fromtimestamp(p.stop, UTC).isoformat().replace("+00:00", "Z"),
        }
        if p.replicas is not None:
            entry["replicas"] = p.replicas
        if p.bursts_per_cycle is not None:
            entry["burstsPerCycle"] = p.bursts_per_cycle
        entries.append(entry)
    return json.dumps(entries)
