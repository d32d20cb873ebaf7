"""The ``deliver`` wing: ``l1-products`` -> subscribers.

Subscriptions and their areas of interest (:mod:`.models`, :mod:`.subscriptions`), the
ledger of what was delivered and the pull queues (:mod:`.ledger`), the senders
(:mod:`.targets`), the delivery core with its retries (:mod:`.service`) and the stage
(:mod:`.stage`); what targets may be (:mod:`.policy`, :mod:`.netguard`), secrets at rest
(:mod:`.secrets`) and the embedded API keys (:mod:`.apikeys`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from streams._infra.retry import RetryPolicy
from streams._infra.runtime import StageRuntime
from streams._infra.topics import ensure_topics
from streams.deliver.ledger import DeliveryAttempt, DeliveryLedger
from streams.deliver.models import Clock, utc_now
from streams.deliver.policy import CDSE_PUSH_ATTEMPTS, DeliveryPolicySettings
from streams.deliver.secrets import SecretBox
from streams.deliver.service import DeliveryService
from streams.deliver.stage import Deliverer
from streams.deliver.subscriptions import SqliteSubscriptionStore, SubscriptionStore
from streams.messages.stages import stage_config

__all__ = [
    "DeliveryPolicySettings", "DeliveryService", "DeliverySettings", "DeliveryStores",
    "Deliverer", "build_deliverer", "open_stores", "stores_for",
]  # fmt: skip

SUBSCRIPTIONS_FILE = "subscriptions.sqlite"
LEDGER_FILE = "deliveries.sqlite"


class DeliverySettings(DeliveryPolicySettings):
    """Product delivery to subscribers (``eoport run deliver``).

    ``max_attempts``: push attempts before a webhook notification waits in the pull
    queue (CDSE: 3); the same budget applies to object-store copies (then ``failed``).
    """

    client_id: str = "eoport-delivery"
    group_id: str = "eoport-delivery"
    max_attempts: int = Field(default=CDSE_PUSH_ATTEMPTS, ge=1)
    backoff_initial_s: float = Field(default=1.0, gt=0)
    backoff_max_s: float = Field(default=300.0, gt=0)
    http_timeout_s: float = Field(default=10.0, gt=0)
    stall_after_s: float = Field(
        default=30.0, gt=0, description="watchdog: recreate a consumer idle while lagging, s"
    )

    def retry_policy(self) -> RetryPolicy:
        """The policy of failed deliveries (``EOPORT_MAX_ATTEMPTS``, ``EOPORT_BACKOFF_*``)."""
        return RetryPolicy(
            max_attempts=self.max_attempts,
            base_delay_s=self.backoff_initial_s,
            max_delay_s=max(self.backoff_max_s, self.backoff_initial_s),
        )


@dataclass
class DeliveryStores:
    """The embedded stores the ``deliver`` stage and the API share.

    Attributes
    ----------
    subscriptions
        Subscription store.
    ledger
        Delivery ledger and pull queues.
    """

    subscriptions: SubscriptionStore
    ledger: DeliveryLedger


def open_stores(
    state_dir: Path | str, *, secret_key: str | None = None, max_queue_length: int = 100_000
) -> DeliveryStores:
    """Open (creating if needed, mode 0600) the subscription store and the delivery
    ledger under ``state_dir``: the API, the ``deliver`` stage and the assembler open the
    same two files. Secrets are sealed with ``secret_key`` (default: the key file
    ``state_dir/secrets.key``, created 0600)."""
    base = Path(state_dir)
    box = SecretBox.for_state_dir(base, secret_key)
    return DeliveryStores(
        SqliteSubscriptionStore(base / SUBSCRIPTIONS_FILE, box),
        DeliveryLedger(base / LEDGER_FILE, max_queue_length=max_queue_length),
    )


def stores_for(settings: DeliveryPolicySettings) -> DeliveryStores:
    """The stores ``settings`` name (state directory, secret key, queue length)."""
    return open_stores(
        settings.state_dir,
        secret_key=settings.secret_key_value(),
        max_queue_length=settings.max_queue_length,
    )


def build_deliverer(
    settings: DeliverySettings,
    *,
    stores: DeliveryStores | None = None,
    clock: Clock = utc_now,
    on_attempt: Callable[[DeliveryAttempt], None] | None = None,
) -> StageRuntime:
    """The ``deliver`` stage configured by ``settings``, ready to :meth:`~StageRuntime.run`.

    ``stores`` replaces the stores under ``settings.state_dir`` (tests, the demo).
    """
    st = stores if stores is not None else stores_for(settings)
    bus = settings.make_bus()
    ensure_topics(bus, settings.topics.specs())
    service = DeliveryService(
        st.subscriptions,
        st.ledger,
        policy=settings.retry_policy(),
        clock=clock,
        http_timeout_s=settings.http_timeout_s,
        s3=settings.s3_endpoint(),
        on_attempt=on_attempt,
        target_policy=settings.target_policy(),
    )
    stage = Deliverer(service, deliveries_topic=settings.topics.deliveries)
    config = stage_config(
        settings, group_id=settings.group_id, topics=[settings.topics.l1_products],
        max_batch=100, poll_timeout_s=0.5,
    )  # fmt: skip
    return StageRuntime(stage, bus, config)
