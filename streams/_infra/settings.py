"""Settings every stage process shares: broker, object store, topics, observability.

Each process validates its settings at start (:func:`load`), so a typo in a bootstrap
address or a chunk size over the Kafka limit stops the process with one clear message
instead of failing later. Variables are ``EOPORT_*``; nested fields use ``__``:
``EOPORT_TOPICS__FOCUS_JOBS=jobs``. Each stage wing derives its own settings class from
:class:`CommonSettings` (``streams.assemble.AssembleSettings`` ...), one per process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams._infra.bus import KafkaBus
from streams._infra.errors import ConfigurationError
from streams._infra.objectstore import ObjectStore
from streams._infra.s3server import S3Endpoint
from streams._infra.topics import TopicSpec, topic_specs


class TopicNames(BaseModel):
    """Topic names (defaults: :data:`streams._infra.topics.DEFAULT_TOPICS`)."""

    raw_chunks: str = "raw-chunks"
    focus_jobs: str = "focus-jobs"
    l1_products: str = "l1-products"
    deliveries: str = "deliveries"
    events: str = "events"
    dead_letters: str = "dead-letters"

    @field_validator("*")
    @classmethod
    def _valid_topic(cls, value: str) -> str:
        allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        if not value or len(value) > 249 or not set(value) <= allowed or value in {".", ".."}:
            raise ValueError(f"invalid Kafka topic name {value!r}")
        return value

    def specs(self) -> tuple[TopicSpec, ...]:
        """Topic specs (partition counts of :data:`streams._infra.topics.DEFAULT_TOPICS`)."""
        return topic_specs(
            {
                "raw-chunks": self.raw_chunks,
                "focus-jobs": self.focus_jobs,
                "l1-products": self.l1_products,
                "deliveries": self.deliveries,
                "events": self.events,
                "dead-letters": self.dead_letters,
            }
        )


class CommonSettings(BaseSettings):
    """Settings every process shares: broker, object store, topics, observability."""

    model_config = SettingsConfigDict(
        env_prefix="EOPORT_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    bootstrap_servers: str = Field(
        default="127.0.0.1:9092", description="Kafka bootstrap servers, host:port[,host:port]"
    )
    client_id: str = "eoport"
    session_timeout_ms: int = Field(default=45_000, ge=1_000, le=300_000)
    fetch_wait_max_ms: int = Field(
        default=200,
        ge=1,
        le=10_000,
        description="longest wait of a fetch that finds no data, ms (see streams KafkaBus)",
    )
    message_timeout_ms: int = Field(
        default=120_000, ge=1_000, description="How long the producer retries one record, ms"
    )
    object_store_url: str = Field(
        default="./var/objects", description="Root of large objects: path, file:// or s3://"
    )
    s3_endpoint_url: str | None = Field(default=None, description="S3 endpoint (non-AWS)")
    s3_access_key: str = "eoport"
    s3_secret_key: SecretStr = SecretStr("eoport-secret")
    s3_region: str = "eu-central-1"
    topics: TopicNames = TopicNames()
    metrics_port: int | None = Field(default=None, ge=1, le=65_535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    state_dir: Path = Field(
        default=Path("./var/state"),
        description="embedded stores (subscriptions, delivery ledger, catalogue, snapshots)",
    )

    @field_validator("bootstrap_servers")
    @classmethod
    def _valid_bootstrap(cls, value: str) -> str:
        for server in value.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65_536:
                raise ValueError(f"bootstrap server {server!r} is not host:port")
        return value

    @field_validator("object_store_url")
    @classmethod
    def _valid_store(cls, value: str) -> str:
        if "://" in value and not value.startswith(("file://", "s3://")):
            raise ValueError(f"object store URL {value!r}: use a path, file:// or s3://")
        return value

    def to_env(self) -> dict[str, str]:
        """These settings as ``EOPORT_*`` environment variables (nested fields with
        ``__``; secrets included), to start another process with the same settings."""
        out: dict[str, str] = {}

        def put(prefix: str, value: object) -> None:
            if value is None:
                return
            if isinstance(value, BaseModel):
                for name in type(value).model_fields:
                    put(f"{prefix}__{name.upper()}", getattr(value, name))
            elif isinstance(value, SecretStr):
                out[prefix] = value.get_secret_value()
            elif isinstance(value, bool):
                out[prefix] = "true" if value else "false"
            elif isinstance(value, list | dict | tuple):
                import json

                out[prefix] = json.dumps(value, default=str)
            else:
                out[prefix] = str(value)

        for name in type(self).model_fields:
            put(f"EOPORT_{name.upper()}", getattr(self, name))
        return out

    def s3_endpoint(self) -> S3Endpoint | None:
        """The configured S3 endpoint, or ``None`` (AWS defaults)."""
        if self.s3_endpoint_url is None:
            return None
        return S3Endpoint(
            endpoint_url=self.s3_endpoint_url,
            access_key=self.s3_access_key,
            secret_key=self.s3_secret_key.get_secret_value(),
            region=self.s3_region,
        )

    def make_bus(self) -> KafkaBus:
        """The message bus these settings point at."""
        return KafkaBus(
            self.bootstrap_servers,
            client_id=self.client_id,
            session_timeout_ms=self.session_timeout_ms,
            message_timeout_ms=self.message_timeout_ms,
            fetch_wait_max_ms=self.fetch_wait_max_ms,
        )

    def make_object_store(self) -> ObjectStore:
        """The object store these settings point at."""
        return ObjectStore(self.object_store_url, s3=self.s3_endpoint())


S = TypeVar("S", bound=CommonSettings)
SettingsT = TypeVar("SettingsT", bound=CommonSettings)
"""A settings class (for functions generic over settings models)."""


def load(model: type[S]) -> S:
    """Read and validate ``model`` from the environment.

    Raises
    ------
    ConfigurationError
        With every invalid variable listed on one line.
    """
    try:
        return model()
    except ValidationError as exc:
        problems = "; ".join(
            f"EOPORT_{'__'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid {model.__name__}: {problems}") from exc


def derive_settings(model: type[S], base: CommonSettings, **overrides: Any) -> S:
    """Settings of one stage for a process that runs several (the API, the demo): the
    connection fields of ``base`` (broker, object store, topics, state directory), the
    stage's own fields from the environment or their defaults, then ``overrides`` (only
    the fields ``model`` has)."""
    shared = base.model_dump(exclude={"client_id"}, include=set(CommonSettings.model_fields))
    own = {k: v for k, v in overrides.items() if k in model.model_fields}
    return model(**(shared | own))
