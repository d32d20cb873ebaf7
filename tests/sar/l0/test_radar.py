from __future__ import annotations

import numpy as np
import pytest

from sar.constants import F_REF
from sar.errors import CorruptPacketError
from sar.l0 import radar
from sar.l0.fields import empty_headers


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


def test_physical_header_fields_match_scalar_functions() -> None:
    headers = empty_headers(2)
    ramp = radar.encode_tx_ramp_rate(-9.0e11)
    headers["tx_ramp_rate"] = [ramp, radar.encode_tx_ramp_rate(1.1e12)]
    headers["tx_pulse_start_frequency"] = radar.encode_tx_pulse_start_frequency(25e6, ramp)
    headers["pri"], headers["swst"], headers["rank"] = 21_000, 4_000, [9, 10]
    headers["range_decimation"] = [8, 2]
    headers["rx_gain"], headers["coarse_time"], headers["fine_time"] = 16, 100, 32768
    fields = radar.physical_header_fields(headers)
    assert fields["tx_ramp_rate_hz_per_s"][0] == radar.tx_ramp_rate_hz_per_s(ramp)
    assert fields["tx_pulse_start_frequency_hz"][0] == pytest.approx(
        radar.tx_pulse_start_frequency_hz(int(headers["tx_pulse_start_frequency"][0]), ramp)
    )
    assert fields["range_time_first_sample_s"][1] == pytest.approx(
        radar.range_time_of_first_sample(10, 21_000, 4_000), rel=1e-15
    )
    assert fields["range_sampling_rate_hz"][0] == radar.range_sampling_rate(8)
    assert np.isnan(fields["range_sampling_rate_hz"][1])
    assert fields["rx_gain_db"][0] == -8.0
    assert fields["time_s"][0] == 100.5 + 2**-17
