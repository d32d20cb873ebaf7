"""Per-channel chunk publishing with bounded memory: what every ground-station input
(TCP listener, object-store watcher, CADU file) hands its byte streams to.

A :class:`ChunkPublisher` holds, for one pass, the chunk numbering of each output channel
(``station/pass_id/channel``: sequence number and byte offset, :mod:`streams.messages.chunks`)
and a small buffer per channel; bytes written are cut into chunks of ``chunk_size``
(a partial chunk is cut on :meth:`~ChunkPublisher.flush`) and sent with delivery
confirmation, as :func:`streams.ingest.replay.replay_pass` does:

- **back-pressure**: sending blocks (serving delivery reports) while more than
  ``max_in_flight`` chunks or ``max_in_flight_bytes`` payload bytes are unacknowledged,
  so a slow or stopped broker stops the caller (which stops reading its socket or its
  object store) instead of growing memory; :attr:`PublisherStats.peak_buffered_bytes`
  measures the most bytes ever held (channel buffers plus unacknowledged chunks);
- **loss-free**: a chunk whose delivery failed is sent again with its original bytes
  (the reassembler drops a duplicate: same sequence number, same checksum);
- **source gaps**: :meth:`~ChunkPublisher.skip` declares bytes lost before chunking
  (uncorrectable downlink frames): the buffer is cut, and the next chunk's offset jumps
  by the bytes lost while its sequence number follows on, which the reassembler reports
  as a gap with reason ``"source"`` (:mod:`streams.assemble.reassembly`) and the
  assembler marks the bursts open at that point incomplete;
- **resumable**: :meth:`~ChunkPublisher.positions` gives each channel's next sequence
  number and offset (after :meth:`~ChunkPublisher.flush`), which a restarted input
  passes back to continue the same numbering.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from streams._infra.bus import KafkaProducer
from streams._infra.errors import BrokerUnavailableError, ChunkError, DeliveryError
from streams._infra.metrics import CHUNK_BYTES_PUBLISHED, CHUNKS_PUBLISHED, CHUNKS_RESENT
from streams._infra.records import OutgoingRecord, Record
from streams._infra.topics import EVENTS, RAW_CHUNKS
from streams.ingest.replay import CHUNK_SCHEMA_HEADER
from streams.messages.chunks import (
    MAX_CHUNK_PAYLOAD,
    Chunk,
    channel_key,
    encode_chunk,
    pass_headers,
)
from streams.messages.events import EventRecord

__all__ = ["ChannelPosition", "ChunkPublisher", "PublisherStats"]


@dataclass(frozen=True, slots=True)
class ChannelPosition:
    """Where a channel's chunk numbering stands.

    Parameters
    ----------
    next_seq
        Sequence number of the next chunk.
    next_offset
        Byte offset (in the channel's pass stream) of the next chunk.
    ended
        Whether the last chunk of the pass was sent.
    """

    next_seq: int = 0
    next_offset: int = 0
    ended: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"next_seq": self.next_seq, "next_offset": self.next_offset, "ended": self.ended}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ChannelPosition:
        """Parse :meth:`to_dict` output (raises ChunkError when malformed)."""
        try:
            return cls(int(d["next_seq"]), int(d["next_offset"]), bool(d.get("ended", False)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ChunkError(f"malformed channel position {d!r}") from exc


@dataclass
class PublisherStats:
    """What a publisher did (cumulative).

    Attributes
    ----------
    chunks, payload_bytes
        Chunks sent and their payload bytes (each counted once).
    acknowledged
        Delivery acknowledgements received (chunks and events).
    resent
        Records sent again after a failed delivery.
    events
        Event records sent.
    holes, hole_bytes
        Source gaps declared and the bytes they skip.
    peak_buffered_bytes
        Most payload bytes ever held at once: channel buffers plus unacknowledged chunks.
    waits_s
        Time spent blocked on back-pressure, s.
    """

    chunks: int = 0
    payload_bytes: int = 0
    acknowledged: int = 0
    resent: int = 0
    events: int = 0
    holes: int = 0
    hole_bytes: int = 0
    peak_buffered_bytes: int = 0
    waits_s: float = 0.0


@dataclass(slots=True)
class _Channel:
    next_seq: int
    next_offset: int
    ended: bool = False
    buffer: bytearray = field(default_factory=bytearray)
    receive_time: datetime | None = None


class ChunkPublisher:
    """Chunks of every output channel of one pass, published with bounded memory.

    Parameters
    ----------
    producer
        Idempotent producer (:meth:`streams.KafkaBus.producer`); one per publisher (not
        shared between threads).
    station, pass_id
        Identity of the pass (no ``/``).
    topic, events_topic
        Where chunks and events go.
    chunk_size
        Payload bytes per chunk (<= :data:`~streams.messages.chunks.MAX_CHUNK_PAYLOAD`).
    max_in_flight
        Unacknowledged records allowed before sending blocks.
    max_in_flight_bytes
        Unacknowledged chunk payload bytes allowed before sending blocks (``None``:
        ``max_in_flight * chunk_size``).
    max_outage_s
        Longest time blocked without any acknowledgement before
        :class:`~streams._infra.errors.BrokerUnavailableError`, s.
    relative_orbit
        Pass metadata sent as a record header of every chunk (1..175 or ``None``).
    positions
        Where each channel's numbering resumes (a restarted input); others start at 0.
    """

    def __init__(
        self,
        producer: KafkaProducer,
        *,
        station: str,
        pass_id: str,
        topic: str = RAW_CHUNKS,
        events_topic: str = EVENTS,
        chunk_size: int = MAX_CHUNK_PAYLOAD,
        max_in_flight: int = 64,
        max_in_flight_bytes: int | None = None,
        max_outage_s: float = 300.0,
        relative_orbit: int | None = None,
        positions: Mapping[int, ChannelPosition] | None = None,
    ) -> None:
        if not 0 < chunk_size <= MAX_CHUNK_PAYLOAD:
            raise ChunkError(f"chunk size {chunk_size} not in 1..{MAX_CHUNK_PAYLOAD} bytes")
        self.producer = producer
        self.station = station
        self.pass_id = pass_id
        self.topic = topic
        self.events_topic = events_topic
        self.chunk_size = chunk_size
        self.max_in_flight = max_in_flight
        self.max_in_flight_bytes = (
            max_in_flight * chunk_size if max_in_flight_bytes is None else max_in_flight_bytes
        )
        self.max_outage_s = max_outage_s
        self.headers = {**CHUNK_SCHEMA_HEADER, **pass_headers(relative_orbit)}
        self.stats = PublisherStats()
        self._channels: dict[int, _Channel] = {
            ch: _Channel(p.next_seq, p.next_offset, p.ended) for ch, p in (positions or {}).items()
        }
        self._unacked_bytes = 0
        self._sizes: dict[int, int] = {}
        self._last_progress = time.monotonic()
        self._published = CHUNKS_PUBLISHED
        self._bytes_metric = CHUNK_BYTES_PUBLISHED.labels(station)
        self._resent_metric = CHUNKS_RESENT.labels(station)

    # ------------------------------------------------------------------ queries

    @property
    def buffered_bytes(self) -> int:
        """Payload bytes held: channel buffers plus unacknowledged chunks."""
        return self._unacked_bytes + sum(len(c.buffer) for c in self._channels.values())

    @property
    def in_flight(self) -> int:
        """Records sent and not yet acknowledged."""
        return self.producer.in_flight

    def positions(self) -> dict[int, ChannelPosition]:
        """Next sequence number and offset of every channel (buffers not yet cut count as
        not sent: call :meth:`flush` first for a resumable position)."""
        return {
            ch: ChannelPosition(c.next_seq, c.next_offset, c.ended)
            for ch, c in sorted(self._channels.items())
        }

    def key(self, channel: int) -> str:
        """Record key of ``channel``: ``station/pass_id/channel``."""
        return channel_key(self.station, self.pass_id, channel)

    # ------------------------------------------------------------------ input

    def _channel(self, channel: int) -> _Channel:
        c = self._channels.get(channel)
        if c is None:
            c = self._channels[channel] = _Channel(0, 0)
        if c.ended:
            raise ChunkError(f"{self.key(channel)}: data after the end of the pass")
        return c

    def write(self, channel: int, data: bytes | bytearray | memoryview) -> None:
        """Append ``data`` to ``channel``'s stream; full chunks are sent at once (this
        blocks while the in-flight bounds are reached)."""
        if not len(data):
            return
        c = self._channel(channel)
        if c.receive_time is None:
            c.receive_time = datetime.now(UTC)
        c.buffer += data
        self._note_peak()
        while len(c.buffer) >= self.chunk_size:
            self._cut(channel, c, self.chunk_size, last=False)

    def skip(self, channel: int, n_bytes: int) -> tuple[int, int]:
        """Declare ``n_bytes`` of ``channel``'s stream lost at the source (a source gap):
        the buffer is cut and the numbering's offset jumps.

        Returns
        -------
        tuple of int
            The lost byte range ``[start, stop)`` in the channel's pass stream.
        """
        c = self._channel(channel)
        if c.buffer:
            self._cut(channel, c, len(c.buffer), last=False)
        start = c.next_offset
        c.next_offset += max(int(n_bytes), 1)
        self.stats.holes += 1
        self.stats.hole_bytes += c.next_offset - start
        return start, c.next_offset

    def flush(self, channel: int | None = None) -> None:
        """Cut what is buffered (of ``channel``, or of every channel) into chunks now."""
        for ch, c in list(self._channels.items()):
            if (channel is None or ch == channel) and c.buffer and not c.ended:
                self._cut(ch, c, len(c.buffer), last=False)

    def end(self, channel: int) -> None:
        """The pass is over for ``channel``: the rest is sent and the last chunk flagged
        (an empty last chunk when nothing is buffered)."""
        c = self._channel(channel)
        while len(c.buffer) > self.chunk_size:
            self._cut(channel, c, self.chunk_size, last=False)
        self._cut(channel, c, len(c.buffer), last=True)
        c.ended = True

    def event(self, event: EventRecord) -> None:
        """Publish one ``events`` record (keyed by its source)."""
        self._send(self.events_topic, event.source, event.to_bytes(), None, 0)
        self.stats.events += 1

    def wait(self, timeout_s: float | None = None) -> None:
        """Block until every record sent is acknowledged (failed ones are sent again).

        Raises
        ------
        BrokerUnavailableError
            If nothing was acknowledged for ``max_outage_s`` seconds, or ``timeout_s``
            passed with records still unacknowledged.
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        self._last_progress = max(self._last_progress, time.monotonic())
        while True:
            try:
                self.producer.flush(1.0)
                return
            except DeliveryError as exc:
                self._resend(exc.undelivered)
                self._check_outage()
                if deadline is not None and time.monotonic() > deadline:
                    raise BrokerUnavailableError(
                        f"{self.station}/{self.pass_id}: {self.producer.in_flight} records "
                        f"unacknowledged after {timeout_s:.0f} s"
                    ) from exc

    # ------------------------------------------------------------------ internals

    def _note_peak(self) -> None:
        held = self.buffered_bytes
        if held > self.stats.peak_buffered_bytes:
            self.stats.peak_buffered_bytes = held

    def _cut(self, channel: int, c: _Channel, n: int, *, last: bool) -> None:
        payload = bytes(c.buffer[:n])
        del c.buffer[:n]
        chunk = Chunk(
            station=self.station, pass_id=self.pass_id, channel=channel, seq=c.next_seq,
            offset=c.next_offset, receive_time=c.receive_time or datetime.now(UTC),
            payload=payload, last=last,
        )  # fmt: skip
        c.receive_time = datetime.now(UTC) if c.buffer else None
        value = encode_chunk(chunk)
        c.next_seq += 1
        c.next_offset = chunk.end
        self._send(self.topic, chunk.key, value, self.headers, len(payload))
        self.stats.chunks += 1
        self.stats.payload_bytes += len(payload)
        self._published.labels(self.station, str(channel)).inc()
        self._bytes_metric.inc(len(payload))

    def _send(
        self, topic: str, key: str, value: bytes, headers: Mapping[str, bytes] | None, size: int
    ) -> None:
        self._sizes[id(value)] = size  # before sending: its report may come at once
        self._unacked_bytes += size
        try:
            self.producer.send(topic, key, value, headers, self._delivered)
        except Exception:
            self._unacked_bytes -= self._sizes.pop(id(value), 0)
            raise
        self._note_peak()
        self.producer.poll(0)
        self._resend(self.producer.take_failed())
        if self._over_bounds():
            start = time.monotonic()
            self._last_progress = max(self._last_progress, start)
            while self._over_bounds():
                self.producer.poll(0.05)
                self._resend(self.producer.take_failed())
                self._check_outage()
            self.stats.waits_s += time.monotonic() - start

    def _over_bounds(self) -> bool:
        return (
            self.producer.in_flight >= self.max_in_flight
            or self._unacked_bytes > self.max_in_flight_bytes
        )

    def _delivered(self, out: OutgoingRecord, record: Record | None, err: Exception | None) -> None:
        if err is None and record is not None:
            self.stats.acknowledged += 1
            self._last_progress = time.monotonic()
            self._unacked_bytes -= self._sizes.pop(id(out.value), 0)

    def _resend(self, records: list[OutgoingRecord]) -> None:
        for r in records:
            self.producer.send(r.topic, r.key, r.value, r.headers, self._delivered)
        if records:
            self.stats.resent += len(records)
            self._resent_metric.inc(len(records))

    def _check_outage(self) -> None:
        if time.monotonic() - self._last_progress > self.max_outage_s:
            raise BrokerUnavailableError(
                f"{self.station}/{self.pass_id}: no acknowledgement for "
                f"{self.max_outage_s:.0f} s ({self.producer.in_flight} records unacknowledged)"
            )
