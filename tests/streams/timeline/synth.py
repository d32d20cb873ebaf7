"""A synthetic pass as the stages would publish it: focus jobs, products, deliveries and
events with known timelines, so the timeline's figures can be checked exactly.

Burst ``i`` of swath ``s`` (0..2) in cycle ``c`` is sensed from ``t0 + c * CYCLE`` for
2.758 s; every segment has a fixed, known duration (``SEGMENT_S``) plus ``0.1 * i`` s of
focus time, so quantiles are computable by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sar.constants import IW_BURST_CYCLE
from streams._infra.bus import KafkaProducer
from streams._infra.topics import DELIVERIES, EVENTS, FOCUS_JOBS, L1_PRODUCTS
from streams.deliver.ledger import DeliveryAttempt, DeliveryStatus
from streams.messages.events import EventRecord
from streams.messages.jobs import JobRecord, burst_key
from streams.messages.products import ProductRecord, make_product_id

SEGMENT_S = {
    "to_station": 1.0,
    "to_kafka": 0.5,
    "assemble": 2.0,
    "aux": 0.25,
    "publish": 0.05,
    "queue": 0.95,
    "focus": 4.0,
    "write": 0.5,
    "deliver": 0.75,
}
"""Fixed segment durations of the synthetic pass, s (focus gets + 0.1 s per burst)."""

SWATHS = ("IW1", "IW2", "IW3")
DATA_TAKE = 0x05A5A5


def _box(lon: float, lat: float) -> dict[str, Any]:
    a, b, c, d = lon - 0.4, lon + 0.4, lat - 0.1, lat + 0.1
    return {"type": "Polygon", "coordinates": [[[a, c], [b, c], [b, d], [a, d], [a, c]]]}


@dataclass
class SynthPass:
    """Records of one synthetic IW pass.

    Parameters
    ----------
    t0
        Sensing start of the first burst.
    cycles
        Burst cycles (3 bursts each).
    pass_id, station
        Pass identity (job source ``station/pass_id/1``).
    subscriptions
        Subscription ids every product is delivered to.
    failed, skipped, incomplete
        Burst indices (0-based over the pass) that fail focusing, are skipped by AOI
        selection, or are published incomplete.
    """

    t0: datetime
    cycles: int = 4
    pass_id: str = "pass-1"
    station: str = "SVALBARD"
    subscriptions: tuple[str, ...] = ("sub-a", "sub-b")
    failed: frozenset[int] = frozenset({4})
    skipped: frozenset[int] = frozenset({7})
    incomplete: frozenset[int] = frozenset({2})
    version: str = "0.1.0"
    data_take: int = DATA_TAKE
    keys: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.keys = [self.key(i) for i in range(self.n)]

    @property
    def n(self) -> int:
        """Bursts in the pass."""
        return 3 * self.cycles

    @property
    def source(self) -> str:
        return f"{self.station}/{self.pass_id}/1"

    def key(self, i: int) -> str:
        return burst_key(self.data_take, SWATHS[i % 3], "VV", 249_424 + i)

    def sensing(self, i: int) -> tuple[datetime, datetime]:
        start = self.t0 + timedelta(seconds=(i // 3) * IW_BURST_CYCLE + 0.01 * (i % 3))
        return start, start + timedelta(seconds=IW_BURST_CYCLE)

    def stamps(self, i: int) -> dict[str, datetime]:
        """The burst's timeline as the stages stamp it (delivered: first subscription)."""
        start, stop = self.sensing(i)
        out = {"sensing_start": start, "sensing_stop": stop}
        t = stop
        for seg, stage in (
            ("to_station", "station_receive"), ("to_kafka", "kafka_append"),
            ("assemble", "burst_complete"), ("aux", "aux_complete"),
            ("publish", "job_append"), ("queue", "focus_start"), ("focus", "focus_end"),
            ("write", "product_written"),
            ("deliver", "delivered"),
        ):  # fmt: skip
            extra = 0.1 * i if seg == "focus" else 0.0
            t = t + timedelta(seconds=SEGMENT_S[seg] + extra)
            out[stage] = t
        return out

    def focused(self, i: int) -> bool:
        return i not in self.failed and i not in self.skipped

    def job(self, i: int) -> JobRecord:
        s = self.stamps(i)
        start, stop = self.sensing(i)
        keep = ("sensing_start", "sensing_stop", "station_receive", "kafka_append",
                "burst_complete", "aux_complete")  # fmt: skip
        return JobRecord(
            burst_key=self.key(i), status="incomplete" if i in self.incomplete else "complete",
            source=self.source, mode="IW", swath=SWATHS[i % 3], polarisation="VV",
            burst_id=249_424 + i, data_take_id=self.data_take, relative_orbit=117,
            burst_label=f"t117_{249_424 + i:06d}_iw{i % 3 + 1}", sensing_start=start,
            sensing_stop=stop, sensing_start_gps=0.0, sensing_stop_gps=IW_BURST_CYCLE,
            packet_count=1500, first_pri_count=0, last_pri_count=1499,
            missing_pri=[(100, 149)] if i in self.incomplete else [], pri_s=0.0005,
            state_vectors=[], raw_url=f"file:///raw/{self.key(i)}.dat", raw_bytes=1000,
            timeline={k: s[k] for k in keep},
        )  # fmt: skip

    def product(self, i: int) -> ProductRecord:
        s = self.stamps(i)
        start, stop = self.sensing(i)
        keep = ("station_receive", "kafka_append", "burst_complete", "aux_complete",
                "focus_start", "focus_end", "product_written")  # fmt: skip
        return ProductRecord(
            burst_key=self.key(i), processing_version=self.version, mode="IW",
            swath=SWATHS[i % 3], polarisation="VV", burst_id=249_424 + i,
            data_take_id=self.data_take,
            footprint=_box(10.0 + 0.5 * (i % 3), 45.0 + 0.2 * (i // 3)),
            sensing_start=start, sensing_stop=stop, url=f"file:///p/{i}.h5", size_bytes=10,
            timeline={k: s[k] for k in keep},
        )  # fmt: skip

    def product_id(self, i: int) -> str:
        return make_product_id(self.key(i), self.version)

    def deliveries(self, i: int) -> list[DeliveryAttempt]:
        """Delivery attempts: the first subscription delivered at ``delivered``; the
        second one pending once, then delivered 1 s later."""
        s = self.stamps(i)
        _, stop = self.sensing(i)
        out: list[DeliveryAttempt] = []
        for j, sub in enumerate(self.subscriptions):
            base = {
                "subscription_id": sub, "product_id": self.product_id(i),
                "target_kind": "webhook", "target": "http://x", "first_attempt": s["delivered"],
            }  # fmt: skip
            if j == 0:
                when = s["delivered"]
            else:
                out.append(
                    DeliveryAttempt.model_validate(
                        {**base, "status": DeliveryStatus.PENDING, "attempt": 1,
                         "last_attempt": s["delivered"], "error": "HTTP 503"}
                    )
                )  # fmt: skip
                when = s["delivered"] + timedelta(seconds=1)
            out.append(
                DeliveryAttempt.model_validate(
                    {**base, "status": DeliveryStatus.DELIVERED, "attempt": 1 + (j > 0),
                     "last_attempt": when, "delivered_at": when,
                     "latency_s": (when - stop).total_seconds()}
                )
            )  # fmt: skip
        return out

    def events(self) -> list[EventRecord]:
        """A gap, the incomplete bursts, the failed and the skipped ones."""
        out = [
            EventRecord(
                kind="gap", source=self.source, time=self.t0 + timedelta(seconds=3),
                detail={"first_seq": 10, "last_seq": 11, "reason": "timeout"},
            )
        ]  # fmt: skip
        for i in sorted(self.incomplete):
            out.append(
                EventRecord(
                    kind="burst-incomplete", source=self.source,
                    time=self.stamps(i)["aux_complete"],
                    detail={"burst_key": self.key(i), "missing_pri": [[100, 149]], "gaps": [],
                            "packets": 1500},
                )
            )  # fmt: skip
        for i in sorted(self.failed):
            out.append(
                EventRecord(
                    kind="focus-failed", source=self.key(i), time=self.stamps(i)["focus_start"],
                    detail={"error": "corrupt packets", "error_class": "FocusFailedError"},
                )
            )  # fmt: skip
        for i in sorted(self.skipped):
            out.append(
                EventRecord(
                    kind="focus-skipped", source=self.key(i), time=self.stamps(i)["focus_start"],
                    detail={"skipped": "no subscription needs it"},
                )
            )  # fmt: skip
        return out

    def records(self) -> list[tuple[str, str, bytes]]:
        """Every record as ``(topic, key, value)``, in the order the chain publishes."""
        out: list[tuple[str, str, bytes]] = []
        for i in range(self.n):
            out.append((FOCUS_JOBS, self.key(i), self.job(i).to_bytes()))
        for e in self.events():
            out.append((EVENTS, e.source, e.to_bytes()))
        for i in range(self.n):
            if self.focused(i):
                out.append((L1_PRODUCTS, self.product_id(i), self.product(i).to_bytes()))
                for a in self.deliveries(i):
                    out.append((DELIVERIES, a.subscription_id, a.to_bytes()))
        return out

    def publish(self, producer: KafkaProducer, start: int = 0, stop: int | None = None) -> int:
        """Publish records ``[start:stop]`` and flush; returns how many."""
        chosen = self.records()[start:stop]
        for topic, key, value in chosen:
            producer.send(topic, key, value)
        producer.flush()
        return len(chosen)


def now_utc() -> datetime:
    return datetime.now(UTC)
