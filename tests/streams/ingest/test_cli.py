"""``eoport run ingest`` as its own process: a CADU file, and an object-store watch
stopped by SIGTERM (the listener's SIGTERM path: test_listen)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from streams._infra.bus import KafkaBus
from tests.streams.ingest.helpers import expected_stream, read_chunks, stream_of
from tests.streams.ingest.passdata import PARAMS, impaired_pass

pytestmark = pytest.mark.broker


def environment(bus: KafkaBus, tmp_path: Path, raw: str, events: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        EOPORT_BOOTSTRAP_SERVERS=bus.bootstrap_servers, EOPORT_STATE_DIR=str(tmp_path / "state"),
        EOPORT_TOPICS__RAW_CHUNKS=raw, EOPORT_TOPICS__EVENTS=events, EOPORT_CHUNK_SIZE="100000",
        EOPORT_POLL_INTERVAL_S="0.2", EOPORT_LOG_LEVEL="WARNING",
    )  # fmt: skip
    return env


def test_cadu_file_and_watched_directory(
    bus: KafkaBus, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    raw, events = new_topic(partitions=2), new_topic(partitions=1)
    env = environment(bus, tmp_path, raw, events)
    cadus = impaired_pass().impaired[: 3000 * PARAMS.cadu_octets + 100]
    path = tmp_path / "RAW.dat.ch1.cadu"
    path.write_bytes(cadus)
    done = subprocess.run(
        [sys.executable, "-m", "eoport", "run", "ingest", "--file", str(path), "--pass-id", "f1"],
        env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    summary = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert summary["format"] == "cadu" and summary["downlink"]["channels"] == [1]
    drop = tmp_path / "drop" / "w1" / "1"
    drop.mkdir(parents=True)
    for i in range(0, len(cadus), 1_000_000):
        (drop / f"{i // 1_000_000}.cadu").write_bytes(cadus[i : i + 1_000_000])
    (drop / "END").write_bytes(b"")
    proc = subprocess.Popen(
        [sys.executable, "-m", "eoport", "run", "ingest", "--watch",
         f"file://{tmp_path / 'drop'}/"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    cursor = tmp_path / "state" / "ingest-cursors" / "LOCAL" / "w1" / "1.json"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if cursor.is_file() and json.loads(cursor.read_text())["done"]:
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err.decode()[-2000:]
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["watch"]["objects"] == 4 and summary["watch"]["passes_ended"] == 1
    chunks = read_chunks(bus, raw, 20)
    expected = expected_stream(cadus)
    for pass_id in ("f1", "w1"):
        data, gaps, r = stream_of(chunks, f"LOCAL/{pass_id}/1")
        assert (data, gaps) == expected and r.complete
