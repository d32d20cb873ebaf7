"""Sending one product to one target: webhook POST and object-store copy/link.

Each function either returns (the target acknowledged the product) or raises
:class:`streams.errors.RetryableError` (try again later: timeout, connection refused,
HTTP 408/425/429/5xx, object store 5xx) or :class:`streams.errors.PermanentError`
(retrying cannot help: HTTP 3xx (redirects are never followed) or 4xx such as 401/404,
a refused address, product missing in the object store, credentials refused).
Pull-queue deliveries need no sender: the ledger appends to the queue itself.

**Notifications.** A webhook receives the product's STAC Item
(:func:`streams.catalogue.stac.product_to_stac_item`) as the body
(``notification_format`` ``stac-item``), or the CDSE notification whose ``value`` is the
Item (``cdse``, :func:`cdse_notification`). Pull-queue messages carry the Item too.

**Where requests go.** The webhook's host is resolved and every address checked right
before the request (:class:`~streams.deliver.netguard.NetworkPolicy`), and the request
is sent to the checked address (the name stays in ``Host`` and TLS SNI), so a DNS
change after the check cannot redirect it. Object-store copies are written with the
target's own credentials; only the product is read with the service's.
"""

from __future__ import annotations

import json
import posixpath
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from streams._infra.errors import ObjectStoreError, PermanentError, RetryableError
from streams._infra.objectstore import ObjectStore
from streams._infra.s3server import S3Endpoint
from streams.deliver.models import NotificationFormat
from streams.deliver.netguard import NetworkPolicy
from streams.deliver.subscriptions import ObjectStoreTarget, WebhookTarget, stac_item_of
from streams.messages.products import ProductRecord

RETRYABLE_HTTP_STATUS = frozenset({408, 425, 429})
"""4xx statuses that mean "later" rather than "never" (plus every 5xx)."""

RECORD_NAME = "product.json"
"""Name of the product record written next to a delivered product (written last)."""


class WebhookRejectedError(PermanentError):
    """The endpoint answered with a 4xx status other than 408/425/429."""


class WebhookUnavailableError(RetryableError):
    """The endpoint is unreachable, timed out, or answered 408/425/429/5xx."""


def delivery_headers(subscription_id: str, product_id: str) -> dict[str, str]:
    """HTTP headers of a webhook delivery.

    ``Idempotency-Key`` is ``{subscription_id}:{product_id}``: the same on every retry and
    replay, so a receiver can drop the rare duplicate (a crash after the POST succeeded
    but before the ledger recorded it).
    """
    return {
        "Content-Type": "application/json",
        "Idempotency-Key": f"{subscription_id}:{product_id}",
        "X-Eoport-Subscription": subscription_id,
        "X-Eoport-Product": product_id,
        "X-Eoport-Event": "created",
    }


def product_name(product: ProductRecord) -> str:
    """The CDSE ``ProductName`` of a product: the file name of its data object."""
    return _name_of(product.url)


def iso_z(when: datetime) -> str:
    """Aware datetime as RFC 3339 UTC with a ``Z`` (millisecond precision)."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def cdse_notification(
    subscription_id: str, product: ProductRecord, when: datetime, *,
    ack_id: str | None = None, item: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The CDSE notification of a new product: ``SubscriptionEvent``, ``ProductId``,
    ``ProductName``, ``SubscriptionId``, ``NotificationDate``, ``AckId`` (pull only) and
    ``value`` (the STAC Item, where CDSE puts its OData Product entity)."""
    out: dict[str, Any] = {
        "@odata.context": "$metadata#Notification/$entity",
        "SubscriptionEvent": "created",
        "ProductId": product.product_id,
        "ProductName": product_name(product),
        "SubscriptionId": subscription_id,
        "NotificationDate": iso_z(when),
    }
    if ack_id is not None:
        out["AckId"] = ack_id
    out["value"] = item if item is not None else stac_item_of(product)
    return out


def notification_body(
    fmt: NotificationFormat, subscription_id: str, product: ProductRecord, when: datetime
) -> bytes:
    """The webhook body: the STAC Item (``stac-item``) or the CDSE notification."""
    if fmt == "cdse":
        body: dict[str, Any] = cdse_notification(subscription_id, product, when)
    else:
        body = stac_item_of(product)
    return json.dumps(body, separators=(",", ":")).encode()


