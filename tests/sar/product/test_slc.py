"""Round trip, windowed reads and error cases of the HDF5 SLC product."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import fsspec
import h5py
import numpy as np
import pytest

import sar
from sar.errors import ProductError
from sar.product.model import SlcImage
from sar.product.slc import (
    PRODUCT_FORMAT_VERSION,
    product_history,
    read_geolocation_grid,
    read_slc,
    write_slc,
)

MICROSECOND = 1e-6

PNG_BYTES = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\x00" * 64


def assert_same(a: SlcImage, b: SlcImage) -> None:
    """Every field equal; GPS times to 1 microsecond (ISO strings in the file)."""
    for f in dataclasses.fields(SlcImage):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "image":
            assert x.dtype == y.dtype == np.complex64
            np.testing.assert_array_equal(x, y)
        elif f.name == "first_line_time":
            assert abs(x - y) <= 0.5 * MICROSECOND + 1e-9
        elif f.name == "orbit":
            np.testing.assert_allclose(x.times, y.times, rtol=0, atol=0.5 * MICROSECOND + 1e-9)
            np.testing.assert_array_equal(x.positions, y.positions)
            np.testing.assert_array_equal(x.velocities, y.velocities)
        elif f.name in {"doppler_centroid", "fm_rate"}:
            assert len(x) == len(y)
            for p, q in zip(x, y, strict=True):
                assert abs(p.azimuth_time - q.azimuth_time) <= 0.5 * MICROSECOND + 1e-9
                assert p.t0 == q.t0
                assert p.coefficients == q.coefficients
        else:
            assert x == y, f.name
            assert type(x) is type(y), f.name


def test_round_trip_local_path(small_slc: SlcImage, tmp_path: Path) -> None:
    path = tmp_path / "burst.h5"
    write_slc(path, small_slc)
    assert not (tmp_path / "burst.h5.part").exists()
    back = read_slc(path)
    assert_same(small_slc, back)
    assert back.metadata == {"orbit_number": 61234, "scale": 1.25, "note": "zürich ✓"}


def test_round_trip_fsspec_memory_and_history(small_slc: SlcImage) -> None:
    fs = fsspec.filesystem("memory")
    history = {"steps": [{"name": "focus", "software": "eoport"}], "input": "s3://raw/x.dat"}
    with fs.open("/products/burst.h5", "wb") as fobj:
        write_slc(fobj, small_slc, history=history)
    with fs.open("/products/burst.h5", "rb") as fobj:
        back = read_slc(fobj)
    assert product_history(back) == history
    meta = dict(back.metadata)
    del meta["processing_history"]
    assert_same(small_slc, dataclasses.replace(back, metadata=meta))
    # written again, the history travels along
    buf = io.BytesIO()
    write_slc(buf, back)
    assert product_history(read_slc(io.BytesIO(buf.getvalue()))) == history


def test_layout_attributes(small_slc: SlcImage, tmp_path: Path) -> None:
    path = tmp_path / "burst.h5"
    write_slc(path, small_slc, history={"a": 1}, compression="gzip")
    with h5py.File(path, "r") as f:
        ds = f["image"]
        assert ds.dtype == np.complex64 and ds.shape == (120, 300)
        assert ds.chunks is not None and ds.compression is not None
        assert f.attrs["first_line_utc"].endswith("Z")
        assert len(f.attrs["first_line_utc"].split(".")[1]) == 7  # 6 digits + Z
        assert f.attrs["software_version"] == sar.__version__
        assert f.attrs["product_format_version"] == PRODUCT_FORMAT_VERSION
        assert json.loads(f.attrs["processing_history"]) == {"a": 1}
        assert list(f.attrs["valid_lines"]) == [19, 102]
        assert f["orbit/position"].shape == (f["orbit/time_utc"].shape[0], 3)
        assert f["orbit/time_utc"].asstr()[0].endswith("Z")
        assert f["doppler_centroid/coefficients"].shape == (2, 3)
        assert np.isnan(f["doppler_centroid/coefficients"][1, 2])
        assert f["geolocation_grid/corners"].shape == (4, 2)
        assert f["geolocation_grid/latitude"].shape == (11, 21)


def test_geolocation_grid(small_slc: SlcImage, tmp_path: Path) -> None:
    path = tmp_path / "burst.h5"
    write_slc(path, small_slc)
    grid = read_geolocation_grid(path)
    # the scene centre (line 60, sample 150) was placed at 45 N 7 E
    i = int(np.argmin(np.abs(grid.line - 60)))
    j = int(np.argmin(np.abs(grid.sample - 150)))
    assert grid.line[i] == pytest.approx(59.5, abs=0.6)
    assert grid.latitude[i, j] == pytest.approx(45.0, abs=2e-3)
    assert grid.longitude[i, j] == pytest.approx(7.0, abs=2e-3)
    np.testing.assert_allclose(grid.height, 0.0, atol=1e-3)
    # look angle 35 deg at 693 km: incidence about 39.5 deg, rising with range
    assert 38.0 < grid.incidence_angle[i, j] < 41.0
    assert np.all(np.diff(grid.incidence_angle, axis=1) > 0)
    assert np.all(np.diff(grid.slant_range_time) > 0)
    np.testing.assert_allclose(
        grid.azimuth_time,
        small_slc.first_line_time + grid.line * small_slc.azimuth_time_interval,
        atol=1e-6,
    )


@pytest.mark.parametrize(
    ("window", "shape"),
    [
        ((slice(10, 30), slice(100, 164)), (20, 64)),
        ((slice(None), slice(290, None)), (120, 10)),
        ((slice(-5, None), slice(0, 1)), (5, 1)),
    ],
)
def test_windowed_read(
    small_slc: SlcImage, tmp_path: Path, window: tuple[slice, slice], shape: tuple[int, int]
) -> None:
    path = tmp_path / "burst.h5"
    write_slc(path, small_slc)
    with open(path, "rb") as fobj:
        part = read_slc(fobj, window=window)
    assert part.image.shape == shape
    np.testing.assert_array_equal(part.image, small_slc.image[window])
    l0 = window[0].indices(120)[0]
    s0 = window[1].indices(300)[0]
    assert part.first_line_time == pytest.approx(small_slc.line_time(l0), abs=1e-6)
    assert part.slant_range_time == pytest.approx(small_slc.sample_range_time(s0), abs=1e-15)
    v0, v1 = part.valid_lines
    assert 0 <= v0 <= v1 <= shape[0]
    if (l0, shape[0]) == (10, 20):
        assert part.valid_lines == (9, 20)
        assert part.valid_samples == (0, 64)
    if s0 == 290:
        assert part.valid_samples == (0, 0)


def test_bad_window(small_slc: SlcImage, tmp_path: Path) -> None:
    path = tmp_path / "burst.h5"
    write_slc(path, small_slc)
    with pytest.raises(ProductError, match="step 1"):
        read_slc(path, window=(slice(0, 10, 2), slice(0, 10)))
    with pytest.raises(ProductError, match="no lines"):
        read_slc(path, window=(slice(200, 300), slice(0, 10)))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProductError, match="does not exist"):
        read_slc(tmp_path / "nothing.h5")


def test_not_hdf5(tmp_path: Path) -> None:
    path = tmp_path / "picture.h5"
    path.write_bytes(PNG_BYTES)
    with pytest.raises(ProductError, match="not a readable HDF5"):
        read_slc(path)
    with pytest.raises(ProductError, match="not a readable HDF5"):
        read_slc(io.BytesIO(PNG_BYTES))


def test_missing_parts(small_slc: SlcImage, tmp_path: Path) -> None:
    path = tmp_path / "burst.h5"
    write_slc(path, small_slc)
    with h5py.File(path, "a") as f:
        del f["image"]
    with pytest.raises(ProductError, match="missing dataset /image"):
        read_slc(path)
    write_slc(path, small_slc)
    with h5py.File(path, "a") as f:
        del f.attrs["radar_frequency"]
    with pytest.raises(ProductError, match="'radar_frequency'"):
        read_slc(path)
    write_slc(path, small_slc)
    with h5py.File(path, "a") as f:
        del f["orbit/velocity"]
    with pytest.raises(ProductError, match="/orbit/velocity"):
        read_slc(path)


def test_write_rejects_bad_input(small_slc: SlcImage, tmp_path: Path) -> None:
    bad_meta = dataclasses.replace(small_slc, metadata={"mode": "SM"})
    with pytest.raises(ProductError, match="clashes"):
        write_slc(tmp_path / "a.h5", bad_meta)
    with pytest.raises(ProductError, match="JSON"):
        write_slc(tmp_path / "a.h5", small_slc, history={"x": object()})
    assert not (tmp_path / "a.h5").exists()
    assert not (tmp_path / "a.h5.part").exists()
    far = dataclasses.replace(small_slc, first_line_time=small_slc.first_line_time + 1e4)
    with pytest.raises(ProductError, match="geolocate"):
        write_slc(tmp_path / "a.h5", far)


@pytest.mark.parametrize("compression", ["gzip", "lzf", "none"])
def test_multi_chunk_compressions(small_slc: SlcImage, tmp_path: Path, compression: str) -> None:
    rng = np.random.default_rng(5)
    big = (rng.normal(size=(300, 2500)) + 1j * rng.normal(size=(300, 2500))).astype(np.complex64)
    big[:19] = 0  # zero-filled invalid lines compress
    slc = dataclasses.replace(small_slc, image=big, valid_lines=(19, 300), valid_samples=(0, 2500))
    path = tmp_path / f"{compression}.h5"
    write_slc(path, slc, compression=compression)
    assert_same(slc, read_slc(path))
    with h5py.File(path, "r") as f:
        assert f["image"].chunks == (None if compression == "none" else (128, 1024))
        assert f["image"].compression == (None if compression == "none" else compression)
        assert f["image"].shuffle == (compression != "none")
    part = read_slc(path, window=(slice(120, 140), slice(1000, 1030)))
    np.testing.assert_array_equal(part.image, big[120:140, 1000:1030])
    if compression == "gzip":
        assert path.stat().st_size < 0.97 * big.nbytes
    with pytest.raises(ProductError, match="compression"):
        write_slc(path, slc, compression="zstd")


def test_fsspec_url(small_slc: SlcImage) -> None:
    url = "memory://eoport-test/slc/burst.h5"
    write_slc(url, small_slc, history={"k": "v"})
    back = read_slc(url, window=(slice(0, 8), slice(0, 8)))
    np.testing.assert_array_equal(back.image, small_slc.image[:8, :8])
    assert product_history(back) == {"k": "v"}
    fsspec.filesystem("memory").rm(url)
    with pytest.raises(ProductError, match="does not exist"):
        read_slc(url)


class CountingReader(io.BytesIO):
    """A file object that counts the bytes h5py pulls through it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        out = super().read(size)
        self.bytes_read += len(out)
        return out

    def readinto(self, buffer: Any) -> int:
        n = super().readinto(buffer)
        self.bytes_read += n
        return n


