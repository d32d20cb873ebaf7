"""Probe of the Tansu S3 consumer stall (``python benchmarks/broker_stall.py --help``).

Reproduces, with plain confluent-kafka clients and nothing of eoport's stages, the silent
consumer stall seen on Tansu 0.6 with durable ``s3://`` storage: one producer publishes
``--records`` records of ``--size`` bytes at ``--rate`` records/s while one group consumer
reads them with the given librdkafka settings; a run *stalls* when the consumer gets
nothing for ``--stall-s`` seconds while records it has not read are on the topic.

Mechanism (Tansu 0.6.0, read from its own debug log, ``RUST_LOG=tansu_storage=debug``):
a Fetch on the S3 engine LISTs the whole ``records/`` prefix of the partition (one object
per produced batch, every page of 1,000 keys) and checks, after each listed key, whether
the request's ``max_wait`` (the client's ``fetch.wait.max.ms``) has passed; if so it
returns no records (error code none, high watermark correct). Once the LIST takes longer
than ``fetch.wait.max.ms`` -- the partition holds enough batch objects, or the object
store is slow for a moment -- every fetch comes back empty, for ever, and librdkafka
refetches the same offset without an error. A fetch that gets through returns one
batch per LIST it can afford.

Prints one JSON object per run and a summary per configuration: records read, whether
it stalled (and at which offset), produce-to-consume latency (median, 95th percentile,
ms) and how long after the last produce the consumer caught up (s). Figures taken on a
busy machine are "under load".

Examples
--------
``python benchmarks/broker_stall.py --storage s3 -c fetch.wait.max.ms=10`` stalls;
``python benchmarks/broker_stall.py --storage s3 --prefill 300 -c fetch.wait.max.ms=50``
stalls too: the listing grows with the partition (1,000 objects outrun 500 ms).
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from streams._infra.broker import LocalBroker
from streams._infra.s3server import LocalS3Server

STAMP_BYTES = 8
"""Each record value starts with the producer's ``time.time()`` in µs (big-endian)."""

WARM_UP_RECORDS = 10
"""Records left out of the latency figures (producer id and first connection)."""


@dataclass(frozen=True, slots=True)
class RunResult:
    """One produce/consume run.

    Parameters
    ----------
    label
        Configuration label.
    records, received
        Records produced and distinct offsets consumed.
    stalled
        Whether the consumer stopped with records unread for ``stall_s``.
    stalled_at
        Consumer position when it stalled (``None`` if it did not).
    high_watermark
        High watermark librdkafka last cached from a fetch response.
    latency_p50_ms, latency_p95_ms
        Produce-to-consume latency of the records read after the first
        :data:`WARM_UP_RECORDS`, ms.
    catch_up_s
        Time from the last acknowledged produce to the last record read, s.
    """

    label: str
    records: int
    received: int
    stalled: bool
    stalled_at: int | None
    high_watermark: int | None
    latency_p50_ms: float
    latency_p95_ms: float
    catch_up_s: float


@contextmanager
def running_broker(storage: str, moto: str, log_dir: Path) -> Iterator[LocalBroker]:
    """A Tansu broker on ``memory`` or ``s3`` storage (moto in a ``thread`` or ``process``)."""
    s3 = None
    if storage == "s3":
        s3 = LocalS3Server(subprocess=moto == "process")
        s3.start()
        url = s3.create_bucket(f"stall-{uuid.uuid4().hex[:8]}")
        broker = LocalBroker(url, s3=s3.endpoint, log_path=log_dir / "tansu.log")
    else:
        broker = LocalBroker(log_path=log_dir / "tansu.log")
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()
        if s3 is not None:
            s3.stop()


def _create_topic(bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=20)


def _stamped(payload: bytes) -> bytes:
    return int(time.time() * 1e6).to_bytes(STAMP_BYTES, "big") + payload[STAMP_BYTES:]


def _produce(
    bootstrap: str,
    topic: str,
    n: int,
    size: int,
    rate: float,
    config: Mapping[str, Any],
    done: list[float],
) -> None:
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "message.max.bytes": 1_064_000 + size,
        }
        | dict(config)
    )
    payload = bytes(size)
    start = time.monotonic()
    for i in range(n):
        producer.produce(topic, key=str(i).encode(), value=_stamped(payload))
        producer.poll(0)
        if rate > 0:
            time.sleep(max(0.0, start + (i + 1) / rate - time.monotonic()))
    left = producer.flush(60)
    if left:
        raise RuntimeError(f"{left} records not acknowledged")
    done.append(time.monotonic())


