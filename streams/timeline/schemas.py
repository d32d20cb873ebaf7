"""Response models of the timeline queries (the dashboard's JSON, documented by the API's
OpenAPI schema). Times are ISO 8601 UTC; durations are seconds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class DeliveryView(BaseModel):
    """Where one product stands for one subscription (latest attempt)."""

    subscription_id: str
    status: str = Field(description="delivered, pending or failed")
    attempt: int
    target_kind: str | None = None
    delivered_at: datetime | None = None
    latency_s: float | None = Field(None, description="sensing stop to delivered (stage's figure)")
    error: str | None = None


class BurstView(BaseModel):
    """One burst's timeline."""

    burst_key: str = Field(description="datatake/swath/pol/burst")
    pass_key: str | None = Field(None, description="station/pass_id (from the focus job)")
    channel: str | None = None
    data_take_id: str | None = Field(None, description="hex, as in ESA product names")
    mode: str | None = None
    swath: str | None = None
    polarisation: str | None = None
    burst_id: int | None = None
    burst_label: str | None = None
    status: str | None = Field(None, description="complete or incomplete (job status)")
    outcome: str = Field(
        description="product, failed (dead-lettered or dropped), skipped (AOI selection), pending"
    )
    product_id: str | None = None
    packets: int | None = None
    missing_lines: int | None = None
    stamps: dict[str, datetime] = Field(
        description="stage -> time; sensing times shifted by the pass's replay offset"
    )
    segments: dict[str, float] = Field(description="segment -> duration, s")
    late: list[str] = Field(description="segments over their budget")
    reasons: list[str] = Field(description="why the burst is incomplete, failed or skipped")
    deliveries: list[DeliveryView]


class PassView(BaseModel):
    """Summary of one pass (all channels and data takes)."""

    pass_key: str
    data_takes: list[str]
    swaths: list[str]
    bursts: int
    outcomes: dict[str, int] = Field(description="bursts per outcome")
    incomplete: int
    late: int = Field(description="bursts with at least one segment over budget")
    first_sensing: datetime | None = None
    last_sensing: datetime | None = None
    last_update: datetime | None = None
    replay_offset_s: float = Field(
        description="shift applied to sensing times (replayed passes), s; 0 for live passes"
    )
    total_p50_s: float | None = None
    total_p95_s: float | None = None
    events: dict[str, int] = Field(description="events per kind")


class SegmentStats(BaseModel):
    """Latency of one segment over the selected bursts."""

    stage: str
    count: int
    p50_s: float | None
    p95_s: float | None
    p99_s: float | None
    mean_s: float | None
    max_s: float | None
    budget_s: float
    late: int = Field(description="bursts over budget")
    histogram: list[int] = Field(
        description="counts per bucket of LatencyReport.bounds_s (+ one for larger values)"
    )


class LatencyReport(BaseModel):
    """Latency histograms and quantiles per segment (``total`` is the headline)."""

    pass_key: str | None
    window_s: float | None
    bursts: int
    bounds_s: list[float] = Field(description="bucket upper bounds (Prometheus le)")
    segments: list[SegmentStats]


class RatePoint(BaseModel):
    """One window of the throughput series."""

    start: datetime
    chunks_per_s: float | None = Field(None, description="raw-chunks appended per second")
    bursts: int = Field(description="bursts completed in the window")
    products: int = Field(description="products written in the window")
    deliveries: int = Field(description="deliveries done in the window")


class ThroughputReport(BaseModel):
    """Chunk throughput (from raw-chunks end offsets) and products per window."""

    window_s: float
    chunks_per_s: float | None = Field(None, description="over the latest window")
    chunks_total: int | None = Field(None, description="raw-chunks records, all partitions")
    series: list[RatePoint]


class BacklogEntry(BaseModel):
    """Backlog of one consumer group on one topic (latest sample)."""

    group: str
    topic: str
    records: int
    bursts: int | None = Field(None, description="focus jobs / products: one record each")
    sensing_s: float | None = Field(
        None, description="seconds of sensing: bursts x IW burst cycle (2.758273 s)"
    )
    growth_per_s: float | None = Field(None, description="records/s over the sampled history")
    history: list[tuple[float, int]] = Field(description="(POSIX s, records)")


class BacklogReport(BaseModel):
    """Backlog per watched topic."""

    sampled_at: datetime | None
    topics: list[BacklogEntry]


class EventView(BaseModel):
    """A stored pipeline event."""

    kind: str
    source: str
    pass_key: str | None
    burst_key: str | None
    time: datetime
    reason: str
    detail: dict[str, Any]


class SelectionReport(BaseModel):
    """Bursts focused vs skipped by AOI selection (and failed / pending)."""

    counts: dict[str, int]
    per_pass: dict[str, dict[str, int]]


class WorkersReport(BaseModel):
    """Focusing workers and the autoscaler's decisions."""

    running: int | None = Field(None, description="from the provider (None: unknown)")
    source: str = Field(description="who said how many workers run")
    max_concurrent_focus: int = Field(
        description="most bursts focused at once over the window (a lower bound of workers)"
    )
    window_s: float
    decisions: list[dict[str, Any]] = Field(description="latest autoscaler decisions, newest first")
