"""Tests of sar.sim.modes against header codes of real IW data."""

from __future__ import annotations

import pytest

from sar.errors import SimulationError
from sar.sim.modes import azimuth_beam_address, mode_swaths, swath_parameters

# (TXPRR magnitude, TXPSF magnitude (negative), TXPL, PRI) decoded from a real
# S1A IW RAW product (jmfriedt/sentinel1_level0 issue #3).
REAL_IW_CODES = {
    "IW1": (1605, 12335, 1967, 21859),
    "IW2": (1160, 10546, 2327, 25857),
    "IW3": (1193, 9341, 2004, 22265),
}


@pytest.mark.parametrize("name", ["IW1", "IW2", "IW3"])
def test_iw_codes_match_real_data(name: str) -> None:
    sw = swath_parameters(name)
    txprr, txpsf, txpl, pri = REAL_IW_CODES[name]
    assert sw.txprr_code == 0x8000 | txprr  # sign bit set: up-chirp
    assert sw.txpsf_code == txpsf  # sign bit clear: negative start frequency
    assert sw.txpl_code == txpl
    assert sw.pri_code == pri
    assert sw.chirp.start_frequency == pytest.approx(-0.5 * sw.chirp.bandwidth, abs=5e3)


def test_stripmap_beams_are_consistent() -> None:
    previous = 0.0
    for mode in ("S1", "S2", "S3", "S4", "S5", "S6"):
        (sw,) = mode_swaths(mode)
        assert sw.sampling_rate > sw.chirp.bandwidth
        assert sw.look_near_deg > previous
        previous = sw.look_near_deg
        assert sw.chirp.pulse_length * sw.prf == pytest.approx(0.085, rel=1e-3)
        assert not sw.is_tops and sw.ecc_number in (1, 2, 3, 4, 5, 6)


def test_iw_and_errors() -> None:
    assert [s.swath_number for s in mode_swaths("IW")] == [10, 11, 12]
    assert all(s.is_tops for s in mode_swaths("IW"))
    with pytest.raises(SimulationError, match="unknown mode"):
        mode_swaths("EW")
    with pytest.raises(SimulationError, match="unknown swath"):
        swath_parameters("IW4")
    assert list(azimuth_beam_address([-1.0, 0.0, 0.009, 1.0])) == [0, 512, 768, 1023]
