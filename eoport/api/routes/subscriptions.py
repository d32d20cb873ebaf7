"""Routes of ``/subscriptions``: CRUD, delivery ledger, pull queue (native face).

Every route needs an authenticated caller (:mod:`eoport.api.auth`). A subscription
belongs to the caller that created it: others get 404 for it (as if it did not exist),
admins see and change every subscription. Lists are paged (``limit`` and the ``next``
token of the previous page). Targets are checked against the deployment's policy when
created: a webhook that resolves to a non-public address answers 422, an object-store
prefix not granted to the caller 403; per-user limits (running and total
subscriptions) 403. The CDSE-compatible face of the same subscriptions is
:mod:`eoport.api.routes.odata`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from eoport.api.auth import ApiPolicy, PolicyDep, Principal, UserDep
from eoport.api.deps import ApiState, StateDep
from streams.deliver.ledger import (
    DeliveryNotFoundError,
    DeliveryStatus,
    InvalidAckIdError,
    InvalidEntryTokenError,
)
from streams.deliver.netguard import BlockedTargetError
from streams.deliver.policy import ForbiddenPrefixError, LimitExceededError
from streams.deliver.subscriptions import (
    InvalidPageTokenError,
    QueueTarget,
    Subscription,
    SubscriptionNotFoundError,
    SubscriptionSpec,
    SubscriptionStatus,
    WebhookTarget,
    new_subscription,
)

MAX_PAGE = 1000
"""Largest ``limit`` of a list."""


class SubscriptionPatch(BaseModel):
    """Body of ``PATCH /subscriptions/{id}``: what may change after creation."""

    model_config = ConfigDict(extra="forbid")

    status: SubscriptionStatus | None = None
    name: str | None = Field(default=None, max_length=200)


class AckRequest(BaseModel):
    """Body of ``POST /subscriptions/{id}/ack``."""

    model_config = ConfigDict(extra="forbid")

    ack_id: str = Field(
        min_length=1, max_length=40, description="AckId of the last message to acknowledge"
    )


router = APIRouter(prefix="/subscriptions", tags=["subscriptions"])


# ---------------------------------------------------------------------------- helpers
# (shared with the CDSE face, eoport.api.routes.odata)


def load(state: ApiState, sub_id: str, user: Principal) -> Subscription:
    """The subscription if ``user`` may see it; 404 otherwise (not found or not theirs)."""
    try:
        sub = state.subscriptions.get(sub_id)
    except SubscriptionNotFoundError:
        sub = None
    if sub is None or not user.may_access(sub.owner):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no subscription {sub_id!r}")
    return sub


def queue_of(state: ApiState, sub_id: str, user: Principal) -> Subscription:
    """A subscription with a pull queue (queue targets, and webhooks whose failed
    notifications wait there)."""
    sub = load(state, sub_id, user)
    if not isinstance(sub.target, QueueTarget | WebhookTarget):
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"subscription {sub_id!r} delivers to {sub.target.kind}, not to a pull queue",
        )
    return sub


def check_target(policy: ApiPolicy, sub: Subscription) -> None:
    """422 for a target the network policy refuses, 403 for a prefix not granted."""
    try:
        policy.targets.check(sub.target, sub.owner)
    except BlockedTargetError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except ForbiddenPrefixError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None


def store(state: ApiState, policy: ApiPolicy, sub: Subscription) -> None:
    """Write ``sub`` within the owner's limits (403 naming the limit otherwise)."""
    try:
        state.subscriptions.add(sub, limits=policy.limits)
    except LimitExceededError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None


def owner_filter(user: Principal, owner: str | None) -> str | None:
    """Whose subscriptions a list shows: the caller's; an admin's choice (all: ``None``)."""
    if user.admin:
        return owner
    return user.subject


def bad_token(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, str(exc))


# ---------------------------------------------------------------------------- routes


@router.post("", status_code=status.HTTP_201_CREATED)
def create(
    state: StateDep, user: UserDep, policy: PolicyDep, spec: SubscriptionSpec
) -> dict[str, Any]:
    """Create a subscription owned by the caller; 422 names what is wrong with the AOI,
    filter or target, 403 a prefix not granted or a limit reached."""
    sub = new_subscription(spec, clock=state.clock, owner=user.subject)
    check_target(policy, sub)
    store(state, policy, sub)
    return sub.public_dict()


