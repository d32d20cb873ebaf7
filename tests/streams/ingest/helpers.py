"""Helpers of the ingest tests: settings on a test broker, reading chunks back, the
expected chunk stream of a CADU link, a TCP client."""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path
from typing import Any

from streams._infra.bus import KafkaBus
from streams._infra.records import Record
from streams._infra.settings import TopicNames
from streams.assemble.reassembly import ChannelReassembler, Gap, Segment
from streams.ingest import IngestSettings
from streams.ingest.cadu import CaduLink, Hole
from streams.messages.chunks import Chunk, decode_chunk
from streams.messages.events import EventRecord
from tests.streams.ingest.passdata import PARAMS


def ingest_settings(servers: str, tmp_path: Path, raw: str, events: str, **over: Any
                    ) -> IngestSettings:  # fmt: skip
    """Ingest settings for a test: its topics, a private state directory, small chunks."""
    values: dict[str, Any] = {
        "bootstrap_servers": servers, "state_dir": tmp_path / "state",
        "object_store_url": str(tmp_path / "objects"), "session_timeout_ms": 3000,
        "message_timeout_ms": 30_000, "topics": TopicNames(raw_chunks=raw, events=events),
        "chunk_size": 100_000, "flush_interval_s": 0.2, "poll_interval_s": 0.2,
    }  # fmt: skip
    return IngestSettings(**(values | over))


def read_records(bus: KafkaBus, topic: str, n_min: int = 1, timeout_s: float = 60.0,
                 idle_s: float = 1.5) -> list[Record]:  # fmt: skip
    """Every record of ``topic`` (at least ``n_min``, then until ``idle_s`` of quiet)."""
    consumer = bus.consumer(f"reader-{uuid.uuid4().hex[:8]}", [topic])
    records: list[Record] = []
    deadline = time.monotonic() + timeout_s
    quiet_since = time.monotonic()
    try:
        while time.monotonic() < deadline:
            batch = consumer.poll(0.3, 500)
            if batch:
                records += batch
                quiet_since = time.monotonic()
            elif len(records) >= n_min and time.monotonic() - quiet_since >= idle_s:
                break
    finally:
        consumer.close()
    return records


def read_chunks(bus: KafkaBus, topic: str, n_min: int = 1) -> list[Chunk]:
    return [decode_chunk(r.value) for r in read_records(bus, topic, n_min)]


def read_events(bus: KafkaBus, topic: str, n_min: int = 1) -> list[EventRecord]:
    return [EventRecord.from_bytes(r.value) for r in read_records(bus, topic, n_min)]


def stream_of(
    chunks: list[Chunk], key: str
) -> tuple[bytes, list[tuple[int, int]], ChannelReassembler]:
    """Reassembled bytes, source gaps (byte ranges) and the reassembler of one channel."""
    r = ChannelReassembler(key, gap_timeout_s=1e9)
    data, gaps = [], []
    for c in chunks:
        if c.key != key:
            continue
        for o in r.push(c, 0.0):
            if isinstance(o, Segment):
                data.append(o.data)
            elif isinstance(o, Gap):
                assert o.byte_stop is not None
                gaps.append((o.byte_start, o.byte_stop))
    return b"".join(data), gaps, r


def expected_stream(cadus: bytes, channel: int = 1) -> tuple[bytes, list[tuple[int, int]]]:
    """What one link's CADUs give on ``channel``: packet bytes and hole byte ranges."""
    link = CaduLink(1, PARAMS)
    outs = [link.feed(cadus), link.finish()]
    data, gaps, pos = [], [], 0
    for out in outs:
        for item in out.items.get(channel, []):
            if isinstance(item, Hole):
                gaps.append((pos, pos + item.n_bytes))
                pos += item.n_bytes
            else:
                data.append(item)
                pos += len(item)
    return b"".join(data), gaps


def send(address: tuple[str, int], data: bytes, header: str | None = None,
         piece: int = 256 * 1024) -> str | None:  # fmt: skip
    """Connect, send an optional header line and ``data``, close; return the reply line."""
    reply = None
    with socket.create_connection(address, timeout=30) as sock:
        if header is not None:
            sock.sendall(header.encode() + b"\n")
            reply = read_line(sock)
            if not reply.startswith("OK"):
                return reply
        for i in range(0, len(data), piece):
            sock.sendall(data[i : i + piece])
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(30)
        while sock.recv(4096):  # wait until the server closes: all data taken
            pass
    return reply


def read_line(sock: socket.socket) -> str:
    line = b""
    while not line.endswith(b"\n"):
        part = sock.recv(1)
        if not part:
            break
        line += part
    return line.decode().strip()


def wait_for(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
