"""The passthrough chunk: a slice of one downlink channel's byte stream, as published
on ``raw-chunks``.

A ground station cuts each channel's demodulated byte stream into chunks as it arrives
(chunk boundaries ignore packet boundaries: a packet may span chunks) and publishes each
chunk as one Kafka record keyed ``station/pass_id/channel``, so a channel stays ordered
in one partition. The record value is a small fixed binary header, the station and pass
identifiers, a header checksum, then the payload:

======  ======  ===================================================================
offset  type    field
======  ======  ===================================================================
0       4s      magic ``b"EOCK"``
4       u8      format version (1)
5       u8      flags: bit 0 last chunk of the pass, bit 1 sensing range present
6       u16     channel number
8       u64     sequence number (0, 1, 2 ... per channel and pass)
16      u64     byte offset of the payload in the channel's pass stream
24      i64     station receive time, microseconds since 1970-01-01T00:00:00Z (UTC)
32      i64     sensing start, microseconds since the Unix epoch, UTC (if flag 1)
40      i64     sensing stop, idem
48      u32     payload length, bytes
52      u32     CRC-32 (ISO-HDLC, as zlib) of the payload
56      u8      station id length S
57      u8      pass id length P
58      S+P     station id, pass id (UTF-8)
58+S+P  u32     CRC-32 of bytes 0 .. 58+S+P
62+S+P          payload
======  ======  ===================================================================

All integers big-endian. Header overhead: 62 bytes plus the two identifiers.

**Pass metadata** that is not part of the byte stream travels as Kafka record headers of
every chunk record of the pass (the binary header above is unchanged):
:data:`RELATIVE_ORBIT_HEADER` carries the pass's relative orbit (track 1..175, ASCII
decimal) when the station knows it; the assembler uses it for the ESA burst IDs
(:mod:`sar.identity`) and treats a missing or invalid value as unknown (``0``).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from streams._infra.errors import ChunkError

MAGIC = b"EOCK"
VERSION = 1
FLAG_LAST = 0x01
FLAG_SENSING = 0x02

RELATIVE_ORBIT_HEADER = "eoport-relative-orbit"
"""Record header of a chunk: relative orbit (track) of the pass, ``b"1"`` .. ``b"175"``."""

MAX_CHUNK_PAYLOAD = 900_000
"""Largest payload per chunk, bytes: header + payload stay under Kafka's ~1 MiB limit."""

_FIXED = struct.Struct(">4sBBHQQqqqIIBB")
_CRC = struct.Struct(">I")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def crc32(data: bytes) -> int:
    """CRC-32 (ISO-HDLC polynomial 0x04C11DB7, reflected; zlib's) of ``data``."""
    return zlib.crc32(data) & 0xFFFFFFFF


