"""CDSE-compatible face of the subscriptions: ``/odata/v1/Subscriptions``.

The same subscriptions as ``/subscriptions`` (:mod:`eoport.api.routes.subscriptions`),
with the Copernicus Data Space Ecosystem field names and behaviour, so a client written
for CDSE works against eoport by changing its base URL (differences:
docs/cdse-subscriptions.md).

====================================================  ==========================================
``POST /odata/v1/Subscriptions``                      create (``SubscriptionType`` push|pull,
                                                      ``FilterParam``, ``SubscriptionEvent``,
                                                      ``Status``, ``NotificationEndpoint``,
                                                      ``NotificationEpUsername``/``Password``)
``GET /odata/v1/Subscriptions/Info``                  the caller's subscriptions (JSON array)
``GET /odata/v1/Subscriptions``                       the same as an OData collection (``value``)
``GET|PATCH|DELETE /odata/v1/Subscriptions({id})``    one subscription; PATCH ``Status``
``GET /odata/v1/Subscriptions({id})/Read?$top=N``     oldest notifications (N <= 20), kept
``POST /odata/v1/Subscriptions({id})/Ack?$ackid=A``   acknowledge A and every older one
====================================================  ==========================================

Notifications (push body and ``Read``): ``SubscriptionEvent``, ``ProductId``,
``ProductName``, ``SubscriptionId``, ``NotificationDate``, ``AckId`` (pull) and ``value``:
the product's STAC Item. ``FilterParam`` is translated to the native AOI and CQL2 filter
(:mod:`streams.deliver.odata`); what is not understood answers 400 naming the clause.
Secrets (``NotificationEpPassword``) are stored encrypted and never returned.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from eoport.api.auth import ApiPolicy, PolicyDep, Principal, UserDep
from eoport.api.deps import ApiState, StateDep
from eoport.api.routes.subscriptions import check_target, load, owner_filter, store
from streams.deliver.ledger import InvalidAckIdError
from streams.deliver.models import SubscriptionEvent as Event
from streams.deliver.odata import ODataFilterError, translate_filter
from streams.deliver.subscriptions import (
    InvalidPageTokenError,
    QueueTarget,
    Subscription,
    SubscriptionSpec,
    SubscriptionStatus,
    WebhookTarget,
    new_subscription,
)
from streams.deliver.targets import cdse_notification, iso_z
from streams.messages.products import ProductRecord

MAX_READ = 20
"""Most notifications one ``Read`` returns (CDSE)."""

_STATUS_OUT = {
    SubscriptionStatus.ACTIVE: "running",
    SubscriptionStatus.PAUSED: "paused",
    SubscriptionStatus.CANCELLED: "cancelled",
}
_STATUS_IN = {"running": SubscriptionStatus.ACTIVE, "paused": SubscriptionStatus.PAUSED,
              "cancelled": SubscriptionStatus.CANCELLED,
              "canceled": SubscriptionStatus.CANCELLED}  # fmt: skip

CdseStatus = Literal["running", "paused", "cancelled", "canceled"]


def _created() -> list[Event]:
    return ["created"]


class CdseSubscriptionRequest(BaseModel):
    """Body of ``POST /odata/v1/Subscriptions`` (CDSE field names)."""

    model_config = ConfigDict(extra="forbid")

    SubscriptionType: Literal["push", "pull"]  # noqa: N815 - CDSE field names
    FilterParam: str | None = Field(default=None, max_length=2_000_000)  # noqa: N815
    SubscriptionEvent: list[Event] = Field(  # noqa: N815
        default_factory=_created, min_length=1, max_length=3
    )
    Status: CdseStatus = "running"  # noqa: N815
    NotificationEndpoint: str | None = Field(default=None, max_length=2048)  # noqa: N815
    NotificationEpUsername: str | None = Field(default=None, max_length=256)  # noqa: N815
    NotificationEpPassword: SecretStr | None = Field(default=None, max_length=1024)  # noqa: N815
    StageOrder: bool | None = None  # noqa: N815 - accepted, no effect (documented)
    Priority: int | None = None  # noqa: N815 - accepted, no effect (documented)


class CdseSubscriptionPatch(BaseModel):
    """Body of ``PATCH /odata/v1/Subscriptions({id})``."""

    model_config = ConfigDict(extra="forbid")

    Status: CdseStatus  # noqa: N815


router = APIRouter(prefix="/odata/v1", tags=["cdse-subscriptions"])


def _bad(message: str) -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, message)


def _id(raw: str) -> str:
    """The id in ``Subscriptions(<id>)`` (quotes, as some OData clients add, removed)."""
    return raw.strip().strip("'\"")


def info_of(sub: Subscription, state: ApiState) -> dict[str, Any]:
    """The CDSE ``Subscription`` entity of ``sub`` (no secrets)."""
    pull = not isinstance(sub.target, WebhookTarget)
    out: dict[str, Any] = {
        "Id": sub.id,
        "SubscriptionType": "pull" if pull else "push",
        "FilterParam": sub.odata_filter,
        "SubscriptionEvent": list(sub.events),
        "Status": _STATUS_OUT[sub.status],
        "StageOrder": True,
        "Priority": 1,
        "SubmissionDate": iso_z(sub.created),
    }
    if isinstance(sub.target, WebhookTarget):
        out["NotificationEndpoint"] = sub.target.describe
        if sub.target.username is not None:
            out["NotificationEpUsername"] = sub.target.username
    stats = state.ledger.queue_stats(sub.id)
    out["CurrentQueueLength"] = stats.length
    out["AckMessagesNum"] = stats.acked
    out["DroppedMessagesNum"] = stats.dropped
    return out


def _spec(body: CdseSubscriptionRequest) -> SubscriptionSpec:
    try:
        translated = translate_filter(body.FilterParam)
    except ODataFilterError as exc:
        raise _bad(str(exc)) from None
    target: dict[str, Any]
    if body.SubscriptionType == "push":
        if not body.NotificationEndpoint:
            raise _bad("a push subscription needs a NotificationEndpoint")
        target = {"kind": "webhook", "url": body.NotificationEndpoint}
        if body.NotificationEpUsername is not None or body.NotificationEpPassword is not None:
            target["username"] = body.NotificationEpUsername
            target["password"] = (
                None
                if body.NotificationEpPassword is None
                else body.NotificationEpPassword.get_secret_value()
            )
    else:
        if body.NotificationEndpoint:
            raise _bad("a pull subscription takes no NotificationEndpoint")
        target = {"kind": "queue"}
    try:
        return SubscriptionSpec.model_validate(
            {
                "aoi": translated.aoi,
                "filter": translated.cql2,
                "target": target,
                "status": _STATUS_IN[body.Status],
                "notification_format": "cdse",
                "events": list(body.SubscriptionEvent),
            }
        )
    except ValidationError as exc:
        problems = "; ".join(
            str(e.get("msg", "invalid")).removeprefix("Value error, ") for e in exc.errors()
        )
        raise _bad(problems) from None


@router.post("/Subscriptions", status_code=status.HTTP_201_CREATED)
def create(
    state: StateDep, user: UserDep, policy: PolicyDep, body: CdseSubscriptionRequest
) -> dict[str, Any]:
    """Create a subscription (CDSE fields); 400 for a FilterParam eoport does not
    understand, 422 for a refused endpoint address, 403 for a limit reached."""
    spec = _spec(body)
    sub = new_subscription(
        spec, clock=state.clock, owner=user.subject, odata_filter=body.FilterParam
    )
    check_target(policy, sub)
    store(state, policy, sub)
    return {"@odata.context": "$metadata#Subscriptions/$entity", **info_of(sub, state)}


def _page(
    state: ApiState, user: Principal, top: int, token: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    try:
        subs, nxt = state.subscriptions.page(owner_filter(user, None), top, token)
    except InvalidPageTokenError as exc:
        raise _bad(str(exc)) from None
    return [info_of(s, state) for s in subs], nxt


@router.get("/Subscriptions/Info")
def info(
    request: Request,
    state: StateDep,
    user: UserDep,
    top: Annotated[int, Query(alias="$top", ge=1, le=1000)] = 100,
    skiptoken: Annotated[str | None, Query(alias="$skiptoken", max_length=512)] = None,
) -> JSONResponse:
    """The caller's subscriptions (admins: everyone's), a JSON array; more pages are
    announced by a ``Link: <...>; rel="next"`` header."""
    items, nxt = _page(state, user, top, skiptoken)
    headers = {}
    if nxt is not None:
        url = request.url.include_query_params(**{"$skiptoken": nxt})
        headers["Link"] = f'<{url}>; rel="next"'
    return JSONResponse(items, headers=headers)


@router.get("/Subscriptions")
def collection(
    request: Request,
    state: StateDep,
    user: UserDep,
    top: Annotated[int, Query(alias="$top", ge=1, le=1000)] = 100,
    skiptoken: Annotated[str | None, Query(alias="$skiptoken", max_length=512)] = None,
) -> dict[str, Any]:
    """The caller's subscriptions as an OData collection (``value``,
    ``@odata.nextLink``)."""
    items, nxt = _page(state, user, top, skiptoken)
    out: dict[str, Any] = {"@odata.context": "$metadata#Subscriptions", "value": items}
    if nxt is not None:
        out["@odata.nextLink"] = str(request.url.include_query_params(**{"$skiptoken": nxt}))
    return out


@router.get("/Subscriptions({sub_id})")
def get(state: StateDep, user: UserDep, sub_id: str) -> dict[str, Any]:
    """One subscription (404 when it is not the caller's)."""
    sub = load(state, _id(sub_id), user)
    return {"@odata.context": "$metadata#Subscriptions/$entity", **info_of(sub, state)}


@router.patch("/Subscriptions({sub_id})")
def patch(
    state: StateDep, user: UserDep, policy: PolicyDep, sub_id: str, body: CdseSubscriptionPatch
) -> dict[str, Any]:
    """Change ``Status`` (running, paused, cancelled); 403 when resuming would exceed the
    running-subscription limit."""
    sub = load(state, _id(sub_id), user)
    updated = sub.model_copy(update={"status": _STATUS_IN[body.Status]})
    store(state, policy, updated)
    return {"@odata.context": "$metadata#Subscriptions/$entity", **info_of(updated, state)}


@router.delete("/Subscriptions({sub_id})", status_code=status.HTTP_204_NO_CONTENT)
def delete(state: StateDep, user: UserDep, sub_id: str) -> Response:
    """Delete a subscription and its queue."""
    sub = load(state, _id(sub_id), user)
    state.subscriptions.delete(sub.id)
    state.ledger.queue_purge(sub.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _queued(state: ApiState, sub_id: str, user: Principal) -> Subscription:
    sub = load(state, _id(sub_id), user)
    if not isinstance(sub.target, QueueTarget | WebhookTarget):
        raise _bad(f"subscription {sub.id!r} has no notification queue")
    return sub


@router.get("/Subscriptions({sub_id})/Read")
def read(
    state: StateDep,
    user: UserDep,
    sub_id: str,
    top: Annotated[int, Query(alias="$top", ge=1, le=MAX_READ)] = 1,
) -> list[dict[str, Any]]:
    """The oldest ``$top`` (<= 20) notifications of the queue, oldest first; reading
    does not remove them (acknowledge with ``Ack``)."""
    sub = _queued(state, sub_id, user)
    return [
        cdse_notification(
            sub.id,
            ProductRecord.model_validate(m.product),
            m.enqueued,
            ack_id=m.ack_id,
            item=m.item,
        )
        for m in state.ledger.queue_pull(sub.id, top)
    ]


@router.post("/Subscriptions({sub_id})/Ack")
def ack(
    state: StateDep,
    user: UserDep,
    policy: PolicyDep,
    sub_id: str,
    ackid: Annotated[str, Query(alias="$ackid", min_length=1, max_length=40)],
) -> dict[str, Any]:
    """Acknowledge the notification ``$ackid`` and every older one (cumulative)."""
    sub = _queued(state, sub_id, user)
    try:
        n = state.ledger.queue_ack(sub.id, ackid)
    except InvalidAckIdError as exc:
        raise _bad(str(exc)) from None
    return {
        "AckMessagesNum": n,
        "CurrentQueueLength": state.ledger.queue_size(sub.id),
        "MaxQueueLength": _max_queue(state, policy),
    }


def _max_queue(state: ApiState, policy: ApiPolicy) -> int:
    return int(getattr(state.ledger, "max_queue_length", policy.limits.queue_length))
