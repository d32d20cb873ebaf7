"""The assembler stage across a crash, at full size: a one-cycle dual-polarisation IW pass
(six bursts of the full echo window, 121 MB) through :class:`streams.assemble.stage.Assembler`
on local object and snapshot stores.

Jobs go out before their raw bursts are flushed to disk (the flush is waited for only by
the checkpoint). A crash before the checkpoint must therefore redo everything: the
restarted stage rewrites each raw object whole, even one a machine crash left truncated,
and publishes the same jobs again; after the checkpoint, re-delivered chunks give nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import pytest

from eoport.pipeline import simulate_pass
from streams._infra.objectstore import ObjectStore
from streams._infra.records import OutgoingRecord, Record
from streams.assemble.snapshots import SnapshotStore
from streams.assemble.stage import Assembler
from streams.messages.chunks import encode_chunk, pass_headers, split_into_chunks
from streams.messages.jobs import JobRecord

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

PART = ("raw-chunks", 0)


@lru_cache(maxsize=1)
def dual_cycle() -> list[Record]:
    datatake = simulate_pass("IW", 2.9, n_samples=None, pol="VV+VH")
    chunks = split_into_chunks(datatake.data, "LOCAL", "pass-1", 1, datetime.now(UTC))
    headers = pass_headers(117)
    return [Record(PART[0], PART[1], i, c.key, encode_chunk(c), headers, None)
            for i, c in enumerate(chunks)]  # fmt: skip


def stage_at(root: Path) -> Assembler:
    stage = Assembler(
        ObjectStore(str(root / "objects")), SnapshotStore(ObjectStore(str(root / "state")), "g"),
        jobs_topic="jobs", events_topic="events", snapshot_interval_s=0.0,
    )  # fmt: skip
    stage.assigned([PART])
    return stage


def feed(stage: Assembler, records: list[Record]) -> list[JobRecord]:
    out: list[OutgoingRecord] = []
    for record in records:
        out += stage.handle(record, 0.0)
    out += stage.drain(1.0)
    return [JobRecord.from_bytes(r.value) for r in out if r.topic == "jobs"]


def test_a_crash_before_the_checkpoint_rewrites_raw_bursts_and_republishes_jobs(
    tmp_path: Path,
) -> None:
    records = dual_cycle()
    store = ObjectStore(str(tmp_path / "objects"))
    first = stage_at(tmp_path)
    jobs = feed(first, records)
    first.close()  # crash: no checkpoint, no snapshot, nothing committed
    assert sorted((j.swath, j.polarisation) for j in jobs) == [
        (s, p) for s in ("IW1", "IW2", "IW3") for p in ("VH", "VV")
    ]
    raws = {j.burst_key: store.get_bytes(j.raw_url) for j in jobs}
    assert all(len(raws[j.burst_key]) == j.raw_bytes > 15_000_000 for j in jobs)
    # a machine crash left one raw object truncated (its flush had not finished)
    victim = jobs[0]
    store.put_bytes(victim.raw_url, raws[victim.burst_key][: victim.raw_bytes // 3])

    second = stage_at(tmp_path)  # no snapshot: the whole pass is redone
    again = feed(second, records)
    assert [(j.burst_key, j.raw_url, j.raw_bytes) for j in again] == [
        (j.burst_key, j.raw_url, j.raw_bytes) for j in jobs
    ]
    assert all(store.get_bytes(j.raw_url) == raws[j.burst_key] for j in again)
    offsets = second.checkpoint({PART: len(records)}, idle=True)  # waits for the flushes
    assert offsets == {PART: len(records)}
    second.close()

    third = stage_at(tmp_path)  # restored from the snapshot: re-delivered chunks are dupes
    assert feed(third, records[-3:]) == []
    third.close()
