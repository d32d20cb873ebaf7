"""The delivery ledger and the pull queues: one sqlite file, durable, embedded.

The ledger has one row per (subscription, product): the latest attempt's outcome
(``delivered``, ``pending`` with the time of the next retry, or ``failed`` after the
retry budget is spent), the attempt count, the last error and the product record to
resend. A product already in the ledger for a subscription is never pushed again, which
turns the at-least-once input of ``l1-products`` into exactly-once delivery effects
(``docs/architecture.md``, "Exactly-once effects from at-least-once delivery").

Pull queues live in the same file, so appending a product to a queue and recording it as
delivered is one transaction. Messages stay until acknowledged; acknowledging an AckId
acknowledges every earlier message of the subscription (CDSE Subscriptions convention).
A queue holds at most ``max_length`` messages (CDSE: 100,000): beyond it the oldest is
dropped and counted (:meth:`DeliveryLedger.queue_stats`). Push subscriptions whose
endpoint failed every attempt have their notification appended to the same queue
(CDSE: "3 push retries, then the notification waits in the queue").

The file is created with mode 0600 (its rows name subscribers' endpoints).
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel

from streams._infra.errors import PermanentError
from streams._infra.sqlite import SqliteFile
from streams.messages.deliveries import DeliveryAttempt, DeliveryStatus
from streams.messages.products import ProductRecord

__all__ = [
    "DeliveryAttempt", "DeliveryLedger", "DeliveryNotFoundError", "DeliveryStatus",
    "InvalidAckIdError", "InvalidEntryTokenError", "QueueMessage", "QueueStats",
]  # fmt: skip


class DeliveryNotFoundError(PermanentError):
    """No ledger entry for this subscription and product."""


class InvalidAckIdError(PermanentError):
    """An AckId that is not one this service hands out."""


class QueueMessage(BaseModel):
    """A message of a pull queue: the product record and its STAC Item."""

    ack_id: str
    product_id: str
    enqueued: AwareDatetime
    product: dict[str, Any]
    item: dict[str, Any]


class QueueStats(BaseModel):
    """Counters of one pull queue."""

    length: int = 0
    dropped: int = 0
    acked: int = 0


class InvalidEntryTokenError(PermanentError, ValueError):
    """A ledger paging token this service did not hand out."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    subscription_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    status TEXT NOT NULL,
    next_retry TEXT,
    last_attempt TEXT NOT NULL,
    body TEXT NOT NULL,
    product TEXT NOT NULL,
    PRIMARY KEY (subscription_id, product_id)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_retry);
