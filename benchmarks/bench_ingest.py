"""Ground-station ingest throughput: CADUs -> packets -> chunk records published
(``python benchmarks/bench_ingest.py``).

Target: the two Sentinel-1 X-band links of 260 Mbit/s each, 65 MB/s of CADUs together
(issue 18). Two links' CADU streams (synthetic packets of Sentinel-1 echo sizes,
5-25 kB, on VC 1 and VC 2; 1024-octet CADUs, RS(255,223) depth 4; optional independent
bit errors) go through the adapter's path, one
:class:`~streams.ingest.link.LinkSession` per link in its own thread, as the TCP
listener and the object-store watcher run them: frame sync, de-randomisation,
Reed-Solomon, VC demultiplexing, packet reassembly, chunk cutting (900 kB), chunk
encoding (CRC-32) and publishing with delivery confirmation. Two sinks:

- ``memory``: a producer that acknowledges at once (the adapter's own cost);
- ``broker``: a local Tansu broker (in-memory storage) started here, ``acks=all``.

Printed as JSON, per sink and error rate: median over repeats of the rate in MB/s of
CADU input (both links), its ratio to 65 MB/s, the rate per CPU-second and twice that
(two links on two cores of their own), chunks published and the peak bytes held by the
publishers. Figures measured while other jobs share the CPU are "under load".
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from sar.downlink import FramingParameters, Impairments, frame_channel, impair_cadus
from streams._infra.bus import DeliveryCallback
from streams._infra.records import OutgoingRecord, Record
from streams.ingest.link import LinkSession
from streams.ingest.publisher import ChunkPublisher

TARGET_MB_PER_S = 65.0
"""Two 260 Mbit/s X-band links, MB/s."""
FEED_OCTETS = 1 << 20
"""Octets per feed (one socket read or a piece of an object)."""


class AckingProducer:
    """A producer that acknowledges every record at once and keeps nothing (benchmark
    sink measuring the adapter without a broker)."""

    def __init__(self) -> None:
        self._pending: list[tuple[OutgoingRecord, DeliveryCallback | None]] = []
        self.records = 0
        self.bytes = 0

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def send(
        self, topic: str, key: str, value: bytes, headers: Mapping[str, bytes] | None = None,
        on_delivery: DeliveryCallback | None = None,
    ) -> None:  # fmt: skip
        self._pending.append((OutgoingRecord(topic, key, value, dict(headers or {})), on_delivery))

    def poll(self, timeout_s: float = 0.0) -> None:
        pending, self._pending = self._pending, []
        for out, callback in pending:
            self.records += 1
            self.bytes += len(out.value)
            if callback is not None:
                record = Record(out.topic, 0, self.records, out.key, out.value, out.headers, None)
                callback(out, record, None)

    def flush(self, timeout_s: float = 30.0) -> None:
        self.poll()

    def take_failed(self) -> list[OutgoingRecord]:
        return []

    def close(self) -> None:
        self._pending = []


def _packets(total_octets: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    parts, n, count = [], 0, 0
    while n < total_octets:
        size = int(rng.integers(5000, 25000)) // 4 * 4
        head = (0x0C41).to_bytes(2, "big") + (0xC000 | (count & 0x3FFF)).to_bytes(2, "big")
        parts.append(head + (size - 7).to_bytes(2, "big") + rng.bytes(size - 6))
        n += size
        count += 1
    return b"".join(parts)


def _ingest_link(
    stream: bytes, link: int, producer: Any, pass_id: str, topic: str, events: str
) -> dict[str, Any]:
    publisher = ChunkPublisher(
        producer, station="BENCH", pass_id=pass_id, topic=topic, events_topic=events
    )
    session = LinkSession(publisher, link=link, fmt="cadu")
    view = memoryview(stream)
    for k in range(0, len(stream), FEED_OCTETS):
        session.feed(view[k : k + FEED_OCTETS])
    session.finish()
    return {"chunks": publisher.stats.chunks, "bytes": publisher.stats.payload_bytes,
            "peak": publisher.stats.peak_buffered_bytes}  # fmt: skip


def _run(
    streams: list[bytes], make_producer: Callable[[], Any], pass_id: str, topic: str,
    events: str,
) -> tuple[float, float, list[dict[str, Any]]]:  # fmt: skip
    t0, c0 = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=len(streams)) as pool:
        results = list(pool.map(
            lambda a: _ingest_link(a[1], a[0], make_producer(), pass_id, topic, events),
            enumerate(streams, start=1),
        ))  # fmt: skip
    return time.perf_counter() - t0, time.process_time() - c0, results


def run_ingest_benchmark(
    megabytes: float = 32.0,
    repeats: int = 5,
    broker_repeats: int = 3,
    error_rates: tuple[float, ...] = (0.0, 1e-5),
    sinks: tuple[str, ...] = ("memory", "broker"),
) -> dict[str, Any]:
    """Ingest rate of two links' CADU streams (see the module docstring).

    Parameters
    ----------
    megabytes
        Packet data per link, MB.
    repeats, broker_repeats
        Timed runs per case without and with the broker (medians reported).
    error_rates
        Bit error rates (0: clean).
    sinks
        ``memory`` and/or ``broker``.
    """
    params = FramingParameters()
    data = [_packets(int(megabytes * 1e6), seed) for seed in (1, 2)]
    clean = [frame_channel(d, params, vcid=v) for d, v in zip(data, (1, 2), strict=True)]
    cadu_mb = sum(len(s) for s in clean) / 1e6
    _run([s[: 2 << 20] for s in clean], AckingProducer, "warm-up", "raw", "ev")  # compile
    out: dict[str, Any] = {
        "cadu_megabytes": round(cadu_mb, 1), "target_MB_per_s": TARGET_MB_PER_S,
        "feed_octets": FEED_OCTETS, "cases": {},
    }  # fmt: skip
    broker = None
    bus = None
    try:
        if "broker" in sinks:
            from streams import DEFAULT_TOPICS, KafkaBus, LocalBroker, ensure_topics

            log = Path(tempfile.mkdtemp(prefix="bench-ingest-")) / "tansu.log"
            broker = LocalBroker(log_path=log)
            broker.start()
            bus = KafkaBus(broker.bootstrap_servers, client_id="bench-ingest")
            ensure_topics(bus, DEFAULT_TOPICS)
        for ber in error_rates:
            streams = clean
            if ber > 0:
                streams = [
                    impair_cadus(s, params.cadu_octets, Impairments(bit_error_rate=ber, seed=k))[0]
                    for k, s in enumerate(clean)
                ]  # fmt: skip
            for sink in sinks:
                runs = repeats if sink == "memory" else broker_repeats
                make: Callable[[], Any] = AckingProducer
                if sink == "broker":
                    assert bus is not None
                    make = bus.producer

                times, cpus = [], []
                results: list[dict[str, Any]] = []
                for i in range(runs):
                    dt, cpu, results = _run(
                        streams, make, f"p{ber:g}-{sink}-{i}", "raw-chunks", "events"
                    )  # fmt: skip
                    times.append(dt)
                    cpus.append(cpu)
                if ber == 0 and [r["bytes"] for r in results] != [len(d) for d in data]:
                    raise RuntimeError("published packet bytes differ from the input")
                median = float(np.median(times))
                per_cpu_s = cadu_mb / float(np.median(cpus))
                out["cases"][f"{sink} ber={ber:g}"] = {
                    "MB_per_s": round(cadu_mb / median, 1),
                    "real_time_factor": round(cadu_mb / median / TARGET_MB_PER_S, 2),
                    "median_s": round(median, 3),
                    "MB_per_cpu_s": round(per_cpu_s, 1),
                    "projected_2_core_MB_per_s": round(2 * per_cpu_s, 1),
                    "chunks": sum(r["chunks"] for r in results),
                    "peak_buffered_bytes": max(r["peak"] for r in results),
                    "repeats": runs,
                }  # fmt: skip
    finally:
        if broker is not None:
            broker.kill()
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=32.0, help="packet data per link")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--broker-repeats", type=int, default=3)
    parser.add_argument("--no-broker", action="store_true", help="in-memory sink only")
    args = parser.parse_args(argv)
    sinks = ("memory",) if args.no_broker else ("memory", "broker")
    result = run_ingest_benchmark(args.megabytes, args.repeats, args.broker_repeats, sinks=sinks)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
