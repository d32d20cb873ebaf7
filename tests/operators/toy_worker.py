"""A trivial focus worker for the local-scaler tests: consumes jobs, "focuses" each for
``JOB_S`` seconds, commits, and on SIGTERM finishes its job and exits cleanly (like the
real worker). Serves ``eoport_focus_seconds`` on ``EOPORT_METRICS_PORT`` when set and
writes the keys it committed to ``OUT_DIR/{name}.json``.

Run as ``python tests/operators/toy_worker.py`` with BOOTSTRAP, TOPIC, GROUP, OUT_DIR.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[2]))

from prometheus_client import Histogram, start_http_server  # noqa: E402

from streams import KafkaBus  # noqa: E402

stopping = False


def on_term(signum: int, frame: Any) -> None:
    global stopping
    stopping = True


def main() -> int:
    signal.signal(signal.SIGTERM, on_term)
    name = os.environ["EOPORT_WORKER_NAME"]
    job_s = float(os.environ.get("JOB_S", "0.2"))
    focus = Histogram("eoport_focus_seconds", "Wall time to focus one burst, s")
    port = os.environ.get("EOPORT_METRICS_PORT")
    if port:
        start_http_server(int(port), addr="127.0.0.1")
    bus = KafkaBus(os.environ["BOOTSTRAP"], client_id=name, session_timeout_ms=3000)
    consumer = bus.consumer(os.environ["GROUP"], [os.environ["TOPIC"]])
    done: list[str] = []
    try:
        while not stopping:
            for record in consumer.poll(0.2, max_records=1):
                time.sleep(job_s)
                focus.observe(job_s)
                consumer.commit(record)
                done.append(record.key or "")
    finally:
        consumer.close()
        out = Path(os.environ["OUT_DIR"]) / f"{name}.json"
        out.write_text(json.dumps(done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
