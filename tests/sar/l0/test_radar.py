from __future__ import annotations

import numpy as np
import pytest

from sar.constants import F_REF
from sar.errors import CorruptPacketError
from sar.l0 import radar


def test_sampling_rates() -> None:
    assert radar.range_sampling_rate(8) == pytest.approx(4 * F_REF * 3 / 7)  # IW1
    assert radar.range_sampling_rate(8) == pytest.approx(64.345238e6, abs=1)
    assert radar.range_sampling_rate(11) == pytest.approx(4 * F_REF * 4 / 11)
    with pytest.raises(CorruptPacketError):
        radar.range_sampling_rate(2)


def test_samples_after_decimation_matches_window() -> None:
    # N3_rx is SWL * fs less the filter output offset (table 5.1-2) and 17 ADC samples
    for code in (0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11):
        swl = 20_000
        n = radar.samples_after_decimation(swl, code)
        expected = swl / F_REF * radar.range_sampling_rate(code)
        assert n % 2 == 0
        assert abs(n - expected) < 2 * (110 + 17)


def test_chirp_codes_round_trip() -> None:
    rate = 1.078230e12  # IW1-like chirp rate, Hz/s
    code = radar.encode_tx_ramp_rate(rate)
    assert code >> 15 == 1
    assert radar.tx_ramp_rate_hz_per_s(code) == pytest.approx(rate, rel=1e-3)
    neg = radar.encode_tx_ramp_rate(-rate)
    assert neg >> 15 == 0 and radar.tx_ramp_rate_hz_per_s(neg) < 0
    start = -28.5e6
    psf = radar.encode_tx_pulse_start_frequency(start, code)
    assert radar.tx_pulse_start_frequency_hz(psf, code) == pytest.approx(start, abs=F_REF / 2**15)


def test_times() -> None:
    pri = radar.encode_ref_clock(1 / 1717.0)
    swst = radar.encode_ref_clock(100e-6)
    expected = 9 * pri / F_REF + swst / F_REF + 320 / (8 * F_REF)
    assert radar.range_time_of_first_sample(9, pri, swst) == pytest.approx(expected, rel=1e-15)
    coarse, fine = radar.encode_packet_time(1.4e9 + 0.75)
    assert radar.packet_time(coarse, fine) == pytest.approx(1.4e9 + 0.75, abs=2**-17)
    np.testing.assert_allclose(radar.packet_time(np.array([5.0]), np.array([0.0])), [5 + 2**-17])
    assert radar.rx_gain_db(radar.encode_rx_gain(-12.5)) == -12.5
