"""Full-size IW bursts: L1 point-target quality everywhere in the burst (issue 12).

One 8.3 s IW pass (three burst cycles) with the full echo window (21,000-25,000 samples
per line), dual polarisation (VV+VH, both receive channels interleaved in one file as a
passthrough dump holds them), FDBAQ, a grid of point targets at near, mid and far range
of each sub-swath and at the start, middle and end of the middle cycle's bursts' valid
area (:func:`sar.quality.grid.plan_iw_grid`). It is focused twice through the Level-0
path of ``eoport focus``: the interleaved dual-polarisation file, and the VH channel
alone (a single-polarisation file of a SAFE product). Every target, in every burst whose
valid area holds it: 3 dB widths within 5 % of the theory of the declared windows, PSLR
within 1 dB, ISLR within 1.5 dB, position within 0.05 px, phase within 0.01 rad of
``-4 pi R0 / lambda - pi / 4``.

Also the issue's own example (two targets, VV, 8 s): IW2 target 0 and IW1 target 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from sar.l0.framing import scan_packets
from sar.l0.headers import decode_headers
from sar.quality.grid import (
    GridTarget,
    TargetCheck,
    Tolerances,
    check_product,
    focused_grid_products,
    plan_iw_grid,
)
from sar.sim.acquisition import plan_acquisition
from sar.sim.datatake import simulate_datatake
from sar.sim.scene import Target

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

CENTER = (45.0, 10.0)
DURATION = 8.3


@dataclass(frozen=True)
class Pass:
    data: bytes
    grid: list[GridTarget]


@dataclass(frozen=True)
class Focused:
    names: list[str]
    checks: list[TargetCheck]


@pytest.fixture(scope="module")
def dual_pass() -> Pass:
    acq = plan_acquisition("IW", CENTER, DURATION, pol="VV+VH")
    grid = plan_iw_grid(acq)
    datatake = simulate_datatake(
        "IW", CENTER, DURATION, [g.target() for g in grid], pol="VV+VH"
    )
    return Pass(datatake.data, grid)


def _focus_and_check(data: bytes, grid: list[GridTarget]) -> Focused:
    names: list[str] = []
    checks: list[TargetCheck] = []
    for name, slc in focused_grid_products(data):
        names.append(name)
        checks.extend(check_product(slc, name, grid, Tolerances()))
        del slc
    return Focused(names, checks)


@pytest.fixture(scope="module")
def dual(dual_pass: Pass) -> Focused:
    return _focus_and_check(dual_pass.data, dual_pass.grid)


@pytest.fixture(scope="module")
def vh_alone(dual_pass: Pass) -> Focused:
    buf = np.frombuffer(dual_pass.data, dtype=np.uint8)
    offsets, lengths, *_ = scan_packets(buf, True)
    headers = decode_headers(buf, offsets, validate=False)
    keep = np.flatnonzero(headers["rx_channel_id"] == 1)
    data = b"".join(dual_pass.data[offsets[i] : offsets[i] + lengths[i]] for i in keep)
    return _focus_and_check(data, dual_pass.grid)


def _assert_all_within(focused: Focused, grid: list[GridTarget], pols: set[str]) -> None:
    for pol in pols:
        mine = [c for c in focused.checks if c.polarisation == pol]
        assert {c.target for c in mine} == {g.name for g in grid}, f"{pol}: targets unchecked"
        worst = max(mine, key=lambda c: c.margin)
        failed = [c.to_dict() for c in mine if not c.passed]
        assert not failed, f"{pol}: {len(failed)} target(s) out of tolerance: {failed[:3]}"
        assert worst.margin <= 1.0


def test_one_product_per_burst_and_channel(dual: Focused, vh_alone: Focused) -> None:
    assert len(dual.names) == 18 and len(set(dual.names)) == 18
    assert sum("_VV_" in n for n in dual.names) == 9
    assert sorted(n for n in dual.names if "_VH_" in n) == sorted(vh_alone.names)


def test_dual_polarisation_pass_at_theory_everywhere(dual_pass: Pass, dual: Focused) -> None:
    _assert_all_within(dual, dual_pass.grid, {"VV", "VH"})


def test_single_channel_file_at_theory_everywhere(
    dual_pass: Pass, dual: Focused, vh_alone: Focused
) -> None:
    _assert_all_within(vh_alone, dual_pass.grid, {"VH"})
    # same channel, same packets: the same figures as in the interleaved file
    in_dual = {(c.product, c.target): c for c in dual.checks}
    for c in vh_alone.checks:
        twin = in_dual[(c.product, c.target)]
        assert c.azimuth_pslr_db == pytest.approx(twin.azimuth_pslr_db, abs=1e-6)
        assert c.phase_error_rad == pytest.approx(twin.phase_error_rad, abs=1e-6)


def test_issue_example() -> None:
    """The reproduction of issue 12: IW2 target 0 mid-burst, IW1 target 1."""
    targets = [Target(45.0, 10.0, 0.0, 5000.0), Target(45.05, 9.3, 0.0, 5000.0)]
    datatake = simulate_datatake("IW", CENTER, 8.0, targets, pol="VV")
    grid = [
        GridTarget("0", 45.0, 10.0, 0.0, 5000.0, "IW2", 0.5, 0.5),
        GridTarget("1", 45.05, 9.3, 0.0, 5000.0, "IW1", 0.9, 0.7),
    ]
    checks: list[TargetCheck] = []
    for name, slc in focused_grid_products(datatake.data):
        checks.extend(check_product(slc, name, grid, Tolerances()))
    assert {c.target for c in checks} == {"0", "1"}
    for c in checks:
        assert c.passed, c.to_dict()
