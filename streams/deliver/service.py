"""Delivery of Level-1 products to their subscribers, exactly once per subscription.

:class:`DeliveryService` is the pure core (clock and random source injectable): for a
:class:`~streams.products.ProductRecord` it finds the matching subscriptions, skips the
ones whose ledger already holds the product (a replay), attempts the others (webhook
POST, object-store copy/link, pull-queue append) and records every outcome in the
:class:`~streams.delivery_ledger.DeliveryLedger` before returning. Failed attempts are
retried with exponential backoff and jitter (:class:`streams._infra.retry.RetryPolicy`,
the same policy as every other retry) by
:meth:`DeliveryService.retry_due`; after the budget (attempts or age) a delivery is
``failed``: kept, visible through the API, retried again on request. Nothing is dropped:
a webhook notification that failed every attempt (CDSE default: 3) waits in the
subscription's pull queue, where the subscriber can read and acknowledge it.

Before every send the target is checked again against the deployment's
:class:`~streams.deliver.policy.TargetPolicy` (DNS may have changed since the
subscription was created; an object-store grant may have been withdrawn): a refused
target fails the delivery at once, with the reason, and nothing is sent.

The ``deliver`` stage (:mod:`streams.deliver.stage`) runs it on ``l1-products``: it
commits an offset only after the ledger recorded the outcome of its record, so the input
is at-least-once and the effect exactly-once.
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime, timedelta

import httpx
from prometheus_client import Counter, Histogram

from streams._infra.errors import PermanentError, StreamError
from streams._infra.retry import RetryPolicy
from streams._infra.s3server import S3Endpoint
from streams.deliver.ledger import DeliveryAttempt, DeliveryLedger, DeliveryStatus
from streams.deliver.policy import TargetPolicy
from streams.deliver.subscriptions import (
    Clock,
    LiveSubscriptionIndex,
    ObjectStoreTarget,
    QueueTarget,
    Subscription,
    SubscriptionNotFoundError,
    SubscriptionStore,
    WebhookTarget,
    utc_now,
)
from streams.deliver.targets import (
    copy_to_prefix,
    notification_body,
    post_webhook,
    webhook_client,
)
from streams.messages.products import ProductRecord

log = logging.getLogger(__name__)

DELIVERY_ATTEMPTS = Counter(
    "eoport_delivery_attempts",
    "Delivery attempts by target kind and outcome",
    ["kind", "status"],
)
DELIVERY_LATENCY = Histogram(
    "eoport_delivery_latency_seconds",
    "Sensing stop to delivered, per subscription delivery, s",
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600),
)


class DeliveryService:
    """Match products to subscriptions and deliver them, recording every attempt.

    Parameters
    ----------
    subscriptions
        Subscription store (the index follows its revision).
    ledger
        Delivery ledger and pull queues.
    policy
        Retry policy.
    clock
        Returns the current aware UTC time (tests pass a fake one).
    http
        HTTP client for webhooks (one with default settings if ``None``).
    s3
        S3 endpoint for ``s3://`` sources and destinations.
    rng
        Random source for backoff jitter.
    on_attempt
        Called with every recorded attempt (e.g. to publish it on ``deliveries``); from
        worker threads when ``max_parallel > 1``, so it must be thread-safe.
    http_timeout_s
        Timeout of the HTTP client the service creates when ``http`` is ``None``, s.
    max_parallel
        Deliveries of one product (or of one batch of due retries) run concurrently on
        this many threads, so a slow endpoint does not hold back the others.
    target_policy
        Which targets may be reached (default: public webhook addresses only, no
        object-store prefixes); checked before every send.
    """

    def __init__(
        self,
        subscriptions: SubscriptionStore,
        ledger: DeliveryLedger,
        *,
        policy: RetryPolicy | None = None,
        clock: Clock = utc_now,
        http: httpx.Client | None = None,
        s3: S3Endpoint | None = None,
        rng: random.Random | None = None,
        on_attempt: Callable[[DeliveryAttempt], None] | None = None,
        max_parallel: int = 8,
        http_timeout_s: float = 10.0,
        target_policy: TargetPolicy | None = None,
    ) -> None:
        self.subscriptions = subscriptions
        self.index = LiveSubscriptionIndex(subscriptions)
        self.ledger = ledger
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self._own_http = http is None
        self.http = http if http is not None else webhook_client(http_timeout_s)
        self.target_policy = target_policy or TargetPolicy()
        self.s3 = s3
        self.rng = rng or random.Random()
        self.on_attempt = on_attempt
        self._pool = (
            ThreadPoolExecutor(max_parallel, thread_name_prefix="eoport-deliver")
            if max_parallel > 1
            else None
        )

    def close(self) -> None:
        """Stop the worker threads; release the HTTP client if the service created it."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self._own_http:
            self.http.close()

    def _run(self, jobs: list[Callable[[], DeliveryAttempt]]) -> list[DeliveryAttempt]:
        if self._pool is None or len(jobs) < 2:
            return [job() for job in jobs]
        futures = [self._pool.submit(job) for job in jobs]
        wait(futures)
        return [f.result() for f in futures]

    # ------------------------------------------------------------------ public

    def handle(self, product: ProductRecord) -> list[DeliveryAttempt]:
        """Deliver a new product to every matching subscription not served yet.

        Returns the attempts made now (empty for a replayed product); every outcome is
        in the ledger when this returns.
        """
        jobs: list[Callable[[], DeliveryAttempt]] = []
        for sub in self.index.match_product(product):
            if self.ledger.get(sub.id, product.product_id) is not None:
                continue
            jobs.append(functools.partial(self._attempt, sub, product, None))
        return self._run(jobs)

    def retry_due(self, limit: int = 100) -> list[DeliveryAttempt]:
        """Attempt every pending delivery whose retry time has come."""
        jobs: list[Callable[[], DeliveryAttempt]] = []
        for previous, product in self.ledger.due(self.clock(), limit):
            try:
                sub = self.subscriptions.get(previous.subscription_id)
            except SubscriptionNotFoundError:
                jobs.append(
                    functools.partial(self._give_up, previous, product, "subscription deleted")
                )
                continue
            jobs.append(functools.partial(self._attempt, sub, product, previous))
        return self._run(jobs)

    def request_retry(self, subscription_id: str, product_id: str) -> DeliveryAttempt:
        """Schedule a failed (or pending) delivery for an attempt now, with a new budget."""
        return self.ledger.request_retry(subscription_id, product_id, self.clock())

    def next_retry(self) -> datetime | None:
        """When the earliest pending retry is due (``None``: nothing pending)."""
        return self.ledger.next_retry()

    # ------------------------------------------------------------------ core

    def _send(self, sub: Subscription, product: ProductRecord, now: datetime) -> None:
        target = sub.target
        if isinstance(target, WebhookTarget):
            body = notification_body(sub.notification_format, sub.id, product, now)
            post_webhook(
                self.http, target, sub.id, product, body=body, network=self.target_policy.network
            )
        elif isinstance(target, ObjectStoreTarget):
            self.target_policy.check_prefix(target, sub.owner)
            copy_to_prefix(target, product, self.s3)
        else:  # pragma: no cover - queue deliveries do not come here
            raise PermanentError(f"no sender for target kind {target.kind!r}")

    def _attempt(
        self, sub: Subscription, product: ProductRecord, previous: DeliveryAttempt | None
    ) -> DeliveryAttempt:
        now = self.clock()
        number = 1 if previous is None else previous.attempt + 1
        base = {
            "subscription_id": sub.id,
            "product_id": product.product_id,
            "target_kind": sub.target.kind,
            "target": sub.target.describe,
            "attempt": number,
            "first_attempt": now if previous is None else previous.first_attempt,
            "last_attempt": now,
            "budget_start": 0 if previous is None else previous.budget_start,
            "budget_started": now if previous is None else (previous.budget_started or now),
        }
        payload = product.with_timestamp("delivered", now)
        if isinstance(sub.target, QueueTarget):
            attempt = self._delivered(base, payload, now)
            self.ledger.record_enqueued(attempt, payload)
            return self._after(attempt)
        try:
            self._send(sub, payload, now)
        except PermanentError as exc:
            attempt = DeliveryAttempt.model_validate(
                {**base, "status": DeliveryStatus.FAILED, "error": str(exc)}
            )
        except (StreamError, OSError, httpx.HTTPError) as exc:
            attempt = self._retry_or_fail(base, exc, now)
        else:
            attempt = self._delivered(base, payload, self.clock())
        if attempt.status is DeliveryStatus.FAILED and isinstance(sub.target, WebhookTarget):
            # CDSE: after the push attempts the notification waits in the pull queue
            ack = self.ledger.record_failed_to_queue(attempt, product)
            attempt = attempt.model_copy(
                update={"error": f"{attempt.error}; waiting in the pull queue (AckId {ack})"}
            )
            self.ledger.record(attempt, product)
            return self._after(attempt)
        self.ledger.record(
            attempt, payload if attempt.status is DeliveryStatus.DELIVERED else product
        )
        return self._after(attempt)

    def _delivered(
        self, base: dict[str, object], payload: ProductRecord, when: datetime
    ) -> DeliveryAttempt:
        latency = (when - payload.sensing_stop).total_seconds()  # sensing stop -> acknowledged
        return DeliveryAttempt.model_validate(
            {
                **base,
                "status": DeliveryStatus.DELIVERED,
                "delivered_at": when,
                "latency_s": latency,
            }
        )

    def _retry_or_fail(
        self, base: dict[str, object], exc: Exception, now: datetime
    ) -> DeliveryAttempt:
        error = str(exc) or type(exc).__name__
        number = int(str(base["attempt"]))
        in_budget = number - int(str(base["budget_start"]))
        started = base["budget_started"]
        assert isinstance(started, datetime)
        age_s = (now - started).total_seconds()
        if self.policy.gives_up(in_budget, age_s):
            limit = self.policy.max_attempts
            why = (
                f"{in_budget} attempts"
                if limit is not None and in_budget >= limit
                else f"{age_s:.0f} s since the first attempt"
            )
            return DeliveryAttempt.model_validate(
                {**base, "status": DeliveryStatus.FAILED, "error": f"{error} (gave up after {why})"}
            )
        delay = self.policy.delay_for(exc, in_budget, self.rng)
        return DeliveryAttempt.model_validate(
            {
                **base,
                "status": DeliveryStatus.PENDING,
                "error": error,
                "next_retry": now + timedelta(seconds=delay),
            }
        )

    def _give_up(
        self, previous: DeliveryAttempt, product: ProductRecord, reason: str
    ) -> DeliveryAttempt:
        attempt = previous.model_copy(
            update={"status": DeliveryStatus.FAILED, "error": reason, "next_retry": None}
        )
        self.ledger.record(attempt, product)
        return self._after(attempt)

    def _after(self, attempt: DeliveryAttempt) -> DeliveryAttempt:
        DELIVERY_ATTEMPTS.labels(kind=attempt.target_kind, status=attempt.status.value).inc()
        if attempt.status is DeliveryStatus.DELIVERED and attempt.latency_s is not None:
            DELIVERY_LATENCY.observe(attempt.latency_s)
        if self.on_attempt is not None:
            self.on_attempt(attempt)
        return attempt
