"""End to end through settings: API server + deliver stage on a real Tansu broker."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from eoport.api.server import make_server
from eoport.config import ApiSettings, DeliverySettings, TopicNames
from streams._infra.bus import KafkaBus
from streams._infra.ports import find_free_port
from streams.deliver import build_deliverer
from streams.deliver.apikeys import create_api_key
from streams.messages.products import ProductRecord


def product(burst_id: int) -> ProductRecord:
    t = datetime.now(UTC)
    ring = [[10.2, 45.2], [10.4, 45.2], [10.4, 45.4], [10.2, 45.4], [10.2, 45.2]]
    return ProductRecord.model_validate(
        {
            "burst_key": f"9/IW3/VH/{burst_id}",
            "processing_version": "0.1.0",
            "mode": "IW",
            "swath": "IW3",
            "polarisation": "VH",
            "burst_id": burst_id,
            "data_take_id": 9,
            "footprint": {"type": "Polygon", "coordinates": [ring]},
            "sensing_start": t - timedelta(seconds=5),
            "sensing_stop": t - timedelta(seconds=2),
            "url": "file:///x/p.h5",
            "size_bytes": 1,
        }
    )


def test_retry_policy_from_settings() -> None:
    policy = DeliverySettings(
        max_attempts=3, backoff_initial_s=0.5, backoff_max_s=4.0
    ).retry_policy()
    assert (policy.max_attempts, policy.base_delay_s, policy.max_delay_s) == (3, 0.5, 4.0)


@pytest.mark.broker
def test_subscription_to_pull_queue_end_to_end(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    bus: KafkaBus,
    new_topic: Callable[..., str],
) -> None:
    monkeypatch.chdir(tmp_path)  # both processes' stores under ./var/state
    topics = TopicNames(
        l1_products=new_topic(1), deliveries=new_topic(1), dead_letters=new_topic(1)
    )
    common = {"bootstrap_servers": bus.bootstrap_servers, "topics": topics}
    api_settings = ApiSettings(port=find_free_port(), **common)  # type: ignore[arg-type]
    server = make_server(api_settings)
    api_thread = threading.Thread(target=server.run, daemon=True)
    api_thread.start()
    deliver_settings = DeliverySettings(
        session_timeout_ms=3000,
        group_id="e2e-deliver",
        **common,  # type: ignore[arg-type]
    )
    stop = threading.Event()
    deliver_thread = threading.Thread(
        target=build_deliverer(deliver_settings).run, args=(stop,), daemon=True
    )
    try:
        while not server.started:
            time.sleep(0.02)
        key = create_api_key(tmp_path / "var" / "state" / "subscriptions.sqlite", "e2e")
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{api_settings.port}", timeout=10,
            headers={"Authorization": f"Bearer {key}"},
        )  # fmt: skip
        aoi = {
            "type": "Polygon",
            "coordinates": [[[10, 45], [11, 45], [11, 46], [10, 46], [10, 45]]],
        }
        r = client.post("/subscriptions", json={"aoi": aoi, "target": {"kind": "queue"}})
        assert r.status_code == 201
        sub_id = r.json()["id"]
        deliver_thread.start()
        producer = bus.producer()
        sent = [product(b) for b in (1, 2)]
        for p in sent:
            producer.send(topics.l1_products, p.key, p.to_bytes())
        producer.flush()
        deadline = time.monotonic() + 60
        while True:
            q = client.get(f"/subscriptions/{sub_id}/queue").json()
            if q["pending"] == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert [m["product_id"] for m in q["messages"]] == [p.product_id for p in sent]
        latency = [ProductRecord.model_validate(m["product"]).latency_s() for m in q["messages"]]
        assert all(x is not None and 2.0 <= x < 60.0 for x in latency)
        rows = client.get(f"/subscriptions/{sub_id}/deliveries").json()["deliveries"]
        assert sorted(r["status"] for r in rows) == ["delivered", "delivered"]
        assert client.post(
            f"/subscriptions/{sub_id}/ack", json={"ack_id": q["messages"][1]["ack_id"]}
        ).json() == {"acked": 2, "pending": 0}
        metrics = client.get("/metrics").text
        assert 'eoport_deliveries{status="delivered"} 2.0' in metrics
        client.close()
    finally:
        stop.set()
        server.should_exit = True
        if deliver_thread.is_alive():
            deliver_thread.join(15)
        api_thread.join(10)
