"""Read side of the timeline: what the API and the dashboard ask.

:class:`TimelineView` opens the SQLite file of :class:`~streams.timeline.store.TimelineStore`
read-only (any process: the API reads what ``eoport run timeline`` writes) and answers:
passes, bursts of a pass with their stage stamps, latency quantiles and histograms per
segment, throughput, backlog, events, focused-vs-skipped counts, footprints, workers.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sar.constants import IW_BURST_CYCLE
from streams.messages.chunks import MAX_CHUNK_PAYLOAD
from streams.timeline.load import UNKNOWN_PASS, RawBurst, load_bursts
from streams.timeline.model import (
    LATENCY_BUCKETS_S,
    OUTCOMES,
    SEGMENTS,
    budgets,
)
from streams.timeline.schemas import (
    BacklogEntry,
    BacklogReport,
    BurstView,
    EventView,
    LatencyReport,
    PassView,
    RatePoint,
    SegmentStats,
    SelectionReport,
    ThroughputReport,
    WorkersReport,
)
from streams.timeline.stats import histogram, quantile, rounded
from streams.timeline.store import TimelineStore, pass_offset

WorkersProvider = Callable[[], int | None]
"""Returns how many focusing workers run now (``None``: unknown)."""

DecisionsProvider = Callable[[], Sequence[Any]]
"""Returns the autoscaler's latest decisions, newest first (dataclasses or mappings, e.g.
:class:`operators.policy.Decision`)."""

BURST_TOPICS = frozenset({"focus-jobs", "l1-products"})
"""Topics with one record per burst (their backlog counts bursts)."""

CHANNEL_RATE_BYTES_PER_S = 260e6 / 8
"""One X-band downlink channel, 260 Mbit/s (``docs/sentinel1-facts.md``, "Timing")."""

CHUNK_SENSING_S = MAX_CHUNK_PAYLOAD / CHANNEL_RATE_BYTES_PER_S
"""Sensing seconds in one full raw chunk at the channel rate (estimate for raw-chunks
backlog)."""


def _dt(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, tz=UTC)


def _plain(decision: Any) -> dict[str, Any]:
    if is_dataclass(decision) and not isinstance(decision, type):
        data = asdict(decision)
    elif isinstance(decision, Mapping):
        data = dict(decision)
    else:
        data = {"value": str(decision)}
    return json.loads(json.dumps(data, default=str))  # type: ignore[no-any-return]


class TimelineView:
    """Queries over a timeline store (read-only; safe from many threads).

    Parameters
    ----------
    path
        The SQLite file written by the timeline service (created empty if missing).
    budgets_s
        Segment budgets overriding :data:`streams.timeline.model.SEGMENTS` defaults, s.
    workers
        Provider of the number of running focusing workers.
    decisions
        Provider of the autoscaler's latest decisions.
    topic_names
        Default topic name -> configured name (renamed topics: backlog of bursts).
    clock
        POSIX time source (windows are relative to it).
    max_passes
        How many of the latest passes :meth:`passes`, :meth:`selection` and
        :meth:`latency` (without a pass) cover.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        budgets_s: Mapping[str, float] | None = None,
        workers: WorkersProvider | None = None,
        decisions: DecisionsProvider | None = None,
        topic_names: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        max_passes: int = 30,
    ) -> None:
        self.path = Path(path)
        self.max_passes = max_passes
        TimelineStore(self.path)  # creates the schema when the service has not yet
        self.budgets = budgets(budgets_s)
        self.workers_provider = workers
        self.decisions_provider = decisions
        names = topic_names or {}
        self.burst_topics = frozenset(names.get(t, t) for t in BURST_TOPICS)
        self.raw_topic = names.get("raw-chunks", "raw-chunks")
        self.clock = clock

    @contextmanager
    def _con(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30.0)
        try:
            yield con
        finally:
            con.close()

    # ------------------------------------------------------------------ change counter

    def version(self) -> int:
        """Grows whenever the store changed (for live updates)."""
        with self._con() as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
        return int(row[0]) if row else 0

    # ------------------------------------------------------------------ bursts

    def _view(self, x: RawBurst) -> BurstView:
        r = x.row
        reasons = [f"{k}: {why}" for k, why in x.events]
        reasons += [f"delivery to {d.subscription_id}: {d.error}" for d in x.deliveries if d.error]
        return BurstView(
            burst_key=r[0], pass_key=r[1], channel=r[2] or None,
            data_take_id=None if r[3] is None else f"{int(r[3]):06X}",
            mode=r[4], swath=r[5], polarisation=r[6], burst_id=r[7], burst_label=r[8],
            status=r[9], packets=r[10], missing_lines=r[11], outcome=x.outcome,
            product_id=r[12],
            stamps={s: datetime.fromtimestamp(t, tz=UTC) for s, t in x.stamps.items()},
            segments={s: round(v, 6) for s, v in x.segments.items()},
            late=self._late(x.segments), reasons=reasons, deliveries=x.deliveries,
        )  # fmt: skip

    def _late(self, segments: Mapping[str, float]) -> list[str]:
        return [s for s, v in segments.items() if v > self.budgets[s]]

    def _load(
        self, con: sqlite3.Connection, pass_key: str | None, burst_key: str | None = None
    ) -> list[BurstView]:
        return [self._view(x) for x in load_bursts(con, pass_key, burst_key, details=True)]

    def bursts(self, pass_key: str | None = None, limit: int = 2000) -> list[BurstView]:
        """Bursts of a pass (all passes when ``None``; :data:`UNKNOWN_PASS` for bursts
        whose job was not seen), in sensing order."""
        with self._con() as con:
            return self._load(con, pass_key)[:limit]

    def burst(self, burst_key: str) -> BurstView | None:
        """One burst's timeline, or ``None``."""
        with self._con() as con:
            found = self._load(con, None, burst_key)
        return found[0] if found else None

    # ------------------------------------------------------------------ passes

    def recent_passes(self, con: sqlite3.Connection, limit: int | None = None) -> list[str]:
        """Pass keys by latest change, newest first (:data:`UNKNOWN_PASS` for bursts whose
        job was not seen), at most ``limit`` (default: ``max_passes``)."""
        rows = con.execute(
            "SELECT p, MAX(seq) FROM (SELECT COALESCE(pass_key, ?) AS p, seq FROM bursts "
            "UNION ALL SELECT pass_key, seq FROM events WHERE pass_key IS NOT NULL) "
            "GROUP BY p ORDER BY 2 DESC, p LIMIT ?",
            (UNKNOWN_PASS, limit or self.max_passes),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def passes(self) -> list[PassView]:
        """The latest ``max_passes`` passes, the most recently updated first."""
        with self._con() as con:
            recent = self.recent_passes(con)
            bursts = load_bursts(con, None, passes=recent)
            ev_rows = con.execute(
                "SELECT COALESCE(e.pass_key, b.pass_key), e.kind, COUNT(*) FROM events e "
                "LEFT JOIN bursts b ON b.burst_key = e.burst_key GROUP BY 1, 2"
            ).fetchall()
            keys = {x.row[1] for x in bursts if x.row[1]}
            offsets = {p: pass_offset(con, p) for p in keys}
        by_pass: dict[str, list[RawBurst]] = {}
        for x in bursts:
            by_pass.setdefault(x.row[1] or UNKNOWN_PASS, []).append(x)
        events: dict[str, dict[str, int]] = {}
        for pkey, kind, n in ev_rows:
            events.setdefault(pkey or UNKNOWN_PASS, {})[kind] = int(n)
        out: list[PassView] = []
        for pkey in recent:
            items = by_pass.get(pkey, [])
            outcomes = dict.fromkeys(OUTCOMES, 0)
            for x in items:
                outcomes[x.outcome] += 1
            starts = [x.stamps["sensing_start"] for x in items if "sensing_start" in x.stamps]
            stops = [x.stamps["sensing_stop"] for x in items if "sensing_stop" in x.stamps]
            latest = [max(x.stamps.values()) for x in items if x.stamps]
            totals = [x.segments["total"] for x in items if "total" in x.segments]
            takes = {f"{int(x.row[3]):06X}" for x in items if x.row[3] is not None}
            out.append(
                PassView(
                    pass_key=pkey,
                    data_takes=sorted(takes),
                    swaths=sorted({x.row[5] for x in items if x.row[5]}),
                    bursts=len(items), outcomes=outcomes,
                    incomplete=sum(1 for x in items if x.row[9] == "incomplete"),
                    late=sum(1 for x in items if self._late(x.segments)),
                    first_sensing=_dt(min(starts)) if starts else None,
                    last_sensing=_dt(max(stops)) if stops else None,
                    last_update=_dt(max(latest)) if latest else None,
                    replay_offset_s=round(offsets.get(pkey, 0.0), 6),
                    total_p50_s=rounded(quantile(totals, 0.5)),
                    total_p95_s=rounded(quantile(totals, 0.95)),
                    events=events.get(pkey, {}),
                )
            )  # fmt: skip
        return out

    # ------------------------------------------------------------------ latency

    def latency(self, pass_key: str | None = None, window_s: float | None = None) -> LatencyReport:
        """Quantiles and histograms per segment over a pass (default: the latest
        ``max_passes`` passes) and, with ``window_s``, only bursts whose latest stamp lies
        in the last ``window_s``."""
        with self._con() as con:
            recent = None if pass_key is not None else self.recent_passes(con)
            bursts = load_bursts(con, pass_key, passes=recent)
        if window_s is not None:
            since = self.clock() - window_s
            bursts = [x for x in bursts if x.stamps and max(x.stamps.values()) >= since]
        segments: list[SegmentStats] = []
        for seg in SEGMENTS:
            values = [x.segments[seg.name] for x in bursts if seg.name in x.segments]
            budget = self.budgets[seg.name]
            segments.append(
                SegmentStats(
                    stage=seg.name, count=len(values),
                    p50_s=rounded(quantile(values, 0.5)), p95_s=rounded(quantile(values, 0.95)),
                    p99_s=rounded(quantile(values, 0.99)),
                    mean_s=rounded(sum(values) / len(values)) if values else None,
                    max_s=rounded(max(values)) if values else None, budget_s=budget,
                    late=sum(1 for v in values if v > budget),
                    histogram=histogram(values, LATENCY_BUCKETS_S),
                )
            )  # fmt: skip
        return LatencyReport(
            pass_key=pass_key, window_s=window_s, bursts=len(bursts),
            bounds_s=list(LATENCY_BUCKETS_S), segments=segments,
        )  # fmt: skip

    # ------------------------------------------------------------------ throughput

    def throughput(self, window_s: float = 60.0, windows: int = 30) -> ThroughputReport:
        """Chunks/s (from sampled raw-chunks end offsets), bursts completed, products
        written and deliveries done per window, over the last ``windows`` windows."""
        now = self.clock()
        start = now - window_s * windows
        with self._con() as con:
            samples = con.execute(
                "SELECT t, SUM(end_offset) FROM samples WHERE topic = ? AND t >= ? "
                "GROUP BY t ORDER BY t",
                (self.raw_topic, start - window_s),
            ).fetchall()
            stage_rows = con.execute(
                "SELECT stage, t FROM stamps WHERE stage IN ('burst_complete', 'product_written')"
                " AND t >= ?",
                (start,),
            ).fetchall()
            deliveries = [
                float(r[0])
                for r in con.execute(
                    "SELECT delivered_at FROM deliveries WHERE delivered_at >= ?", (start,)
                )
            ]
        series: list[RatePoint] = []
        for i in range(windows):
            a, b = start + i * window_s, start + (i + 1) * window_s
            series.append(
                RatePoint(
                    start=datetime.fromtimestamp(a, tz=UTC),
                    chunks_per_s=_rate(samples, a, b),
                    bursts=sum(1 for s, t in stage_rows if s == "burst_complete" and a <= t < b),
                    products=sum(1 for s, t in stage_rows if s == "product_written" and a <= t < b),
                    deliveries=sum(1 for t in deliveries if a <= t < b),
                )
            )  # fmt: skip
        latest = _rate(samples, now - window_s, now + 1.0)
        total = int(samples[-1][1]) if samples else None
        return ThroughputReport(
            window_s=window_s, chunks_per_s=latest, chunks_total=total, series=series
        )

    # ------------------------------------------------------------------ backlog

    def backlog(self, history_s: float = 900.0) -> BacklogReport:
        """Latest backlog per watched (group, topic) with its recent history."""
        with self._con() as con:
            last = con.execute("SELECT MAX(t) FROM samples").fetchone()
            if last is None or last[0] is None:
                return BacklogReport(sampled_at=None, topics=[])
            t_last = float(last[0])
            rows = con.execute(
                "SELECT t, topic, grp, lag FROM samples WHERE t >= ? ORDER BY t",
                (t_last - history_s,),
            ).fetchall()
        series: dict[tuple[str, str], list[tuple[float, int]]] = {}
        for t, topic, grp, lag in rows:
            series.setdefault((grp, topic), []).append((float(t), int(lag)))
        topics: list[BacklogEntry] = []
        for (grp, topic), hist in sorted(series.items(), key=lambda kv: kv[0][1]):
            records = hist[-1][1]
            bursts = records if topic in self.burst_topics else None
            if bursts is not None:
                sensing: float | None = bursts * IW_BURST_CYCLE
            elif topic == self.raw_topic:
                sensing = records * CHUNK_SENSING_S
            else:
                sensing = None
            growth = None
            if len(hist) >= 2 and hist[-1][0] > hist[0][0]:
                growth = (hist[-1][1] - hist[0][1]) / (hist[-1][0] - hist[0][0])
            topics.append(
                BacklogEntry(
                    group=grp, topic=topic, records=records, bursts=bursts,
                    sensing_s=rounded(sensing), growth_per_s=rounded(growth, 4),
                    history=[(round(t, 3), n) for t, n in hist[-120:]],
                )
            )  # fmt: skip
        return BacklogReport(sampled_at=_dt(t_last), topics=topics)

    # ------------------------------------------------------------------ events

    def events(
        self, pass_key: str | None = None, kinds: Sequence[str] | None = None, limit: int = 200
    ) -> list[EventView]:
        """Stored events, newest first, optionally of one pass and some kinds."""
        sql = (
            "SELECT e.kind, e.source, COALESCE(e.pass_key, b.pass_key), e.burst_key, e.t, "
            "e.reason, e.detail FROM events e LEFT JOIN bursts b ON b.burst_key = e.burst_key "
            "WHERE 1 = 1"
        )
        args: list[Any] = []
        if pass_key is not None:
            sql += " AND COALESCE(e.pass_key, b.pass_key) = ?"
            args.append(pass_key)
        if kinds:
            sql += f" AND e.kind IN ({','.join('?' * len(kinds))})"
            args.extend(kinds)
        sql += " ORDER BY e.t DESC, e.id LIMIT ?"
        args.append(limit)
        with self._con() as con:
            rows = con.execute(sql, args).fetchall()
        return [
            EventView(
                kind=k, source=s, pass_key=p, burst_key=b, time=datetime.fromtimestamp(t, tz=UTC),
                reason=r, detail=json.loads(d),
            )
            for k, s, p, b, t, r, d in rows
        ]  # fmt: skip

    def event_counts(self) -> dict[str, int]:
        """Stored events per kind."""
        with self._con() as con:
            rows = con.execute("SELECT kind, COUNT(*) FROM events GROUP BY kind").fetchall()
        return {str(k): int(n) for k, n in rows}

    # ------------------------------------------------------------------ selection, map

    def selection(self) -> SelectionReport:
        """Bursts per outcome (focused, skipped by AOI selection, failed, pending) over the
        latest ``max_passes`` passes, in all and per pass."""
        counts = dict.fromkeys(("product", "skipped", "failed", "pending"), 0)
        per_pass: dict[str, dict[str, int]] = {}
        with self._con() as con:
            bursts = load_bursts(con, None, passes=self.recent_passes(con))
        for x in bursts:
            counts[x.outcome] += 1
            entry = per_pass.setdefault(x.row[1] or UNKNOWN_PASS, dict.fromkeys(counts, 0))
            entry[x.outcome] += 1
        return SelectionReport(counts=counts, per_pass=per_pass)

    def footprints(self, pass_key: str | None = None) -> dict[str, Any]:
        """Product footprints as a GeoJSON FeatureCollection (lon/lat, RFC 7946)."""
        sql = "SELECT burst_key, pass_key, swath, product_id, footprint FROM bursts " \
            "WHERE footprint IS NOT NULL"  # fmt: skip
        args: list[Any] = []
        if pass_key is not None:
            sql += " AND pass_key = ?"
            args.append(pass_key)
        with self._con() as con:
            rows = con.execute(sql + " ORDER BY burst_key", args).fetchall()
        return {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "id": pid,
                    "geometry": json.loads(fp),
                    "properties": {
                        "burst_key": key,
                        "pass_key": pk,
                        "swath": sw,
                        "product_id": pid,
                        "kind": "footprint",
                    },
                }  # fmt: skip
                for key, pk, sw, pid, fp in rows
            ],
        }

    # ------------------------------------------------------------------ workers

    def workers(self, window_s: float = 300.0, decisions: int = 20) -> WorkersReport:
        """Running workers (provider), the most bursts focused at once over the window
        (from the focus start/end stamps) and the autoscaler's latest decisions."""
        since = self.clock() - window_s
        with self._con() as con:
            rows = con.execute(
                "SELECT a.t, b.t FROM stamps a JOIN stamps b ON b.burst_key = a.burst_key "
                "AND b.stage = 'focus_end' WHERE a.stage = 'focus_start' AND b.t >= ?",
                (since,),
            ).fetchall()
        edges = sorted([(float(a), 1) for a, _ in rows] + [(float(b), -1) for _, b in rows])
        busy = peak = 0
        for _, step in edges:
            busy += step
            peak = max(peak, busy)
        running = None
        source = "unknown"
        if self.workers_provider is not None:
            running = self.workers_provider()
            source = "provider"
        made = [] if self.decisions_provider is None else list(self.decisions_provider())
        return WorkersReport(
            running=running, source=source, max_concurrent_focus=peak, window_s=window_s,
            decisions=[_plain(d) for d in made[:decisions]],
        )  # fmt: skip


def _rate(samples: Sequence[tuple[float, int]], a: float, b: float) -> float | None:
    """Records/s of a cumulative series between the last sample before ``a`` (or the
    first inside) and the last sample inside [a, b)."""
    before = [s for s in samples if s[0] <= a]
    inside = [s for s in samples if a < s[0] < b]
    if not inside:
        return None
    first = before[-1] if before else inside[0]
    last = inside[-1]
    if last[0] <= first[0]:
        return None
    return round((last[1] - first[1]) / (last[0] - first[0]), 3)