@router.get("")
def list_page(
    state: StateDep,
    user: UserDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    token: Annotated[str | None, Query(max_length=512)] = None,
    owner: Annotated[str | None, Query(max_length=256, description="admins only")] = None,
) -> dict[str, Any]:
    """The caller's subscriptions (admins: everyone's, or ``owner``'s), oldest first,
    one page: ``{"subscriptions": [...], "next": token or null}`` (secrets masked)."""
    try:
        subs, nxt = state.subscriptions.page(owner_filter(user, owner), limit, token)
    except InvalidPageTokenError as exc:
        raise bad_token(exc) from None
    return {"subscriptions": [s.public_dict() for s in subs], "next": nxt}


@router.get("/{sub_id}")
def get(state: StateDep, user: UserDep, sub_id: str) -> dict[str, Any]:
    """One subscription."""
    return load(state, sub_id, user).public_dict()


@router.patch("/{sub_id}")
def patch(
    state: StateDep, user: UserDep, policy: PolicyDep, sub_id: str, change: SubscriptionPatch
) -> dict[str, Any]:
    """Pause, resume or cancel a subscription (``status``), or rename it."""
    sub = load(state, sub_id, user)
    update = change.model_dump(exclude_unset=True, exclude_none=True)
    updated = sub.model_copy(update=update)
    store(state, policy, updated)
    return updated.public_dict()


@router.delete("/{sub_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(state: StateDep, user: UserDep, sub_id: str) -> Response:
    """Delete a subscription and its pull queue (its ledger entries stay)."""
    load(state, sub_id, user)
    try:
        state.subscriptions.delete(sub_id)
    except SubscriptionNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    state.ledger.queue_purge(sub_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{sub_id}/deliveries")
def deliveries(
    state: StateDep,
    user: UserDep,
    sub_id: str,
    status_filter: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    token: Annotated[str | None, Query(max_length=512)] = None,
) -> dict[str, Any]:
    """The subscription's delivery ledger, newest attempt first, one page:
    ``{"deliveries": [...], "next": token or null}``."""
    load(state, sub_id, user)
    try:
        rows, nxt = state.ledger.entries_page(sub_id, status_filter, limit, token)
    except InvalidEntryTokenError as exc:
        raise bad_token(exc) from None
    return {"deliveries": [r.model_dump(mode="json") for r in rows], "next": nxt}


@router.post("/{sub_id}/deliveries/{product_id}/retry", status_code=status.HTTP_202_ACCEPTED)
def retry(state: StateDep, user: UserDep, sub_id: str, product_id: str) -> dict[str, Any]:
    """Ask for a new attempt of a failed delivery (fresh retry budget)."""
    load(state, sub_id, user)
    try:
        row = state.ledger.request_retry(sub_id, product_id, state.clock())
    except DeliveryNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return row.model_dump(mode="json")


@router.get("/{sub_id}/queue")
def queue(
    state: StateDep,
    user: UserDep,
    sub_id: str,
    max_messages: Annotated[int, Query(alias="max", ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """Oldest unacknowledged messages of the subscription's pull queue (left in place
    until acknowledged), each with the product record and its STAC Item (``item``)."""
    queue_of(state, sub_id, user)
    messages = state.ledger.queue_pull(sub_id, max_messages)
    stats = state.ledger.queue_stats(sub_id)
    return {
        "messages": [m.model_dump(mode="json") for m in messages],
        "pending": stats.length,
        "dropped": stats.dropped,
    }


@router.post("/{sub_id}/ack")
def ack(
    state: StateDep,
    user: UserDep,
    sub_id: str,
    body: Annotated[AckRequest | None, Body()] = None,
    ack_id_query: Annotated[str | None, Query(alias="AckId", max_length=40)] = None,
) -> dict[str, Any]:
    """Acknowledge a message and every earlier one (body ``{"ack_id": ...}`` or
    query ``?AckId=...``)."""
    queue_of(state, sub_id, user)
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
