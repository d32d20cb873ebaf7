"""ObjectStore on a local directory and on S3 (moto): atomic, idempotent writes."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from streams._infra.errors import ConfigurationError, ObjectNotFoundError, ObjectStoreError
from streams._infra.objectstore import DeferredSync, ObjectStore
from streams._infra.s3server import LocalS3Server


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return ObjectStore(str(tmp_path / "objects"))
    server: LocalS3Server = request.getfixturevalue("s3_server")
    bucket = f"objects-{abs(hash(str(tmp_path))) % 10**8}"
    server.create_bucket(bucket)
    return ObjectStore(f"s3://{bucket}/eoport", s3=server.endpoint)


def test_put_get_exists_delete(store: ObjectStore) -> None:
    url = store.url("bursts/S1A/IW2/VV/249435.raw")
    assert not store.exists(url)
    with pytest.raises(ObjectNotFoundError, match="no object"):
        store.get_bytes(url)
    data = bytes(range(256)) * 1000
    assert store.put_bytes(url, data) == url
    assert store.exists(url) and store.get_bytes(url) == data
    store.put_bytes(url, data)  # idempotent rewrite
    assert store.get_bytes(url) == data
    store.delete(url)
    assert not store.exists(url)


def test_put_parts_writes_them_in_order(store: ObjectStore) -> None:
    # more parts than one writev call takes, empty ones among them
    parts = [bytes([i % 251]) * (i % 37) for i in range(2500)]
    url = store.put_parts(store.url("raw/parts.dat"), parts)
    assert store.get_bytes(url) == b"".join(parts)
    store.put_parts(url, [])
    assert store.get_bytes(url) == b""


def test_hdf5_product_written_by_path(store: ObjectStore) -> None:
    url = store.url("products/p1.h5")
    image = (np.arange(64, dtype=np.float32) + 1j).astype(np.complex64).reshape(8, 8)
    with store.write_path(url) as path:
        assert not store.exists(url)  # not before the block succeeds
        with h5py.File(path, "w") as h5:
            h5.create_dataset("slc", data=image)
    raw = store.get_bytes(url)
    assert raw[:8] == b"\x89HDF\r\n\x1a\n"
    local = Path(store.root.removeprefix("file://")) if "://" not in store.root else None
    if local is not None:
        with h5py.File(local / "products/p1.h5", "r") as h5:
            np.testing.assert_array_equal(h5["slc"][()], image)


def test_sync_written_inside_the_block_keeps_the_object_whole(store: ObjectStore) -> None:
    url = store.url("products/synced.bin")
    with store.write_path(url) as path:
        path.write_bytes(b"first part ")
        store.sync_written(path)  # flushed early (local) or nothing to do (S3)
        assert not store.exists(url)
        with path.open("ab") as f:
            f.write(b"and the rest")
    assert store.get_bytes(url) == b"first part and the rest"


def test_deferred_sync_publishes_at_once_and_waits_before_commit(store: ObjectStore) -> None:
    syncs = DeferredSync(store)
    try:
        url = syncs.put(store.url("raw/burst-1.dat"), [b"packet-%d" % i for i in range(1000)])
        expected = b"".join(b"packet-%d" % i for i in range(1000))
        assert store.get_bytes(url) == expected  # readable before the flush
        job = store.put_bytes(store.url("raw/burst-1.job.json"), b"{}", durable=False)
        syncs.track(job)
        assert syncs.pending == 2
        syncs.wait()
        assert syncs.pending == 0
    finally:
        syncs.close()


def test_deferred_sync_of_a_lost_object_is_retryable_until_rewritten(tmp_path: Path) -> None:
    store = ObjectStore(str(tmp_path / "objects"))
    syncs = DeferredSync(store)
    try:
        url = store.url("raw/never-written.dat")
        syncs.track(url)
        with pytest.raises(ObjectStoreError, match="not synced to disk"):
            syncs.wait()
        assert syncs.pending == 1  # flushed again at the next wait
        store.put_bytes(url, b"rewritten", durable=False)  # the stage redoes its records
        syncs.wait()
        assert syncs.pending == 0 and store.get_bytes(url) == b"rewritten"
    finally:
        syncs.close()


def test_failed_write_leaves_no_object(store: ObjectStore) -> None:
    url = store.url("products/broken.h5")
    with pytest.raises(RuntimeError), store.write_path(url) as path:
        path.write_bytes(b"partial")
        written = path
        raise RuntimeError("worker died")
    assert not store.exists(url)
    assert not written.exists()  # the temporary file is gone too


def test_local_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    store = ObjectStore(f"file://{tmp_path}/o")
    store.put_bytes(store.url("a/b.bin"), b"x")
    with store.write_path(store.url("a/c.h5")) as path:
        path.write_bytes(b"y")
    assert sorted(p.name for p in (tmp_path / "o" / "a").iterdir()) == ["b.bin", "c.h5"]


def test_unsupported_url_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="unsupported"):
        ObjectStore("gs://bucket")
