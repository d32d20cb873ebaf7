"""The streaming layer: Kafka topics and the stage processors of the chain.

Wings, in the order data flows (each has one door: its settings and ``build_*``):

- :mod:`streams.ingest` — what a ground station delivers, onto ``raw-chunks``;
- :mod:`streams.assemble` — chunks to complete bursts (a burst's key is made here);
- :mod:`streams.focus` — bursts to Level-1 products;
- :mod:`streams.deliver` — products to subscribers;

over :mod:`streams.messages` (the topics' payloads) and a private infrastructure layer
(``streams._infra``: bus, broker, object store, topics, the one stage runtime and its
retry policy). What the application needs from that layer is re-exported here.
"""

from streams._infra.broker import LocalBroker
from streams._infra.bus import KafkaBus
from streams._infra.errors import (
    BrokerUnavailableError,
    ConfigurationError,
    PermanentError,
    RetryableError,
    StreamError,
)
from streams._infra.lag import GroupLag, PartitionLag, group_lag
from streams._infra.objectstore import ObjectStore
from streams._infra.ports import find_free_port
from streams._infra.probes import ProbeServer, event_check
from streams._infra.records import OutgoingRecord, Record
from streams._infra.runtime import RuntimeConfig, StageBase, StageRuntime, flush_reliably
from streams._infra.s3server import LocalS3Server, S3Endpoint
from streams._infra.settings import CommonSettings, SettingsT, TopicNames, derive_settings, load
from streams._infra.topics import DEFAULT_TOPICS, TopicSpec, ensure_topics

__all__ = [
    "DEFAULT_TOPICS", "BrokerUnavailableError", "CommonSettings", "ConfigurationError",
    "GroupLag", "KafkaBus", "LocalBroker", "LocalS3Server", "ObjectStore", "OutgoingRecord",
    "PartitionLag", "PermanentError", "ProbeServer", "Record", "RetryableError",
    "RuntimeConfig", "S3Endpoint", "SettingsT", "StageBase", "StageRuntime", "StreamError",
    "TopicNames", "TopicSpec", "derive_settings", "ensure_topics", "event_check",
    "find_free_port", "flush_reliably", "group_lag", "load",
]  # fmt: skip
