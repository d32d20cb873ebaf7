"""Reading bursts from the timeline store: rows, replay-shifted stamps, segments,
outcome and (on request) deliveries and reasons; what every query of
:class:`~streams.timeline.view.TimelineView` starts from."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from streams.timeline.model import segment_durations
from streams.timeline.schemas import DeliveryView
from streams.timeline.store import pass_offset

UNKNOWN_PASS = "unknown"
"""Pass of bursts whose focus job was not seen (yet)."""


def _dt(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, tz=UTC)


class RawBurst:
    """A burst as read from the store: its row, stamps (POSIX s), segments, events."""

    __slots__ = ("deliveries", "events", "outcome", "row", "segments", "stamps")

    def __init__(self, row: tuple[Any, ...]) -> None:
        self.row = row
        self.stamps: dict[str, float] = {}
        self.segments: dict[str, float] = {}
        self.events: list[tuple[str, str]] = []
        self.deliveries: list[DeliveryView] = []
        self.outcome = "pending"


def _chunks(items: Sequence[str], n: int) -> Iterator[list[str]]:
    for i in range(0, len(items), n):
        yield list(items[i : i + n])


def load_bursts(
    con: sqlite3.Connection,
    pass_key: str | None,
    burst_key: str | None = None,
    details: bool = False,
    passes: Sequence[str] | None = None,
) -> list[RawBurst]:
    """Bursts (of one pass, one burst, some passes, or all) with their (replay-shifted)
    stamps, segments and outcome; ``details`` adds the deliveries and the reasons (what
    :class:`BurstView` shows)."""
    where, args = "1 = 1", []
    if passes is not None:
        named = [p for p in passes if p != UNKNOWN_PASS]
        terms = [f"b.pass_key IN ({','.join('?' * len(named))})"] if named else []
        if UNKNOWN_PASS in passes:
            terms.append("b.pass_key IS NULL")
        where, args = "(" + (" OR ".join(terms) or "0") + ")", list(named)
    elif burst_key is not None:
        where, args = "b.burst_key = ?", [burst_key]
    elif pass_key == UNKNOWN_PASS:
        where = "b.pass_key IS NULL"
    elif pass_key is not None:
        where, args = "b.pass_key = ?", [pass_key]
    cols = (
        "burst_key, pass_key, channel, data_take_id, mode, swath, polarisation, burst_id, "
        "burst_label, status, packets, missing_lines, product_id"
    )
    rows = con.execute(f"SELECT {cols} FROM bursts b WHERE {where}", args).fetchall()
    if not rows:
        return []
    raw = {r[0]: RawBurst(r) for r in rows}
    stamp_sql = "SELECT s.burst_key, s.stage, s.t FROM stamps s"
    event_sql = "SELECT e.burst_key, e.kind, e.reason FROM events e"
    first_sql = (
        "SELECT d.product_id, MIN(d.delivered_at) FROM deliveries d WHERE d.status = 'delivered'"
    )
    if passes is not None or burst_key is not None or pass_key is not None:  # selection
        join = f" JOIN bursts b ON b.burst_key = {{}}.burst_key WHERE {where}"
        stamp_sql += join.format("s")
        event_sql += join.format("e")
        first_sql = (
            "SELECT d.product_id, MIN(d.delivered_at) FROM deliveries d JOIN bursts b ON "
            f"b.product_id = d.product_id WHERE d.status = 'delivered' AND {where}"
        )
    for k, stage, t in con.execute(stamp_sql, args):
        if k in raw:
            raw[k].stamps[str(stage)] = float(t)
    for k, kind, reason in con.execute(event_sql + " ORDER BY e.t", args):
        if k in raw:
            raw[k].events.append((str(kind), str(reason)))
    first = {
        str(pid): float(t)
        for pid, t in con.execute(first_sql + " GROUP BY d.product_id", args)
        if t is not None
    }
    if details:
        by_product = {x.row[12]: x for x in raw.values() if x.row[12] is not None}
        products = list(by_product)
        for chunk in _chunks(products, 500):
            marks = ",".join("?" * len(chunk))
            for pid, sub, status, attempt, kind, at, lat, err in con.execute(
                "SELECT product_id, subscription_id, status, attempt, target_kind, "
                f"delivered_at, latency_s, error FROM deliveries WHERE product_id IN ({marks})"
                " ORDER BY subscription_id",
                chunk,
            ):
                by_product[pid].deliveries.append(
                    DeliveryView(
                        subscription_id=sub, status=status, attempt=attempt,
                        target_kind=kind, delivered_at=_dt(at), latency_s=lat, error=err,
                    )
                )  # fmt: skip
    offsets: dict[str | None, float] = {}
    for x in raw.values():
        pkey = x.row[1]
        if pkey not in offsets:
            offsets[pkey] = pass_offset(con, pkey)
        for stage in ("sensing_start", "sensing_stop"):
            if stage in x.stamps:
                x.stamps[stage] += offsets[pkey]
        pid = x.row[12]
        if pid is not None and pid in first:
            x.stamps["delivered"] = first[pid]
        x.segments = segment_durations(x.stamps)
        kinds = {k for k, _ in x.events}
        if pid is not None:
            x.outcome = "product"
        elif "focus-failed" in kinds or "burst-dropped" in kinds:
            x.outcome = "failed"
        elif "focus-skipped" in kinds:
            x.outcome = "skipped"
    out = list(raw.values())
    out.sort(key=lambda x: (x.stamps.get("sensing_start", float("inf")), x.row[0]))
    return out
