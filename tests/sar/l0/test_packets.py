from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sentinel1decoder

from sar.errors import CorruptPacketError, Level0Error, SyncMarkerError, TruncatedPacketError
from sar.l0.fields import SPEC_FIELD_NAMES
from sar.l0.packets import decode_packets, encode_packets, read_level0

from .conftest import Stream, build_stream

PNG = bytes.fromhex("89504E470D0A1A0A0000000D49484452") + bytes(200)


def test_decode_mixed_modes(stream: Stream) -> None:
    data, headers, iq = stream
    packets = decode_packets(data)
    assert len(packets) == 6
    np.testing.assert_array_equal(packets.headers["baq_mode"], [12, 12, 0, 4, 12, 5])
    np.testing.assert_array_equal(packets.headers["n_samples"], headers["n_samples"])
    assert packets.iq.shape == (6, 600)
    for i in range(6):
        n = int(headers["n_samples"][i])
        err = np.abs(packets.iq[i, :n] - iq[i, :n])
        assert np.sqrt(np.mean(err**2)) < 0.4 * 40 * np.sqrt(2)
        assert np.all(packets.iq[i, n:] == 0)
    # bytes re-encode identically (explicit BRC)
    assert encode_packets(packets.headers, packets.iq, brc=3) == data
    assert packets.skipped_bytes == 0 and packets.dropped_packets == 0


def test_signal_type_filter_and_select() -> None:
    data, _, _ = build_stream(modes=(12, 0, 12, 4), signal_types=(0, 1, 0, 9))
    echoes = decode_packets(data, signal_types={0})
    assert len(echoes) == 2
    assert set(echoes.headers["signal_type"].tolist()) == {0}
    cal = decode_packets(data).select(decode_packets(data).headers["signal_type"] == 9)
    assert len(cal) == 1 and cal.headers["baq_mode"][0] == 4


@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_sentinel1decoder_reads_our_packets(tmp_path: Path) -> None:
    data, headers, _ = build_stream(modes=(12, 12, 12), n_samples=512)
    path = tmp_path / "x.dat"
    path.write_bytes(data)
    ours = read_level0(path)
    decoder = sentinel1decoder.Level0Decoder(str(path))
    meta = decoder.decode_metadata(return_raw=False)
    assert len(meta) == 3
    np.testing.assert_array_equal(meta["Number of Quads"].to_numpy(dtype=int), [256, 255, 254])
    np.testing.assert_array_equal(meta["Coarse Time"].to_numpy(dtype=int), headers["coarse_time"])
    np.testing.assert_array_equal(meta["Data Take ID"].to_numpy(dtype=int), [0xABCDEF] * 3)
    np.testing.assert_array_equal(meta["Swath Number"].to_numpy(dtype=int), [10] * 3)
    np.testing.assert_allclose(meta["PRI"].to_numpy(dtype=float), 21000 / 37.53472224e6)
    one = meta.iloc[[0]]
    theirs = decoder.decode_packets(one)
    np.testing.assert_allclose(theirs[0], ours.iq[0, :512], rtol=1e-5, atol=1e-4)


def test_strict_errors_carry_offsets(stream: Stream) -> None:
    data, _, _ = stream
    first = int(decode_packets(data).headers["byte_offset"][1])
    bad = bytearray(data)
    bad[first + 13] ^= 0x01
    with pytest.raises(SyncMarkerError, match=f"offset {first}"):
        decode_packets(bytes(bad))
    with pytest.raises(TruncatedPacketError, match=f"offset {first}"):
        decode_packets(data[: first + 100])
    with pytest.raises(CorruptPacketError, match="offset 0"):
        decode_packets(b"garbage!" + data)
    with pytest.raises(CorruptPacketError, match="offset 0"):
        decode_packets(PNG)
    # wrong length: packet_data_length 4 bytes too short
    bad = bytearray(data)
    length = int.from_bytes(bad[4:6], "big") - 4
    bad[4:6] = length.to_bytes(2, "big")
    with pytest.raises(CorruptPacketError, match="offset"):
        decode_packets(bytes(bad))


def test_number_of_quads_inconsistent() -> None:
    data, _, _ = build_stream(modes=(0, 0))
    bad = bytearray(data)
    bad[66] += 1  # bypass NQ no longer matches the packet length
    with pytest.raises(CorruptPacketError, match="number_of_quads.*offset 0"):
        decode_packets(bytes(bad))
    lenient = decode_packets(bytes(bad), strict=False)
    assert len(lenient) == 1 and lenient.dropped_packets == 1