def _to_us(t: datetime) -> int:
    if t.tzinfo is None:
        raise ChunkError(f"naive datetime {t.isoformat()} in chunk header (times are UTC)")
    delta = t - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_us(us: int) -> datetime:
    return datetime.fromtimestamp(us // 1_000_000, tz=UTC).replace(microsecond=us % 1_000_000)


def pass_headers(relative_orbit: int | None) -> dict[str, bytes]:
    """Record headers carrying the pass metadata (``{}`` when nothing is known).

    Raises
    ------
    ChunkError
        If ``relative_orbit`` is not in 1..175.
    """
    if relative_orbit is None:
        return {}
    if not 1 <= relative_orbit <= 175:
        raise ChunkError(f"relative orbit {relative_orbit} not in 1..175")
    return {RELATIVE_ORBIT_HEADER: str(relative_orbit).encode("ascii")}


def relative_orbit_of(headers: Mapping[str, bytes]) -> int | None:
    """The relative orbit in a chunk record's headers, or ``None`` (absent or not 1..175)."""
    raw = headers.get(RELATIVE_ORBIT_HEADER)
    if raw is None:
        return None
    try:
        value = int(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if 1 <= value <= 175 else None


def channel_key(station: str, pass_id: str, channel: int) -> str:
    """Kafka key of one channel of one pass: ``station/pass_id/channel``."""
    return f"{station}/{pass_id}/{channel}"


@dataclass(frozen=True, slots=True)
class Chunk:
    """One slice of a channel's downlink byte stream.

    Parameters
    ----------
    station
        Ground-station id (no ``/``), e.g. ``"MAT"``.
    pass_id
        Pass id, unique per station (no ``/``), e.g. ``"S1A-2026-11-25T17:40"``.
    channel
        Downlink channel number (Sentinel-1: two X-band channels, 1 and 2).
    seq
        Sequence number within the channel and pass, from 0, no holes at the source.
    offset
        Byte offset of ``payload`` in the channel's pass stream.
    receive_time
        When the station received the first byte of the chunk (aware UTC datetime).
    payload
        The bytes.
    last
        Whether this is the last chunk of the channel for this pass.
    sensing_start, sensing_stop
        Sensing time range covered, if the station knows it (aware UTC datetimes).
    crc
        CRC-32 of ``payload``; computed when left at ``-1``.
    """

    station: str
    pass_id: str
    channel: int
    seq: int
    offset: int
    receive_time: datetime
    payload: bytes
    last: bool = False
    sensing_start: datetime | None = None
    sensing_stop: datetime | None = None
    crc: int = field(default=-1)

    def __post_init__(self) -> None:
        if self.crc < 0:
            object.__setattr__(self, "crc", crc32(self.payload))

    @property
    def key(self) -> str:
        """Kafka key: ``station/pass_id/channel``."""
        return channel_key(self.station, self.pass_id, self.channel)

    @property
    def end(self) -> int:
        """Byte offset just after the payload."""
        return self.offset + len(self.payload)

    @property
    def receive_time_iso(self) -> str:
        """Station receive time as ISO 8601 UTC with a ``Z`` suffix."""
        return self.receive_time.isoformat().replace("+00:00", "Z")


def encode_chunk(chunk: Chunk) -> bytes:
    """Serialize ``chunk`` into one record value (layout in the module docstring).

    Raises
    ------
    ChunkError
        If a field does not fit the format (identifier with ``/`` or over 255 bytes,
        payload over :data:`MAX_CHUNK_PAYLOAD`, negative numbers, naive datetimes).
    """
    station = chunk.station.encode("utf-8")
    pass_id = chunk.pass_id.encode("utf-8")
    for name, raw in (("station", station), ("pass_id", pass_id)):
        if not raw or len(raw) > 255 or b"/" in raw:
            raise ChunkError(f"{name} {raw!r} must be 1-255 bytes without '/'")
    if len(chunk.payload) > MAX_CHUNK_PAYLOAD:
        raise ChunkError(f"chunk payload of {len(chunk.payload)} bytes > {MAX_CHUNK_PAYLOAD}")
    if chunk.seq < 0 or chunk.offset < 0 or not 0 <= chunk.channel < 65536:
        raise ChunkError(f"chunk seq {chunk.seq}, offset {chunk.offset}, channel {chunk.channel}")
    flags = FLAG_LAST if chunk.last else 0
    start = stop = 0
    if chunk.sensing_start is not None and chunk.sensing_stop is not None:
        flags |= FLAG_SENSING
        start, stop = _to_us(chunk.sensing_start), _to_us(chunk.sensing_stop)
    head = _FIXED.pack(
        MAGIC,
        VERSION,
        flags,
        chunk.channel,
        chunk.seq,
        chunk.offset,
        _to_us(chunk.receive_time),
        start,
        stop,
        len(chunk.payload),
        chunk.crc,
        len(station),
        len(pass_id),
    ) + station + pass_id
    return b"".join((head, _CRC.pack(crc32(head)), chunk.payload))


def decode_chunk(value: bytes) -> Chunk:
    """Parse and verify a record value written by :func:`encode_chunk`.

    Raises
    ------
    ChunkError
        If the value is truncated, has a wrong magic or version, or a header or payload
        checksum does not match (the message names what and where).
    """
    if len(value) < _FIXED.size + _CRC.size:
        raise ChunkError(f"chunk record of {len(value)} bytes is shorter than its header")
    (magic, version, flags, channel, seq, offset, recv_us, start_us, stop_us,
     length, crc, n_station, n_pass) = _FIXED.unpack_from(value)
    if magic != MAGIC:
        raise ChunkError(f"chunk record magic {magic!r} is not {MAGIC!r}")
    if version != VERSION:
        raise ChunkError(f"chunk format version {version} is not supported (expected {VERSION})")
    head_end = _FIXED.size + n_station + n_pass
    if len(value) < head_end + _CRC.size:
        raise ChunkError("chunk record truncated inside its header")
    (head_crc,) = _CRC.unpack_from(value, head_end)
    if crc32(value[:head_end]) != head_crc:
        raise ChunkError("chunk header checksum mismatch (header corrupt)")
    payload = value[head_end + _CRC.size:]
    if len(payload) != length:
        raise ChunkError(
            f"chunk seq {seq}: payload is {len(payload)} bytes, header says {length}"
        )
    actual = crc32(payload)
    if actual != crc:
        raise ChunkError(
            f"chunk seq {seq} at pass offset {offset}: payload CRC-32 {actual:08x} != "
            f"header {crc:08x} (payload corrupt)"
        )
    try:
        station = value[_FIXED.size:_FIXED.size + n_station].decode("utf-8")
        pass_id = value[_FIXED.size + n_station:head_end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ChunkError(f"chunk seq {seq}: station/pass id is not UTF-8") from exc
    sensing = bool(flags & FLAG_SENSING)
    return Chunk(
        station=station,
        pass_id=pass_id,
        channel=channel,
        seq=seq,
        offset=offset,
        receive_time=_from_us(recv_us),
        payload=payload,
        last=bool(flags & FLAG_LAST),
        sensing_start=_from_us(start_us) if sensing else None,
        sensing_stop=_from_us(stop_us) if sensing else None,
        crc=crc,
    )


class ChunkCutter:
    """Cuts one channel's byte stream into chunks, numbering them as it goes.

    Parameters
    ----------
    station, pass_id, channel
        Identity of the channel (see :class:`Chunk`).
    chunk_size
        Largest payload per chunk, bytes (at most :data:`MAX_CHUNK_PAYLOAD`).
    first_seq, first_offset
        Where numbering starts (a resumed station continues its sequence).
    """

    def __init__(
        self,
        station: str,
        pass_id: str,
        channel: int,
        chunk_size: int = MAX_CHUNK_PAYLOAD,
        *,
        first_seq: int = 0,
        first_offset: int = 0,
    ) -> None:
        if not 0 < chunk_size <= MAX_CHUNK_PAYLOAD:
            raise ChunkError(f"chunk size {chunk_size} not in 1..{MAX_CHUNK_PAYLOAD} bytes")
        self.station = station
        self.pass_id = pass_id
        self.channel = channel
        self.chunk_size = chunk_size
        self.next_seq = first_seq
        self.next_offset = first_offset

    def cut(
        self,
        data: bytes,
        receive_time: datetime,
        *,
        last: bool = False,
        sensing: tuple[datetime, datetime] | None = None,
    ) -> Iterator[Chunk]:
        """Yield ``data`` as consecutive chunks; the final one is flagged ``last`` if asked.

        An empty ``data`` with ``last=True`` yields one empty end-of-pass chunk.
        """
        pieces = [data[i:i + self.chunk_size] for i in range(0, len(data), self.chunk_size)]
        if not pieces and last:
            pieces = [b""]
        for i, piece in enumerate(pieces):
            chunk = Chunk(
                station=self.station,
                pass_id=self.pass_id,
                channel=self.channel,
                seq=self.next_seq,
                offset=self.next_offset,
                receive_time=receive_time,
                payload=piece,
                last=last and i == len(pieces) - 1,
                sensing_start=sensing[0] if sensing else None,
                sensing_stop=sensing[1] if sensing else None,
            )
            self.next_seq += 1
            self.next_offset += len(piece)
            yield chunk


def split_into_chunks(
    data: bytes,
    station: str,
    pass_id: str,
    channel: int,
    receive_time: datetime,
    chunk_size: int = MAX_CHUNK_PAYLOAD,
) -> list[Chunk]:
    """Cut a whole pass (or any payload) into chunks numbered from 0, the last flagged."""
    cutter = ChunkCutter(station, pass_id, channel, chunk_size)
    return list(cutter.cut(data, receive_time, last=True))
