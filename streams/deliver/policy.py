"""What a deployment allows subscriptions to do: targets, prefixes, limits.

:class:`TargetPolicy` is checked when a subscription is created (the API answers 422 or
403) and again by the ``deliver`` stage before each delivery (a stored subscription
whose target became unacceptable is not delivered to):

- webhooks: :class:`~streams.deliver.netguard.NetworkPolicy` (public addresses only,
  unless an allow-list network contains them);
- object stores: the prefix must lie under one of the prefixes the deployment grants the
  owner (``EOPORT_OBJECTSTORE_PREFIXES``: URL templates where ``{user}`` stands for the
  owner's id made path-safe); ``s3://`` targets must carry their own credentials.

:class:`SubscriptionLimits` are the per-user counts (CDSE defaults: one running
subscription, ten in all) and the pull-queue length (100,000; the oldest message is
dropped and counted beyond it). :class:`DeliveryPolicySettings` holds the settings both
the API and the ``deliver`` stage read (same ``EOPORT_*`` variables).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import Field, SecretStr

from streams._infra.errors import PermanentError
from streams._infra.settings import CommonSettings
from streams.deliver.models import ObjectStoreTarget, Target, WebhookTarget
from streams.deliver.netguard import BlockedTargetError, NetworkPolicy, Resolver

__all__ = [
    "DeliveryPolicySettings", "ForbiddenPrefixError", "LimitExceededError",
    "SubscriptionLimits", "TargetPolicy", "path_safe",
]  # fmt: skip

CDSE_MAX_RUNNING = 1
CDSE_MAX_TOTAL = 10
CDSE_QUEUE_LENGTH = 100_000
CDSE_PUSH_ATTEMPTS = 3


class ForbiddenPrefixError(PermanentError):
    """An object-store prefix outside the ones granted to the owner (API: 403)."""


class LimitExceededError(PermanentError):
    """A per-user subscription limit would be exceeded (API: 403)."""


def path_safe(owner: str) -> str:
    """``owner`` usable as one path segment: characters outside ``[A-Za-z0-9._-]``
    become ``_`` (``auth0|42`` -> ``auth0_42``); empty or dot-only ids become ``_``."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", owner)
    return "_" if safe.strip(".") == "" else safe


@dataclass(frozen=True)
class SubscriptionLimits:
    """Per-user limits (``None``: unlimited).

    Attributes
    ----------
    max_running
        Subscriptions with status ``active`` per user (CDSE: 1).
    max_total
        Subscriptions not ``cancelled`` per user (CDSE: 10).
    queue_length
        Messages kept in one pull queue; beyond it the oldest is dropped (and counted).
    """

    max_running: int | None = CDSE_MAX_RUNNING
    max_total: int | None = CDSE_MAX_TOTAL
    queue_length: int = CDSE_QUEUE_LENGTH


@dataclass(frozen=True)
class TargetPolicy:
    """Which targets a subscription may have.

    Parameters
    ----------
    network
        Addresses webhooks may reach.
    objectstore_prefixes
        URL templates of the prefixes owners may write under; ``{user}`` is replaced by
        :func:`path_safe` of the owner. Empty: no object-store targets.
    """

    network: NetworkPolicy = field(default_factory=NetworkPolicy)
    objectstore_prefixes: tuple[str, ...] = ()

    def granted_prefixes(self, owner: str) -> list[str]:
        """The prefixes ``owner`` may write under (each ending in ``/``)."""
        user = path_safe(owner)
        return [t.replace("{user}", user).rstrip("/") + "/" for t in self.objectstore_prefixes]

    def check(self, target: Target, owner: str) -> None:
        """Refuse a target this deployment does not allow for ``owner``.

        Raises
        ------
        BlockedTargetError
            A webhook URL that is not http(s) or resolves to a refused address.
        ForbiddenPrefixError
            An object-store prefix not granted to the owner, or an ``s3://`` prefix
            without its own credentials.
        """
        if isinstance(target, WebhookTarget):
            self.network.resolve(target.url)
        elif isinstance(target, ObjectStoreTarget):
            self.check_prefix(target, owner)

    def check_prefix(self, target: ObjectStoreTarget, owner: str) -> None:
        """See :meth:`check` (object stores)."""
        prefix = target.prefix.rstrip("/") + "/"
        if not any(prefix.startswith(p) for p in self.granted_prefixes(owner)):
            raise ForbiddenPrefixError(
                f"object-store prefix {target.prefix!r} is not one this deployment grants "
                "you (EOPORT_OBJECTSTORE_PREFIXES)"
            )
        if prefix.startswith("s3://") and (target.access_key is None or target.secret_key is None):
            raise ForbiddenPrefixError(
                "s3:// targets need their own access_key and secret_key: the service "
                "never writes with its own credentials"
            )


class DeliveryPolicySettings(CommonSettings):
    """Settings the API and the ``deliver`` stage share (same ``EOPORT_*`` variables).

    ``target_allow_networks``: addresses webhooks may reach although not public (the
    demo's local receiver: ``127.0.0.1/32``). ``objectstore_prefixes``: URL templates
    (``{user}``) owners may deliver under. ``secret_key``: Fernet key(s) encrypting
    stored secrets (default: ``STATE_DIR/secrets.key``, created 0600).
    """

    target_allow_networks: list[str] = Field(
        default_factory=list, description="networks webhooks may reach although not public"
    )
    objectstore_prefixes: list[str] = Field(
        default_factory=list, description="object-store prefix templates ({user}) granted"
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Fernet key(s), comma-separated (default: a key file)"
    )
    max_running_subscriptions: int | None = Field(default=CDSE_MAX_RUNNING, ge=1)
    max_subscriptions: int | None = Field(default=CDSE_MAX_TOTAL, ge=1)
    max_queue_length: int = Field(default=CDSE_QUEUE_LENGTH, ge=1, le=10_000_000)

    def target_policy(self, resolver: Resolver | None = None) -> TargetPolicy:
        """The target policy these settings describe.

        Raises
        ------
        ValueError
            An allow-list entry that is not a network.
        """
        return TargetPolicy(
            NetworkPolicy.from_strings(self.target_allow_networks, resolver),
            tuple(self.objectstore_prefixes),
        )

    def limits(self) -> SubscriptionLimits:
        """The per-user limits these settings describe."""
        return SubscriptionLimits(
            self.max_running_subscriptions, self.max_subscriptions, self.max_queue_length
        )

    def secret_key_value(self) -> str | None:
        """The configured key text, or ``None`` (use the key file)."""
        return None if self.secret_key is None else self.secret_key.get_secret_value()


__all__ += ["BlockedTargetError"]
