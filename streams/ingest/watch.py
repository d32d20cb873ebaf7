"""Object-store input: chunk objects a station drops in a bucket (or directory), taken in
order, each once, resumable (``eoport run ingest --watch s3://bucket/prefix/``).

**Layout.** Under the watched prefix, one folder per pass and per link::

    PREFIX/PASS_ID/LINK/NAME      the link's byte stream, in pieces (CADUs or packets)
    PREFIX/PASS_ID/LINK/END       (empty) the link's stream is complete: end of pass
    PREFIX/PASS_ID/pass.json      optional pass metadata: {"relative_orbit": 117}

``PASS_ID`` has no ``/``; ``LINK`` is the decimal link (X-band channel) number. The
pieces of a link are concatenated in the order of their names: names whose stem (the part
before the first ``.``) is a decimal number are ordered by that number (``0.cadu``,
``1.cadu``, ..., ``10.cadu``; zero-padding is not needed), others lexicographically
after them. Numbers are expected consecutive: when the next number is missing while a
later one is there, the watcher waits ``order_timeout_s`` for it (uploads becoming visible
out of order) and then goes on without it (the decoder reports the lost frames). An
object whose name sorts before the cursor when it appears is late and ignored (counted,
logged). Objects are never modified or deleted by the watcher (use a bucket lifecycle).

**Cursor** (exactly-once effect). After each object is published and every chunk of it
acknowledged, the watcher writes a small JSON cursor per pass and link under
``cursor_url`` (default ``STATE_DIR/ingest-cursors``; may be ``s3://``):
``STATION/PASS_ID/LINK.json`` with the last name taken and the link checkpoint
(:meth:`streams.ingest.link.LinkSession.checkpoint`: chunk numbering, decoder warm-up
octets). Chunks are cut deterministically (full chunks while writing, the remainder at
each object's end), so after a crash between publishing and the cursor write the object
is taken again and gives byte-identical chunks with the same sequence numbers, which the
assembler drops as duplicates. A restarted watcher resumes after the cursor.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec

from streams._infra.bus import KafkaProducer
from streams._infra.errors import (
    ConfigurationError,
    ObjectNotFoundError,
    ObjectStoreError,
    StreamError,
)
from streams._infra.objectstore import ObjectStore
from streams._infra.s3server import S3Endpoint
from streams.ingest import IngestSettings
from streams.ingest.link import LinkSession, link_options, new_publisher, positions_of

__all__ = [
    "END_MARKER", "PASS_METADATA", "CursorStore", "ObjectLister", "ObjectWatcher", "WatchStats",
    "make_watcher", "order_key",
]  # fmt: skip

log = logging.getLogger(__name__)

END_MARKER = "END"
"""Name of the object that ends a link's stream."""
PASS_METADATA = "pass.json"
"""Name of the optional pass metadata object in a pass folder."""
CURSOR_VERSION = 1


def order_key(name: str) -> tuple[int, int, str]:
    """Sort key of an object name: numbered stems first, by number, then the others."""
    stem = name.split(".", 1)[0]
    if stem.isdigit():
        return (0, int(stem), name)
    return (1, 0, name)


def _root(url: str) -> str:
    if url.startswith("file://"):
        url = url.removeprefix("file://")
    return url.rstrip("/") or "/"


class ObjectLister:
    """Lists the keys under a prefix (a local directory or an S3 prefix).

    Parameters
    ----------
    url
        ``s3://bucket/prefix/``, ``file:///dir/`` or a path.
    s3
        Endpoint for ``s3://`` URLs.
    """

    def __init__(self, url: str, s3: S3Endpoint | None = None) -> None:
        self.root = _root(url)
        self.s3 = s3
        self._fs: Any = None

    def list(self) -> list[str]:
        """Every key under the root, relative, ``/``-separated (hidden names skipped).

        Raises
        ------
        ObjectStoreError
            If the listing fails.
        """
        if not self.root.startswith("s3://"):
            base = Path(self.root)
            if not base.is_dir():
                return []
            keys = []
            for folder, dirs, files in os.walk(base):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                rel = Path(folder).relative_to(base)
                keys += [(rel / f).as_posix() for f in files if not f.startswith(".")]
            return keys
        if self._fs is None:
            options = self.s3.storage_options() if self.s3 is not None else {}
            self._fs = fsspec.filesystem("s3", skip_instance_cache=True, **options)
        prefix = self.root.removeprefix("s3://")
        try:
            self._fs.invalidate_cache()
            found = self._fs.find(prefix)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ObjectStoreError(f"listing {self.root} failed: {exc}") from exc
        return [str(k)[len(prefix) + 1 :] for k in found if str(k).startswith(prefix + "/")]


