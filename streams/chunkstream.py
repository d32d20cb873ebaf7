"""Transitional alias of :mod:`streams.assemble.chunkstream` (removed when the session ends)."""

from streams.assemble.chunkstream import *  # noqa: F403
from streams.assemble.snapshots import SnapshotStore, partition_snapshot_name  # noqa: F401
