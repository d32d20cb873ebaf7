"""The TCP listener on a real broker: a CADU pass with errors and a reconnect mid-pass,
a packet stream over several headerless connections, back-pressure while the broker is
stopped, garbage, and a SIGTERM'd adapter process resuming the pass exactly."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from streams._infra.broker import LocalBroker
from streams._infra.bus import KafkaBus
from streams._infra.topics import TopicSpec, ensure_topics
from streams.ingest import IngestSettings
from streams.ingest.listen import (
    StreamHeader,
    StreamHeaderError,
    TcpIngest,
    parse_header,
    parse_listen_url,
)
from tests.conftest import make_test_bus
from tests.streams.ingest.helpers import (
    expected_stream,
    ingest_settings,
    read_chunks,
    read_events,
    read_line,
    send,
    stream_of,
    wait_for,
)
from tests.streams.ingest.passdata import PARAMS, RELATIVE_ORBIT, impaired_pass, whole_packets

pytestmark = pytest.mark.broker


@pytest.fixture
def topics(new_topic: Callable[..., str]) -> tuple[str, str]:
    return new_topic(partitions=2), new_topic(partitions=1)


def serving(
    settings: IngestSettings, bus: KafkaBus, url: str
) -> tuple[TcpIngest, threading.Event, threading.Thread]:
    listener = TcpIngest(settings, bus.producer, addresses=[url])
    stop = threading.Event()
    listener.start()
    thread = threading.Thread(target=listener.serve, args=(stop,), daemon=True)
    thread.start()
    return listener, stop, thread


def refused(reply: str | None) -> bool:
    return reply is not None and reply.startswith("ERR")


@pytest.fixture
def listen(
    bus: KafkaBus, tmp_path: Path, topics: tuple[str, str]
) -> Iterator[Callable[..., TcpIngest]]:
    running: list[tuple[threading.Event, threading.Thread]] = []

    def start(url: str = "tcp://127.0.0.1:0", **over: Any) -> TcpIngest:
        settings = ingest_settings(bus.bootstrap_servers, tmp_path, *topics, **over)
        listener, stop, thread = serving(settings, bus, url)
        running.append((stop, thread))
        return listener

    yield start
    for stop, thread in running:
        stop.set()
        thread.join(30)


def test_headers_and_listen_urls() -> None:
    h = parse_header(b"EOPORT-INGEST/1 pass=S1A-1 link=2 format=cadu orbit=117 offset=5 last=1")
    assert h == StreamHeader("S1A-1", 2, "cadu", 117, 5, True)
    assert parse_header(b"EOPORT-INGEST/1 channel=1\r") == StreamHeader(link=1)
    for bad in (b"EOPORT-INGEST/1 pass=a/b", b"EOPORT-INGEST/1 link=x", b"EOPORT-INGEST/1 orbit=0",
                b"EOPORT-INGEST/1 format=zip", b"EOPORT-INGEST/1 what=1", b"HELLO pass=1",
                b"EOPORT-INGEST/1 pass", b"\xff"):  # fmt: skip
        with pytest.raises(StreamHeaderError):
            parse_header(bad)
    assert parse_listen_url("tcp://0.0.0.0:5001?link=2&format=isp") == (
        "0.0.0.0", 5001, StreamHeader(link=2, fmt="isp")
    )  # fmt: skip
    for bad_url in ("udp://h:1", "tcp://h", "tcp://h:1?offset=3", "tcp://h:99999"):
        with pytest.raises(StreamHeaderError):
            parse_listen_url(bad_url)


def test_cadu_pass_with_errors_and_a_reconnect_gives_the_decoded_stream(
    bus: KafkaBus, topics: tuple[str, str], listen: Callable[..., TcpIngest]
) -> None:
    p = impaired_pass()
    listener = listen()
    address = listener.bound[0]
    cut = 6_000_003  # mid-CADU
    head = f"EOPORT-INGEST/1 pass=p1 link=1 orbit={RELATIVE_ORBIT}"
    assert send(address, p.impaired[:cut], head) == "OK 0"
    # the front-end resumes 5000 octets early: the adapter drops what it already has
    assert send(address, p.impaired[cut - 5000 :], f"{head} offset={cut - 5000} last=1") == (
        f"OK {cut}"
    )  # fmt: skip
    wait_for(lambda: listener.stats.passes_ended == 1, 60, "the end of the pass")
    chunks = read_chunks(bus, topics[0], 10)
    data, gaps, r = stream_of(chunks, "LOCAL/p1/1")
    assert (data, gaps) == expected_stream(p.impaired)
    assert r.complete and r.stats.duplicates == 0
    assert len({c.key for c in chunks}) == 1  # VC 1 only: one channel
    events = read_events(bus, topics[1], 5)
    kinds = sorted((e.kind, e.detail["kind"]) for e in events)
    assert kinds.count(("corrupt", "uncorrectable")) == 2
    assert kinds.count(("gap", "lost-frames")) == 3
    holes = sorted({(e.detail["stream_byte_start"], e.detail["stream_byte_stop"])
                    for e in events if "stream_byte_start" in e.detail})  # fmt: skip
    assert holes == gaps
    link = listener.stats.links["p1/L1"]
    assert link["downlink"]["uncorrectable_frames"] == 2 and link["downlink"]["lost_frames"] == 3
    assert link["received"] == len(p.impaired)


def test_headerless_packet_stream_over_several_connections_is_one_stream(
    bus: KafkaBus, topics: tuple[str, str], listen: Callable[..., TcpIngest]
) -> None:
    data = impaired_pass().datatake.data[:3_000_000]
    listener = listen("tcp://127.0.0.1:0?pass=p2&link=3", pass_timeout_s=1.5)
    address = listener.bound[0]
    cuts = [0, 777_777, 777_778, 2_000_000, len(data)]
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        send(address, data[a:b])
    wait_for(lambda: listener.stats.passes_ended == 1, 30, "the idle pass to end")
    rebuilt, gaps, r = stream_of(read_chunks(bus, topics[0], 30), "LOCAL/p2/3")
    assert rebuilt == data and gaps == [] and r.complete
    assert listener.stats.links["p2/L3"]["format"] == "isp"


def test_two_links_at_once_and_a_channel_claimed_twice(
    bus: KafkaBus, topics: tuple[str, str], listen: Callable[..., TcpIngest]
) -> None:
    from sar.downlink import downlink_packets, split_packets

    data = whole_packets(4_000_000)
    links = downlink_packets(data, PARAMS, policy="alternate")  # link 1: VC 1, link 2: VC 2
    parts = split_packets(data, "alternate")
    listener = listen()
    address = listener.bound[0]
    heads = [f"EOPORT-INGEST/1 pass=d1 link={k} last=1" for k in (1, 2)]
    senders = [threading.Thread(target=send, args=(address, links[k], heads[k])) for k in range(2)]
    for t in senders:
        t.start()
    for t in senders:
        t.join(60)
    # link 3 of the same pass also carries VC 1: the channel belongs to link 1
    send(address, links[0], "EOPORT-INGEST/1 pass=d1 link=3 last=1")
    wait_for(lambda: listener.stats.passes_ended == 3, 60, "three links")
    chunks = read_chunks(bus, topics[0], 4)
    for channel in (1, 2):
        rebuilt, gaps, r = stream_of(chunks, f"LOCAL/d1/{channel}")
        assert rebuilt == parts[channel - 1] and not gaps and r.complete
    events = read_events(bus, topics[1], 1)
    assert [(e.source, e.detail["link"]) for e in events] == [("LOCAL/d1/1", 3)]


def test_garbage_and_bad_headers_never_crash_the_listener(
    bus: KafkaBus, topics: tuple[str, str], listen: Callable[..., TcpIngest]
) -> None:
    listener = listen(pass_timeout_s=1.0)
    address = listener.bound[0]
    rng = random.Random(4)
    assert refused(send(address, b"", "EOPORT-INGEST/1 link=banana"))
    with socket.create_connection(address) as sock:  # header cut short
        sock.sendall(b"EOPORT-INGEST/1 pass=")
    junk = rng.randbytes(300_000)
    assert send(address, junk, "EOPORT-INGEST/1 pass=g1 link=1 format=cadu last=1") == "OK 0"
    assert send(address, junk, "EOPORT-INGEST/1 pass=g2 link=1 last=1") == "OK 0"
    truncated = impaired_pass().clean[: 300 * 1024 + 100]
    assert send(address, truncated, "EOPORT-INGEST/1 pass=g3 link=1 last=1") == "OK 0"
    assert refused(send(address, b"x", "EOPORT-INGEST/1 pass=g3 link=1"))  # ended
    wait_for(lambda: listener.stats.passes_ended == 3, 30, "three passes")
    assert listener.stats.errors == 0
    events = read_events(bus, topics[1], 3)
    by_source: dict[str, set[str]] = {}
    for e in events:
        by_source.setdefault(e.source, set()).add(str(e.detail.get("kind", e.detail["origin"])))
    assert "unsynchronised" in by_source["LOCAL/g1/L1"]  # CADU garbage: counted, no data
    assert by_source["LOCAL/g2/L1"] == {"ingest"}  # auto: neither format, passed through
    assert "truncated" in by_source["LOCAL/g3/1"]
    chunks = read_chunks(bus, topics[0], 2)
    keys = {c.key for c in chunks}
    assert "LOCAL/g1/1" not in keys and "LOCAL/g2/1" in keys and "LOCAL/g3/1" in keys


def test_back_pressure_bounds_memory_while_the_broker_is_stopped(
    tansu_broker_fn: LocalBroker, tmp_path: Path
) -> None:
    bus = make_test_bus(tansu_broker_fn, message_timeout_ms=60_000)
    ensure_topics(bus, [TopicSpec("raw", 1), TopicSpec("ev", 1)])
    settings = ingest_settings(bus.bootstrap_servers, tmp_path, "raw", "ev",
                               chunk_size=50_000, max_in_flight=4)  # fmt: skip
    listener, stop, thread = serving(settings, bus, "tcp://127.0.0.1:0")
    data = impaired_pass().datatake.data  # 14 MB of packets
    sent = [0]

    def client() -> None:
        with socket.create_connection(listener.bound[0]) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
            sock.sendall(b"EOPORT-INGEST/1 pass=bp link=1 format=isp last=1\n")
            read_line(sock)
            for i in range(0, len(data), 65_536):
                sock.sendall(data[i : i + 65_536])
                sent[0] = i + 65_536
            sock.shutdown(socket.SHUT_WR)
            sock.recv(1)

    pid = tansu_broker_fn._proc.pid  # type: ignore[union-attr]
    sender = threading.Thread(target=client)
    try:
        sender.start()
        wait_for(lambda: sent[0] > 1_000_000, 60, "the first megabyte")
        os.kill(pid, signal.SIGSTOP)  # the broker stalls: nothing is acknowledged
        time.sleep(1.0)
        stalled_at = sent[0]
        time.sleep(3.0)
        progress = sent[0] - stalled_at
    finally:
        os.kill(pid, signal.SIGCONT)
    sender.join(120)
    wait_for(lambda: listener.stats.passes_ended == 1, 60, "the pass to end")
    stop.set()
    thread.join(30)
    peak = listener.stats.peak_buffered_bytes
    bound = 4 * 50_000 + 50_000 + settings.read_bytes  # in flight + cut buffer + one read
    print(f"peak buffered {peak} B (bound {bound} B), client progress while stalled "
          f"{progress} B, stalled at {stalled_at} of {len(data)} B")  # fmt: skip
    assert 0 < peak <= bound
    # the kernel's socket buffers take a few MB at most; then the client is blocked
    assert progress < 8_000_000 and stalled_at < len(data)
    rebuilt, gaps, r = stream_of(read_chunks(bus, "raw", 100), "LOCAL/bp/1")
    assert rebuilt == data and not gaps and r.complete


def test_sigterm_checkpoints_and_a_new_process_resumes_the_pass(
    bus: KafkaBus, topics: tuple[str, str], tmp_path: Path
) -> None:
    from streams._infra.ports import find_free_port

    p = impaired_pass()
    port = find_free_port()
    env = dict(os.environ)
    env.update(
        EOPORT_BOOTSTRAP_SERVERS=bus.bootstrap_servers, EOPORT_STATE_DIR=str(tmp_path / "state"),
        EOPORT_TOPICS__RAW_CHUNKS=topics[0], EOPORT_TOPICS__EVENTS=topics[1],
        EOPORT_CHUNK_SIZE="100000", EOPORT_LOG_LEVEL="WARNING",
    )  # fmt: skip

    def adapter() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "eoport", "run", "ingest", "--listen",
             f"tcp://127.0.0.1:{port}", "--format", "cadu"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc
            except OSError:
                time.sleep(0.2)
        proc.kill()
        raise AssertionError(proc.communicate()[0].decode()[-2000:])

    cut = 7_340_033
    first = adapter()
    try:
        assert send(("127.0.0.1", port), p.impaired[:cut], "EOPORT-INGEST/1 pass=t1") == "OK 0"
        first.send_signal(signal.SIGTERM)
        out, _ = first.communicate(timeout=60)
    finally:
        first.kill()
    assert first.returncode == 0, out.decode()[-2000:]
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["listen"]["checkpoints"] == 1
    second = adapter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"EOPORT-INGEST/1 pass=t1\n")
            resume = int(read_line(sock).split()[1])
        assert resume == cut  # the new process knows where the link stands
        tail = f"EOPORT-INGEST/1 pass=t1 offset={resume} last=1"
        send(("127.0.0.1", port), p.impaired[resume:], tail)
        second.send_signal(signal.SIGTERM)
        out, _ = second.communicate(timeout=60)
    finally:
        second.kill()
    assert second.returncode == 0, out.decode()[-2000:]
    data, gaps, r = stream_of(read_chunks(bus, topics[0], 100), "LOCAL/t1/1")
    assert (data, gaps) == expected_stream(p.impaired) and r.complete
