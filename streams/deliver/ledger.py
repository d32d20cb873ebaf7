"""The delivery ledger and the pull queues: one sqlite file, durable, embedded.

The ledger has one row per (subscription, product): the latest attempt's outcome
(``delivered``, ``pending`` with the time of the next retry, or ``failed`` after the
retry budget is spent), the attempt count, the last error and the product record to
resend. A product already in the ledger for a subscription is never pushed again, which
turns the at-least-once input of ``l1-products`` into exactly-once delivery effects
(architecture.md, "Exactly-once effects").

Pull queues live in the same file, so appending a product to a queue and recording it as
delivered is one transaction. Messages stay until acknowledged; acknowledging an AckId
acknowledges every earlier message of the subscription (CDSE Subscriptions convention).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel

from streams._infra.errors import PermanentError
from streams.messages.deliveries import DeliveryAttempt, DeliveryStatus
from streams.messages.products import ProductRecord

__all__ = [
    "DeliveryAttempt", "DeliveryLedger", "DeliveryNotFoundError", "DeliveryStatus",
    "InvalidAckIdError", "QueueMessage",
]  # fmt: skip


class DeliveryNotFoundError(PermanentError):
    """No ledger entry for this subscription and product."""


class InvalidAckIdError(PermanentError):
    """An AckId that is not one this service hands out."""


class QueueMessage(BaseModel):
    """A message of a pull queue."""

    ack_id: str
    product_id: str
    enqueued: AwareDatetime
    product: dict[str, Any]


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
"""


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
        The sqlite file; its directory is created.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

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
        with self._write() as con:
            self._upsert(con, attempt, product)

    def record_enqueued(self, attempt: DeliveryAttempt, product: ProductRecord) -> str:
        """Append ``product`` to the subscription's pull queue and record ``attempt``, in
        one transaction; return the message's AckId (the existing one on a replay)."""
        with self._write() as con:
            con.execute(
                "INSERT OR IGNORE INTO queue (subscription_id, product_id, enqueued, product) "
                "VALUES (?, ?, ?, ?)",
                (
                    attempt.subscription_id,
                    attempt.product_id,
                    _ts(attempt.last_attempt),
                    product.model_dump_json(),
                ),
            )
            row = con.execute(
                "SELECT seq FROM queue WHERE subscription_id = ? AND product_id = ?",
                (attempt.subscription_id, attempt.product_id),
            ).fetchone()
            self._upsert(con, attempt, product)
        return str(row[0]) if row is not None else ""

    def get(self, subscription_id: str, product_id: str) -> DeliveryAttempt | None:
        """The ledger row of one delivery, or ``None`` if never attempted."""
        with self._connect() as con:
            row = con.execute(
                "SELECT body FROM deliveries WHERE subscription_id = ? AND product_id = ?",
                (subscription_id, product_id),
            ).fetchone()
        return None if row is None else DeliveryAttempt.model_validate_json(row[0])

    def product(self, subscription_id: str, product_id: str) -> ProductRecord:
        """The product record stored with a delivery (what a retry resends)."""
        with self._connect() as con:
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
        sql = "SELECT body FROM deliveries WHERE 1 = 1"
        args: list[Any] = []
        if subscription_id is not None:
            sql += " AND subscription_id = ?"
            args.append(subscription_id)
        if status is not None:
            sql += " AND status = ?"
            args.append(status.value)
        sql += " ORDER BY last_attempt DESC, rowid DESC LIMIT ?"
        args.append(limit)
        with self._connect() as con:
            rows = con.execute(sql, args).fetchall()
        return [DeliveryAttempt.model_validate_json(r[0]) for r in rows]

    def due(self, now: datetime, limit: int = 100) -> list[tuple[DeliveryAttempt, ProductRecord]]:
        """Pending deliveries whose next retry time has come, earliest first."""
        with self._connect() as con:
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
        with self._connect() as con:
            row = con.execute(
                "SELECT MIN(next_retry) FROM deliveries WHERE status = ?",
                (DeliveryStatus.PENDING.value,),
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return datetime.strptime(row[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)

    def counts(self) -> dict[DeliveryStatus, int]:
        """Number of ledger rows per status."""
        with self._connect() as con:
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
        with self._write() as con:
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

    def queue_pull(self, subscription_id: str, max_messages: int = 100) -> list[QueueMessage]:
        """The oldest unacknowledged messages of a subscription's queue (not removed)."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT seq, product_id, enqueued, product FROM queue "
                "WHERE subscription_id = ? ORDER BY seq LIMIT ?",
                (subscription_id, max_messages),
            ).fetchall()
        return [
            QueueMessage.model_validate(
                {
                    "ack_id": str(seq),
                    "product_id": pid,
                    "enqueued": datetime.strptime(enq, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC),
                    "product": ProductRecord.model_validate_json(body).to_json_dict(),
                }
            )
            for seq, pid, enq, body in rows
        ]

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
        if seq < 1:
            raise InvalidAckIdError(f"AckId {ack_id!r} is not one this service issued")
        with self._write() as con:
            top = con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'queue'").fetchone()
            if top is None or seq > int(top[0]):
                raise InvalidAckIdError(f"AckId {ack_id!r} was never issued")
            cur = con.execute(
                "DELETE FROM queue WHERE subscription_id = ? AND seq <= ?", (subscription_id, seq)
            )
            return int(cur.rowcount)

    def queue_size(self, subscription_id: str) -> int:
        """Unacknowledged messages of a subscription."""
        with self._connect() as con:
            row = con.execute(
                "SELECT COUNT(*) FROM queue WHERE subscription_id = ?", (subscription_id,)
            ).fetchone()
        return int(row[0])

    def queue_purge(self, subscription_id: str) -> int:
        """Drop a subscription's queue (when the subscription is deleted)."""
        with self._write() as con:
            cur = con.execute("DELETE FROM queue WHERE subscription_id = ?", (subscription_id,))
            return int(cur.rowcount)