class CursorStore:
    """Where the watcher's cursors live (one small JSON object per pass and link)."""

    def __init__(self, url: str, s3: S3Endpoint | None = None) -> None:
        self.store = ObjectStore(_root(url) if not url.startswith("s3://") else url, s3=s3)

    def _url(self, station: str, pass_id: str, link: int) -> str:
        return self.store.url(f"{station}/{pass_id}/{link}.json")

    def load(self, station: str, pass_id: str, link: int) -> dict[str, Any] | None:
        """The cursor of a link, or ``None``."""
        try:
            raw = self.store.get_bytes(self._url(station, pass_id, link))
        except ObjectNotFoundError:
            return None
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise ConfigurationError(f"cursor of {pass_id}/{link} is not JSON: {exc}") from None
        if not isinstance(doc, dict) or doc.get("version") != CURSOR_VERSION:
            raise ConfigurationError(f"cursor of {pass_id}/{link}: unsupported version")
        return doc

    def save(self, station: str, pass_id: str, link: int, doc: dict[str, Any]) -> None:
        """Write a link's cursor atomically."""
        doc = {"version": CURSOR_VERSION, **doc}
        self.store.put_bytes(self._url(station, pass_id, link), json.dumps(doc).encode())


@dataclass
class WatchStats:
    """What a watcher did (cumulative)."""

    objects: int = 0
    bytes: int = 0
    passes_ended: int = 0
    late: int = 0
    skipped_numbers: int = 0
    errors: int = 0
    resumed: int = 0
    polls: int = 0
    peak_buffered_bytes: int = 0
    taken: list[str] = field(default_factory=list)


@dataclass
class _Track:
    pass_id: str
    link: int
    session: LinkSession | None = None
    last: str | None = None
    done: bool = False
    loaded: bool = False
    seen: dict[str, float] = field(default_factory=dict)
    listed_once: bool = False


