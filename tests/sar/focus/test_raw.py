"""RawData from decoded Level-0 packets: selection, sorting, SWST alignment, errors."""

from __future__ import annotations

import numpy as np
import pytest

from sar.errors import FocusError
from sar.focus.raw import missing_record, raw_from_packets, swath_name
from sar.l0 import radar
from sar.l0.fields import empty_headers
from sar.l0.packets import Level0Packets
from tests.sar.focus.scenes import SCENE

PRI_CODE = 21859  # ~1717 Hz
SWST_CODE = 3000
DECIMATION = 8  # ratio 3/7: 7 SWST codes = 12 samples


def _packets(n: int = 6, swst_step_at: int | None = 3) -> Level0Packets:
    h = empty_headers(n + 3)
    t0 = SCENE.t_ref
    pri = radar.pri_s(PRI_CODE)
    ramp = radar.encode_tx_ramp_rate(1.078e12)
    for i in range(n + 3):
        coarse, fine = radar.encode_packet_time(t0 + (n + 2 - i) * pri)  # reversed order
        h[i]["coarse_time"], h[i]["fine_time"] = coarse, fine
        h[i]["pri_count"] = 1000 + n + 2 - i
        h[i]["signal_type"] = 0
        h[i]["swath_number"] = 3
        h[i]["polarisation"] = 6  # VV
        h[i]["tx_ramp_rate"] = ramp
        h[i]["tx_pulse_start_frequency"] = radar.encode_tx_pulse_start_frequency(-28e6, ramp)
        h[i]["tx_pulse_length"] = radar.encode_ref_clock(52.4e-6)
        h[i]["pri"] = PRI_CODE
        h[i]["rank"] = 9
        h[i]["swst"] = SWST_CODE
        h[i]["range_decimation"] = DECIMATION
        h[i]["n_samples"] = 100
        h[i]["data_take_id"] = 77
    h[n]["signal_type"] = 1  # noise
    h[n + 1]["swath_number"] = 4  # other swath
    h[n + 2]["polarisation"] = 5  # VH
    if swst_step_at is not None:
        # lines are reversed in the packet order: the first packets are the latest lines
        for i in range(n - swst_step_at):
            h[i]["swst"] = SWST_CODE + 7
    iq = np.zeros((n + 3, 100), dtype=np.complex64)
    iq[:, :] = (np.arange(n + 3)[:, None] + 1) * (1 + 0j)
    return Level0Packets(h, iq)


def test_selection_sorting_and_alignment() -> None:
    pk = _packets()
    orbit = SCENE.orbit(SCENE.t_ref - 5, SCENE.t_ref + 5)
    raw = raw_from_packets(pk, orbit, swath="S3", polarisation="VV")
    assert raw.lines == 6 and raw.samples == 112
    assert np.all(np.diff(raw.line_times) > 0)
    assert raw.prf == pytest.approx(1 / radar.pri_s(PRI_CODE))
    assert raw.range_sampling_rate == pytest.approx(radar.range_sampling_rate(DECIMATION))
    assert raw.slant_range_time == pytest.approx(
        radar.range_time_of_first_sample(9, PRI_CODE, SWST_CODE))
    assert raw.chirp.pulse_length == pytest.approx(52.4e-6, rel=1e-3)
    assert raw.chirp.ramp_rate == pytest.approx(1.078e12, rel=1e-3)
    assert raw.chirp.start_frequency == pytest.approx(-28e6, rel=1e-3)
    assert raw.mode == "SM" and raw.swath == "S3" and raw.polarisation == "VV"
    assert raw.data_take_id == 77
    span = raw.line_times[5] - raw.line_times[0]
    assert span == pytest.approx(5 * radar.pri_s(PRI_CODE), abs=1e-6)
    # earliest three lines (packets 5, 4, 3) unshifted; the later ones 12 samples later
    assert np.all(raw.echoes[0, :100] == 6) and np.all(raw.echoes[0, 100:] == 0)
    assert np.all(raw.echoes[5, :12] == 0) and np.all(raw.echoes[5, 12:] == 1)


def test_ambiguous_or_missing_selection_raises() -> None:
    pk = _packets(swst_step_at=None)
    orbit = SCENE.orbit(SCENE.t_ref - 5, SCENE.t_ref + 5)
    with pytest.raises(FocusError, match="several swath"):
        raw_from_packets(pk, orbit)
    with pytest.raises(FocusError, match="IW1"):
        raw_from_packets(pk, orbit, swath="IW1")
    with pytest.raises(FocusError, match="several polarisation"):
        raw_from_packets(pk, orbit, swath=3)
    with pytest.raises(FocusError, match="HH"):
        raw_from_packets(pk, orbit, swath=3, polarisation="HH")
    h = pk.headers.copy()
    h["pri"][0] += 1
    with pytest.raises(FocusError, match="PRI"):
        raw_from_packets(Level0Packets(h, pk.iq), orbit, swath=3, polarisation="VV")
    h = pk.headers.copy()
    h["pri_count"][1] = h["pri_count"][2]
    with pytest.raises(FocusError, match="duplicate PRI"):
        raw_from_packets(Level0Packets(h, pk.iq), orbit, swath=3, polarisation="VV")
    h = pk.headers.copy()
    h["signal_type"] = 1
    with pytest.raises(FocusError, match="no echo"):
        raw_from_packets(Level0Packets(h, pk.iq), orbit)


def test_swath_names() -> None:
    assert swath_name(1) == ("SM", "S1")
    assert swath_name(11) == ("IW", "IW2")
    assert swath_name(14) == ("EW", "EW2")
    assert swath_name(99)[1] == "swath_99"


def test_missing_pris_are_zero_lines_listed_in_the_raw_data() -> None:
    pk = _packets(n=12, swst_step_at=None)
    # VV echo lines have PRI counts 1003..1014; three of them lost (25 %)
    lost = (pk.headers["pri_count"] >= 1006) & (pk.headers["pri_count"] < 1009)
    pk = pk.select(~lost)
    orbit = SCENE.orbit(SCENE.t_ref - 5, SCENE.t_ref + 5)
    with pytest.raises(FocusError, match="missing"):
        raw_from_packets(pk, orbit, swath="S3", polarisation="VV")
    raw = raw_from_packets(pk, orbit, swath="S3", polarisation="VV", max_missing_fraction=1.0)
    assert raw.lines == 12 and raw.missing_lines == ((3, 6),)
    assert np.all(raw.echoes[3:6] == 0) and np.all(raw.echoes[2] != 0)
    assert raw.line_times[6] - raw.line_times[2] == pytest.approx(
        4 * radar.pri_s(PRI_CODE), abs=1e-6
    )
    record = missing_record(raw)
    assert record.ranges == ((3, 6),) and record.lines == 12 and record.count == 3


def test_dual_polarisation_channels_are_told_apart() -> None:
    pk = _packets(n=6, swst_step_at=None)
    pk.headers["polarisation"] = 7  # V/V+H: the receive channel says which
    pk.headers["rx_channel_id"][::2] = 1  # H
    orbit = SCENE.orbit(SCENE.t_ref - 5, SCENE.t_ref + 5)
    with pytest.raises(FocusError, match="no echo packets of polarisation"):
        raw_from_packets(pk, orbit, swath="S3", polarisation="HH")
    vh = raw_from_packets(pk, orbit, swath="S3", polarisation="VH", max_missing_fraction=1.0)
    vv = raw_from_packets(pk, orbit, swath="S3", polarisation="VV", max_missing_fraction=1.0)
    assert vh.polarisation == "VH" and vv.polarisation == "VV"
    assert vh.lines + vv.lines >= 6