def test_lenient_skips_corruption(stream: Stream) -> None:
    data, _, _ = stream
    offsets = decode_packets(data).headers["byte_offset"]
    second = int(offsets[1])
    bad = bytearray(data)
    bad[second + 14] = 0  # sync marker of packet 1
    mixed = b"garbage!" + bytes(bad) + PNG + data + data[:-10]
    result = decode_packets(mixed, strict=False)
    assert len(result) == 5 + 6 + 5
    assert result.dropped_packets == 4  # prefix, packet 1, PNG, truncated tail
    expected_skip = 8 + int(offsets[2] - offsets[1]) + len(PNG) + (len(data) - int(offsets[5]) - 10)
    assert result.skipped_bytes == expected_skip
    assert int(result.headers["byte_offset"][0]) == 8


def test_lenient_recovers_from_bad_length(stream: Stream) -> None:
    data, _, _ = stream
    bad = bytearray(data)
    length = int.from_bytes(bad[4:6], "big") + 40  # claims 40 more bytes
    bad[4:6] = length.to_bytes(2, "big")
    result = decode_packets(bytes(bad), strict=False)
    assert len(result) == 5
    assert result.dropped_packets == 1
    np.testing.assert_array_equal(result.headers["space_packet_count"], [1, 2, 3, 4, 5])


def test_empty_input() -> None:
    result = decode_packets(b"")
    assert len(result) == 0 and result.iq.shape == (0, 0)
    assert set(SPEC_FIELD_NAMES) <= set(result.headers.dtype.names or ())


@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_sentinel1decoder_agrees_on_radar_units(tmp_path: Path) -> None:
    from sar.l0 import radar

    data, headers, iq = build_stream(modes=(12, 12), n_samples=256)
    ramp = radar.encode_tx_ramp_rate(1.078230e12)
    headers["tx_ramp_rate"] = [ramp, radar.encode_tx_ramp_rate(-7.0e11)]
    headers["tx_pulse_start_frequency"] = [
        radar.encode_tx_pulse_start_frequency(-28.0e6, ramp),
        radar.encode_tx_pulse_start_frequency(20.0e6, int(headers["tx_ramp_rate"][1])),
    ]
    headers["tx_pulse_length"] = radar.encode_ref_clock(52.4e-6)
    headers["swst"] = radar.encode_ref_clock(98.5e-6)
    headers["swl"] = radar.encode_ref_clock(330e-6)
    headers["rx_gain"] = radar.encode_rx_gain(-8.0)
    headers["range_decimation"] = 8
    headers["rank"] = 9
    path = tmp_path / "r.dat"
    path.write_bytes(encode_packets(headers, iq, brc=2))
    meta = sentinel1decoder.Level0Decoder(str(path)).decode_metadata()
    ours = read_level0(path).headers
    for i in range(2):
        h = ours[i]
        rate = radar.tx_ramp_rate_hz_per_s(int(h["tx_ramp_rate"]))
        start = radar.tx_pulse_start_frequency_hz(
            int(h["tx_pulse_start_frequency"]), int(h["tx_ramp_rate"])
        )
        # sentinel1decoder gives SI units: Hz/s, Hz, s
        assert meta["Tx Ramp Rate"].iloc[i] == pytest.approx(rate, rel=1e-12)
        assert meta["Tx Pulse Start Frequency"].iloc[i] == pytest.approx(start, rel=1e-12)
        assert meta["Tx Pulse Length"].iloc[i] == pytest.approx(
            radar.tx_pulse_length_s(int(h["tx_pulse_length"])), rel=1e-12
        )
        assert meta["SWST"].iloc[i] == pytest.approx(radar.swst_s(int(h["swst"])), rel=1e-12)
        assert meta["Rx Gain"].iloc[i] == radar.rx_gain_db(int(h["rx_gain"])) == -8.0
        assert int(meta["Rank"].iloc[i]) == 9
    assert rate < 0


def test_per_packet_brc_and_shape_check() -> None:
    _, headers, iq = build_stream(modes=(12, 12, 12))
    data = encode_packets(headers, iq, brc=np.array([0, 2, 4]))
    packets = decode_packets(data)
    sizes = packets.headers["packet_data_length"]
    assert sizes[0] < sizes[1] < sizes[2]  # more bits per sample with higher BRC
    first_ie_block = data[68] >> 5, data[int(sizes[0]) + 7 + 68] >> 5
    assert first_ie_block == (0, 2)
    assert encode_packets(packets.headers, packets.iq, brc=np.array([0, 2, 4])) == data
    with pytest.raises(Level0Error):
        encode_packets(headers, iq[0])
