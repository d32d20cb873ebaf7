"""Process settings, one model per process, read from ``EOPORT_*`` environment variables.

Each process validates its settings at start (:func:`load`), so a typo in a bootstrap
address or a chunk size over the Kafka limit stops the process with one clear message
instead of failing later. Nested fields use ``__``: ``EOPORT_TOPICS__FOCUS_JOBS=jobs``.
The stage settings live with their stage (one door per wing: settings + ``build_*``);
this module adds the application's own processes.

=====================  ==============================================  ==================
process                model                                           consumer group
=====================  ==============================================  ==================
``eoport run ingest``  :class:`streams.ingest.IngestSettings`          (producer only)
``eoport run assemble`` :class:`streams.assemble.AssemblerSettings`    ``eoport-assembler``
``eoport run focus``   :class:`streams.focus.FocusWorkerSettings`      ``eoport-focus``
``eoport run deliver`` :class:`streams.deliver.DeliverySettings`       ``eoport-delivery``
``eoport run catalogue`` :class:`streams.catalogue.CatalogueSettings` ``eoport-catalogue``
``eoport run timeline`` :class:`streams.timeline.TimelineSettings`    ``eoport-timeline``
``eoport run api``     :class:`ApiSettings`                            (as the two above)
``eoport demo``        :class:`DemoSettings`                           all of the above
=====================  ==============================================  ==================
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from streams import CommonSettings, TopicNames, load
from streams.assemble import AssemblerSettings
from streams.catalogue import CatalogueSettings
from streams.deliver import DeliveryPolicySettings, DeliverySettings
from streams.focus import FocusWorkerSettings
from streams.ingest import IngestSettings

__all__ = [
    "ApiSettings", "AssemblerSettings", "CatalogueSettings", "CommonSettings", "DemoSettings",
    "DeliverySettings", "FocusWorkerSettings", "IngestSettings", "TopicNames", "load",
]  # fmt: skip


ALLOWED_JWS_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
"""Asymmetric JWS algorithms a deployment may allow for OIDC tokens (never ``none`` or
HMAC: a public key must never double as a shared secret)."""


class ApiSettings(CatalogueSettings, DeliveryPolicySettings):
    """HTTP API and metrics (``eoport run api``): subscriptions, STAC, health.

    The API process also indexes ``l1-products`` into the STAC catalogue and keeps the
    latency timeline of the dashboard, unless ``index_products`` / ``run_timeline`` are
    off (then run ``eoport run catalogue`` / ``eoport run timeline`` beside it).
    """

    client_id: str = "eoport-api"
    index_products: bool = Field(
        default=True, description="run the catalogue indexer in the API process"
    )
    run_timeline: bool = Field(
        default=True, description="run the latency timeline service in the API process"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65_535)
    # -- access control (eoport.api.auth; owned by the auth work). Target policy, secret
    # key and per-user limits: streams.deliver.DeliveryPolicySettings (shared with
    # ``eoport run deliver``).
    api_keys: bool = Field(default=True, description="accept API keys of the embedded store")
    oidc_issuer: str | None = Field(default=None, description="OpenID Connect issuer URL")
    oidc_audience: str | None = Field(default=None, description="expected token audience")
    oidc_jwks_url: str | None = Field(default=None, description="JWKS URL (default: discovery)")
    oidc_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "PS256", "ES256"])
    oidc_roles_claim: str = Field(default="roles", description="dotted path of the roles claim")
    oidc_leeway_s: float = Field(default=30.0, ge=0.0, le=300.0)
    oidc_jwks_ttl_s: float = Field(default=600.0, ge=1.0)
    oidc_jwks_min_refresh_s: float = Field(default=30.0, ge=0.0)
    admin_role: str = Field(default="admin", min_length=1)
    stac_public: bool = Field(default=True, description="STAC search without credentials")
    dashboard_public_aois: bool = Field(
        default=False,
        description="dashboard map shows every AOI to anyone (else own AOIs; admins all)",
    )
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)

    @field_validator("oidc_algorithms")
    @classmethod
    def _asymmetric(cls, v: list[str]) -> list[str]:
        bad = sorted(set(v) - ALLOWED_JWS_ALGORITHMS)
        if bad or not v:
            raise ValueError(f"JWS algorithms must be asymmetric ones, got {bad or v}")
        return v

    @model_validator(mode="after")
    def _oidc_complete(self) -> ApiSettings:
        if self.oidc_issuer and not self.oidc_audience:
            raise ValueError("oidc_issuer needs oidc_audience (tokens' 'aud' is checked)")
        return self


class DemoSettings(CommonSettings):
    """One-command local pipeline (``eoport demo``): broker, object store, every stage.

    Stage settings (``EOPORT_GAP_TIMEOUT_S`` ...) apply to the demo's stages too.
    """

    client_id: str = "eoport-demo"
    broker_storage: Literal["memory", "s3"] = Field(
        default="memory",
        description="memory: a broker crash loses the pass; s3: a local S3 server keeps "
        "the broker's data across a broker crash",
    )
    speedup: float = Field(default=1.0, gt=0)
    focus_workers: int = Field(default=1, ge=1, le=24, description="threads, no autoscale")
    focus: Literal["subscriptions", "all"] = Field(
        default="subscriptions",
        description="focus only bursts a subscription wants (early selection), or all",
    )
    autoscale: str | None = Field(
        default="1..2",
        description="MIN..MAX focusing worker processes scaled with the backlog "
        "(none: focus_workers threads)",
    )
    work_dir: str | None = Field(
        default=None, description="where the demo keeps its data (default: a new temp dir)"
    )
    keep: bool = Field(default=False, description="keep work_dir after the demo")
    session_timeout_ms: int = Field(default=6_000, ge=1_000, le=300_000)
