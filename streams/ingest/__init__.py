"""The ``ingest`` wing: what a ground station delivers -> ``raw-chunks``.

- :mod:`.replay` replays a Level-0 file as a station's passthrough chunks at downlink rate;
- :mod:`.listen` takes a station front-end's stream over TCP (``--listen``);
- :mod:`.watch` takes chunk objects dropped in an object store (``--watch``);
- :mod:`.files` ingests a CADU (or packet) file;
- :mod:`.link` is one link of one pass (format detection, CADU decoding by :mod:`.cadu`,
  resumable checkpoints), :mod:`.publisher` cuts and publishes its channels with
  bounded memory.

The chunk record format is :mod:`streams.messages.chunks`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from streams._infra.settings import CommonSettings
from streams.messages.chunks import MAX_CHUNK_PAYLOAD

if TYPE_CHECKING:
    from sar.downlink import FramingParameters, SyncParameters

__all__ = ["FramingSettings", "IngestSettings"]


class FramingSettings(BaseModel):
    """CADU layout of the downlink (:class:`sar.downlink.params.FramingParameters`; the
    Sentinel-1 values are not public: the defaults are the documented assumptions of
    :mod:`sar.downlink.params`). ``EOPORT_FRAMING__INTERLEAVE_DEPTH=5`` etc."""

    model_config = ConfigDict(frozen=True)

    interleave_depth: int = Field(
        default=4, description="Reed-Solomon interleaving depth I (1, 2, 3, 4, 5, 8): "
        "1024-octet CADUs at 4; with format auto the depth is detected"
    )  # fmt: skip
    reed_solomon: bool = Field(default=True, description="RS(255,223) codeblocks")
    dual_basis: bool = Field(default=True, description="RS symbols in the dual basis")
    randomised: bool = Field(default=True, description="CCSDS pseudo-randomiser applied")
    frame_octets: int = Field(default=892, ge=16, description="frame length if not RS coded")
    header_error_control: bool = False
    insert_zone_octets: int = Field(default=0, ge=0)
    operational_control: bool = False
    frame_error_control: bool = Field(default=False, description="CRC-16 trailer checked")
    spacecraft_id: int | None = Field(default=None, ge=0, le=255, description="None: any")
    search_tolerance: int = Field(default=0, ge=0, le=15, description="marker bit errors, search")
    lock_tolerance: int = Field(default=3, ge=0, le=15, description="marker bit errors, locked")
    flywheel: int = Field(default=3, ge=0, description="missed markers tolerated when locked")

    @field_validator("interleave_depth")
    @classmethod
    def _depth(cls, value: int) -> int:
        if value not in (1, 2, 3, 4, 5, 8):
            raise ValueError("interleave depth must be 1, 2, 3, 4, 5 or 8")
        return value

    def parameters(self) -> FramingParameters:
        """The frame layout."""
        from sar.downlink import FramingParameters

        return FramingParameters(
            interleave_depth=self.interleave_depth, reed_solomon=self.reed_solomon,
            dual_basis=self.dual_basis, randomised=self.randomised,
            frame_octets=self.frame_octets, header_error_control=self.header_error_control,
            insert_zone_octets=self.insert_zone_octets,
            operational_control=self.operational_control,
            frame_error_control=self.frame_error_control, spacecraft_id=self.spacecraft_id,
        )  # fmt: skip

    def sync(self) -> SyncParameters:
        """The synchroniser tuning."""
        from sar.downlink import SyncParameters

        return SyncParameters(
            search_tolerance=self.search_tolerance,
            lock_tolerance=max(self.lock_tolerance, self.search_tolerance),
            flywheel=self.flywheel,
        )


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
    # -- ground-station adapters (streams.ingest.listen / watch / link) ------------------
    listen: list[str] = Field(
        default_factory=list,
        description="TCP addresses to take station streams on: tcp://HOST:PORT[?link=N&"
        "pass=ID&format=F] (streams.ingest.listen)",
    )
    watch: str | None = Field(
        default=None,
        description="object-store prefix to take chunk objects from: s3://bucket/prefix/ "
        "or file:///dir/ (layout PASS/LINK/NAME, streams.ingest.watch)",
    )
    format: Literal["auto", "cadu", "isp"] = Field(
        default="auto", description="input format: CADUs, Level-0 packets, or detected"
    )
    pass_id: str | None = Field(
        default=None, pattern=r"^[^/]{1,200}$",
        description="pass of a stream that does not name it (default: station + UTC time "
        "of its first byte)",
    )  # fmt: skip
    channel: int = Field(
        default=1, ge=0, lt=65_536,
        description="link (X-band channel) of a stream that does not name it; the "
        "raw-chunks channel of a packet stream",
    )  # fmt: skip
    framing: FramingSettings = FramingSettings()
    vc_channels: dict[int, int] = Field(
        default_factory=dict,
        description="virtual channel id -> raw-chunks channel; empty: the VC id "
        "(virtual channels missing from a non-empty mapping are ignored)",
    )
    detect_bytes: int = Field(default=16 * 1024, ge=1024, description="octets for detection")
    warmup_bytes: int = Field(
        default=256 * 1024, ge=0, description="CADU octets kept to resume a link exactly"
    )
    max_in_flight_bytes: int | None = Field(
        default=None, ge=1, description="unacknowledged payload bytes before reading pauses "
        "(default max_in_flight x chunk_size)"
    )  # fmt: skip
    flush_interval_s: float = Field(
        default=0.5, gt=0, description="listen: cut a partial chunk after data waited this long"
    )
    pass_timeout_s: float = Field(
        default=600.0, gt=0, description="a pass ends after its link is idle this long, s"
    )
    read_bytes: int = Field(default=1 << 20, ge=4096, description="listen: socket read size")
    max_connections: int = Field(default=16, ge=1)
    poll_interval_s: float = Field(default=2.0, gt=0, description="watch: listing period, s")
    order_timeout_s: float = Field(
        default=30.0, ge=0, description="watch: wait for a missing sequence number, s"
    )
    cursor_url: str | None = Field(
        default=None,
        description="watch: where cursors live (path, file:// or s3://); default "
        "STATE_DIR/ingest-cursors",
    )

    @field_validator("listen")
    @classmethod
    def _listen_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith("tcp://"):
                raise ValueError(f"listen address {url!r} is not tcp://HOST:PORT")
        return value

    @field_validator("watch")
    @classmethod
    def _watch_url(cls, value: str | None) -> str | None:
        if value is not None and "://" in value and not value.startswith(("file://", "s3://")):
            raise ValueError(f"watch URL {value!r}: use a path, file:// or s3://")
        return value

    def cursor_root(self) -> str:
        """Where the watcher keeps its cursors."""
        return self.cursor_url or str(Path(self.state_dir) / "ingest-cursors")