def test_windowed_read_reads_only_its_chunks(small_slc: SlcImage) -> None:
    rng = np.random.default_rng(9)
    big = (rng.normal(size=(512, 4096)) + 1j * rng.normal(size=(512, 4096))).astype(np.complex64)
    buf = io.BytesIO()
    write_slc(buf, dataclasses.replace(small_slc, image=big), compression="none")
    data = buf.getvalue()
    whole = CountingReader(data)
    read_slc(whole)
    part = CountingReader(data)
    got = read_slc(part, window=(slice(130, 190), slice(1030, 1090)))  # inside one chunk
    np.testing.assert_array_equal(got.image, big[130:190, 1030:1090])
    assert whole.bytes_read >= big.nbytes
    assert part.bytes_read < 0.1 * big.nbytes  # 1 MiB chunk + metadata of a 16 MiB image


def test_missing_lines_round_trip(small_slc: SlcImage, tmp_path: Path) -> None:
    from sar.product.model import MissingLines

    gaps = MissingLines(ranges=((10, 25), (40, 41)), lines=300, first_line_time=1.4e9 + 0.25,
                        line_interval=5.8e-4)  # fmt: skip
    slc = dataclasses.replace(small_slc, missing=gaps)
    assert not slc.complete and gaps.count == 16
    path = tmp_path / "holes.h5"
    write_slc(path, slc)
    with h5py.File(path) as f:
        assert f.attrs["product_format_version"] == "1.1"
        assert int(f.attrs["complete"]) == 0
        np.testing.assert_array_equal(f["quality/missing_lines"][()], [[10, 25], [40, 41]])
        assert int(f["quality"].attrs["raw_lines"]) == 300
    back = read_slc(path)
    assert back.missing is not None and back.missing.ranges == gaps.ranges
    assert back.missing.lines == 300 and back.missing.line_interval == gaps.line_interval
    assert abs(back.missing.first_line_time - gaps.first_line_time) < 1e-6
    assert not back.complete and "complete" not in back.metadata


def test_version_1_0_products_read_as_complete(small_slc: SlcImage, tmp_path: Path) -> None:
    path = tmp_path / "old.h5"
    write_slc(path, small_slc)
    with h5py.File(path, "a") as f:  # what a 1.0 writer produced
        del f["quality"]
        del f.attrs["complete"]
        f.attrs["product_format_version"] = "1.0"
    back = read_slc(path)
    assert back.complete and back.missing is None
    np.testing.assert_array_equal(back.image, small_slc.image)
