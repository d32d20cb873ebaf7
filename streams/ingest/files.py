"""File input: one link's recorded stream (CADUs or packets) through a
:class:`~streams.ingest.link.LinkSession`, paced at the link rate if asked
(``eoport run ingest --file RAW.dat.ch1.cadu``).

A plain packet file is usually replayed with :func:`streams.ingest.replay.replay_pass`
(the passthrough of a clean Level-0 file); :func:`ingest_file` is the path for what a
station records off the link: CADUs (``eoport simulate --downlink cadu`` writes
``<name>.ch1.cadu`` and ``<name>.ch2.cadu``), decoded into per-virtual-channel chunk
streams with gap events (:mod:`streams.ingest.cadu`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams._infra.bus import KafkaProducer
from streams.ingest import IngestSettings
from streams.ingest.link import LinkSession, link_options, new_publisher
from streams.ingest.replay import X_BAND_CHANNEL_RATE_BYTES_PER_S

__all__ = ["FileReport", "ingest_file", "sniff_format"]

BLOCK_BYTES = 1 << 20


@dataclass(frozen=True)
class FileReport:
    """What :func:`ingest_file` did."""

    format: str | None
    input_bytes: int
    chunks: int
    payload_bytes: int
    events: int
    holes: int
    peak_buffered_bytes: int
    elapsed_s: float
    downlink: dict[str, Any] | None

    @property
    def mb_per_s(self) -> float:
        """Input throughput, 10^6 octets per second."""
        return self.input_bytes / 1e6 / self.elapsed_s if self.elapsed_s > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        """JSON summary."""
        return {
            "format": self.format, "input_bytes": self.input_bytes, "chunks": self.chunks,
            "bytes": self.payload_bytes, "events": self.events, "holes": self.holes,
            "peak_buffered_bytes": self.peak_buffered_bytes,
            "mb_per_s": round(self.mb_per_s, 3), "downlink": self.downlink,
        }  # fmt: skip


def sniff_format(path: str | Path, settings: IngestSettings) -> str | None:
    """``"cadu"``, ``"isp"`` or ``None`` from the first octets of a file (the settings'
    format when it is not ``auto``)."""
    if settings.format != "auto":
        return settings.format
    from sar.downlink import detect_format, detect_framing

    with Path(path).open("rb") as handle:
        head = handle.read(4 * settings.detect_bytes)
    params = settings.framing.parameters()
    if detect_framing(head, params) is not None:
        return "cadu"
    return detect_format(head, params)


def ingest_file(
    path: str | Path,
    settings: IngestSettings,
    producer: KafkaProducer,
    *,
    pass_id: str,
    link: int,
    relative_orbit: int | None = None,
    rate_bytes_per_s: float | None = None,
) -> FileReport:
    """Publish one link's recorded stream as chunks and events; the pass ends with it.

    Parameters
    ----------
    path
        The file (read ``1 MiB`` at a time).
    settings
        Station, chunking, framing, format.
    producer
        Idempotent producer.
    pass_id, link
        Pass and link (X-band channel) number.
    relative_orbit
        Pass metadata (default ``settings.relative_orbit``).
    rate_bytes_per_s
        Pace the input at this rate; ``None``: ``settings.speedup`` x 32.5 MB/s (one
        260 Mbit/s link), or as fast as possible when ``speedup`` is unset.
    """
    rate = rate_bytes_per_s
    if rate is None and settings.speedup is not None:
        rate = X_BAND_CHANNEL_RATE_BYTES_PER_S * settings.speedup
    publisher = new_publisher(settings, producer, pass_id=pass_id, relative_orbit=relative_orbit)
    session = LinkSession(publisher, link=link, **link_options(settings))
    start = time.monotonic()
    n = 0
    with Path(path).open("rb") as handle:
        while block := handle.read(BLOCK_BYTES):
            if rate is not None:
                delay = start + n / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            session.feed(block)
            n += len(block)
    session.finish()
    stats = publisher.stats
    downlink = None
    if session.cadu is not None:
        st = session.cadu.decoder.stats
        downlink = {
            "frames": st.frames, "corrected_symbols": st.corrected_symbols,
            "uncorrectable_frames": st.uncorrectable_frames,
            "lost_frames": sum(c.lost_frames for c in st.channels.values()),
            "channels": sorted(publisher.positions()),
        }  # fmt: skip
    return FileReport(
        session.format, n, stats.chunks, stats.payload_bytes, stats.events, stats.holes,
        stats.peak_buffered_bytes, time.monotonic() - start, downlink,
    )  # fmt: skip
