"""Ground-station replay: publish one downlink channel's bytes as chunks on ``raw-chunks``
at downlink speed, with delivery confirmation and resending, so nothing is lost while
the broker is down or restarting.

Sentinel-1 downlinks over two X-band channels of 260 Mbit/s each (ESA Sentinel-1 User
Handbook, "Data downlink"), i.e. 32.5 MB/s per channel; :func:`replay_pass` paces chunks
at that rate times ``speedup`` (or at ``rate_bytes_per_s``), or as fast as the broker
accepts if neither is given.

Loss-free by construction: every chunk stays in the producer until the broker
acknowledged it (``acks=all``); a chunk whose delivery failed (broker down longer than
``message.timeout.ms``, producer replaced after a fatal error) is sent again with its
original bytes. Resending can duplicate a chunk on the topic; the reassembler drops
the copy (same sequence number, same checksum).
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from streams._infra.bus import KafkaProducer
from streams._infra.errors import BrokerUnavailableError, DeliveryError
from streams._infra.metrics import CHUNK_BYTES_PUBLISHED, CHUNKS_PUBLISHED, CHUNKS_RESENT
from streams._infra.records import OutgoingRecord, Record
from streams._infra.topics import RAW_CHUNKS
from streams.messages.chunks import (
    MAX_CHUNK_PAYLOAD,
    Chunk,
    ChunkCutter,
    encode_chunk,
    pass_headers,
)

X_BAND_CHANNEL_RATE_BYTES_PER_S = 260e6 / 8
"""One Sentinel-1 X-band downlink channel: 260 Mbit/s = 32.5 MB/s."""

CHUNK_SCHEMA_HEADER = {"content-type": b"application/x-eoport-chunk;v=1"}


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """What a replay did.

    Parameters
    ----------
    chunks, n_bytes
        Chunks and payload bytes of the pass (each counted once).
    acknowledged
        Delivery acknowledgements received (>= chunks when resends were delivered twice).
    resent
        Chunks sent again after a failed delivery.
    elapsed_s
        Wall-clock duration, seconds, until the last acknowledgement.
    """

    chunks: int
    n_bytes: int
    acknowledged: int
    resent: int
    elapsed_s: float

    @property
    def chunks_per_s(self) -> float:
        """Chunk throughput, chunks per second."""
        return self.chunks / self.elapsed_s if self.elapsed_s > 0 else float("inf")

    @property
    def mb_per_s(self) -> float:
        """Payload throughput, 10^6 bytes per second."""
        return self.n_bytes / 1e6 / self.elapsed_s if self.elapsed_s > 0 else float("inf")


def _blocks(source: bytes | str | Path | BinaryIO, size: int) -> Iterator[tuple[bytes, bool]]:
    """Yield ``(block, is_last)`` reading ``source`` ``size`` bytes at a time."""
    if isinstance(source, bytes | bytearray | memoryview):
        handle: BinaryIO = io.BytesIO(bytes(source))
        owned = True
    elif isinstance(source, str | Path):
        handle = Path(source).open("rb")  # noqa: SIM115 - closed below
        owned = True
    else:
        handle, owned = source, False
    try:
        current = handle.read(size)
        while True:
            following = handle.read(size)
            yield current, not following
            if not following:
                return
            current = following
    finally:
        if owned:
            handle.close()


def replay_pass(
    data: bytes | str | Path | BinaryIO,
    producer: KafkaProducer,
    *,
    station: str,
    pass_id: str,
    channel: int,
    topic: str = RAW_CHUNKS,
    chunk_size: int = MAX_CHUNK_PAYLOAD,
    rate_bytes_per_s: float | None = None,
    speedup: float | None = None,
    sensing: tuple[datetime, datetime] | None = None,
    relative_orbit: int | None = None,
    max_in_flight: int = 64,
    max_outage_s: float = 300.0,
    on_chunk: Callable[[Chunk], None] | None = None,
) -> ReplayReport:
    """Publish one channel of one pass as chunks, paced at downlink rate.

    Parameters
    ----------
    data
        The channel's byte stream: bytes, a file path, or a binary file object (read
        ``chunk_size`` bytes at a time: a 10-minute pass need not fit in memory).
    producer
        Idempotent producer (:meth:`streams.bus.KafkaBus.producer`).
    station, pass_id, channel
        Chunk identity; key ``station/pass_id/channel``.
    topic
        Target topic.
    chunk_size
        Payload bytes per chunk (<= 900 000).
    rate_bytes_per_s
        Pacing rate, bytes per second; overrides ``speedup``.
    speedup
        Pace at ``speedup`` x 32.5 MB/s (one X-band channel); ``None`` with no rate:
        as fast as possible.
    sensing
        Sensing time range written into every chunk header, if known.
    relative_orbit
        Relative orbit (track 1..175) of the pass, if the station knows it: sent as the
        :data:`streams.chunks.RELATIVE_ORBIT_HEADER` record header of every chunk (the
        assembler's ESA burst IDs need it; unknown gives ``t000_...`` labels).
    max_in_flight
        Unacknowledged chunks allowed before sending waits (bounds memory).
    max_outage_s
        Longest time without progress (no acknowledgement) tolerated, seconds.
    on_chunk
        Called after each chunk is queued (progress bars, fault injection in tests).

    Returns
    -------
    ReplayReport
        Counts and throughput; returned once every chunk is acknowledged.

    Raises
    ------
    BrokerUnavailableError
        If no acknowledgement arrived for ``max_outage_s`` seconds.
    ChunkError
        If ``relative_orbit`` is not in 1..175.
    """
    headers = {**CHUNK_SCHEMA_HEADER, **pass_headers(relative_orbit)}
    rate = rate_bytes_per_s
    if rate is None and speedup is not None:
        rate = X_BAND_CHANNEL_RATE_BYTES_PER_S * speedup
    cutter = ChunkCutter(station, pass_id, channel, chunk_size)
    acked = 0
    resent = 0
    n_chunks = 0
    n_bytes = 0
    last_progress = time.monotonic()

    def delivered(_out: OutgoingRecord, record: Record | None, err: Exception | None) -> None:
        nonlocal acked, last_progress
        if err is None and record is not None:
            acked += 1
            last_progress = time.monotonic()

    def resend(records: list[OutgoingRecord]) -> None:
        nonlocal resent
        for r in records:
            producer.send(r.topic, r.key, r.value, r.headers, on_delivery=delivered)
        resent += len(records)
        if records:
            resent_metric.inc(len(records))

    def check_outage() -> None:
        if time.monotonic() - last_progress > max_outage_s:
            raise BrokerUnavailableError(
                f"replay of {cutter.station}/{pass_id}/{channel}: no acknowledgement for "
                f"{max_outage_s:.0f} s ({producer.in_flight} chunks unacknowledged)"
            )

    published_metric = CHUNKS_PUBLISHED.labels(station, str(channel))
    bytes_metric = CHUNK_BYTES_PUBLISHED.labels(station)
    resent_metric = CHUNKS_RESENT.labels(station)
    start = time.monotonic()
    for block, is_last in _blocks(data, chunk_size):
        for chunk in cutter.cut(block, datetime.now(UTC), last=is_last, sensing=sensing):
            if rate is not None:
                delay = start + chunk.offset / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            producer.send(topic, chunk.key, encode_chunk(chunk), headers, delivered)
            n_chunks += 1
            n_bytes += len(chunk.payload)
            published_metric.inc()
            bytes_metric.inc(len(chunk.payload))
            if on_chunk is not None:
                on_chunk(chunk)
            producer.poll(0)
            resend(producer.take_failed())
            while producer.in_flight >= max_in_flight:
                producer.poll(0.05)
                resend(producer.take_failed())
                check_outage()
    while True:
        try:
            producer.flush(1.0)
            break
        except DeliveryError as exc:
            resend(exc.undelivered)
            check_outage()
    return ReplayReport(n_chunks, n_bytes, acked, resent, time.monotonic() - start)


def replay_channels(
    channels: Mapping[int, bytes | str | Path | BinaryIO],
    make_producer: Callable[[], KafkaProducer],
    *,
    station: str,
    pass_id: str,
    **options: Any,
) -> dict[int, ReplayReport]:
    """Replay several downlink channels of one pass at once, one thread and producer each
    (Sentinel-1: channels 1 and 2, 2 x 260 Mbit/s).

    Parameters
    ----------
    channels
        Channel number -> that channel's byte stream (see :func:`replay_pass`).
    make_producer
        Called once per channel (e.g. ``bus.producer``).
    station, pass_id
        Pass identity.
    **options
        Passed to :func:`replay_pass` (``topic``, ``chunk_size``, ``speedup`` ...).

    Returns
    -------
    dict
        Channel -> its report.

    Raises
    ------
    StreamError
        The first error of any channel, after every thread ended.
    """
    reports: dict[int, ReplayReport] = {}
    errors: list[BaseException] = []

    def run(channel: int, data: bytes | str | Path | BinaryIO) -> None:
        try:
            reports[channel] = replay_pass(
                data,
                make_producer(),
                station=station,
                pass_id=pass_id,
                channel=channel,
                **options,
            )
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(ch, data), name=f"replay-{station}-{ch}")
        for ch, data in channels.items()
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return reports
