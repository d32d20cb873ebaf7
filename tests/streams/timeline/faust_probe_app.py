"""The faust-streaming probe app (run by ``test_faust_probe.py`` as ``python
faust_probe_app.py worker``): one agent keeps, per key, the set of stages seen (an
idempotent table) and a count per stage (a non-idempotent one), and dumps both to a JSON
file twice a second. Environment: ``FX_BROKER`` (host:port), ``FX_OUT`` (dump file),
``FX_PARTS`` (partitions), ``FX_BATCH`` (producer_max_batch_size; unset: faust default)."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import faust

BROKER = os.environ["FX_BROKER"]
OUT = os.environ["FX_OUT"]
PARTS = int(os.environ.get("FX_PARTS", "3"))
EXTRA: dict[str, Any] = {}
if os.environ.get("FX_BATCH"):
    EXTRA = {"producer_max_batch_size": int(os.environ["FX_BATCH"]), "producer_linger": 0.0}

app = faust.App(
    "fx-timeline", broker=f"kafka://{BROKER}", store="memory://", topic_partitions=PARTS,
    web_enabled=False, processing_guarantee="at_least_once", broker_session_timeout=6.0,
    broker_heartbeat_interval=1.0, topic_allow_declare=False, topic_disable_leader=True,
    broker_commit_interval=1.0, table_standby_replicas=0, consumer_auto_offset_reset="earliest",
    **EXTRA,
)  # fmt: skip
source = app.topic("fx-src", partitions=PARTS, value_serializer="json", key_serializer="raw")
stages = app.Table("bursts", default=dict, partitions=PARTS)
counts = app.Table("counts", default=int, partitions=PARTS)


@app.agent(source)
async def feed(stream: faust.StreamT[Any]) -> None:
    async for key, value in stream.items():
        k = key.decode() if isinstance(key, bytes) else str(key)
        seen = dict(stages[k])
        seen[value["stage"]] = value["t"]
        stages[k] = seen
        counts[value["stage"]] += 1


@app.timer(0.5)  # type: ignore[untyped-decorator]
async def dump() -> None:
    data = {"bursts": dict(stages.items()), "counts": dict(counts.items()), "t": time.time()}
    with open(OUT + ".tmp", "w") as handle:
        json.dump(data, handle)
    os.replace(OUT + ".tmp", OUT)


if __name__ == "__main__":
    app.main()
