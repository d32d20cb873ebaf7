"""TCP input: a station front-end streams one link's CADUs (or packets) to the adapter
(``eoport run ingest --listen tcp://HOST:PORT``).

**Protocol.** A connection carries the byte stream of one link (X-band channel) of one
pass, optionally preceded by one ASCII header line::

    EOPORT-INGEST/1 pass=S1A-20261125T1740 link=1 format=cadu orbit=117 offset=0 last=1\n

``pass`` (no ``/``), ``link`` (``channel`` is accepted too; default 1), ``format``
(``auto``, ``cadu``, ``isp``), ``orbit`` (relative orbit 1..175, pass metadata for the
ESA burst IDs), ``offset`` (link-stream octet of the first byte after the header) and
``last=1`` (the pass ends when this connection closes cleanly) are all optional. The
adapter answers a header with ``OK <octets received so far on this link>\n``, so a
front-end can resume exactly where the adapter stands, or ``ERR <reason>\n`` and closes.
Without a header, the listen URL's query (``tcp://0.0.0.0:5001?link=2&format=cadu``)
and then the settings (``pass_id``, ``channel``, ``format``) name the stream; a stream
with no pass id gets ``STATION-YYYYMMDDTHHMMSS`` (UTC of its first connection).

**Reconnects.** The link's decoder and chunk numbering live on between connections: a
new connection for the same pass and link continues the same ``raw-chunks`` stream
(same sequence numbers and offsets), taking over from a connection still open. With
``offset``, octets the adapter already has are dropped and octets it never got become a
source gap (plain packets) or are noticed by the frame counters (CADUs).

**End of a pass.** When a ``last=1`` connection reaches EOF, or when a link has had no
connection and no data for ``pass_timeout_s``: the decoder is flushed, each channel's
last chunk is sent and the pass is forgotten (a later connection for it is refused).

**Back-pressure.** A connection's thread reads, decodes and publishes in turn; while the
publisher has ``max_in_flight`` chunks (or ``max_in_flight_bytes``) unacknowledged it
does not read, so the kernel's TCP window stops the front-end instead of memory growing.

**Shutdown** (SIGTERM: :meth:`TcpIngest.serve` returns when ``stop`` is set): listening
stops, connections are closed, every open link is flushed and acknowledged, and its
checkpoint (:meth:`streams.ingest.link.LinkSession.checkpoint`) is written under
``STATE_DIR/ingest-listen/STATION/PASS/L<link>.json``; a restarted adapter resumes the
link from it (same numbering, exact decoder state), so a front-end reconnecting with
``offset`` continues without loss. After a crash (no checkpoint) a resumed pass id would
restart numbering at 0: front-ends should then start a new pass id.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from streams._infra.bus import KafkaProducer
from streams._infra.errors import ConfigurationError, PermanentError, StreamError
from streams.ingest import IngestSettings
from streams.ingest.link import InputFormat, LinkSession, link_options, new_publisher, positions_of

__all__ = [
    "HEADER_MAGIC", "ListenStats", "StreamHeader", "StreamHeaderError", "TcpIngest",
    "make_listener", "parse_header", "parse_listen_url",
]  # fmt: skip

log = logging.getLogger(__name__)

HEADER_MAGIC = b"EOPORT-INGEST/1"
"""First octets of a connection that starts with a header line."""
MAX_HEADER_BYTES = 4096
_TICK_S = 0.2
_FORMATS = ("auto", "cadu", "isp")


class StreamHeaderError(PermanentError):
    """A connection header or listen URL that cannot be understood."""


@dataclass(frozen=True)
class StreamHeader:
    """What a connection says about its stream (``None``: not said).

    Attributes
    ----------
    pass_id, link, fmt, relative_orbit
        Pass, link number, input format and relative orbit.
    offset
        Link-stream octet of the connection's first data byte.
    last
        The pass ends when this connection closes cleanly.
    """

    pass_id: str | None = None
    link: int | None = None
    fmt: InputFormat | None = None
    relative_orbit: int | None = None
    offset: int | None = None
    last: bool = False


def _header_from(pairs: Sequence[tuple[str, str]], where: str) -> StreamHeader:
    values: dict[str, Any] = {}
    try:
        for key, value in pairs:
            if key == "pass":
                if not value or "/" in value or len(value.encode()) > 200:
                    raise ValueError(f"pass id {value!r} must be 1-200 bytes without '/'")
                values["pass_id"] = value
            elif key in ("link", "channel"):
                values["link"] = int(value)
                if not 0 <= values["link"] < 65_536:
                    raise ValueError(f"link {value} not in 0..65535")
            elif key == "format":
                if value not in _FORMATS:
                    raise ValueError(f"format {value!r} is not one of {', '.join(_FORMATS)}")
                values["fmt"] = value
            elif key == "orbit":
                values["relative_orbit"] = int(value)
                if not 1 <= values["relative_orbit"] <= 175:
                    raise ValueError(f"relative orbit {value} not in 1..175")
            elif key == "offset":
                values["offset"] = int(value)
                if values["offset"] < 0:
                    raise ValueError("offset must be >= 0")
            elif key == "last":
                values["last"] = value in ("1", "true", "yes")
            else:
                raise ValueError(f"unknown key {key!r}")
    except ValueError as exc:
        raise StreamHeaderError(f"{where}: {exc}") from None
    return StreamHeader(**values)


def parse_header(line: bytes) -> StreamHeader:
    """Parse a connection header line (``EOPORT-INGEST/1 key=value ...``).

    Raises
    ------
    StreamHeaderError
        If the line is not such a header or a value is invalid.
    """
    try:
        text = line.decode("ascii").strip()
    except UnicodeDecodeError:
        raise StreamHeaderError("stream header is not ASCII") from None
    magic, _, rest = text.partition(" ")
    if magic.encode() != HEADER_MAGIC:
        raise StreamHeaderError(f"stream header does not start with {HEADER_MAGIC.decode()}")
    pairs = []
    for item in rest.split():
        key, sep, value = item.partition("=")
        if not sep:
            raise StreamHeaderError(f"stream header item {item!r} is not key=value")
        pairs.append((key, value))
    return _header_from(pairs, "stream header")


def parse_listen_url(url: str) -> tuple[str, int, StreamHeader]:
    """``tcp://HOST:PORT[?link=N&pass=ID&format=F&orbit=R]`` -> host, port, defaults.

    Raises
    ------
    StreamHeaderError
        If the URL is not of that form.
    """
    parts = urlsplit(url)
    if parts.scheme != "tcp" or not parts.hostname:
        raise StreamHeaderError(f"listen address {url!r} is not tcp://HOST:PORT")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        raise StreamHeaderError(f"listen address {url!r} has no valid port")
    defaults = _header_from(parse_qsl(parts.query), f"listen address {url!r}")
    if defaults.offset is not None or defaults.last:
        raise StreamHeaderError(f"listen address {url!r}: offset and last belong in a header")
    return parts.hostname, port, defaults


@dataclass
class ListenStats:
    """What a listener did (cumulative)."""

    connections: int = 0
    refused: int = 0
    errors: int = 0
    bytes_received: int = 0
    passes_ended: int = 0
    resumed: int = 0
    checkpoints: int = 0
    peak_buffered_bytes: int = 0
    links: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class _Live:
    session: LinkSession
    lock: threading.Lock = field(default_factory=threading.Lock)
    owner: int = 0
    active: bool = False
    last_activity: float = field(default_factory=time.monotonic)
    last_flush: float = field(default_factory=time.monotonic)


class TcpIngest:
    """The TCP listener of a ground-station adapter.

    Parameters
    ----------
    settings
        Ingest settings (station, chunking, framing, timeouts, state directory).
    make_producer
        Called once per link of a pass (e.g. ``settings.make_bus().producer``).
    addresses
        Listen URLs (default ``settings.listen``); port 0 picks a free port
        (:meth:`start` returns the bound ones).
    """

    def __init__(
        self,
        settings: IngestSettings,
        make_producer: Callable[[], KafkaProducer],
        *,
        addresses: Sequence[str] | None = None,
    ) -> None:
        self.settings = settings
        self.make_producer = make_producer
        self.addresses = list(addresses if addresses is not None else settings.listen)
        if not self.addresses:
            raise ConfigurationError("the TCP listener needs at least one tcp:// address")
        self.endpoints = [parse_listen_url(u) for u in self.addresses]
        self.stats = ListenStats()
        self.live: dict[tuple[str, int], _Live] = {}
        self.ended: set[tuple[str, int]] = set()
        self._claims: dict[str, dict[int, int]] = {}
        self._auto_pass: dict[int, str] = {}
        self._lock = threading.Lock()
        self._creating = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._closing = threading.Event()
        self._next_conn = 0
        self.bound: list[tuple[str, int]] = []

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> list[tuple[str, int]]:
        """Bind every address and start accepting; return the bound (host, port) pairs."""
        if self._sockets:
            return self.bound
        for host, port, defaults in self.endpoints:
            sock = socket.create_server((host, port), reuse_port=False)
            sock.settimeout(_TICK_S)
            self._sockets.append(sock)
            bound = sock.getsockname()[:2]
            self.bound.append((str(bound[0]), int(bound[1])))
            thread = threading.Thread(
                target=self._accept_loop, args=(sock, defaults), daemon=True,
                name=f"ingest-accept-{bound[1]}",
            )  # fmt: skip
            thread.start()
            log.info("ingest: listening on tcp://%s:%d", *bound)
        return self.bound

    def serve(self, stop: threading.Event) -> ListenStats:
        """Accept streams until ``stop`` is set, ending idle passes; then shut down."""
        self.start()
        try:
            while not stop.wait(_TICK_S):
                self.expire(time.monotonic())
        finally:
            self.shutdown()
        return self.stats

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop listening, close connections, flush every open link and checkpoint it."""
        self._closing.set()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()
        deadline = time.monotonic() + timeout_s
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        with self._lock:
            items = list(self.live.items())
        for (pass_id, link), live in items:
            if not live.lock.acquire(timeout=max(0.1, deadline - time.monotonic())):
                log.error("ingest: %s link %d still busy (broker down?): not checkpointed",
                          pass_id, link)  # fmt: skip
                continue
            try:
                live.session.flush()
                live.session.publisher.wait(timeout_s=max(1.0, deadline - time.monotonic()))
                self._save_checkpoint(pass_id, link, live.session)
            except StreamError as exc:
                log.error("ingest: %s link %d not checkpointed: %s", pass_id, link, exc)
            finally:
                live.lock.release()
            self._note(pass_id, link, live.session)
            live.session.publisher.producer.close()
        with self._lock:
            self.live.clear()

    # ------------------------------------------------------------------ passes

    def expire(self, now: float) -> None:
        """End the passes whose link has been idle for ``pass_timeout_s``."""
        with self._lock:
            idle = [
                (k, v) for k, v in self.live.items()
                if not v.active and now - v.last_activity >= self.settings.pass_timeout_s
            ]  # fmt: skip
        for key, live in idle:
            if live.lock.acquire(blocking=False):
                try:
                    if not live.active:
                        log.info("ingest: %s link %d idle: pass ended", *key)
                        self._end(key, live)
                finally:
                    live.lock.release()

    def _end(self, key: tuple[str, int], live: _Live) -> None:
        try:
            live.session.finish()
        finally:
            self._note(*key, live.session)
            live.session.publisher.producer.close()
            with self._lock:
                self.live.pop(key, None)
                self.ended.add(key)
                pass_id, link = key  # its channels stay claimed: they have ended
                if self._auto_pass.get(link) == pass_id:
                    del self._auto_pass[link]
                self.stats.passes_ended += 1

    def _note(self, pass_id: str, link: int, session: LinkSession) -> None:
        pub = session.publisher
        self.stats.peak_buffered_bytes = max(
            self.stats.peak_buffered_bytes, pub.stats.peak_buffered_bytes
        )
        entry: dict[str, Any] = {
            "format": session.format, "received": session.received, "ended": session.ended,
            "chunks": pub.stats.chunks, "bytes": pub.stats.payload_bytes,
            "events": pub.stats.events, "holes": pub.stats.holes,
            "peak_buffered_bytes": pub.stats.peak_buffered_bytes,
        }  # fmt: skip
        if session.cadu is not None:
            st = session.cadu.decoder.stats
            entry["downlink"] = {
                "frames": st.frames, "corrected_symbols": st.corrected_symbols,
                "uncorrectable_frames": st.uncorrectable_frames,
                "lost_frames": sum(c.lost_frames for c in st.channels.values()),
            }  # fmt: skip
        self.stats.links[f"{pass_id}/L{link}"] = entry

    def _checkpoint_path(self, pass_id: str, link: int) -> Path:
        return (
            Path(self.settings.state_dir) / "ingest-listen" / self.settings.station / pass_id
            / f"L{link}.json"
        )  # fmt: skip

    def _save_checkpoint(self, pass_id: str, link: int, session: LinkSession) -> None:
        if session.ended:
            return
        path = self._checkpoint_path(pass_id, link)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(session.checkpoint()))
        tmp.replace(path)
        self.stats.checkpoints += 1

    def _claim(self, pass_id: str, link: int) -> Callable[[int], bool]:
        def claim(channel: int) -> bool:
            with self._lock:
                owner = self._claims.setdefault(pass_id, {}).setdefault(channel, link)
            return owner == link

        return claim

    def _session(self, header: StreamHeader) -> _Live:
        """The live link of the connection's pass (created, or resumed from a checkpoint)."""
        s = self.settings
        link = header.link if header.link is not None else s.channel
        with self._lock:
            pass_id = header.pass_id or s.pass_id or self._auto_pass.get(link)
            if pass_id is None:
                pass_id = f"{s.station}-{datetime.now(UTC):%Y%m%dT%H%M%S}"
            if header.pass_id is None and s.pass_id is None:
                self._auto_pass[link] = pass_id
            key = (pass_id, link)
            if key in self.ended:
                raise StreamHeaderError(f"pass {pass_id} link {link} has ended")
            live = self.live.get(key)
            if live is not None:
                return live
        with self._creating:  # one link is created (or restored) once
            live = self.live.get(key)
            return live if live is not None else self._create(key, header)

    def _create(self, key: tuple[str, int], header: StreamHeader) -> _Live:
        s = self.settings
        pass_id, link = key
        options = link_options(s)
        if header.fmt is not None:
            options["fmt"] = header.fmt
        options["claim"] = self._claim(pass_id, link)
        path = self._checkpoint_path(pass_id, link)
        state = json.loads(path.read_text()) if path.is_file() else None
        publisher = new_publisher(
            s, self.make_producer(), pass_id=pass_id, relative_orbit=header.relative_orbit,
            positions=positions_of(state) if state is not None else None,
        )  # fmt: skip
        if state is not None:
            session = LinkSession.restore(state, publisher, **options)
            path.unlink()
            self.stats.resumed += 1
            log.info("ingest: %s link %d resumed at octet %d", pass_id, link, session.received)
        else:
            session = LinkSession(publisher, link=link, **options)
        live = _Live(session)
        with self._lock:
            self.live[key] = live
        return live

    # ------------------------------------------------------------------ connections

    def _accept_loop(self, sock: socket.socket, defaults: StreamHeader) -> None:
        while not self._closing.is_set():
            try:
                conn, peer = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._threads = [t for t in self._threads if t.is_alive()]
                full = len(self._threads) >= self.settings.max_connections
                if not full:
                    self._next_conn += 1
                    conn_id = self._next_conn
                    thread = threading.Thread(
                        target=self._serve_connection, args=(conn, peer, defaults, conn_id),
                        daemon=True, name=f"ingest-conn-{conn_id}",
                    )  # fmt: skip
                    self._threads.append(thread)
            if full:
                self.stats.refused += 1
                with contextlib.suppress(OSError):
                    conn.sendall(b"ERR too many connections\n")
                conn.close()
                continue
            thread.start()

    def _serve_connection(
        self, conn: socket.socket, peer: Any, defaults: StreamHeader, conn_id: int
    ) -> None:
        self.stats.connections += 1
        with conn:
            try:
                self._stream(conn, defaults, conn_id)
            except StreamHeaderError as exc:
                self.stats.refused += 1
                log.warning("ingest: connection from %s refused: %s", peer, exc)
                with contextlib.suppress(OSError):
                    conn.sendall(f"ERR {exc}\n".encode("ascii", "replace"))
            except (StreamError, OSError) as exc:
                self.stats.errors += 1
                log.error("ingest: connection from %s closed: %s", peer, exc)
            except Exception:
                self.stats.errors += 1
                log.exception("ingest: connection from %s failed", peer)

    def _read_head(self, conn: socket.socket) -> tuple[StreamHeader | None, bytes]:
        """The header line, if the connection starts with one, and the first data."""
        buf = b""
        deadline = time.monotonic() + 30.0
        while len(buf) < len(HEADER_MAGIC) and not self._closing.is_set():
            try:
                part = conn.recv(self.settings.read_bytes)
            except TimeoutError:
                if time.monotonic() > deadline:
                    break
                continue
            if not part:
                break
            buf += part
            if not HEADER_MAGIC.startswith(buf[: len(HEADER_MAGIC)]):
                return None, buf
        if not buf.startswith(HEADER_MAGIC):
            return None, buf
        while b"\n" not in buf:
            if len(buf) > MAX_HEADER_BYTES:
                raise StreamHeaderError("stream header line too long")
            try:
                part = conn.recv(MAX_HEADER_BYTES)
            except TimeoutError:
                if time.monotonic() > deadline or self._closing.is_set():
                    raise StreamHeaderError("stream header incomplete") from None
                continue
            if not part:
                raise StreamHeaderError("connection closed inside the stream header")
            buf += part
        line, _, rest = buf.partition(b"\n")
        return parse_header(line), rest

    def _stream(self, conn: socket.socket, defaults: StreamHeader, conn_id: int) -> None:
        conn.settimeout(_TICK_S)
        header, first = self._read_head(conn)
        if header is None and not first:
            return  # closed (or shut down) before saying anything: no stream
        given = header or StreamHeader()
        merged = replace(
            defaults,
            **{k: v for k, v in vars(given).items() if v is not None and k != "last"},
            last=given.last,
        )  # fmt: skip
        live = self._session(merged)
        with self._lock:
            live.owner = conn_id
        if not live.lock.acquire(timeout=30.0):
            raise StreamHeaderError("link busy: another connection does not let go")
        try:
            live.active = True
            session = live.session
            if header is not None:
                conn.sendall(f"OK {session.received}\n".encode("ascii"))
            drop = 0
            if merged.offset is not None:
                if merged.offset > session.received:
                    session.skip_input(merged.offset - session.received)
                drop = session.received - merged.offset
            eof = self._pump(conn, live, conn_id, first, drop)
            if eof and merged.last:
                self._end((session.pass_id, session.link), live)
            else:
                session.flush()
        finally:
            live.active = False
            live.last_activity = time.monotonic()
            live.lock.release()

    def _pump(self, conn: socket.socket, live: _Live, conn_id: int, data: bytes, drop: int) -> bool:
        """Read and feed until EOF (``True``), takeover or shutdown (``False``)."""
        session = live.session
        flush_s = self.settings.flush_interval_s
        while True:
            if drop and data:
                n = min(drop, len(data))
                data, drop = data[n:], drop - n
            if data:
                self.stats.bytes_received += len(data)
                session.feed(data)
                live.last_activity = time.monotonic()
            now = time.monotonic()
            if now - live.last_flush >= flush_s:
                session.flush()
                live.last_flush = now
            if self._closing.is_set() or live.owner != conn_id:
                return False
            try:
                data = conn.recv(self.settings.read_bytes)
            except TimeoutError:
                data = b""
                continue
            if not data:
                return True


def make_listener(settings: IngestSettings, addresses: Sequence[str] | None = None) -> TcpIngest:
    """A :class:`TcpIngest` publishing through the settings' broker (one producer per link)."""
    return TcpIngest(settings, settings.make_bus().producer, addresses=addresses)
