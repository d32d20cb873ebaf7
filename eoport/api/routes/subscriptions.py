"""Routes of ``/subscriptions``: CRUD, delivery ledger, pull queue (CDSE-like).

The conventions follow the CDSE Subscriptions API users know: create
/ list / delete subscriptions, push to an endpoint with basic auth and retries, or a pull
queue whose messages are acknowledged by AckId, acknowledging one acknowledging every
earlier one.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from eoport.api.deps import ApiState, StateDep
from streams.deliver.ledger import DeliveryNotFoundError, DeliveryStatus, InvalidAckIdError
from streams.deliver.subscriptions import (
    QueueTarget,
    Subscription,
    SubscriptionNotFoundError,
    SubscriptionSpec,
    SubscriptionStatus,
    new_subscription,
)


class SubscriptionPatch(BaseModel):
    """Body of ``PATCH /subscriptions/{id}``: what may change after creation."""

    model_config = ConfigDict(extra="forbid")

    status: SubscriptionStatus | None = None
    name: str | None = Field(default=None, max_length=200)


class AckRequest(BaseModel):
    """Body of ``POST /subscriptions/{id}/ack``."""

    ack_id: str = Field(min_length=1, description="AckId of the last message to acknowledge")


router = APIRouter(prefix="/subscriptions", tags=["subscriptions"])


def load(state: ApiState, sub_id: str) -> Subscription:
    try:
        return state.subscriptions.get(sub_id)
    except SubscriptionNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


def queue_of(state: ApiState, sub_id: str) -> Subscription:
    sub = load(state, sub_id)
    if not isinstance(sub.target, QueueTarget):
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"subscription {sub_id!r} delivers to {sub.target.kind}, not to a pull queue",
        )
    return sub


@router.post("", status_code=status.HTTP_201_CREATED)
def create(state: StateDep, spec: SubscriptionSpec) -> dict[str, Any]:
    """Create a subscription; 422 names what is wrong with the AOI or filters."""
    sub = new_subscription(spec, clock=state.clock)
    state.subscriptions.add(sub)
    return sub.public_dict()


@router.get("")
def list_all(state: StateDep) -> list[dict[str, Any]]:
    """Every subscription, oldest first (passwords masked)."""
    return [s.public_dict() for s in state.subscriptions.all()]


@router.get("/{sub_id}")
def get(state: StateDep, sub_id: str) -> dict[str, Any]:
    """One subscription."""
    return load(state, sub_id).public_dict()


@router.patch("/{sub_id}")
def patch(state: StateDep, sub_id: str, change: SubscriptionPatch) -> dict[str, Any]:
    """Pause or resume a subscription (``status``), or rename it."""
    sub = load(state, sub_id)
    update = change.model_dump(exclude_unset=True, exclude_none=True)
    updated = sub.model_copy(update=update)
    state.subscriptions.add(updated)
    return updated.public_dict()


@router.delete("/{sub_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(state: StateDep, sub_id: str) -> Response:
    """Delete a subscription and its pull queue (its ledger entries stay)."""
    try:
        state.subscriptions.delete(sub_id)
    except SubscriptionNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    state.ledger.queue_purge(sub_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{sub_id}/deliveries")
def deliveries(
    state: StateDep,
    sub_id: str,
    status_filter: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict[str, Any]]:
    """The subscription's delivery ledger, newest attempt first."""
    load(state, sub_id)
    rows = state.ledger.entries(sub_id, status_filter, limit)
    return [r.model_dump(mode="json") for r in rows]


@router.post("/{sub_id}/deliveries/{product_id}/retry", status_code=status.HTTP_202_ACCEPTED)
def retry(state: StateDep, sub_id: str, product_id: str) -> dict[str, Any]:
    """Ask for a new attempt of a failed delivery (fresh retry budget)."""
    load(state, sub_id)
    try:
        row = state.ledger.request_retry(sub_id, product_id, state.clock())
    except DeliveryNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return row.model_dump(mode="json")


@router.get("/{sub_id}/queue")
def queue(
    state: StateDep,
    sub_id: str,
    max_messages: Annotated[int, Query(alias="max", ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Oldest unacknowledged messages of a pull-queue subscription (left in place
    until acknowledged)."""
    queue_of(state, sub_id)
    messages = state.ledger.queue_pull(sub_id, max_messages)
    return {
        "messages": [m.model_dump(mode="json") for m in messages],
        "pending": state.ledger.queue_size(sub_id),
    }


@router.post("/{sub_id}/ack")
def ack(
    state: StateDep,
    sub_id: str,
    body: Annotated[AckRequest | None, Body()] = None,
    ack_id_query: Annotated[str | None, Query(alias="AckId")] = None,
) -> dict[str, Any]:
    """Acknowledge a message and every earlier one (body ``{"ack_id": ...}`` or
    query ``?AckId=...``)."""
    queue_of(state, sub_id)
    ack_id = body.ack_id if body is not None else ack_id_query
    if ack_id is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "give ack_id in the body or AckId"
        )
    try:
        acked = state.ledger.queue_ack(sub_id, ack_id)
    except InvalidAckIdError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    return {"acked": acked, "pending": state.ledger.queue_size(sub_id)}
