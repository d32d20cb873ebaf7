"""What a burst timeline is: stages, the segments between them, budgets, pass identity.

A burst's timeline is a set of UTC instants, one per stage of the chain
(``docs/architecture.md``, "Latency timeline"): sensing start/stop (packet datation), the station
receive and Kafka append times of the latest chunk that fed the burst, burst complete,
aux complete (job published), the job's Kafka append, focus start/end, product written
and, per subscription, delivered. A **segment** is the interval between two stages; the
latency breakdown of the dashboard and of ``eoport_burst_latency_seconds{segment}`` is
made of the segments of :data:`SEGMENTS`, ``total`` (sensing stop to the first delivery)
being the headline figure.

Merging is order-independent: for every stage the *earliest* instant seen wins, so
re-reading a record, or a job published twice by a restarted assembler, leaves the
timeline unchanged, and a restarted timeline service converges to the same figures as an
uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

STAGES: tuple[str, ...] = (
    "sensing_start",
    "sensing_stop",
    "station_receive",
    "kafka_append",
    "burst_complete",
    "aux_complete",
    "job_append",
    "focus_start",
    "focus_end",
    "product_written",
    "delivered",
)
"""Timeline stages in chain order (``delivered``: the first delivery to any subscriber)."""


@dataclass(frozen=True, slots=True)
class Segment:
    """A latency segment: from one stage to a later one.

    Parameters
    ----------
    name
        Label value of ``segment`` in metrics and JSON.
    start, stop
        Stages (:data:`STAGES`).
    budget_s
        Default latency budget, s: a burst whose segment takes longer is *late*.
    """

    name: str
    start: str
    stop: str
    budget_s: float


SEGMENTS: tuple[Segment, ...] = (
    Segment("to_station", "sensing_stop", "station_receive", 10.0),
    Segment("to_kafka", "station_receive", "kafka_append", 5.0),
    Segment("assemble", "kafka_append", "burst_complete", 30.0),
    Segment("aux", "burst_complete", "aux_complete", 30.0),
    Segment("publish", "aux_complete", "job_append", 10.0),
    Segment("queue", "job_append", "focus_start", 60.0),
    Segment("focus", "focus_start", "focus_end", 120.0),
    Segment("write", "focus_end", "product_written", 30.0),
    Segment("deliver", "product_written", "delivered", 60.0),
    Segment("total", "sensing_stop", "delivered", 600.0),
)
"""The latency breakdown, in chain order; ``total`` (sensing stop to first delivery,
600 s budget: Copernicus NRT-10m, ``docs/sentinel1-facts.md``, "Latency of today's
services") is the headline figure."""

SEGMENT_NAMES: tuple[str, ...] = tuple(s.name for s in SEGMENTS)

LATENCY_BUCKETS_S: tuple[float, ...] = (
    0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0,
    1800.0, 3600.0, 10800.0,
)  # fmt: skip
"""Upper bounds of the latency histogram buckets, s (JSON and Prometheus alike)."""

REPLAY_THRESHOLD_S = 86_400.0
"""A pass whose chunks reach the station more than this long after their sensing time is
a *replay* (the demo replays 2024 sensing times): its sensing times are shifted by the
pass's offset (:func:`replay_offset_s`) before latencies are computed."""

OUTCOMES = ("product", "failed", "skipped", "pending")
"""What became of a burst: focused, dead-lettered, skipped by AOI selection, not yet."""


def pass_key_of(source: str) -> str:
    """The pass of a ``raw-chunks`` key ``station/pass_id/channel``: ``station/pass_id``
    (the whole key when it has fewer than three parts)."""
    parts = source.split("/")
    return "/".join(parts[:2]) if len(parts) >= 3 else source


def channel_of(source: str) -> str:
    """The channel number of a ``raw-chunks`` key (``""`` when absent)."""
    parts = source.split("/")
    return parts[2] if len(parts) >= 3 else ""


def segment_durations(stamps: Mapping[str, float]) -> dict[str, float]:
    """Duration of every segment whose two stages are known, s.

    Parameters
    ----------
    stamps
        Stage -> POSIX time, s (UTC).
    """
    return {
        s.name: stamps[s.stop] - stamps[s.start]
        for s in SEGMENTS
        if s.start in stamps and s.stop in stamps
    }


def replay_offset_s(receive_minus_stop_s: float | None) -> float:
    """Shift applied to a pass's sensing times, s: the smallest ``station_receive -
    sensing_stop`` of its bursts when that exceeds :data:`REPLAY_THRESHOLD_S` (a replay),
    else 0."""
    if receive_minus_stop_s is None or receive_minus_stop_s < REPLAY_THRESHOLD_S:
        return 0.0
    return receive_minus_stop_s


def budgets(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Segment budgets, s: the defaults of :data:`SEGMENTS` with ``overrides`` applied."""
    out = {s.name: s.budget_s for s in SEGMENTS}
    for name, value in (overrides or {}).items():
        if name in out:
            out[name] = float(value)
    return out