CREATE INDEX IF NOT EXISTS deliveries_recent ON deliveries (subscription_id, last_attempt);
CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    enqueued TEXT NOT NULL,
    product TEXT NOT NULL,
    UNIQUE (subscription_id, product_id)
);
CREATE INDEX IF NOT EXISTS queue_order ON queue (subscription_id, seq);
CREATE TABLE IF NOT EXISTS queue_stats (
    subscription_id TEXT PRIMARY KEY,
    length INTEGER NOT NULL DEFAULT 0,
    dropped INTEGER NOT NULL DEFAULT 0,
    acked INTEGER NOT NULL DEFAULT 0
);
"""

_BACKFILL_STATS = """
INSERT OR IGNORE INTO queue_stats (subscription_id, length)
SELECT subscription_id, COUNT(*) FROM queue GROUP BY subscription_id
"""


def _encode_entry_token(last_attempt: str, product_id: str) -> str:
    raw = json.dumps([last_attempt, product_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_entry_token(token: str) -> tuple[str, str]:
    try:
        last, pid = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if isinstance(last, str) and isinstance(pid, str):
            return last, pid
    except (ValueError, TypeError, binascii.Error):
        pass
    raise InvalidEntryTokenError(f"page token {token[:40]!r} is not one this service issued")


def _ts(value: datetime | None) -> str | None:
    """Sortable UTC timestamp text (fixed width, so string order is time order)."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class DeliveryLedger:
    """Durable record of delivery attempts and the pull queues (one sqlite file, WAL).

    Safe across threads and processes (one connection per call, writers serialised by
    sqlite), so the delivery stage and the API share the file.

    Parameters
    ----------
    path
        The sqlite file (mode 0600); its directory is created.
    max_queue_length
        Messages kept per pull queue; the oldest beyond it are dropped and counted.
    """

    def __init__(self, path: str | Path, *, max_queue_length: int = 100_000) -> None:
        self.path = Path(path)
        self.db = SqliteFile(self.path, private=True)
        self.max_queue_length = max_queue_length
        with self.db.connect() as con:
            fresh = con.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'queue_stats'"
            ).fetchone()[0] == 0
            con.executescript(_SCHEMA)
            if fresh:
                con.execute(_BACKFILL_STATS)

    @staticmethod
    def _upsert(con: sqlite3.Connection, attempt: DeliveryAttempt, product: ProductRecord) -> None:
        con.execute(
            "INSERT OR REPLACE INTO deliveries "
            "(subscription_id, product_id, status, next_retry, last_attempt, body, product) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                attempt.subscription_id,
                attempt.product_id,
                attempt.status.value,
                _ts(attempt.next_retry),
                _ts(attempt.last_attempt),
                attempt.model_dump_json(),
                product.model_dump_json(),
            ),
        )

    # ------------------------------------------------------------------ ledger

    def record(self, attempt: DeliveryAttempt, product: ProductRecord) -> None:
        """Store the outcome of an attempt (replaces the row of the same delivery)."""
        with self.db.write() as con:
            self._upsert(con, attempt, product)

    def _enqueue(
        self, con: sqlite3.Connection, subscription_id: str, product: ProductRecord,
        when: datetime,
    ) -> str:  # fmt: skip
        cur = con.execute(
            "INSERT OR IGNORE INTO queue (subscription_id, product_id, enqueued, product) "
            "VALUES (?, ?, ?, ?)",
            (subscription_id, product.product_id, _ts(when), product.model_dump_json()),
        )
        if cur.rowcount:
            con.execute(
                "INSERT INTO queue_stats (subscription_id, length) VALUES (?, 1) "
                "ON CONFLICT (subscription_id) DO UPDATE SET length = length + 1",
                (subscription_id,),
            )
            (length,) = con.execute(
                "SELECT length FROM queue_stats WHERE subscription_id = ?", (subscription_id,)
            ).fetchone()
            excess = int(length) - self.max_queue_length
            if excess > 0:  # drop the oldest, count them
                dropped = con.execute(
                    "DELETE FROM queue WHERE seq IN (SELECT seq FROM queue WHERE "
                    "subscription_id = ? ORDER BY seq LIMIT ?)",
                    (subscription_id, excess),
                ).rowcount
                con.execute(
                    "UPDATE queue_stats SET length = length - ?, dropped = dropped + ? "
                    "WHERE subscription_id = ?",
                    (dropped, dropped, subscription_id),
                )
        row = con.execute(
            "SELECT seq FROM queue WHERE subscription_id = ? AND product_id = ?",
            (subscription_id, product.product_id),
        ).fetchone()
        return str(row[0]) if row is not None else ""

    def record_enqueued(self, attempt: DeliveryAttempt, product: ProductRecord) -> str:
        """Append ``product`` to the subscription's pull queue and record ``attempt``, in
        one transaction; return the message's AckId (the existing one on a replay; ``""``
        when it was dropped at once by a full queue)."""
        with self.db.write() as con:
            ack = self._enqueue(con, attempt.subscription_id, product, attempt.last_attempt)
            self._upsert(con, attempt, product)
        return ack

    def get(self, subscription_id: str, product_id: str) -> DeliveryAttempt | None:
        """The ledger row of one delivery, or ``None`` if never attempted."""
        with self.db.connect() as con:
            row = con.execute(
                "SELECT body FROM deliveries WHERE subscription_id = ? AND product_id = ?",
                (subscription_id, product_id),
            ).fetchone()
        return None if row is None else DeliveryAttempt.model_validate_json(row[0])

    def product(self, subscription_id: str, product_id: str) -> ProductRecord:
        """The product record stored with a delivery (what a retry resends)."""
        with self.db.connect() as con:
            row = con.execute(
                "SELECT product FROM deliveries WHERE subscription_id = ? AND product_id = ?",
                (subscription_id, product_id),
            ).fetchone()
        if row is None:
            raise DeliveryNotFoundError(
                f"no delivery of {product_id!r} to subscription {subscription_id!r}"
            )
        return ProductRecord.model_validate_json(row[0])

    def entries(
        self,
        subscription_id: str | None = None,
        status: DeliveryStatus | None = None,
        limit: int = 1000,
    ) -> list[DeliveryAttempt]:
        """Ledger rows, newest attempt first, optionally for one subscription/status."""
        return self.entries_page(subscription_id, status, limit)[0]

    def entries_page(
        self,
        subscription_id: str | None = None,
        status: DeliveryStatus | None = None,
        limit: int = 1000,
        token: str | None = None,
    ) -> tuple[list[DeliveryAttempt], str | None]:
        """One page of ledger rows, newest attempt first, and the next page's token.

        Raises
        ------
        InvalidEntryTokenError
            A token this ledger did not hand out.
        """
        sql = "SELECT body, last_attempt, product_id FROM deliveries WHERE 1 = 1"
        args: list[Any] = []
        if subscription_id is not None:
            sql += " AND subscription_id = ?"
            args.append(subscription_id)
        if status is not None:
            sql += " AND status = ?"
            args.append(status.value)
        if token is not None:
            last, pid = _decode_entry_token(token)
            sql += " AND (last_attempt < ? OR (last_attempt = ? AND product_id < ?))"
            args += [last, last, pid]
        sql += " ORDER BY last_attempt DESC, product_id DESC LIMIT ?"
        args.append(limit + 1)
        with self.db.connect() as con:
            rows = con.execute(sql, args).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        out = [DeliveryAttempt.model_validate_json(r[0]) for r in rows]
        return out, (_encode_entry_token(rows[-1][1], rows[-1][2]) if more and rows else None)

    def due(self, now: datetime, limit: int = 100) -> list[tuple[DeliveryAttempt, ProductRecord]]:
        """Pending deliveries whose next retry time has come, earliest first."""
        with self.db.connect() as con:
            rows = con.execute(
                "SELECT body, product FROM deliveries WHERE status = ? AND next_retry <= ? "
                "ORDER BY next_retry LIMIT ?",
                (DeliveryStatus.PENDING.value, _ts(now), limit),
            ).fetchall()
        return [
            (DeliveryAttempt.model_validate_json(b), ProductRecord.model_validate_json(p))
            for b, p in rows
        ]

    def next_retry(self) -> datetime | None:
        """Earliest scheduled retry, or ``None`` when nothing is pending."""
        with self.db.connect() as con:
            row = con.execute(
                "SELECT MIN(next_retry) FROM deliveries WHERE status = ?",
                (DeliveryStatus.PENDING.value,),
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return datetime.strptime(row[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)

    def counts(self) -> dict[DeliveryStatus, int]:
        """Number of ledger rows per status."""
        with self.db.connect() as con:
            rows = con.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall()
        counts = dict.fromkeys(DeliveryStatus, 0)
        for status, n in rows:
            counts[DeliveryStatus(status)] = int(n)
        return counts

    def request_retry(
        self, subscription_id: str, product_id: str, now: datetime
    ) -> DeliveryAttempt:
        """Schedule a new attempt now with a fresh retry budget (e.g. after ``failed``).

        A delivered product is left as it is (returned unchanged).
        """
        with self.db.write() as con:
            row = con.execute(
                "SELECT body, product FROM deliveries WHERE subscription_id = ? AND product_id = ?",
                (subscription_id, product_id),
            ).fetchone()
            if row is None:
                raise DeliveryNotFoundError(
                    f"no delivery of {product_id!r} to subscription {subscription_id!r}"
                )
            current = DeliveryAttempt.model_validate_json(row[0])
            if current.status is DeliveryStatus.DELIVERED:
                return current
            updated = current.model_copy(
                update={
                    "status": DeliveryStatus.PENDING,
                    "next_retry": now,
                    "budget_start": current.attempt,
                    "budget_started": now,
                }
            )
            self._upsert(con, updated, ProductRecord.model_validate_json(row[1]))
        return updated

    # ------------------------------------------------------------------ pull queue

    def record_failed_to_queue(self, attempt: DeliveryAttempt, product: ProductRecord) -> str:
        """Record a push delivery that gave up and append its notification to the
        subscription's pull queue, in one transaction; return the AckId."""
        with self.db.write() as con:
            ack = self._enqueue(con, attempt.subscription_id, product, attempt.last_attempt)
            self._upsert(con, attempt, product)
        return ack

    def queue_pull(self, subscription_id: str, max_messages: int = 100) -> list[QueueMessage]:
        """The oldest unacknowledged messages of a subscription's queue (not removed),
        each with the product record and its STAC Item."""
        from streams.catalogue.stac import product_to_stac_item

        with self.db.connect() as con:
            rows = con.execute(
                "SELECT seq, product_id, enqueued, product FROM queue "
                "WHERE subscription_id = ? ORDER BY seq LIMIT ?",
                (subscription_id, max_messages),
            ).fetchall()
        out: list[QueueMessage] = []
        for seq, pid, enq, body in rows:
            record = ProductRecord.model_validate_json(body)
            out.append(
                QueueMessage(
                    ack_id=str(seq),
                    product_id=pid,
                    enqueued=datetime.strptime(enq, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC),
                    product=record.to_json_dict(),
                    item=product_to_stac_item(record),
                )
            )
        return out

    def queue_ack(self, subscription_id: str, ack_id: str) -> int:
        """Acknowledge ``ack_id`` and every earlier message of the queue.

        Returns
        -------
        int
            Number of messages removed (0 when they were acknowledged already).

        Raises
        ------
        InvalidAckIdError
            If ``ack_id`` is not a number this service handed out.
        """
        try:
            seq = int(ack_id)
        except ValueError:
            raise InvalidAckIdError(f"AckId {ack_id!r} is not one this service issued") from None
        if seq < 1 or len(ack_id) > 20:
            raise InvalidAckIdError(f"AckId {ack_id!r} is not one this service issued")
        with self.db.write() as con:
            top = con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'queue'").fetchone()
            if top is None or seq > int(top[0]):
                raise InvalidAckIdError(f"AckId {ack_id!r} was never issued")
            cur = con.execute(
                "DELETE FROM queue WHERE subscription_id = ? AND seq <= ?", (subscription_id, seq)
            )
            n = int(cur.rowcount)
            if n:
                con.execute(
                    "UPDATE queue_stats SET length = length - ?, acked = acked + ? "
                    "WHERE subscription_id = ?",
                    (n, n, subscription_id),
                )
            return n

    def queue_size(self, subscription_id: str) -> int:
        """Unacknowledged messages of a subscription (a counter: constant work)."""
        return self.queue_stats(subscription_id).length

    def queue_stats(self, subscription_id: str) -> QueueStats:
        """Length, dropped and acknowledged counts of a subscription's queue."""
        with self.db.connect() as con:
            row = con.execute(
                "SELECT length, dropped, acked FROM queue_stats WHERE subscription_id = ?",
                (subscription_id,),
            ).fetchone()
        if row is None:
            return QueueStats()
        return QueueStats(length=int(row[0]), dropped=int(row[1]), acked=int(row[2]))

    def queue_purge(self, subscription_id: str) -> int:
        """Drop a subscription's queue (when the subscription is deleted)."""
        with self.db.write() as con:
            cur = con.execute("DELETE FROM queue WHERE subscription_id = ?", (subscription_id,))
            con.execute("DELETE FROM queue_stats WHERE subscription_id = ?", (subscription_id,))
            return int(cur.rowcount)
