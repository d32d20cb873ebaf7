"""Sending one product to one target: webhook POST and object-store copy/link.

Each function either returns (the target acknowledged the product) or raises
:class:`streams.errors.RetryableError` (try again later: timeout, connection refused,
HTTP 408/425/429/5xx, object store 5xx) or :class:`streams.errors.PermanentError`
(retrying cannot help: HTTP 4xx such as 401/404, product missing in the object store).
Pull-queue deliveries need no sender: the ledger appends to the queue itself.
"""

from __future__ import annotations

import posixpath
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from streams._infra.errors import PermanentError, RetryableError
from streams._infra.objectstore import ObjectStore
from streams._infra.s3server import S3Endpoint
from streams.deliver.subscriptions import ObjectStoreTarget, WebhookTarget
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
    }


def post_webhook(
    client: httpx.Client,
    target: WebhookTarget,
    subscription_id: str,
    product: ProductRecord,
) -> int:
    """POST the product record (JSON) to the subscription's endpoint.

    Parameters
    ----------
    client
        HTTP client (connection pool shared between deliveries).
    target
        Endpoint URL, optional basic-auth credentials, optional timeout in seconds
        (the client's timeout when ``None``).
    subscription_id
        For the headers.
    product
        Record sent as the request body.

    Returns
    -------
    int
        The HTTP status (2xx).

    Raises
    ------
    WebhookUnavailableError, WebhookRejectedError
        See the module docstring.
    """
    auth = None
    if target.username is not None and target.password is not None:
        auth = httpx.BasicAuth(target.username, target.password.get_secret_value())
    try:
        response = client.post(
            target.url,
            content=product.to_bytes(),
            headers=delivery_headers(subscription_id, product.product_id),
            auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
            timeout=target.timeout_s if target.timeout_s is not None else httpx.USE_CLIENT_DEFAULT,
            follow_redirects=False,
        )
    except httpx.TimeoutException as exc:
        raise WebhookUnavailableError(f"webhook {target.url} timed out") from exc
    except httpx.HTTPError as exc:
        raise WebhookUnavailableError(f"webhook {target.url} unreachable: {exc}") from exc
    code = response.status_code
    if 200 <= code < 300:
        return code
    reason = f"webhook {target.url} answered HTTP {code}"
    if code >= 500 or code in RETRYABLE_HTTP_STATUS:
        raise WebhookUnavailableError(
            reason, retry_after_s=retry_after_s(response.headers.get("Retry-After"))
        )
    raise WebhookRejectedError(reason)


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
        Destination prefix (``file://`` or ``s3://``) and mode.
    product
        Product record (``url`` is the source object).
    s3
        S3 endpoint and credentials for ``s3://`` source or destination.

    Returns
    -------
    str
        URL of the written ``product.json``.
    """
    store = ObjectStore(target.prefix, s3=s3)
    folder = f"{target.prefix}/{product.product_id}"
    record = product
    if target.mode == "copy":
        data = store.get_bytes(product.url)
        copy_url = store.put_bytes(f"{folder}/{_name_of(product.url)}", data)
        record = product.model_copy(update={"url": copy_url})
    return store.put_bytes(f"{folder}/{RECORD_NAME}", record.to_bytes())
