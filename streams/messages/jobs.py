"""Focus jobs: the values of ``focus-jobs``.

A :class:`JobRecord` is a claim check (``docs/architecture.md``, "Topics": ``focus-jobs``):
the burst's raw packets live in the object store under :func:`raw_key`, the record carries
what a worker needs besides them (identity, sensing times, the state vectors decoded from the
sub-commutated ancillary data, the latency timeline so far). Every effect downstream is
keyed by the burst key, so a job published twice (assembler restarted from a snapshot)
produces the same product once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from sar.geo.orbit import Orbit
from sar.geo.propagate import extend_orbit
from sar.identity import BurstIdentity, burst_key
from streams.messages.payload import Payload

__all__ = [
    "JobRecord", "JobStatus", "StateVector", "burst_key", "orbit_from_state_vectors", "raw_key",
]  # fmt: skip

JobStatus = Literal["complete", "incomplete"]
"""``complete``: last packet and aux arrived; ``incomplete``: flushed with packets missing
(timeout, pass end, or a gap in the channel while the burst was open)."""


def raw_key(key: str) -> str:
    """Object-store key of a burst's raw packets: ``raw/{datatake}/{swath}/{pol}/{burst}.dat``."""
    return f"raw/{key}.dat"


class StateVector(BaseModel):
    """One orbit state vector from the sub-commutated ancillary data (ECEF, GPS s)."""

    model_config = ConfigDict(frozen=True)

    time: float
    position: tuple[float, float, float]
    velocity: tuple[float, float, float]


def orbit_from_state_vectors(vectors: Sequence[StateVector], start: float, stop: float) -> Orbit:
    """An orbit from ancillary state vectors, extended by propagation
    (:func:`sar.geo.propagate.extend_orbit`) to cover ``[start, stop]`` (GPS s).

    Raises
    ------
    sar.errors.GeometryError
        Fewer than two vectors, non-increasing times, or too far to extend.
    """
    orbit = Orbit(
        np.array([s.time for s in vectors], dtype=np.float64),
        np.array([s.position for s in vectors], dtype=np.float64).reshape(-1, 3),
        np.array([s.velocity for s in vectors], dtype=np.float64).reshape(-1, 3),
    )
    return extend_orbit(orbit, start, stop)


class JobRecord(Payload):
    """One focus job (value of ``focus-jobs``, key :attr:`burst_key`).

    Times in ``timeline`` are aware UTC datetimes (stages of
    :data:`streams.products.TIMELINE_STAGES`); ``sensing_start``/``sensing_stop`` are the
    datation of the first and last echo packet, GPS seconds also given as UTC.
    """

    what: ClassVar[str] = "focus job"
    schema_type: ClassVar[str] = "application/x-eoport-job+json"

    model_config = ConfigDict(frozen=True, extra="forbid")

    burst_key: str = Field(min_length=1)
    status: JobStatus = "complete"
    source: str = Field(description="raw-chunks key the burst came from")
    mode: str
    swath: str
    polarisation: str
    burst_id: int = Field(ge=0, description="ESA burst ID (TOPS) or block number (stripmap)")
    data_take_id: int = Field(ge=0)
    relative_orbit: int = Field(
        default=0, ge=0, le=175, description="track of the pass, 0 when unknown"
    )
    burst_label: str = Field(
        default="", description="ESA burst-map label t{track:03d}_{id:06d}_iw{n} (TOPS)"
    )
    anx_time_gps: float | None = Field(
        default=None, description="ascending-node crossing used for the burst ID, GPS s"
    )
    sensing_start: AwareDatetime
    sensing_stop: AwareDatetime
    sensing_start_gps: float
    sensing_stop_gps: float
    packet_count: int = Field(ge=0)
    first_pri_count: int = Field(ge=0)
    last_pri_count: int = Field(ge=0)
    missing_pri: list[tuple[int, int]] = Field(
        default_factory=list, description="inclusive PRI-count ranges absent inside the burst"
    )
    gaps: list[dict[str, Any]] = Field(
        default_factory=list, description="channel gaps seen while the burst was open"
    )
    pri_s: float = Field(gt=0)
    aux_status: Literal["complete", "extrapolated"] = "complete"
    state_vectors: list[StateVector]
    raw_url: str
    raw_bytes: int = Field(ge=0)
    footprint: dict[str, Any] | None = None
    timeline: dict[str, AwareDatetime] = Field(default_factory=dict)

    @property
    def identity(self) -> BurstIdentity:
        """The burst's identity, as the assembler computed it (:mod:`sar.identity`)."""
        return BurstIdentity(
            self.data_take_id, self.swath, self.polarisation, self.burst_id,
            self.relative_orbit, self.burst_label, self.anx_time_gps,
        )  # fmt: skip

    def orbit(self, margin_s: float) -> Orbit:
        """The job's state vectors as an orbit covering the burst +- ``margin_s`` s."""
        return orbit_from_state_vectors(
            self.state_vectors, self.sensing_start_gps - margin_s, self.sensing_stop_gps + margin_s
        )