def post_webhook(
    client: httpx.Client,
    target: WebhookTarget,
    subscription_id: str,
    product: ProductRecord,
    *,
    body: bytes | None = None,
    network: NetworkPolicy | None = None,
) -> int:
    """POST a notification to the subscription's endpoint, at a checked address.

    Parameters
    ----------
    client
        HTTP client (connection pool shared between deliveries; must not trust proxy
        environment variables, see :func:`webhook_client`).
    target
        Endpoint URL, optional basic-auth credentials, optional timeout in seconds
        (the client's timeout when ``None``).
    subscription_id
        For the headers.
    product
        The product notified.
    body
        Request body (default: the product's STAC Item).
    network
        Which addresses may be reached (default: public addresses only).

    Returns
    -------
    int
        The HTTP status (2xx).

    Raises
    ------
    BlockedTargetError
        The host resolves to an address the policy refuses (permanent).
    WebhookUnavailableError, WebhookRejectedError
        See the module docstring.
    """
    resolved = (network or NetworkPolicy()).resolve(target.url)
    url, pin_headers, extensions = resolved.pinned()
    shown = target.describe
    auth = None
    if target.username is not None and target.password is not None:
        auth = httpx.BasicAuth(target.username, target.password.get_secret_value())
    content = body if body is not None else json.dumps(stac_item_of(product)).encode()
    try:
        # streamed: only the status line and headers are read, never a (large) body
        with client.stream(
            "POST",
            url,
            content=content,
            headers={**delivery_headers(subscription_id, product.product_id), **pin_headers},
            auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
            timeout=target.timeout_s if target.timeout_s is not None else httpx.USE_CLIENT_DEFAULT,
            follow_redirects=False,
            extensions=extensions,
        ) as response:
            code = response.status_code
            retry_after = response.headers.get("Retry-After")
    except httpx.TimeoutException as exc:
        raise WebhookUnavailableError(f"webhook {shown} timed out") from exc
    except httpx.HTTPError as exc:
        raise WebhookUnavailableError(f"webhook {shown} unreachable: {exc}") from exc
    if 200 <= code < 300:
        return code
    reason = f"webhook {shown} answered HTTP {code}"
    if 300 <= code < 400:
        raise WebhookRejectedError(f"{reason} (a redirect: not followed)")
    if code >= 500 or code in RETRYABLE_HTTP_STATUS:
        raise WebhookUnavailableError(reason, retry_after_s=retry_after_s(retry_after))
    raise WebhookRejectedError(reason)


def webhook_client(timeout_s: float) -> httpx.Client:
    """The HTTP client for webhooks: no redirects, no proxies from the environment (a
    proxy would connect to the name, not to the checked address)."""
    return httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False)


MAX_RETRY_AFTER_S = 3600.0
"""Longest ``Retry-After`` honoured, s (a larger one is capped, not ignored)."""


def retry_after_s(value: str | None) -> float | None:
    """Seconds to wait from an HTTP ``Retry-After`` header (RFC 9110 section 10.2.3:
    delay-seconds or an HTTP-date); ``None`` when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    delay = (when - datetime.now(UTC)).total_seconds()
    return min(max(delay, 0.0), MAX_RETRY_AFTER_S)


def _name_of(url: str) -> str:
    name = posixpath.basename(urlsplit(url).path.rstrip("/"))
    return name or "product"


class DeliveryCredentialsError(PermanentError):
    """The target refused its credentials, or an ``s3://`` target has none."""


def target_endpoint(target: ObjectStoreTarget, service: S3Endpoint | None) -> S3Endpoint | None:
    """Where and as whom a target is written: the service's S3 endpoint (its address
    only) with the target's own credentials; ``None`` for ``file://`` targets.

    Raises
    ------
    DeliveryCredentialsError
        For an ``s3://`` target without credentials (never the service's own).
    """
    if not target.prefix.startswith("s3://"):
        return None
    if target.access_key is None or target.secret_key is None:
        raise DeliveryCredentialsError(
            f"{target.prefix}: s3:// targets are written with their own credentials only"
        )
    region = service.region if service is not None else "eu-central-1"
    url = (
        service.endpoint_url if service is not None else f"https://s3.{region}.amazonaws.com"
    )
    return S3Endpoint(
        endpoint_url=url, access_key=target.access_key,
        secret_key=target.secret_key.get_secret_value(), region=region,
    )  # fmt: skip


def copy_to_prefix(
    target: ObjectStoreTarget,
    product: ProductRecord,
    s3: S3Endpoint | None = None,
) -> str:
    """Deliver a product under ``{prefix}/{product_id}/``.

    ``copy`` mode copies the product object (same file name) and writes ``product.json``
    with ``url`` pointing at the copy; ``link`` mode writes only ``product.json`` (``url``
    still points at the source). ``product.json`` is written last, so its presence means
    the delivery is complete. Rewriting after a replay replaces the same objects.

    Parameters
    ----------
    target
        Destination prefix (``file://`` or ``s3://``), mode and credentials.
    product
        Product record (``url`` is the source object).
    s3
        The service's S3 endpoint: its credentials read the source product; only its
        address is used to write (with the target's credentials).

    Returns
    -------
    str
        URL of the written ``product.json``.

    Raises
    ------
    DeliveryCredentialsError
        No credentials for an ``s3://`` target, or the target refused them.
    """
    dest = ObjectStore(target.prefix, s3=target_endpoint(target, s3))
    folder = f"{target.prefix}/{product.product_id}"
    record = product
    try:
        if target.mode == "copy":
            source = ObjectStore(product.url.rsplit("/", 1)[0], s3=s3)
            data = source.get_bytes(product.url)
            copy_url = dest.put_bytes(f"{folder}/{_name_of(product.url)}", data)
            record = product.model_copy(update={"url": copy_url})
        return dest.put_bytes(f"{folder}/{RECORD_NAME}", record.to_bytes())
    except ObjectStoreError as exc:
        if isinstance(exc.__cause__, PermissionError):
            raise DeliveryCredentialsError(
                f"{target.prefix}: the target refused its credentials"
            ) from exc
        raise
