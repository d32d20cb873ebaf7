"""The ``ingest`` wing: what a ground station delivers -> ``raw-chunks``.

:mod:`.replay` replays a Level-0 file as a station's passthrough chunks at downlink rate;
the chunk record format is :mod:`streams.messages.chunks`.
"""

from __future__ import annotations

from pydantic import Field

from streams._infra.settings import CommonSettings
from streams.messages.chunks import MAX_CHUNK_PAYLOAD

__all__ = ["IngestSettings"]


class IngestSettings(CommonSettings):
    """Ground-station adapter / replay (``eoport run ingest``)."""

    client_id: str = "eoport-ingest"
    station: str = Field(default="LOCAL", pattern=r"^[^/]{1,64}$")
    chunk_size: int = Field(default=MAX_CHUNK_PAYLOAD, ge=1, le=MAX_CHUNK_PAYLOAD)
    speedup: float | None = Field(default=1.0, gt=0, description="x 260 Mbit/s per channel")
    max_in_flight: int = Field(default=64, ge=1)
    max_outage_s: float = Field(default=300.0, gt=0)
    relative_orbit: int | None = Field(
        default=None,
        ge=1,
        le=175,
        description="relative orbit (track) of the pass, sent with its chunks for the ESA "
        "burst IDs; unset: unknown (burst labels t000_...)",
    )