def run_once(
    bootstrap: str,
    label: str,
    *,
    records: int,
    size: int,
    rate: float,
    prefill: int,
    consumer_config: Mapping[str, Any],
    producer_config: Mapping[str, Any],
    stall_s: float,
) -> RunResult:
    """Produce ``records`` while one group consumer reads them; see :class:`RunResult`.

    ``prefill`` records are produced first, one batch each, and read past (the consumer
    starts at the end of them): they only make the partition's object listing longer.
    """
    topic = f"stall-{uuid.uuid4().hex[:10]}"
    _create_topic(bootstrap, topic)
    if prefill:
        _produce(bootstrap, topic, prefill, 64, 0.0, {"linger.ms": 0, "batch.num.messages": 1}, [])
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"g-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 3000,
            "heartbeat.interval.ms": 1000,
            "fetch.max.bytes": 8_000_000,
            "max.partition.fetch.bytes": 2_000_000,
        }
        | dict(consumer_config)
    )
    consumer.assign([TopicPartition(topic, 0, prefill)])
    done: list[float] = []
    producer = threading.Thread(
        target=_produce,
        args=(bootstrap, topic, records, size, rate, producer_config, done),
        daemon=True,
    )
    producer.start()
    seen: set[int] = set()
    latencies: list[float] = []
    last_progress = time.monotonic()
    last_read = last_progress
    stalled = False
    while len(seen) < records:
        for msg in consumer.consume(100, 0.1):
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    print(json.dumps({"label": label, "consumer_error": str(err)}))
                continue
            offset = msg.offset()
            if offset is not None and offset not in seen:
                seen.add(offset)
                stamp = int.from_bytes((msg.value() or b"")[:STAMP_BYTES], "big") / 1e6
                if offset >= prefill + WARM_UP_RECORDS:
                    latencies.append((time.time() - stamp) * 1e3)
            last_progress = last_read = time.monotonic()
        if producer.is_alive():
            last_progress = time.monotonic()
        elif time.monotonic() - last_progress > stall_s:
            stalled = True
            break
    producer.join()
    tp = TopicPartition(topic, 0)
    position = consumer.position([tp])[0].offset
    _low, high = consumer.get_watermark_offsets(tp, cached=True)
    consumer.close()
    ordered = sorted(latencies) or [0.0]
    return RunResult(
        label=label,
        records=records,
        received=len(seen),
        stalled=stalled,
        stalled_at=position if stalled else None,
        high_watermark=high if high is not None and high >= 0 else None,
        latency_p50_ms=round(statistics.median(ordered), 1),
        latency_p95_ms=round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        catch_up_s=round(max(0.0, last_read - done[0]) if done else float("nan"), 3),
    )


def _pairs(items: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--storage", choices=["memory", "s3"], default="s3")
    parser.add_argument("--moto", choices=["thread", "process"], default="process")
    parser.add_argument("--records", type=int, default=91)
    parser.add_argument("--size", type=int, default=256_000, help="record bytes")
    parser.add_argument("--rate", type=float, default=16.0, help="records/s (0: at once)")
    parser.add_argument("--prefill", type=int, default=0, help="batch objects already there")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--stall-s", type=float, default=8.0)
    parser.add_argument("-c", action="append", default=[], help="consumer key=value")
    parser.add_argument("-p", action="append", default=[], help="producer key=value")
    parser.add_argument("--label", default="")
    parser.add_argument("--log-dir", type=Path, default=Path("/tmp"))
    args = parser.parse_args(argv)
    consumer_config = _pairs(args.c)
    label = args.label or " ".join(
        [args.storage, f"{args.size // 1000}kB", f"prefill={args.prefill}", *args.c, *args.p]
    )
    results: list[RunResult] = []
    with running_broker(args.storage, args.moto, args.log_dir) as broker:
        for _ in range(args.runs):
            result = run_once(
                broker.bootstrap_servers,
                label,
                records=args.records,
                size=args.size,
                rate=args.rate,
                prefill=args.prefill,
                consumer_config=consumer_config,
                producer_config=_pairs(args.p),
                stall_s=args.stall_s,
            )
            results.append(result)
            print(json.dumps(asdict(result)), flush=True)
    ok = [r for r in results if not r.stalled]
    summary = {
        "summary": label,
        "runs": len(results),
        "stalls": len(results) - len(ok),
        "stalled_at": [r.stalled_at for r in results if r.stalled],
        "latency_p50_ms": round(statistics.median([r.latency_p50_ms for r in ok]), 1)
        if ok
        else None,
        "latency_p95_ms": max((r.latency_p95_ms for r in ok), default=None),
        "catch_up_s_max": max((r.catch_up_s for r in ok), default=None),
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
