"""The object-store watcher on a real broker: restarts mid-pass (clean, and in the crash
window between publishing and the cursor write: each object taken once, nothing lost,
re-published chunks absorbed as duplicates); naming order, late and missing objects.
(A CADU pass dropped in moto S3 and in a directory, through the chain: test_pipeline.)"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from streams._infra.bus import KafkaBus
from streams._infra.objectstore import ObjectStore
from streams.ingest import IngestSettings
from streams.ingest.watch import ObjectWatcher, order_key
from tests.streams.ingest.helpers import (
    expected_stream,
    ingest_settings,
    read_chunks,
    stream_of,
)
from tests.streams.ingest.passdata import impaired_pass

pytestmark = pytest.mark.broker

PIECE = 1_500_000  # a station's chunk objects: 1.5 MB of CADUs (not frame-aligned)


@pytest.fixture
def topics(new_topic: Callable[..., str]) -> tuple[str, str]:
    return new_topic(partitions=2), new_topic(partitions=1)


def pieces(data: bytes, size: int = PIECE) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def drop(store: ObjectStore, pass_id: str, names_data: list[tuple[str, bytes]], link: int = 1
         ) -> None:  # fmt: skip
    for name, data in names_data:
        store.put_bytes(store.url(f"{pass_id}/{link}/{name}"), data)


def run_until(watcher: ObjectWatcher, done: Callable[[], bool], polls: int = 200) -> None:
    import time

    for _ in range(polls):
        watcher.poll()
        if done():
            return
        time.sleep(0.05)
    raise AssertionError(f"watcher did not finish: {watcher.stats}")


@pytest.mark.parametrize("crash", [False, True], ids=["clean-restart", "crash-window"])
def test_a_restarted_watcher_resumes_from_its_cursor(
    bus: KafkaBus, topics: tuple[str, str], tmp_path: Path, crash: bool
) -> None:
    p = impaired_pass()
    root = tmp_path / "drop"
    settings = ingest_settings(bus.bootstrap_servers, tmp_path, *topics,
                               watch=f"file://{root}/")  # fmt: skip
    store = ObjectStore(str(root))
    parts = pieces(p.impaired)
    named = [(f"{i:04d}", d) for i, d in enumerate(parts)]
    drop(store, "pD", named[:5])
    first = ObjectWatcher(settings, bus.producer)
    assert first.poll() == 5
    cursor = Path(settings.cursor_root()) / "LOCAL" / "pD" / "1.json"
    saved = cursor.read_bytes()
    drop(store, "pD", named[5:7])
    assert first.poll() == 2
    first.close()  # stopped (SIGTERM) or killed
    if crash:  # killed after publishing objects 5 and 6 but before their cursor writes
        cursor.write_bytes(saved)
    drop(store, "pD", named[7:] + [("END", b"")])
    second = ObjectWatcher(settings, bus.producer)
    run_until(second, lambda: second.stats.passes_ended == 1)
    second.close()
    taken = first.stats.taken + second.stats.taken
    redone = ["pD/1/0005", "pD/1/0006"] if crash else []
    assert sorted(taken) == sorted([f"pD/1/{n}" for n, _ in named] + redone)
    assert second.stats.resumed == 1
    chunks = read_chunks(bus, topics[0], 20)
    data, gaps, r = stream_of(chunks, "LOCAL/pD/1")
    assert (data, gaps) == expected_stream(p.impaired) and r.complete
    # re-published chunks are byte-identical: duplicates, never a conflicting chunk
    duplicates = len(chunks) - len({c.seq for c in chunks})
    assert r.stats.duplicates == duplicates and (duplicates > 0) == crash


def test_naming_order_late_and_missing_objects(
    bus: KafkaBus, topics: tuple[str, str], tmp_path: Path
) -> None:
    root = tmp_path / "drop"
    settings: IngestSettings = ingest_settings(
        bus.bootstrap_servers, tmp_path, *topics, watch=str(root), format="isp",
        order_timeout_s=0.5,
    )  # fmt: skip
    store = ObjectStore(str(root))
    rng = random.Random(8)
    blob: dict[str, bytes] = {n: rng.randbytes(1000 + i) for i, n in enumerate(
        ["0", "1", "2", "3", "5", "1.late", "zz"])}  # fmt: skip
    assert sorted(blob, key=order_key) == ["0", "1", "1.late", "2", "3", "5", "zz"]
    watcher = ObjectWatcher(settings, bus.producer)

    def put(*names: str) -> None:
        drop(store, "pN", [(n, blob[n]) for n in names], 2)

    put("0", "1", "3")
    assert watcher.poll() == 2  # 0, 1; 3 waits for 2
    put("2")
    assert watcher.poll() == 2  # 2, 3
    put("1.late", "5")
    assert watcher.poll() == 0  # 1.late is late; 5 waits for 4
    import time

    time.sleep(0.6)
    assert watcher.poll() == 1  # 4 never came
    put("zz")
    (root / "pN" / "2" / ".tmp-upload").write_bytes(b"hidden")
    (root / "pN" / "2" / "END").write_bytes(b"")
    run_until(watcher, lambda: watcher.stats.passes_ended == 1)
    watcher.close()
    assert watcher.stats.taken == [f"pN/2/{n}" for n in ("0", "1", "2", "3", "5", "zz")]
    assert (watcher.stats.late, watcher.stats.skipped_numbers) == (1, 1)
    data, gaps, r = stream_of(read_chunks(bus, topics[0], 6), "LOCAL/pN/2")
    assert data == b"".join(blob[n] for n in ("0", "1", "2", "3", "5", "zz"))
    assert r.complete and not gaps
