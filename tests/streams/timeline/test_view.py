"""The timeline store and its queries on a synthetic pass (no broker: records applied
directly), including order independence and duplicates."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from streams._infra.records import Record
from streams._infra.topics import DELIVERIES, EVENTS, FOCUS_JOBS, L1_PRODUCTS
from streams.timeline.model import SEGMENT_NAMES
from streams.timeline.store import TimelineStore
from streams.timeline.view import TimelineView
from tests.streams.timeline.synth import SEGMENT_S, SynthPass

ROLES = {FOCUS_JOBS: "jobs", L1_PRODUCTS: "products", EVENTS: "events", DELIVERIES: "deliveries"}
T0 = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)


def as_records(
    items: list[tuple[str, str, bytes]], offset0: int = 0, appended: datetime = T0
) -> list[Record]:
    """Records on partition 0 of their topic, offsets counted per topic, all appended to
    Kafka at ``appended``."""
    seen: dict[str, int] = {}
    out = []
    for topic, key, value in items:
        n = seen.get(topic, offset0)
        seen[topic] = n + 1
        out.append(Record(topic, 0, n, key, value, {}, int(appended.timestamp() * 1000)))
    return out


def snapshot(view: TimelineView) -> str:
    """Everything the dashboard shows, as canonical JSON."""
    data = {
        "passes": [p.model_dump(mode="json") for p in view.passes()],
        "bursts": [b.model_dump(mode="json") for b in view.bursts()],
        "latency": view.latency().model_dump(mode="json"),
        "selection": view.selection().model_dump(mode="json"),
        "events": [e.model_dump(mode="json") for e in view.events()],
        "footprints": view.footprints(),
    }
    return json.dumps(data, sort_keys=True)


@pytest.fixture
def synth() -> SynthPass:
    return SynthPass(t0=T0)


def test_pass_bursts_and_outcomes(tmp_path: Path, synth: SynthPass) -> None:
    store = TimelineStore(tmp_path / "t.sqlite")
    result = store.apply(as_records(synth.records()), ROLES)
    assert result.rejected == 0
    view = TimelineView(tmp_path / "t.sqlite", clock=lambda: T0.timestamp() + 60)
    (p,) = view.passes()
    assert p.pass_key == "SVALBARD/pass-1"
    assert p.bursts == 12 and p.data_takes == ["05A5A5"] and p.swaths == ["IW1", "IW2", "IW3"]
    assert p.outcomes == {"product": 10, "failed": 1, "skipped": 1, "pending": 0}
    assert p.incomplete == 1 and p.replay_offset_s == 0.0
    assert p.events == {"gap": 1, "burst-incomplete": 1, "focus-failed": 1, "focus-skipped": 1}
    bursts = view.bursts(p.pass_key)
    assert [b.burst_key for b in bursts] == synth.keys  # sensing order
    b0 = bursts[0]
    assert b0.stamps["sensing_stop"] == synth.sensing(0)[1]
    assert b0.stamps["delivered"] == synth.stamps(0)["delivered"]
    assert b0.segments["focus"] == pytest.approx(SEGMENT_S["focus"], abs=1e-6)
    assert b0.segments["total"] == pytest.approx(sum(SEGMENT_S.values()), abs=1e-6)
    assert [d.status for d in b0.deliveries] == ["delivered", "delivered"]
    assert b0.deliveries[1].attempt == 2  # the pending attempt was superseded
    failed, skipped, incomplete = bursts[4], bursts[7], bursts[2]
    assert failed.outcome == "failed" and failed.reasons == ["focus-failed: corrupt packets"]
    assert skipped.outcome == "skipped" and "no subscription needs it" in skipped.reasons[0]
    assert incomplete.status == "incomplete" and incomplete.missing_lines == 50
    assert incomplete.reasons == ["burst-incomplete: 50 lines missing, 0 gaps while open"]
    assert view.selection().counts == {"product": 10, "skipped": 1, "failed": 1, "pending": 0}


def test_latency_quantiles_and_histogram(tmp_path: Path, synth: SynthPass) -> None:
    TimelineStore(tmp_path / "t.sqlite").apply(as_records(synth.records()), ROLES)
    view = TimelineView(tmp_path / "t.sqlite", budgets_s={"focus": 4.5})
    report = view.latency("SVALBARD/pass-1")
    by = {s.stage: s for s in report.segments}
    assert list(by) == list(SEGMENT_NAMES)
    focused = [i for i in range(synth.n) if synth.focused(i)]
    focus = np.array([SEGMENT_S["focus"] + 0.1 * i for i in focused])
    total = focus + sum(v for k, v in SEGMENT_S.items() if k != "focus")
    for name, values in (("focus", focus), ("total", total)):
        s = by[name]
        assert s.count == 10
        for q, got in ((50, s.p50_s), (95, s.p95_s), (99, s.p99_s)):
            assert got == pytest.approx(np.percentile(values, q), abs=1e-3)
        assert sum(s.histogram) == 10
    # focus of bursts 5, 6, 8.. exceed 4.5 s: 0.1 * i > 0.5 for i >= 6
    assert by["focus"].late == sum(1 for i in focused if 0.1 * i > 0.5 + 1e-9)
    assert by["deliver"].p50_s == pytest.approx(SEGMENT_S["deliver"], abs=1e-6)
    # totals: 10.0 s (burst 0, bucket le=10) and 10.1 .. 11.1 s (bucket le=20)
    le10, le20 = report.bounds_s.index(10.0), report.bounds_s.index(20.0)
    assert (by["total"].histogram[le10], by["total"].histogram[le20]) == (1, 9)


def test_order_and_duplicates_do_not_change_the_figures(tmp_path: Path, synth: SynthPass) -> None:
    records = synth.records()
    TimelineStore(tmp_path / "a.sqlite").apply(as_records(records), ROLES)
    shuffled = records + records[:20]  # duplicates at new offsets (a re-published batch)
    random.Random(7).shuffle(shuffled)
    store = TimelineStore(tmp_path / "b.sqlite")
    observed = 0
    for i in range(0, len(shuffled), 7):
        observed += len(store.apply(as_records(shuffled[i : i + 7], offset0=i), ROLES).observations)
    # a job published twice by a restarted assembler: later stamps, same burst
    later = {k: v + timedelta(seconds=30) for k, v in synth.job(0).timeline.items()}
    late_job = synth.job(0).model_copy(update={"timeline": later})
    store.apply(as_records([(FOCUS_JOBS, synth.key(0), late_job.to_bytes())], 999), ROLES)
    a = TimelineView(tmp_path / "a.sqlite")
    b = TimelineView(tmp_path / "b.sqlite")
    assert snapshot(a) == snapshot(b)
    with TimelineStore(tmp_path / "a.sqlite").connect() as con:
        expected = con.execute("SELECT COUNT(*) FROM observed").fetchone()[0]
    assert observed == expected == 10 * 10 + 2 * 5  # products: 10 segments; failed/skipped: 5


def test_replay_offset_for_a_pass_sensed_long_ago(tmp_path: Path) -> None:
    synth = SynthPass(t0=T0, failed=frozenset(), skipped=frozenset())
    shift = timedelta(days=800)
    records = []
    for topic, key, value in synth.records():
        if topic in (FOCUS_JOBS, L1_PRODUCTS):
            rec = json.loads(value)
            for k in ("sensing_start", "sensing_stop"):
                rec[k] = (datetime.fromisoformat(rec[k]) - shift).isoformat()
                if k in rec["timeline"]:
                    rec["timeline"][k] = rec[k]
            value = json.dumps(rec).encode()
        records.append((topic, key, value))
    TimelineStore(tmp_path / "t.sqlite").apply(as_records(records), ROLES)
    view = TimelineView(tmp_path / "t.sqlite")
    (p,) = view.passes()
    expected = shift.total_seconds() + SEGMENT_S["to_station"]
    assert p.replay_offset_s == pytest.approx(expected, abs=1e-3)
    b = view.bursts()[0]
    assert b.stamps["sensing_stop"] == synth.stamps(0)["station_receive"]
    assert b.segments["to_station"] == pytest.approx(0.0, abs=1e-6)
    assert b.segments["total"] == pytest.approx(sum(SEGMENT_S.values()) - 1.0, abs=1e-3)


def test_invalid_records_are_counted_and_skipped(tmp_path: Path, synth: SynthPass) -> None:
    store = TimelineStore(tmp_path / "t.sqlite")
    bad = [(L1_PRODUCTS, "x", b"{}"), (EVENTS, "y", b"not json"), (DELIVERIES, "z", b"[]")]
    result = store.apply(as_records(bad + synth.records()[:3]), ROLES)
    assert result.rejected == 3 and result.records == 6
    assert len(TimelineView(tmp_path / "t.sqlite").bursts()) == 3
    assert store.offsets() == {(L1_PRODUCTS, 0): 1, (EVENTS, 0): 1, (DELIVERIES, 0): 1,
                               (FOCUS_JOBS, 0): 3}  # fmt: skip


def test_footprints_and_throughput(tmp_path: Path, synth: SynthPass) -> None:
    store = TimelineStore(tmp_path / "t.sqlite")
    store.apply(as_records(synth.records()), ROLES)
    t = T0.timestamp()
    for k in range(5):
        store.add_samples(t + 10 * k, [("raw-chunks", "eoport-assembler", 100 * k, 5)], 3600)
        store.add_samples(t + 10 * k, [("focus-jobs", "eoport-focus", 12, 6 - k)], 3600)
    view = TimelineView(tmp_path / "t.sqlite", clock=lambda: t + 45)
    fc = view.footprints()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 10
    assert fc["features"][0]["geometry"]["type"] == "Polygon"
    tp = view.throughput(window_s=20, windows=3)
    assert tp.chunks_per_s == pytest.approx(10.0) and tp.chunks_total == 400
    assert sum(p.bursts for p in tp.series) == 12
    backlog = {e.topic: e for e in view.backlog().topics}
    jobs = backlog["focus-jobs"]
    assert jobs.records == jobs.bursts == 2
    assert jobs.sensing_s == pytest.approx(2 * 2.758273, abs=1e-3)
    assert jobs.growth_per_s == pytest.approx(-0.1)
    assert backlog["raw-chunks"].bursts is None and backlog["raw-chunks"].sensing_s is not None


def test_reasons_of_pass_accounting_events() -> None:
    from streams.messages.events import EventRecord
    from streams.timeline.records import event_reason

    manifest = EventRecord(
        kind="pass-manifest", source="S/p/1", detail={"chunks": 96, "entries": [{}] * 6}
    )
    assert event_reason(manifest) == "6 bursts sent in 96 chunks"
    report = EventRecord(
        kind="pass-report", source="S/p/1",
        detail={"expected": 6, "focused": ["a"] * 5, "failed": [], "missing": ["b"]},
    )  # fmt: skip
    assert event_reason(report) == "6 expected: 5 focused, 0 failed, 1 missing"


def test_a_dropped_burst_is_a_failure_of_its_pass(tmp_path: Path, synth: SynthPass) -> None:
    from streams.messages.events import EventRecord

    dropped = EventRecord(
        kind="burst-dropped", source=synth.source,
        detail={"burst_key": "05A5A5/IW1/VV/1", "packets": 12,
                "reason": "fewer than 2 state vectors in the ancillary data"},
    )  # fmt: skip
    records = [*synth.records(), (EVENTS, synth.source, dropped.to_bytes())]
    TimelineStore(tmp_path / "t.sqlite").apply(as_records(records), ROLES)
    view = TimelineView(tmp_path / "t.sqlite")
    (p,) = view.passes()
    assert p.bursts == 13 and p.outcomes["failed"] == 2
    (b,) = [b for b in view.bursts(p.pass_key) if b.burst_key == "05A5A5/IW1/VV/1"]
    assert b.outcome == "failed" and "fewer than 2 state vectors" in b.reasons[0]


def test_prune_forgets_old_bursts_only(tmp_path: Path) -> None:
    old = SynthPass(t0=T0 - timedelta(days=10), pass_id="old", data_take=0x111)
    new = SynthPass(t0=T0, pass_id="new")
    store = TimelineStore(tmp_path / "t.sqlite")
    store.apply(as_records(old.records(), appended=old.t0), ROLES)
    store.apply(as_records(new.records(), offset0=1000), ROLES)
    assert store.prune((T0 - timedelta(days=7)).timestamp()) == 12
    view = TimelineView(tmp_path / "t.sqlite")
    assert [p.pass_key for p in view.passes()] == ["SVALBARD/new"]
    assert len(view.bursts()) == 12 and all(e.pass_key == "SVALBARD/new" for e in view.events())
    with store.connect() as con:
        assert con.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 20
        assert con.execute("SELECT COUNT(*) FROM observed").fetchone()[0] == 10 * 10 + 2 * 5
    assert store.prune((T0 - timedelta(days=7)).timestamp()) == 0
