"""Process entry points behind ``eoport run api`` and ``eoport run deliver``.

Both processes open the same embedded stores (:func:`eoport.api.app.open_state`): the
API writes subscriptions and reads the ledger; the ``deliver`` stage reads subscriptions
and writes the ledger.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import uvicorn

from eoport.api.app import ApiState, create_app, open_state
from eoport.config import ApiSettings, DeliverySettings
from streams.deliver.ledger import DeliveryAttempt
from streams.deliver.service import DeliveryService, RetryPolicy, publish_attempts, run_delivery
from streams.deliver.subscriptions import Clock, utc_now

FETCH_WAIT_MAX_MS = 10
"""librdkafka ``fetch.wait.max.ms`` of the delivery consumer. Tansu holds a fetch for
this long even when records are waiting (librdkafka's default 500 ms put ~190 ms median
between Kafka append and delivery; 10 ms brings it to ~8 ms on loopback)."""


def make_server(settings: ApiSettings, state: ApiState | None = None) -> uvicorn.Server:
    """A uvicorn server for the API on ``settings.host:settings.port`` (call ``run()``,
    or run it in a thread and set ``should_exit`` to stop it)."""
    app = create_app(settings, state=state)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        lifespan="off",
    )
    return uvicorn.Server(config)


def retry_policy(settings: DeliverySettings) -> RetryPolicy:
    """The retry policy configured by ``EOPORT_MAX_ATTEMPTS`` and ``EOPORT_BACKOFF_*``."""
    return RetryPolicy(
        max_attempts=settings.max_attempts,
        base_delay_s=settings.backoff_initial_s,
        max_delay_s=max(settings.backoff_max_s, settings.backoff_initial_s),
    )


def make_delivery_service(
    settings: DeliverySettings,
    state: ApiState | None = None,
    on_attempt: Callable[[DeliveryAttempt], None] | None = None,
    clock: Clock = utc_now,
) -> DeliveryService:
    """A :class:`~streams.delivery.DeliveryService` configured by ``settings``."""
    st = state if state is not None else open_state(settings, clock)
    return DeliveryService(
        st.subscriptions,
        st.ledger,
        policy=retry_policy(settings),
        clock=clock,
        http=httpx.Client(timeout=settings.http_timeout_s),
        s3=settings.s3_endpoint(),
        on_attempt=on_attempt,
    )


def run_deliver_stage(
    settings: DeliverySettings,
    state: ApiState | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run the ``deliver`` stage until ``stop`` is set: consume ``l1-products``, deliver,
    publish attempts on ``deliveries``, commit after the ledger.

    Returns
    -------
    int
        Delivery attempts made.
    """
    bus = settings.make_bus()
    producer = bus.producer()
    consumer = bus.consumer(
        settings.group_id,
        [settings.topics.l1_products],
        config={"fetch.wait.max.ms": FETCH_WAIT_MAX_MS},
    )
    service = make_delivery_service(
        settings, state, on_attempt=publish_attempts(producer, settings.topics.deliveries)
    )
    try:
        return run_delivery(
            consumer,
            service,
            producer=producer,
            dead_letters_topic=settings.topics.dead_letters,
            stop=stop,
        )
    finally:
        service.close()
        service.http.close()
        consumer.close()
        producer.flush()
        producer.close()
