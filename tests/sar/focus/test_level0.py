"""The public face of sar.focus and :func:`sar.focus.focus_file` (Level-0 file to
products, the same products as decoding and :func:`sar.process.focus_packets`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

import sar.focus
from sar.errors import Level0Error
from sar.focus import FocusWorkspace, focus_burst, focus_file, focus_stripmap
from sar.l0.packets import decode_packets
from sar.process import focus_packets
from sar.sim.datatake import simulate_datatake
from sar.sim.scene import Target

CENTER = (45.0, 8.0)
TARGETS = [Target(45.0, 8.0, 0.0, 100.0)]


def test_public_names() -> None:
    from sar.focus.level0 import focus_file as from_module
    from sar.focus.rda import focus_stripmap as rda_focus_stripmap
    from sar.focus.tops.burst import focus_burst as burst_focus_burst
    from sar.focus.tops.workspace import FocusWorkspace as Workspace

    assert sorted(sar.focus.__all__) == [
        "FocusWorkspace", "focus_burst", "focus_file", "focus_stripmap",
    ]  # fmt: skip
    assert focus_burst is burst_focus_burst and focus_stripmap is rda_focus_stripmap
    assert focus_file is from_module and FocusWorkspace is Workspace
    assert set(sar.focus.__all__) <= set(dir(sar.focus))
    with pytest.raises(AttributeError, match="no attribute 'focus_nothing'"):
        _ = sar.focus.focus_nothing  # type: ignore[attr-defined]


def test_stripmap_file_gives_the_products_of_its_packets(tmp_path: Path) -> None:
    sim = simulate_datatake("S3", CENTER, 1.0, TARGETS, baq="bypass", n_samples=4500)
    path = tmp_path / "raw.dat"
    path.write_bytes(sim.data)
    expected = list(focus_packets(decode_packets(sim.data)))
    for source in (path, str(path), sim.data):
        products = list(focus_file(source))
        assert [p.name for p in products] == [p.name for p in expected] == ["S3_VV"]
        for got, ref in zip(products, expected, strict=True):
            assert np.array_equal(got.slc.image, ref.slc.image)


def test_not_a_level0_file(tmp_path: Path) -> None:
    with pytest.raises(Level0Error, match="no valid space packet"):
        focus_file(b"\x00" * 64, strict=False)
    path = tmp_path / "zeros.dat"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(Level0Error, match="zeros.dat"):
        focus_file(path, strict=False)
    with pytest.raises(OSError):
        focus_file(tmp_path / "missing.dat")


class CountingWorkspace(FocusWorkspace):
    """A workspace that counts the output bursts taken from it."""

    def __init__(self) -> None:
        super().__init__()
        self.outputs = 0

    def take_output(self, shape: tuple[int, int]) -> npt.NDArray[np.complex64]:
        self.outputs += 1
        return super().take_output(shape)


def test_iw_file_focuses_every_burst_in_the_given_workspace() -> None:
    sim = simulate_datatake("IW", CENTER, 3.0, TARGETS, baq="bypass", n_samples=3600)
    workspace = CountingWorkspace()
    products = []
    for p in focus_file(sim.data, workspace=workspace):
        products.append((p.name, p.slc.image.copy()))
        workspace.recycle(p.slc.image)
    assert len(products) >= 3 and workspace.outputs == len(products)
    alone = list(focus_file(sim.data))
    assert [name for name, _ in products] == [p.name for p in alone]
    for (_, image), ref in zip(products, alone, strict=True):
        assert np.array_equal(image, ref.slc.image)
