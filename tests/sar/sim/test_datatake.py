"""End-to-end tests of sar.sim.datatake: packets decode back and match the truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sar.errors import SimulationError
from sar.geo.orbit import interpolate_orbit
from sar.l0.ancillary import decode_ancillary, orbit_from_ancillary
from sar.l0.packets import Level0Packets, decode_packets
from sar.l0.radar import packet_time, range_time_of_first_sample
from sar.sim.datatake import SimulatedDatatake, simulate_datatake, write_simulation
from sar.sim.echo import chirp_samples
from sar.sim.modes import swath_parameters
from sar.sim.scene import Target

CENTER = (45.0, 8.0)
TARGETS = [Target(45.0, 8.0, 0.0, 100.0), Target(45.0005, 8.002, 50.0, 30.0)]


@pytest.fixture(scope="module")
def stripmap() -> tuple[SimulatedDatatake, Level0Packets]:
    sim = simulate_datatake("S3", CENTER, 0.25, TARGETS, baq="bypass", n_samples=4000)
    return sim, decode_packets(sim.data)


@pytest.fixture(scope="module")
def iw() -> tuple[SimulatedDatatake, Level0Packets]:
    sim = simulate_datatake("IW", CENTER, 2.0, TARGETS, pol="VV+VH", baq="bypass", n_samples=600)
    return sim, decode_packets(sim.data)


def test_headers_decode_back(stripmap: tuple[SimulatedDatatake, Level0Packets]) -> None:
    sim, packets = stripmap
    h, ref = packets.headers, sim.headers
    assert h.size == ref.size
    for name in ("coarse_time", "fine_time", "data_take_id", "ecc_number", "rx_channel_id",
                 "subcom_word_index", "subcom_word", "space_packet_count", "pri_count",
                 "baq_mode", "range_decimation", "tx_ramp_rate", "tx_pulse_start_frequency",
                 "tx_pulse_length", "rank", "pri", "swst", "swl", "polarisation",
                 "elevation_beam_address", "azimuth_beam_address", "signal_type",
                 "swath_number", "process_id", "packet_category"):  # fmt: skip
        np.testing.assert_array_equal(h[name], ref[name], err_msg=name)
    assert np.all(h["sync_marker"] == 0x352EF853)
    assert np.all(h["ecc_number"] == 3)
    assert np.all(np.diff(h["space_packet_count"].astype(np.int64)) == 1)
    assert np.all(np.diff(h["pri_count"].astype(np.int64)) == 1)
    np.testing.assert_array_equal(h["subcom_word_index"][:64], np.arange(1, 65))


def test_preamble_noise_and_cal(stripmap: tuple[SimulatedDatatake, Level0Packets]) -> None:
    _, packets = stripmap
    h = packets.headers
    assert list(h["signal_type"][:12]) == [1] * 8 + [8, 9, 10, 11]
    assert np.all(h["baq_mode"][:12] == 5)  # echoes in bypass: BAQ 5 bit
    echo = h["signal_type"] == 0
    assert np.all(np.nonzero(echo)[0] >= 12)
    assert np.all(h["sas_ssb_flag"][8:12] == 1)


def test_datation_and_line_times(stripmap: tuple[SimulatedDatatake, Level0Packets]) -> None:
    sim, packets = stripmap
    h = packets.headers[packets.headers["signal_type"] == 0]
    burst = sim.truth["swaths"]["S3"]["bursts"][0]
    assert h.size == burst["n_lines"] == round(0.25 * swath_parameters("S3").prf)
    expected = burst["first_line_time"]["gps_seconds"] + np.arange(h.size) * burst["line_interval"]
    times = np.asarray(packet_time(h["coarse_time"], h["fine_time"]))
    assert np.max(np.abs(times - expected)) <= 2.0**-17 + 1e-9
    assert times[0] == expected[0]  # the first line is on the fine-time grid


def test_ancillary_orbit_matches(stripmap: tuple[SimulatedDatatake, Level0Packets]) -> None:
    sim, packets = stripmap
    anc = decode_ancillary(packets.headers)
    assert anc.complete_cycles >= 5
    orbit = orbit_from_ancillary(anc)
    pos, vel = interpolate_orbit(sim.orbit, orbit.times)
    assert np.max(np.abs(orbit.positions - pos)) < 1e-6
    assert np.max(np.abs(orbit.velocities - vel)) < 1e-3
    q = anc.quaternions[0]
    assert abs(np.linalg.norm(q) - 1) < 1e-6


def test_decoded_echo_compresses_at_truth_delay(
    stripmap: tuple[SimulatedDatatake, Level0Packets],
) -> None:
    sim, packets = stripmap
    truth = sim.truth
    sw = truth["swaths"]["S3"]
    h = packets.headers
    echo = np.nonzero(h["signal_type"] == 0)[0]
    target = truth["targets"][0]
    assert target["swaths"] == ["S3"]
    line_times = (
        sw["bursts"][0]["first_line_time"]["gps_seconds"] + np.arange(echo.size) * sw["pri"]
    )
    k = int(np.argmin(np.abs(line_times - target["zero_doppler_time"]["gps_seconds"])))
    row = packets.iq[echo[k], : sw["n_samples"]].astype(np.complex128)
    s3 = swath_parameters("S3")
    replica = chirp_samples(s3.chirp, s3.sampling_rate)
    n = row.size + replica.size
    rc = np.fft.ifft(np.fft.fft(row, n) * np.conj(np.fft.fft(replica, n)))[: row.size]
    start = range_time_of_first_sample(int(h["rank"][echo[k]]), int(h["pri"][echo[k]]),
                                       int(h["swst"][echo[k]]))  # fmt: skip
    assert start == pytest.approx(sw["slant_range_time"], abs=1e-15)
    expected = (target["two_way_delay"] - start) * sw["range_sampling_rate"]
    assert abs(int(np.argmax(np.abs(rc))) - expected) <= 0.5 + 0.05
    # 8-bit-ish bypass samples: the line carries the full chirp
    assert np.max(np.abs(row.real)) <= 511


def test_truth_is_json(tmp_path: Path, stripmap: tuple[SimulatedDatatake, Level0Packets]) -> None:
    sim, _ = stripmap
    path = write_simulation(tmp_path, sim)
    assert path == tmp_path / "RAW.dat"
    assert path.read_bytes() == sim.data
    truth = json.loads(Path(f"{path}.json").read_text())
    assert truth["mode"] == "S3"
    assert len(truth["orbit"]["state_vectors"]) > 40
    assert truth["orbit"]["state_vectors"][0]["time"].endswith("Z")
    assert truth["targets"][1]["height"] == 50.0
    other = write_simulation(tmp_path / "sub" / "x.dat", sim)
    assert Path(f"{other}.json").exists()


def test_iw_bursts_and_steering(iw: tuple[SimulatedDatatake, Level0Packets]) -> None:
    sim, packets = iw
    h = packets.headers
    echo = h[h["signal_type"] == 0]
    assert np.all(echo["ecc_number"] == 8)
    # dual pol: channels alternate line by line, polarisation code V_VH (7)
    np.testing.assert_array_equal(echo["rx_channel_id"][:4], [0, 1, 0, 1])
    assert np.all(echo["polarisation"] == 7)
    ch0 = echo[echo["rx_channel_id"] == 0]
    swath = ch0["swath_number"]
    changes = np.nonzero(np.diff(swath.astype(np.int64)))[0]
    assert list(swath[np.r_[0, changes + 1]]) == [10, 11, 12]
    counts = np.diff(np.r_[0, changes + 1, swath.size])
    assert list(counts) == [1428, 1564, 1429]
    for number in (10, 11, 12):
        b = ch0[swath == number]
        assert np.all(np.diff(b["azimuth_beam_address"].astype(np.int64)) >= 0)
        assert b["azimuth_beam_address"][-1] - b["azimuth_beam_address"][0] > 300
        assert np.unique(b["elevation_beam_address"]).size == 1
    # noise packets use another BAQ mode than the echoes (echoes bypass -> BAQ 5 bit)
    noise = h[h["signal_type"] == 1]
    assert noise.size == 3 * 2 * 8 and np.all(noise["baq_mode"] == 5)
    labels = [sim.truth["swaths"][s]["bursts"][0]["label"] for s in ("IW1", "IW2", "IW3")]
    assert labels[0].startswith("t001_") and labels[0].endswith("_iw1")
    assert len({lab[:11] for lab in labels}) == 1


def test_iw_cross_pol_weaker(iw: tuple[SimulatedDatatake, Level0Packets]) -> None:
    _, packets = iw
    h = packets.headers
    iw2 = (h["signal_type"] == 0) & (h["swath_number"] == 11)
    p0 = np.mean(np.abs(packets.iq[iw2 & (h["rx_channel_id"] == 0)]) ** 2)
    p1 = np.mean(np.abs(packets.iq[iw2 & (h["rx_channel_id"] == 1)]) ** 2)
    assert p0 > 0
    assert p1 / p0 == pytest.approx(0.1, rel=0.05)


def test_fdbaq_and_noise() -> None:
    sim = simulate_datatake("S1", CENTER, 0.05, TARGETS[:1], n_samples=1200, snr_db=10.0,
                            seed=3)  # fmt: skip
    h = decode_packets(sim.data).headers
    assert set(h["baq_mode"][h["signal_type"] == 0]) == {12}
    assert set(h["baq_mode"][h["signal_type"] != 0]) == {0}
    assert sim.truth["noise"]["snr_db"] == 10.0
    assert sim.truth["noise"]["noise_std_adc"] > 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "XX"}, "unknown mode"),
        ({"pol": "VX"}, "unknown polarisation"),
        ({"baq": "zip"}, "unknown BAQ"),
        ({"duration": 0.0}, "duration must be positive"),
        ({"center": (95.0, 0.0)}, "not a valid lat/lon"),
    ],
)
def test_bad_requests(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"mode": "S3", "center": CENTER, "duration": 0.1,
                               "targets": TARGETS}  # fmt: skip
    args.update(kwargs)
    with pytest.raises(SimulationError, match=message):
        simulate_datatake(**args)  # type: ignore[arg-type]


def test_streaming_equals_cached_and_raw(monkeypatch: pytest.MonkeyPatch) -> None:
    import sar.sim.datatake as datatake
    from sar.sim.acquisition import simulate_raw

    kw: dict[str, object] = {"baq": "bypass", "n_samples": 800, "snr_db": 15.0, "seed": 7}
    cached = simulate_datatake("S2", CENTER, 0.05, TARGETS, **kw)  # type: ignore[arg-type]
    monkeypatch.setattr(datatake, "CACHE_BYTES", 0)
    streamed = simulate_datatake("S2", CENTER, 0.05, TARGETS, **kw)  # type: ignore[arg-type]
    assert cached.data == streamed.data
    # the packets hold the RawData echoes, scaled to ADC units and rounded (bypass)
    _, blocks = simulate_raw("S2", CENTER, 0.05, TARGETS, n_samples=800, snr_db=15.0, seed=7)
    packets = decode_packets(cached.data)
    echo = packets.iq[packets.headers["signal_type"] == 0]
    expected = blocks[0].echoes * cached.truth["noise"]["adc_scale"]
    assert echo.shape == expected.shape
    assert np.max(np.abs(echo.real - expected.real)) <= 0.5 + 1e-3
    assert np.max(np.abs(echo.imag - expected.imag)) <= 0.5 + 1e-3


def test_clutter_datatake() -> None:
    from sar.sim.scene import ClutterPatch

    patch = ClutterPatch(44.99, 45.01, 7.99, 8.01, density=200.0, sigma0=0.1)
    sim = simulate_datatake("S4", CENTER, 0.05, [], n_samples=1500, clutter=patch, baq="baq4")
    packets = decode_packets(sim.data)
    echo = packets.iq[packets.headers["signal_type"] == 0]
    assert set(packets.headers["baq_mode"][packets.headers["signal_type"] == 0]) == {4}
    # speckle-like: most samples carry signal, I and Q zero-mean with equal power
    assert np.mean(np.abs(echo) > 0) > 0.5
    assert np.var(echo.real) == pytest.approx(np.var(echo.imag), rel=0.2)
    assert sim.truth["clutter"]["density"] == 200.0
    assert sim.truth["targets"] == []
