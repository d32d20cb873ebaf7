"""The timeline's durable state: one SQLite file, written by the timeline service, read by
the API (:class:`~streams.timeline.view.TimelineView`).

Every update is idempotent and order-independent, so the state after any sequence of
restarts equals the state of an uninterrupted run:

- stage stamps keep the **earliest** instant per (burst, stage) (``MIN``);
- burst metadata keeps the first non-null value (all copies of a job carry the same);
  ``incomplete`` beats ``complete`` (a burst seen incomplete once stays so);
- a delivery row keeps the **latest attempt** (highest attempt number, then time, then
  ``delivered`` > ``failed`` > ``pending``);
- an event is stored once per content (kind, source, detail), whatever its offset: the
  same gap reported twice by a restarted assembler counts once.

The consumed offsets are written **in the same transaction** as the effects of their
records (:meth:`TimelineStore.apply`), so a killed service resumes exactly after the last
batch it stored: nothing is applied twice, nothing skipped. Records that are not valid
values of their topic (:func:`~streams.timeline.records.decode`) are counted as rejected,
their offsets stored too. (The offset stored is the last one read, not the largest ever:
a topic recreated empty is followed from its start.)
Segment observations for ``eoport_burst_latency_seconds`` are recorded in the same
transaction too (table ``observed``), so a burst is observed once across restarts.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from streams._infra.records import Record
from streams._infra.sqlite import SqliteFile
from streams.messages.events import EventRecord
from streams.messages.jobs import JobRecord
from streams.messages.products import ProductRecord
from streams.timeline.model import (
    REPLAY_THRESHOLD_S,
    SEGMENTS,
    channel_of,
    pass_key_of,
    replay_offset_s,
)
from streams.timeline.records import (
    Decoded,
    DeliveryOutcome,
    decode,
    event_burst,
    event_id,
    event_reason,
)

log = logging.getLogger(__name__)

ROLES = ("jobs", "products", "events", "deliveries")
"""What a consumed topic carries: ``focus-jobs``, ``l1-products``, ``events``,
``deliveries`` values."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bursts (
    burst_key TEXT PRIMARY KEY,
    pass_key TEXT,
    channel TEXT,
    data_take_id INTEGER,
    mode TEXT,
    swath TEXT,
    polarisation TEXT,
    burst_id INTEGER,
    burst_label TEXT,
    status TEXT,
    packets INTEGER,
    missing_lines INTEGER,
    product_id TEXT,
    footprint TEXT,
    seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS bursts_pass ON bursts (pass_key);
