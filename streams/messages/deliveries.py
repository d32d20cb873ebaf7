"""Delivery attempts: the values of the ``deliveries`` topic (and the ledger's rows)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict

from streams._infra.errors import SchemaError


class DeliveryStatus(StrEnum):
    """Outcome of the latest attempt of one delivery."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class DeliveryAttempt(BaseModel):
    """A ledger row: where one product stands for one subscription.

    Also the value of the ``deliveries`` topic (key: subscription id).
    """

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

    def to_bytes(self) -> bytes:
        """UTF-8 JSON for the ``deliveries`` topic."""
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> DeliveryAttempt:
        """Parse a ``deliveries`` value.

        Raises
        ------
        SchemaError
            If the value is not a delivery attempt.
        """
        try:
            return cls.model_validate_json(data)
        except ValueError as exc:
            raise SchemaError(f"invalid delivery attempt: {str(exc).splitlines()[0]}") from exc
