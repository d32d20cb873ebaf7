"""Named snapshots of the assembler's per-partition state in the object store."""

from __future__ import annotations

import json
from typing import Any

from streams._infra.errors import ObjectNotFoundError
from streams._infra.objectstore import ObjectStore


class SnapshotStore:
    """Named JSON snapshots in the object store (atomic replace on every save).

    Parameters
    ----------
    store
        Object store.
    prefix
        Key prefix, e.g. ``state/assembler``.
    """

    def __init__(self, store: ObjectStore, prefix: str) -> None:
        self.store = store
        self.prefix = prefix.strip("/")

    def _url(self, name: str) -> str:
        return self.store.url(f"{self.prefix}/{name}.json")

    def save(self, name: str, state: dict[str, Any]) -> None:
        """Write ``state`` under ``name``, replacing the previous snapshot atomically."""
        self.store.put_bytes(self._url(name), json.dumps(state, separators=(",", ":")).encode())

    def load(self, name: str) -> dict[str, Any] | None:
        """The snapshot saved under ``name``, or ``None`` if there is none."""
        try:
            raw = self.store.get_bytes(self._url(name))
        except ObjectNotFoundError:
            return None
        state: dict[str, Any] = json.loads(raw)
        return state


def partition_snapshot_name(topic: str, partition: int) -> str:
    """Snapshot name of one input partition: ``raw-chunks-3``."""
    return f"{topic}-{partition}"