class ObjectWatcher:
    """Takes chunk objects from an object-store prefix onto ``raw-chunks``.

    Parameters
    ----------
    settings
        Ingest settings (``watch``, ``cursor_url``, ``poll_interval_s``,
        ``order_timeout_s``, chunking and framing).
    make_producer
        Called once per link of a pass.
    url
        Watched prefix (default ``settings.watch``).
    workers
        Links processed at once (two X-band links: two cores).
    """

    def __init__(
        self,
        settings: IngestSettings,
        make_producer: Callable[[], KafkaProducer],
        *,
        url: str | None = None,
        workers: int = 2,
    ) -> None:
        watched = url or settings.watch
        if not watched:
            raise ConfigurationError("the object-store watcher needs a URL (--watch)")
        self.settings = settings
        self.make_producer = make_producer
        self.url = watched
        s3 = settings.s3_endpoint()
        self.lister = ObjectLister(watched, s3)
        self.objects = ObjectStore(_root(watched) if not watched.startswith("s3://") else watched,
                                   s3=s3)  # fmt: skip
        self.cursors = CursorStore(settings.cursor_root(), s3)
        self.workers = workers
        self.stats = WatchStats()
        self.tracks: dict[tuple[str, int], _Track] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    # ------------------------------------------------------------------ loop

    def run(self, stop: threading.Event) -> WatchStats:
        """Poll every ``poll_interval_s`` until ``stop`` is set (the object in hand is
        finished and its cursor written first)."""
        self._stop = stop
        with ThreadPoolExecutor(self.workers, thread_name_prefix="ingest-watch") as pool:
            while not stop.is_set():
                try:
                    self.poll(pool)
                except StreamError as exc:
                    self.stats.errors += 1
                    log.error("ingest: watching %s: %s", self.url, exc)
                stop.wait(self.settings.poll_interval_s)
        self.close()
        return self.stats

    def poll(self, pool: ThreadPoolExecutor | None = None) -> int:
        """One listing: take every object that is ready; return how many were taken."""
        self.stats.polls += 1
        keys = self.lister.list()
        folders: dict[tuple[str, int], set[str]] = {}
        metadata: set[str] = set()
        for key in keys:
            parts = key.split("/")
            if len(parts) == 2 and parts[1] == PASS_METADATA:
                metadata.add(parts[0])
            if len(parts) != 3 or not parts[1].isdigit():
                continue
            folders.setdefault((parts[0], int(parts[1])), set()).add(parts[2])
        work = []
        for (pass_id, link), names in sorted(folders.items()):
            track = self.tracks.setdefault((pass_id, link), _Track(pass_id, link))
            if not track.done:
                work.append((track, names, pass_id in metadata))
        if pool is None or len(work) < 2:
            counts = [self._step(*w) for w in work]
        else:
            counts = list(pool.map(lambda w: self._step(*w), work))
        return sum(counts)

    def close(self) -> None:
        """Release every link's producer (nothing is ended: cursors hold the state)."""
        for track in self.tracks.values():
            self._drop(track)

    # ------------------------------------------------------------------ one link

    def _drop(self, track: _Track) -> None:
        if track.session is not None:
            self._note(track.session)
            track.session.publisher.producer.close()
            track.session = None
            track.loaded = False

    def _note(self, session: LinkSession) -> None:
        with self._lock:
            self.stats.peak_buffered_bytes = max(
                self.stats.peak_buffered_bytes, session.publisher.stats.peak_buffered_bytes
            )

    def _open(self, track: _Track, has_metadata: bool) -> LinkSession | None:
        """The link's session, resumed from its cursor; ``None`` if the cursor says done."""
        s = self.settings
        cursor = self.cursors.load(s.station, track.pass_id, track.link)
        if cursor is not None and cursor.get("done"):
            track.last, track.done = cursor.get("last"), True
            return None
        orbit = self._relative_orbit(track.pass_id) if has_metadata else None
        options = link_options(s)
        if cursor is not None:
            state = cursor.get("link")
            if not isinstance(state, dict):
                raise ConfigurationError(f"cursor of {track.pass_id}/{track.link}: no link state")
            track.last, track.done = cursor.get("last"), bool(cursor.get("done", False))
            publisher = new_publisher(
                s, self.make_producer(), pass_id=track.pass_id, relative_orbit=orbit,
                positions=positions_of(state),
            )  # fmt: skip
            session = LinkSession.restore(state, publisher, **options)
            with self._lock:
                self.stats.resumed += 1
        else:
            publisher = new_publisher(
                s, self.make_producer(), pass_id=track.pass_id, relative_orbit=orbit
            )
            session = LinkSession(publisher, link=track.link, **options)
        track.session, track.loaded = session, True
        return session

    def _relative_orbit(self, pass_id: str) -> int | None:
        try:
            doc = json.loads(self.objects.get_bytes(self.objects.url(f"{pass_id}/{PASS_METADATA}")))
            value = int(doc["relative_orbit"])
        except (StreamError, ValueError, KeyError, TypeError) as exc:
            log.warning("ingest: %s/%s unusable: %s", pass_id, PASS_METADATA, exc)
            return None
        return value if 1 <= value <= 175 else None

    def _ready(self, track: _Track, names: set[str]) -> list[str]:
        """Names to take now, in order (see the module docstring)."""
        now = time.monotonic()
        for name in names:
            if name not in track.seen:
                track.seen[name] = now
                late = track.last is not None and order_key(name) <= order_key(track.last)
                if late and track.listed_once and name != END_MARKER:
                    with self._lock:
                        self.stats.late += 1
                    log.warning("ingest: %s/%d/%s arrived after its turn: ignored",
                                track.pass_id, track.link, name)  # fmt: skip
        track.listed_once = True
        last = order_key(track.last) if track.last is not None else None
        pending = sorted(
            (n for n in names if n not in (END_MARKER,) and (last is None or order_key(n) > last)),
            key=order_key,
        )  # fmt: skip
        ready: list[str] = []
        previous = track.last
        for name in pending:
            key, prev = order_key(name), order_key(previous) if previous is not None else None
            if prev is not None and key[0] == 0 and prev[0] == 0 and key[1] != prev[1] + 1:
                if now - track.seen[name] < self.settings.order_timeout_s:
                    break
                with self._lock:
                    self.stats.skipped_numbers += key[1] - prev[1] - 1
                log.warning("ingest: %s/%d: objects %d..%d never came", track.pass_id,
                            track.link, prev[1] + 1, key[1] - 1)  # fmt: skip
            ready.append(name)
            previous = name
        return ready

    def _step(self, track: _Track, names: set[str], has_metadata: bool) -> int:
        """Take the ready objects of one link; end it after its END marker."""
        taken = 0
        try:
            session = track.session if track.loaded else self._open(track, has_metadata)
            if session is None:
                return 0
            ready = self._ready(track, names)
            for name in ready:
                if self._stop.is_set():
                    return taken
                data = self.objects.get_bytes(
                    self.objects.url(f"{track.pass_id}/{track.link}/{name}")
                )
                session.feed(data)
                session.flush()
                session.publisher.wait()
                track.last = name
                self._save(track, session)
                taken += 1
                with self._lock:
                    self.stats.objects += 1
                    self.stats.bytes += len(data)
                    self.stats.taken.append(f"{track.pass_id}/{track.link}/{name}")
            last = order_key(track.last) if track.last is not None else None
            remaining = [
                n for n in names if n != END_MARKER and (last is None or order_key(n) > last)
            ]
            if END_MARKER in names and not remaining and not self._stop.is_set():
                session.finish()
                track.done = True
                self._save(track, session)
                with self._lock:
                    self.stats.passes_ended += 1
                log.info("ingest: %s link %d ended", track.pass_id, track.link)
                self._drop(track)
        except StreamError as exc:
            with self._lock:
                self.stats.errors += 1
            log.error("ingest: %s link %d: %s (resuming from its cursor)", track.pass_id,
                      track.link, exc)  # fmt: skip
            self._drop(track)
        return taken

    def _save(self, track: _Track, session: LinkSession) -> None:
        self.cursors.save(self.settings.station, track.pass_id, track.link, {
            "last": track.last, "done": track.done, "link": session.checkpoint(),
        })  # fmt: skip


def make_watcher(settings: IngestSettings, url: str | None = None) -> ObjectWatcher:
    """An :class:`ObjectWatcher` publishing through the settings' broker."""
    return ObjectWatcher(settings, settings.make_bus().producer, url=url)
