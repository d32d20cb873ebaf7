"""Worker warm-up and shared FFTW wisdom (through the object store)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sar.focus.fft import clear_plan_cache
from streams._infra.objectstore import ObjectStore
from streams.focus.warmup import SharedWisdom, nominal_bursts, warm_up

pyfftw = pytest.importorskip("pyfftw")


def test_nominal_bursts_have_each_sub_swath_shape() -> None:
    bursts = nominal_bursts(n_samples=4096)
    assert [b.swath for b in bursts] == ["IW1", "IW2", "IW3"]
    for b in bursts:
        # the window is rounded to whole quads of the swath's decimation
        assert 4096 <= b.echoes.shape[1] <= 4100 and 1300 < b.lines < 1700
        assert b.azimuth_steering_rate > 0 and b.prf > 1000


def test_wisdom_round_trips_through_the_object_store(tmp_path: Path) -> None:
    store = ObjectStore(str(tmp_path / "objects"))
    url = store.url("fftw/wisdom")
    shared = SharedWisdom(url, store)
    assert shared.load() is False  # nothing shared yet
    seconds = warm_up(("IW1",), n_samples=4096)
    assert set(seconds) == {"IW1"} and seconds["IW1"] > 0
    assert shared.save_if_changed() is True and store.exists(url)
    assert shared.save_if_changed() is False  # nothing new since
    # a fresh worker (plans forgotten here) imports what the first one saved
    clear_plan_cache()
    pyfftw.forget_wisdom()
    other = SharedWisdom(url, store)
    assert other.load() is True
    assert store.get_bytes(url).startswith(b"EOPORT-FFTW-WISDOM-1")


def test_unreadable_wisdom_is_ignored_not_fatal(tmp_path: Path) -> None:
    store = ObjectStore(str(tmp_path))
    url = store.url("broken.wisdom")
    store.put_bytes(url, b"not wisdom")
    assert SharedWisdom(url, store).load() is False
