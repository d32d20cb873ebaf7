"""Delivery attempts: the values of the ``deliveries`` topic (and the ledger's rows)."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, ConfigDict

from streams.messages.payload import Payload


class DeliveryStatus(StrEnum):
    """Outcome of the latest attempt of one delivery."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class DeliveryAttempt(Payload):
    """A ledger row: where one product stands for one subscription.

    Also the value of the ``deliveries`` topic (key: subscription id).
    """

    what: ClassVar[str] = "delivery attempt"
    schema_type: ClassVar[str] = "application/x-eoport-delivery+json"

    model_config = ConfigDict(frozen=True)

    subscription_id: str
    product_id: str
    target_kind: str
    target: str
    status: DeliveryStatus
    attempt: int
    first_attempt: AwareDatetime
    last_attempt: AwareDatetime
    next_retry: AwareDatetime | None = None
    error: str | None = None
    delivered_at: AwareDatetime | None = None
    budget_start: int = 0
    """Attempt count when the current retry budget began (0, or when a retry was requested)."""
    budget_started: AwareDatetime | None = None
    """When the current retry budget began (the first attempt, or the retry request)."""
    latency_s: float | None = None
    """Sensing stop to delivered, s (delivered rows only)."""
