from __future__ import annotations

import numpy as np
import pytest

from sar.errors import GeometryError
from sar.l0.ancillary import decode_ancillary, encode_ancillary_words, orbit_from_ancillary
from sar.l0.fields import empty_headers


def _headers_with_cycles(times: list[float], start_index: int = 1) -> np.ndarray:
    words = []
    for k, t in enumerate(times):
        pos = (7.0e6 + 1000.0 * k, -1.234567891e6, 12.5)
        vel = (1.5, -7500.25, 100.125)
        words.append(
            encode_ancillary_words(pos, vel, t, (0.5, 0.5, -0.5, 0.5), (0.1, 0.2, 0.3), t + 0.25)
        )
    all_words = np.concatenate(words)
    index = np.tile(np.arange(1, 65), len(times))
    all_words, index = all_words[start_index - 1 :], index[start_index - 1 :]
    headers = empty_headers(all_words.size)
    headers["subcom_word"] = all_words
    headers["subcom_word_index"] = index
    return headers


def test_round_trip() -> None:
    times = [1.4e9 + 0.5, 1.4e9 + 1.5, 1.4e9 + 1.5]  # the last one repeats
    anc = decode_ancillary(_headers_with_cycles(times))
    assert anc.complete_cycles == 3 and anc.incomplete_cycles == 0
    np.testing.assert_array_equal(anc.orbit_times, times)
    np.testing.assert_array_equal(anc.positions[1], [7.001e6, -1.234567891e6, 12.5])
    np.testing.assert_array_equal(anc.velocities[0], [1.5, -7500.25, 100.125])
    np.testing.assert_array_equal(anc.attitude_times, np.array(times) + 0.25)
    np.testing.assert_allclose(anc.quaternions[2], [0.5, 0.5, -0.5, 0.5])
    np.testing.assert_allclose(anc.angular_rates[0], [0.1, 0.2, 0.3], rtol=1e-7)
    orbit = orbit_from_ancillary(anc)
    assert orbit.times.size == 2


def test_incomplete_cycles_are_ignored() -> None:
    headers = _headers_with_cycles([100.0, 101.0, 102.0], start_index=30)
    headers = np.delete(headers, 64 + 10)  # lose a word of the 2nd complete cycle
    anc = decode_ancillary(headers)
    assert anc.complete_cycles == 1
    assert anc.incomplete_cycles == 2
    assert anc.orbit_times.tolist() == [102.0]
    with pytest.raises(GeometryError):
        orbit_from_ancillary(anc)


def test_time_fraction_resolution() -> None:
    t = 1.4e9 + 0.123456789
    anc = decode_ancillary(_headers_with_cycles([t]))
    assert abs(anc.orbit_times[0] - t) <= 2.0**-25


def test_interleaved_receive_channels_decode_per_channel() -> None:
    # dual polarisation: both channels carry their own cycle, packets alternate
    first = _headers_with_cycles([200.0, 201.0, 202.0])
    second = _headers_with_cycles([200.0, 201.0, 202.0])
    second["rx_channel_id"] = 1
    mixed = np.empty(first.size + second.size, dtype=first.dtype)
    mixed[0::2], mixed[1::2] = first, second
    anc = decode_ancillary(mixed)
    assert anc.complete_cycles == 6 and anc.incomplete_cycles == 0
    assert anc.orbit_times.tolist() == [200.0, 200.0, 201.0, 201.0, 202.0, 202.0]
    assert orbit_from_ancillary(anc).times.tolist() == [200.0, 201.0, 202.0]
    # read across both channels as one stream, no cycle is complete
    merged = mixed.copy()
    merged["rx_channel_id"] = 0
    assert decode_ancillary(merged).complete_cycles == 0