CREATE INDEX IF NOT EXISTS bursts_product ON bursts (product_id);
CREATE TABLE IF NOT EXISTS stamps (
    burst_key TEXT NOT NULL,
    stage TEXT NOT NULL,
    t REAL NOT NULL,
    PRIMARY KEY (burst_key, stage)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deliveries (
    subscription_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    last_attempt REAL NOT NULL,
    delivered_at REAL,
    latency_s REAL,
    target_kind TEXT,
    error TEXT,
    PRIMARY KEY (subscription_id, product_id)
);
CREATE INDEX IF NOT EXISTS deliveries_product ON deliveries (product_id);
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    pass_key TEXT,
    burst_key TEXT,
    t REAL NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_burst ON events (burst_key);
CREATE INDEX IF NOT EXISTS events_time ON events (t);
CREATE TABLE IF NOT EXISTS offsets (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    next INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)
);
CREATE TABLE IF NOT EXISTS observed (
    burst_key TEXT NOT NULL,
    segment TEXT NOT NULL,
    PRIMARY KEY (burst_key, segment)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS samples (
    t REAL NOT NULL,
    topic TEXT NOT NULL,
    grp TEXT NOT NULL,
    end_offset INTEGER NOT NULL,
    lag INTEGER NOT NULL,
    PRIMARY KEY (t, topic, grp)
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('seq', 0);
"""

_STATUS_RANK = {"pending": 0, "failed": 1, "delivered": 2}


def _t(value: datetime) -> float:
    return value.timestamp()


@dataclass
class ApplyResult:
    """What one :meth:`TimelineStore.apply` stored.

    Attributes
    ----------
    records
        Records read (all topics).
    rejected
        Records that were not valid values of their topic (skipped, logged).
    observations
        ``(segment, seconds)`` completed for the first time, for the latency histogram.
    touched
        Bursts whose timeline changed.
    """

    records: int = 0
    rejected: int = 0
    observations: list[tuple[str, float]] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)


class TimelineStore:
    """The SQLite file of the timeline (WAL; one writer, any number of readers).

    Parameters
    ----------
    path
        The database file; its directory is created.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db = SqliteFile(self.path)
        with self.db.connect() as con:
            con.executescript(_SCHEMA)

    def connect(self) -> AbstractContextManager[sqlite3.Connection]:
        """A new connection (autocommit mode; closed on exit)."""
        return self.db.connect()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``; rolled back on error)."""
        return self.db.write()

    # ------------------------------------------------------------------ offsets

    def offsets(self) -> dict[tuple[str, int], int]:
        """Next offset to read per (topic, partition) stored so far."""
        with self.connect() as con:
            rows = con.execute("SELECT topic, partition, next FROM offsets").fetchall()
        return {(str(t), int(p)): int(n) for t, p, n in rows}

    def version(self) -> int:
        """Change counter: grows with every batch that changed something."""
        with self.connect() as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
        return int(row[0]) if row else 0

    # ------------------------------------------------------------------ writes

    def apply(self, records: Sequence[Record | Decoded], roles: Mapping[str, str]) -> ApplyResult:
        """Store the effects of ``records`` and their offsets in one transaction.

        Parameters
        ----------
        records
            Consumed records, or records already decoded
            (:func:`~streams.timeline.records.decode`), in partition order.
        roles
            Topic name -> role (:data:`ROLES`); records of other topics are ignored.
        """
        result = ApplyResult(records=len(records))
        if not records:
            return result
        with self.transaction() as con:
            seq = int(con.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0]) + 1
            for item in records:
                d = item if isinstance(item, Decoded) else decode(item, roles.get(item.topic))
                record, value = d.record, d.value
                if d.error is not None:
                    result.rejected += 1
                    log.warning(
                        "timeline: skipping %s[%d]@%d: %s",
                        record.topic, record.partition, record.offset, d.error,
                    )  # fmt: skip
                elif isinstance(value, JobRecord):
                    self._job(con, value, record, seq, result)
                elif isinstance(value, ProductRecord):
                    self._product(con, value, seq, result)
                elif isinstance(value, EventRecord):
                    self._event(con, value, seq, result)
                elif isinstance(value, DeliveryOutcome):
                    self._delivery(con, value, result)
                con.execute(
                    "INSERT INTO offsets (topic, partition, next) VALUES (?, ?, ?) "
                    "ON CONFLICT (topic, partition) DO UPDATE SET next = excluded.next",
                    (record.topic, record.partition, record.offset + 1),
                )
            if result.touched:
                result.observations = self._observe(con, result.touched)
            con.execute("UPDATE meta SET value = ? WHERE key = 'seq'", (seq,))
        return result

    @staticmethod
    def _stamp(con: sqlite3.Connection, key: str, stage: str, t: float) -> None:
        con.execute(
            "INSERT INTO stamps (burst_key, stage, t) VALUES (?, ?, ?) "
            "ON CONFLICT (burst_key, stage) DO UPDATE SET t = MIN(t, excluded.t)",
            (key, stage, t),
        )

    @staticmethod
    def _burst(con: sqlite3.Connection, key: str, seq: int, **cols: Any) -> None:
        names = ["burst_key", "seq", *cols]
        values = [key, seq, *cols.values()]
        updates = ", ".join(f"{c} = COALESCE({c}, excluded.{c})" for c in cols if c != "status")
        if "status" in cols:
            updates += (", " if updates else "") + (
                "status = CASE WHEN status = 'incomplete' OR excluded.status = 'incomplete' "
                "THEN 'incomplete' ELSE COALESCE(status, excluded.status) END"
            )
        updates += (", " if updates else "") + "seq = excluded.seq"
        con.execute(
            f"INSERT INTO bursts ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
            f"ON CONFLICT (burst_key) DO UPDATE SET {updates}",
            values,
        )

    def _job(
        self, con: sqlite3.Connection, job: JobRecord, record: Record, seq: int, out: ApplyResult
    ) -> None:
        self._burst(
            con, job.burst_key, seq,
            pass_key=pass_key_of(job.source), channel=channel_of(job.source),
            data_take_id=job.data_take_id, mode=job.mode, swath=job.swath,
            polarisation=job.polarisation, burst_id=job.burst_id,
            burst_label=job.burst_label or None, status=job.status, packets=job.packet_count,
            missing_lines=sum(b - a + 1 for a, b in job.missing_pri),
        )  # fmt: skip
        stamps = {"sensing_start": job.sensing_start, "sensing_stop": job.sensing_stop}
        stamps |= dict(job.timeline)
        if record.timestamp is not None:
            stamps.setdefault("job_append", record.timestamp)
        for stage, when in stamps.items():
            self._stamp(con, job.burst_key, stage, _t(when))
        out.touched.add(job.burst_key)

    def _product(
        self, con: sqlite3.Connection, product: ProductRecord, seq: int, out: ApplyResult
    ) -> None:
        self._burst(
            con, product.burst_key, seq,
            data_take_id=product.data_take_id, mode=product.mode, swath=product.swath,
            polarisation=product.polarisation, burst_id=product.burst_id,
            burst_label=product.burst_label, product_id=product.product_id,
            footprint=json.dumps(product.footprint),
        )  # fmt: skip
        stamps = {"sensing_start": product.sensing_start, "sensing_stop": product.sensing_stop}
        stamps |= {k: v for k, v in product.timeline.items() if k != "delivered"}
        for stage, when in stamps.items():
            self._stamp(con, product.burst_key, stage, _t(when))
        out.touched.add(product.burst_key)

    def _event(
        self, con: sqlite3.Connection, event: EventRecord, seq: int, out: ApplyResult
    ) -> None:
        burst = event_burst(event)
        source_is_channel = event.source.count("/") == 2 and burst != event.source
        pass_key = pass_key_of(event.source) if source_is_channel else None
        cur = con.execute(
            "INSERT OR IGNORE INTO events (id, kind, source, pass_key, burst_key, t, reason, "
            "detail, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event_id(event), event.kind, event.source, pass_key, burst, _t(event.time),
                event_reason(event), json.dumps(event.detail, default=str), seq,
            ),
        )  # fmt: skip
        if cur.rowcount and burst is not None:
            if event.kind == "burst-incomplete":
                self._burst(con, burst, seq, status="incomplete", pass_key=pass_key)
            else:
                self._burst(con, burst, seq, pass_key=pass_key)
            out.touched.add(burst)

    def _delivery(self, con: sqlite3.Connection, a: DeliveryOutcome, out: ApplyResult) -> None:
        rank = _STATUS_RANK.get(a.status, 0)
        con.execute(
            "INSERT INTO deliveries (subscription_id, product_id, status, attempt, "
            "last_attempt, delivered_at, latency_s, target_kind, error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (subscription_id, product_id) DO UPDATE SET "
            "status = excluded.status, attempt = excluded.attempt, "
            "last_attempt = excluded.last_attempt, delivered_at = excluded.delivered_at, "
            "latency_s = excluded.latency_s, target_kind = excluded.target_kind, "
            "error = excluded.error "
            "WHERE (excluded.attempt, excluded.last_attempt, ?) > (attempt, last_attempt, "
            "CASE status WHEN 'delivered' THEN 2 WHEN 'failed' THEN 1 ELSE 0 END)",
            (
                a.subscription_id, a.product_id, a.status, a.attempt,
                _t(a.last_attempt), None if a.delivered_at is None else _t(a.delivered_at),
                a.latency_s, a.target_kind, a.error, rank,
            ),
        )  # fmt: skip
        row = con.execute(
            "SELECT burst_key FROM bursts WHERE product_id = ?", (a.product_id,)
        ).fetchone()
        if row is not None:
            out.touched.add(str(row[0]))

    def _observe(self, con: sqlite3.Connection, keys: Iterable[str]) -> list[tuple[str, float]]:
        """Segments of ``keys`` complete for the first time (recorded in ``observed``)."""
        found: list[tuple[str, float]] = []
        offsets: dict[str | None, float] = {}
        for key in sorted(keys):
            stamps = burst_stamps(con, key)
            if not stamps:
                continue
            row = con.execute("SELECT pass_key FROM bursts WHERE burst_key = ?", (key,)).fetchone()
            pass_key = None if row is None else row[0]
            if pass_key not in offsets:
                offsets[pass_key] = pass_offset(con, pass_key)
            shift = offsets[pass_key]
            for stage in ("sensing_start", "sensing_stop"):
                if stage in stamps:
                    stamps[stage] += shift
            for seg in SEGMENTS:
                if seg.start not in stamps or seg.stop not in stamps:
                    continue
                cur = con.execute(
                    "INSERT OR IGNORE INTO observed (burst_key, segment) VALUES (?, ?)",
                    (key, seg.name),
                )
                if cur.rowcount:
                    found.append((seg.name, stamps[seg.stop] - stamps[seg.start]))
        return found

    def prune(self, cutoff: float) -> int:
        """Forget bursts whose every stamp and event is older than ``cutoff`` (POSIX s),
        older events and deliveries of forgotten products; returns the bursts dropped."""
        with self.transaction() as con:
            old = [
                str(r[0])
                for r in con.execute(
                    "SELECT b.burst_key FROM bursts b WHERE "
                    "COALESCE((SELECT MAX(t) FROM stamps s WHERE s.burst_key = b.burst_key), 0)"
                    " < ? AND "
                    "COALESCE((SELECT MAX(t) FROM events e WHERE e.burst_key = b.burst_key), 0)"
                    " < ?",
                    (cutoff, cutoff),
                )
            ]
            for i in range(0, len(old), 500):
                chunk = old[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for table in ("stamps", "observed"):
                    con.execute(f"DELETE FROM {table} WHERE burst_key IN ({marks})", chunk)
                con.execute(f"DELETE FROM bursts WHERE burst_key IN ({marks})", chunk)
            con.execute("DELETE FROM events WHERE t < ?", (cutoff,))
            con.execute(
                "DELETE FROM deliveries WHERE last_attempt < ? AND product_id NOT IN "
                "(SELECT product_id FROM bursts WHERE product_id IS NOT NULL)",
                (cutoff,),
            )
            con.execute("DELETE FROM samples WHERE t < ?", (cutoff,))
            if old:
                con.execute("UPDATE meta SET value = value + 1 WHERE key = 'seq'")
        return len(old)

    def add_samples(
        self, t: float, rows: Iterable[tuple[str, str, int, int]], keep_s: float
    ) -> None:
        """Store backlog samples ``(topic, group, end_offset, lag)`` taken at ``t`` (POSIX
        s) and drop samples older than ``keep_s``."""
        with self.transaction() as con:
            con.executemany(
                "INSERT OR REPLACE INTO samples (t, topic, grp, end_offset, lag) "
                "VALUES (?, ?, ?, ?, ?)",
                [(t, topic, grp, end, lag) for topic, grp, end, lag in rows],
            )
            con.execute("DELETE FROM samples WHERE t < ?", (t - keep_s,))
            con.execute("UPDATE meta SET value = value + 1 WHERE key = 'seq'")


def burst_stamps(con: sqlite3.Connection, key: str) -> dict[str, float]:
    """Stage -> POSIX time of one burst, ``delivered`` being its first delivery (raw
    sensing times: no replay shift)."""
    stamps = {
        str(s): float(t)
        for s, t in con.execute("SELECT stage, t FROM stamps WHERE burst_key = ?", (key,))
    }
    row = con.execute(
        "SELECT MIN(d.delivered_at) FROM deliveries d JOIN bursts b ON b.product_id = "
        "d.product_id WHERE b.burst_key = ? AND d.status = 'delivered'",
        (key,),
    ).fetchone()
    if row is not None and row[0] is not None:
        stamps["delivered"] = float(row[0])
    return stamps


def pass_offset(con: sqlite3.Connection, pass_key: str | None) -> float:
    """Replay shift of a pass's sensing times, s (see
    :func:`streams.timeline.model.replay_offset_s`)."""
    if pass_key is None:
        return 0.0
    row = con.execute(
        "SELECT MIN(r.t - s.t) FROM bursts b "
        "JOIN stamps s ON s.burst_key = b.burst_key AND s.stage = 'sensing_stop' "
        "JOIN stamps r ON r.burst_key = b.burst_key AND r.stage = 'station_receive' "
        "WHERE b.pass_key = ?",
        (pass_key,),
    ).fetchone()
    value = None if row is None or row[0] is None else float(row[0])
    return replay_offset_s(value) if value is not None and value > REPLAY_THRESHOLD_S else 0.0
