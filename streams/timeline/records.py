"""What the timeline reads of the records of its topics: their decoding (:func:`decode`),
event identity and reasons, and the delivery outcome (a view of the deliver wing's attempt
record)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from pydantic import AwareDatetime, BaseModel, ConfigDict

from streams._infra.errors import SchemaError
from streams._infra.records import Record
from streams.messages.events import EventRecord
from streams.messages.jobs import JobRecord
from streams.messages.products import ProductRecord


def event_id(event: EventRecord) -> str:
    """Content identity of an event: SHA-1 of kind, source and canonical detail (not its
    time), so a re-published event is stored once."""
    text = json.dumps([event.kind, event.source, event.detail], sort_keys=True, default=str)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def event_reason(event: EventRecord) -> str:
    """One line saying why: the detail's ``reason``, ``error`` or ``skipped`` text, or a
    summary of missing lines / packets."""
    d = event.detail
    for key in ("reason", "error", "skipped"):
        if d.get(key):
            return str(d[key])
    if event.kind == "pass-manifest":
        entries = d.get("entries") or []
        return f"{len(entries)} bursts sent in {d.get('chunks', '?')} chunks"
    if event.kind == "pass-report":
        counts = {k: len(d.get(k) or []) for k in ("focused", "failed", "missing")}
        return (
            f"{d.get('expected', '?')} expected: {counts['focused']} focused, "
            f"{counts['failed']} failed, {counts['missing']} missing"
        )
    if event.kind == "burst-incomplete":
        missing = d.get("missing_pri") or []
        lines = sum(int(b) - int(a) + 1 for a, b in missing) if missing else 0
        gaps = len(d.get("gaps") or [])
        return f"{lines} lines missing, {gaps} gaps while open"
    return event.kind


def event_burst(event: EventRecord) -> str | None:
    """The burst an event is about (``detail.burst_key``, or the source when the event is
    keyed by burst: ``focus-failed``, ``focus-skipped``)."""
    if "burst_key" in event.detail:
        return str(event.detail["burst_key"])
    if event.kind in ("focus-failed", "focus-skipped"):
        return event.source
    return None


class DeliveryOutcome(BaseModel):
    """What the timeline reads of a ``deliveries`` value (the deliver wing's
    ``DeliveryAttempt``; other fields are ignored). Kept here because wings do not import
    each other; it belongs in :mod:`streams.messages` with the attempt record."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    subscription_id: str
    product_id: str
    target_kind: str | None = None
    status: str
    attempt: int
    last_attempt: AwareDatetime
    delivered_at: AwareDatetime | None = None
    latency_s: float | None = None
    error: str | None = None


def parse_delivery(value: bytes) -> DeliveryOutcome:
    """Parse a ``deliveries`` value (raises :class:`SchemaError`)."""
    try:
        return DeliveryOutcome.model_validate_json(value)
    except ValueError as exc:
        raise SchemaError(f"invalid delivery attempt: {str(exc).splitlines()[0]}") from exc


Message = JobRecord | ProductRecord | EventRecord | DeliveryOutcome
"""A decoded value of one of the timeline's topics."""


@dataclass(frozen=True, slots=True)
class Decoded:
    """A consumed record and what it says.

    Attributes
    ----------
    record
        The record.
    value
        Its decoded value (``None``: invalid, or a topic without a role).
    error
        Why it is not a valid value of its topic (``None``: valid).
    """

    record: Record
    value: Message | None
    error: SchemaError | None = None


def decode(record: Record, role: str | None) -> Decoded:
    """Decode ``record`` as a value of ``role`` (``jobs``, ``products``, ``events``,
    ``deliveries``; ``None``: nothing to decode); an invalid value gives a
    :class:`Decoded` carrying the :class:`SchemaError`."""
    value: Message | None = None
    try:
        if role == "jobs":
            value = JobRecord.from_bytes(record.value)
        elif role == "products":
            value = ProductRecord.from_bytes(record.value)
        elif role == "events":
            value = EventRecord.from_bytes(record.value)
        elif role == "deliveries":
            value = parse_delivery(record.value)
    except SchemaError as exc:
        return Decoded(record, None, exc)
    return Decoded(record, value)
