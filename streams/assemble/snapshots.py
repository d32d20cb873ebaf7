"""Named snapshots of the assembler's per-partition state in the object store."""

from __future__ import annotations

from datetime import UTC, datetime

from streams._infra.errors import ObjectNotFoundError
from streams._infra.objectstore import ObjectStore
from streams.assemble.state import SNAPSHOT_FORMAT, PartitionSnapshot, parse_snapshot


class SnapshotStore:
    """Named partition snapshots in the object store (atomic replace on every save).

    Snapshots are JSON documents of :class:`~streams.assemble.state.PartitionSnapshot`
    (format :data:`~streams.assemble.state.SNAPSHOT_FORMAT`); older formats load,
    unknown ones are refused (:func:`~streams.assemble.state.parse_snapshot`).

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

    def save(self, name: str, snapshot: PartitionSnapshot) -> None:
        """Write ``snapshot`` under ``name``, replacing the previous one atomically."""
        stamped = snapshot.model_copy(
            update={"format": SNAPSHOT_FORMAT, "saved_at": datetime.now(UTC)}
        )
        self.store.put_bytes(self._url(name), stamped.model_dump_json().encode())

    def load(self, name: str) -> PartitionSnapshot | None:
        """The snapshot saved under ``name``, or ``None`` if there is none.

        Raises
        ------
        SnapshotFormatError
            A snapshot this version cannot read.
        """
        try:
            raw = self.store.get_bytes(self._url(name))
        except ObjectNotFoundError:
            return None
        return parse_snapshot(raw, self._url(name))


def partition_snapshot_name(topic: str, partition: int) -> str:
    """Snapshot name of one input partition: ``raw-chunks-3``."""
    return f"{topic}-{partition}"
