"""Simulated Sentinel-1 data-takes: point targets to real Level-0 packets plus truth.

:func:`simulate_datatake` designs an orbit that sees ``center`` mid-swath at mid-time
(:func:`sar.geo.orbit.make_orbit`), plans the lines (:mod:`sar.sim.timeline`), simulates
the echoes (:func:`sar.sim.echo.simulate_echoes`), fills every header field of
S1-IF-ASD-PL-0007 section 3 and encodes the packets with :func:`sar.l0.packets.encode_packets`.

Conventions of the simulated stream (the focusing side must use the same):

* packet datation (coarse + fine time) is the transmit time of the pulse whose echo the
  packet holds, quantised to the 2^-16 s fine-time step; the true line times are
  exactly PRI-spaced from the first line (``truth["swaths"][name]["bursts"]``);
* sample 0 of every line is ``rank * PRI + SWST + 320 / (8 f_ref)`` after transmission;
* the transmitted pulse starts at the transmit time (``p(t)``, ``0 <= t < TXPL``);
* one packet stream per receive channel, interleaved line by line in time order; the
  64-word sub-commutated cycle runs per channel and carries the ECEF state at the last
  whole GPS second (1 Hz PVT, as the on-board GNSS) and a zero-Doppler attitude.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sar.constants import IW_BURST_CYCLE, SPEED_OF_LIGHT
from sar.errors import SimulationError
from sar.geo.ellipsoid import ecef_to_geodetic, ellipsoid_normal
from sar.geo.geolocate import zero_doppler_times
from sar.geo.orbit import Orbit, SimulatedOrbit, interpolate_orbit, make_orbit
from sar.l0.ancillary import WORDS_PER_CYCLE, encode_ancillary_words
from sar.l0.enums import BaqMode, Polarisation, RxChannelId, SignalType
from sar.l0.fields import HeaderArray, empty_headers
from sar.l0.packets import encode_packets
from sar.l0.radar import encode_packet_time, packet_time
from sar.sim.echo import AntennaModel, add_noise, chirp_samples, simulate_echoes
from sar.sim.modes import SwathParameters, azimuth_beam_address, mode_swaths
from sar.sim.scene import ClutterPatch, Target, clutter_scatterers, targets_ecef
from sar.sim.timeline import (
    Burst,
    EchoWindow,
    centred_window,
    full_swath_window,
    plan_bursts,
)
from sar.timeutil import gps_seconds_to_iso, iso_to_gps_seconds

DEFAULT_START = "2024-06-01T10:00:00Z"
"""Default first-line time (UTC)."""

PEAK_ADC = 400.0
"""Largest |I| or |Q| of the echo packets after scaling, ADC units (bypass range +-511)."""

DEFAULT_NOISE_ADC = 1.0
"""Noise standard deviation per I/Q of noise packets when no SNR is given, ADC units."""

PROCESS_ID = 65
PACKET_CATEGORY = 12
"""APID of SAR packets (PID 65, PCAT 12; assumed from public decoders' header dumps)."""

_BAQ_CODES = {
    "fdbaq": BaqMode.FDBAQ_MODE_0,
    "fdbaq0": BaqMode.FDBAQ_MODE_0,
    "fdbaq1": BaqMode.FDBAQ_MODE_1,
    "fdbaq2": BaqMode.FDBAQ_MODE_2,
    "baq3": BaqMode.BAQ_3BIT,
    "baq4": BaqMode.BAQ_4BIT,
    "baq5": BaqMode.BAQ_5BIT,
    "bypass": BaqMode.BYPASS,
}


@dataclass(frozen=True)
class Channel:
    """One receive channel: polarisation name, header codes, RCS factor."""

    name: str
    rx_channel_id: int
    polarisation_code: int
    rcs_factor: float


def parse_polarisation(pol: str, cross_pol_ratio: float = 0.1) -> tuple[Channel, ...]:
    """Channels of ``"VV"``, ``"VH"``, ``"HH"``, ``"HV"``, ``"VV+VH"`` or ``"HH+HV"``.

    Naming is transmit then receive; cross-polar channels see every target with its RCS
    times ``cross_pol_ratio``. Codes: S1-IF-ASD-PL-0007 tables 3.2-8 and 3.2-17.
    """
    rx = {"V": int(RxChannelId.RX_V), "H": int(RxChannelId.RX_H)}
    single = {"VV": Polarisation.VV, "VH": Polarisation.VH,
              "HH": Polarisation.HH, "HV": Polarisation.HV}  # fmt: skip
    key = pol.upper().replace(" ", "")
    if key in single:
        factor = 1.0 if key[0] == key[1] else cross_pol_ratio
        return (Channel(key, rx[key[1]], int(single[key]), factor),)
    if key in ("VV+VH", "DV"):
        code = int(Polarisation.V_VH)
        return (Channel("VV", rx["V"], code, 1.0), Channel("VH", rx["H"], code, cross_pol_ratio))
    if key in ("HH+HV", "DH"):
        code = int(Polarisation.H_VH)
        return (Channel("HH", rx["H"], code, 1.0), Channel("HV", rx["V"], code, cross_pol_ratio))
    raise SimulationError(f"unknown polarisation {pol!r}; use VV, VH, HH, HV, VV+VH or HH+HV")


@dataclass(frozen=True)
class SimulatedDatatake:
    """Result of :func:`simulate_datatake`.

    Attributes
    ----------
    data
        The Level-0 packet stream (all channels interleaved in time order).
    truth
        JSON-serialisable description: targets with their zero-Doppler times and slant
        ranges, orbit state vectors, radar parameters per swath, bursts and line times.
    orbit
        The simulated orbit (finer than the 1 Hz PVT in the packets).
    headers
        The header records that were encoded (codes as written).
    """

    data: bytes
    truth: dict[str, Any]
    orbit: Orbit
    headers: HeaderArray = field(repr=False)


def _attitude(pos: npt.NDArray[np.float64], vel: npt.NDArray[np.float64]) -> list[float]:
    """Scalar-first quaternion of the zero-Doppler local orbital frame w.r.t. ECEF.

    Body x along the ECEF velocity (perpendicular to nadir), z to geodetic nadir,
    y = z x x.
    """
    lat, lon, _ = ecef_to_geodetic(pos)
    z = -ellipsoid_normal(lat, lon)
    x = vel - (vel @ z) * z
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    m = np.stack([x, y, z], axis=1)  # columns: body axes in ECEF
    tr = m[0, 0] + m[1, 1] + m[2, 2]
    if tr > 0:
        s = 2.0 * math.sqrt(1.0 + tr)
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    else:
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * math.sqrt(1.0 + m[i, i] - m[j, j] - m[k, k])
        q = [0.0, 0.0, 0.0, 0.0]
        q[0] = (m[k, j] - m[j, k]) / s
        q[1 + i] = 0.25 * s
        q[1 + j] = (m[j, i] + m[i, j]) / s
        q[1 + k] = (m[k, i] + m[i, k]) / s
    return [float(v) for v in q]


class _Subcom:
    """Per-channel 64-word sub-commutated ancillary cycle."""

    def __init__(self, orbit: Orbit) -> None:
        self.orbit = orbit
        self.position = 0
        self.words = np.zeros(WORDS_PER_CYCLE, dtype=np.uint16)
        self.rate = -math.degrees(2 * math.pi / 5924.57)  # orbital pitch rate, deg/s

    def next(self, t: float) -> tuple[int, int]:
        if self.position == 0:
            pvt_time = float(math.floor(t))
            pos, vel = interpolate_orbit(self.orbit, pvt_time)
            self.words = encode_ancillary_words(
                pos, vel, pvt_time, _attitude(pos, vel), (0.0, self.rate, 0.0), pvt_time
            )
        index = self.position + 1
        word = int(self.words[self.position])
        self.position = (self.position + 1) % WORDS_PER_CYCLE
        return index, word


@dataclass
class _Counters:
    space_packet: int = 0
    sequence: int = 0


def _fill_headers(
    times: npt.NDArray[np.float64],
    sw: SwathParameters,
    win: EchoWindow,
    ch: Channel,
    *,
    signal_type: int,
    baq_mode: int,
    pri_counts: npt.NDArray[np.int64],
    steering: npt.NDArray[np.float64],
    data_take_id: int,
    subcom: _Subcom,
    counters: _Counters,
) -> HeaderArray:
    n = times.size
    h = empty_headers(n)
    h["process_id"] = PROCESS_ID
    h["packet_category"] = PACKET_CATEGORY
    h["sequence_flags"] = 3
    for i in range(n):
        coarse, fine = encode_packet_time(float(times[i]))
        h["coarse_time"][i] = coarse
        h["fine_time"][i] = fine
        idx, word = subcom.next(float(times[i]))
        h["subcom_word_index"][i] = idx
        h["subcom_word"][i] = word
        h["space_packet_count"][i] = counters.space_packet
        h["packet_sequence_count"][i] = counters.sequence
        counters.space_packet += 1
        counters.sequence = (counters.sequence + 1) % (1 << 14)
    h["data_take_id"] = data_take_id
    h["ecc_number"] = sw.ecc_number
    h["test_mode"] = 0
    h["rx_channel_id"] = ch.rx_channel_id
    h["instrument_configuration_id"] = 1
    h["pri_count"] = pri_counts
    h["error_flag"] = 0
    h["baq_mode"] = baq_mode
    h["range_decimation"] = sw.range_decimation
    h["rx_gain"] = 8
    h["tx_ramp_rate"] = sw.txprr_code
    h["tx_pulse_start_frequency"] = sw.txpsf_code
    h["tx_pulse_length"] = sw.txpl_code
    h["rank"] = win.rank
    h["pri"] = sw.pri_code
    h["swst"] = win.swst_code
    h["swl"] = win.swl_code
    cal = signal_type >= int(SignalType.TX_CAL)
    h["sas_ssb_flag"] = 1 if cal else 0
    h["polarisation"] = ch.polarisation_code
    h["temperature_compensation"] = 3
    h["elevation_beam_address"] = sw.elevation_beam_address
    h["azimuth_beam_address"] = azimuth_beam_address(steering)
    h["cal_mode"] = 0
    h["tx_pulse_number"] = 0
    h["signal_type"] = signal_type
    h["swap"] = 0
    h["swath_number"] = sw.swath_number
    h["n_samples"] = win.n_samples
    return h


def _complex_noise(
    rng: np.random.Generator, shape: tuple[int, int], std: float
) -> npt.NDArray[np.complex128]:
    """Complex Gaussian samples with standard deviation ``std`` per I and Q."""
    out = np.empty(shape, dtype=np.complex128)
    out.real = rng.standard_normal(shape) * std
    out.imag = rng.standard_normal(shape) * std
    return out


def _interleave(per_channel: list[HeaderArray]) -> HeaderArray:
    """Line-by-line interleaving of equally long per-channel header arrays."""
    n_ch = len(per_channel)
    out = empty_headers(per_channel[0].size * n_ch)
    for c, h in enumerate(per_channel):
        out[c::n_ch] = h
    return out


def _interleave_iq(per_channel: list[npt.NDArray[np.complex64]]) -> npt.NDArray[np.complex64]:
    n_ch = len(per_channel)
    first = per_channel[0]
    out = np.empty((first.shape[0] * n_ch, first.shape[1]), dtype=np.complex64)
    for c, x in enumerate(per_channel):
        out[c::n_ch] = x
    return out


def _window_for(
    sw: SwathParameters,
    placed: SimulatedOrbit,
    center_delay: float | None,
    n_samples: int | None,
    lat: float,
) -> EchoWindow:
    pos, _ = interpolate_orbit(placed.orbit, placed.reference_time)
    radius = float(np.linalg.norm(pos))
    if n_samples is None:
        return full_swath_window(sw, radius, lat)
    if center_delay is None:
        full = full_swath_window(sw, radius, lat)
        center_delay = full.slant_range_time + 0.5 * (
            full.n_samples / sw.sampling_rate - sw.chirp.pulse_length
        )
    return centred_window(sw, center_delay, n_samples)


def _gps_start(start_time: float | str | None) -> float:
    t = iso_to_gps_seconds(DEFAULT_START) if start_time is None else start_time
    t = iso_to_gps_seconds(t) if isinstance(t, str) else float(t)
    coarse, fine = encode_packet_time(t)
    return float(packet_time(coarse, fine))  # representable exactly by the datation


def simulate_datatake(
    mode: str,
    center: tuple[float, float],
    duration: float,
    targets: list[Target],
    *,
    pol: str = "VV",
    baq: str = "fdbaq",
    seed: int = 0,
    n_samples: int | None = None,
    start_time: float | str | None = None,
    ascending: bool = True,
    snr_db: float | None = None,
    clutter: ClutterPatch | None = None,
    cross_pol_ratio: float = 0.1,
    elevation_pattern: bool = False,
    azimuth_lobes: float = 2.0,
    data_take_id: int = 0x05A5A5,
    relative_orbit: int = 1,
    noise_lines: int = 8,
    cal_lines: int = 4,
    orbit_step: float = 1.0,
) -> SimulatedDatatake:
    """Simulate a Sentinel-1 data-take of point targets as Level-0 packets.

    Parameters
    ----------
    mode
        ``"S1"`` .. ``"S6"`` (stripmap) or ``"IW"``.
    center
        (lat, lon) in deg: placed mid-swath (IW: mid-IW2) at zero Doppler at mid-time.
    duration
        Sensing duration, s (IW: rounded to whole burst cycles of 2.758273 s, >= 1).
    targets
        Point targets.
    pol
        ``"VV"``, ``"VH"``, ``"HH"``, ``"HV"``, ``"VV+VH"``, ``"HH+HV"``.
    baq
        Echo compression: ``"fdbaq"`` (mode 0), ``"fdbaq1"``, ``"fdbaq2"``, ``"baq3"``,
        ``"baq4"``, ``"baq5"`` or ``"bypass"``. Noise and calibration packets use bypass
        (BAQ 5-bit when the echoes are in bypass).
    seed
        Seed of noise and clutter.
    n_samples
        Samples per line; ``None`` covers each swath's full off-nadir span. With a
        value, the reference swath's window is centred on ``center``'s echo, the other
        IW sub-swaths on their own mid-swath.
    start_time
        First echo line, GPS s or ISO UTC; default 2024-06-01T10:00:00Z.
    ascending
        Pass direction.
    snr_db
        Ratio of the mean echo power (all echo samples of the first channel, noise-free)
        to the thermal noise power; ``None``: noise-free echoes.
    clutter
        Optional distributed clutter patch.
    cross_pol_ratio
        RCS factor of the cross-polar channel.
    elevation_pattern
        Apply the two-way elevation pattern of the 0.821 m aperture centred on each
        swath's mid look angle.
    azimuth_lobes
        Azimuth extent simulated, in units of the null-to-null half width.
    data_take_id, relative_orbit
        Data-take ID header value; relative orbit used for the ESA burst IDs.
    noise_lines, cal_lines
        Noise and calibration packets per swath and channel before the first echo.
    orbit_step
        State-vector spacing of the simulated orbit, s.

    Returns
    -------
    SimulatedDatatake

    Raises
    ------
    SimulationError
        Unknown mode/polarisation/BAQ, bad duration, or a centre that cannot be imaged.
    """
    swaths = mode_swaths(mode)
    channels = parse_polarisation(pol, cross_pol_ratio)
    if baq.lower() not in _BAQ_CODES:
        raise SimulationError(f"unknown BAQ {baq!r}; use one of {', '.join(_BAQ_CODES)}")
    echo_baq = int(_BAQ_CODES[baq.lower()])
    bypass = int(BaqMode.BYPASS)
    aux_baq = int(BaqMode.BAQ_5BIT) if echo_baq == bypass else bypass
    lat_c, lon_c = float(center[0]), float(center[1])
    if not (-90 <= lat_c <= 90 and -180 <= lon_c <= 180):
        raise SimulationError(f"centre ({lat_c}, {lon_c}) is not a valid lat/lon")
    if not duration > 0:
        raise SimulationError(f"duration must be positive, got {duration}")
    rng = np.random.default_rng(seed)
    t_start = _gps_start(start_time)
    span = (
        max(1, round(duration / IW_BURST_CYCLE)) * IW_BURST_CYCLE if swaths[0].is_tops else duration
    )
    t_mid = t_start + 0.5 * span
    reference = swaths[len(swaths) // 2]
    margin = 0.5 * span + 20.0
    placed = make_orbit(
        t_mid, lat_c, lon_c, look_angle_deg=reference.look_mid_deg, ascending=ascending,
        before=margin, after=margin, step=orbit_step,
    )  # fmt: skip
    orbit = placed.orbit
    pos_mid, _ = interpolate_orbit(orbit, t_mid)
    centre_delay = 2 * float(np.linalg.norm(placed.reference_xyz - pos_mid)) / SPEED_OF_LIGHT
    windows = {
        sw.name: _window_for(
            sw, placed, centre_delay if sw is reference else None, n_samples, lat_c
        )
        for sw in swaths
    }
    bursts = plan_bursts(
        swaths, t_start, duration, anx_time=placed.anx_time, relative_orbit=relative_orbit
    )

    # --- scatterers -------------------------------------------------------------------
    xyz = targets_ecef(targets)
    amp = np.sqrt(np.array([t.rcs for t in targets], dtype=np.float64))
    clutter_xyz, clutter_amp = (
        clutter_scatterers(clutter, rng) if clutter is not None
        else (np.zeros((0, 3)), np.zeros(0, dtype=np.complex128))
    )  # fmt: skip

    # --- echoes (simulation units) ---------------------------------------------------
    echoes: list[list[npt.NDArray[np.complex64]]] = []
    for b in bursts:
        sw, win = b.swath, windows[b.swath.name]
        antenna = AntennaModel(
            elevation_boresight=math.radians(sw.look_mid_deg) if elevation_pattern else None,
            azimuth_lobes=azimuth_lobes,
        )
        times, steer = b.line_times, b.steering_angles()
        per_channel = []
        for ch in channels:
            kw: dict[str, Any] = {
                "window_start": win.slant_range_time, "sampling_rate": sw.sampling_rate,
                "n_samples": win.n_samples, "chirp": sw.chirp, "steering_angles": steer,
                "antenna": antenna,
            }  # fmt: skip
            raw = simulate_echoes(orbit, times, xyz, amp * math.sqrt(ch.rcs_factor), **kw)
            if clutter_amp.size:
                raw += simulate_echoes(
                    orbit, times, clutter_xyz, clutter_amp * math.sqrt(ch.rcs_factor),
                    method="fft", **kw,
                )  # fmt: skip
            per_channel.append(raw)
        echoes.append(per_channel)

    # --- noise and scaling to ADC units ----------------------------------------------
    signal_power = float(np.mean(np.concatenate([np.abs(e[0].ravel()) ** 2 for e in echoes])))
    noise_power = 0.0
    if snr_db is not None:
        if signal_power <= 0:
            raise SimulationError("snr_db needs some signal: no target echoes in the window")
        noise_power = signal_power / 10 ** (snr_db / 10)
        echoes = [[add_noise(x, noise_power, rng) for x in e] for e in echoes]
    peak = max(
        (float(max(np.abs(x.real).max(), np.abs(x.imag).max())) for e in echoes for x in e),
        default=0.0,
    )
    scale = PEAK_ADC / peak if peak > 0 else 1.0
    noise_std_adc = math.sqrt(noise_power / 2) * scale if noise_power > 0 else DEFAULT_NOISE_ADC

    # --- headers and packets ---------------------------------------------------------
    subcoms = [_Subcom(orbit) for _ in channels]
    counters = [_Counters() for _ in channels]
    pri_count = 0
    chunks: list[bytes] = []
    all_headers: list[HeaderArray] = []

    def emit(headers: list[HeaderArray], iq: list[npt.NDArray[np.complex64]]) -> None:
        h = _interleave(headers)
        chunks.append(encode_packets(h, _interleave_iq(iq)))
        all_headers.append(h)

    # preamble: per swath, noise then calibration packets, ending before the first line
    pre_lines = noise_lines + cal_lines
    t_pre = t_start - sum(pre_lines * sw.pri for sw in swaths) - 1e-3
    for sw in swaths:
        if pre_lines == 0:
            break
        win = windows[sw.name]
        pre_times = t_pre + np.arange(pre_lines, dtype=np.float64) * sw.pri
        t_pre = float(pre_times[-1]) + sw.pri
        kinds = [int(SignalType.NOISE)] * noise_lines + [
            int(SignalType.TX_CAL), int(SignalType.RX_CAL), int(SignalType.EPDN_CAL),
            int(SignalType.TA_CAL),
        ][:cal_lines] + [int(SignalType.TX_CAL)] * max(0, cal_lines - 4)  # fmt: skip
        replica = chirp_samples(sw.chirp, sw.sampling_rate)[: win.n_samples] * 200.0
        hs, iqs = [], []
        for c, ch in enumerate(channels):
            iq = _complex_noise(rng, (pre_lines, win.n_samples), noise_std_adc)
            for i, kind in enumerate(kinds):
                if kind in (int(SignalType.TX_CAL), int(SignalType.EPDN_CAL)):
                    iq[i, : replica.size] += replica
            counts = pri_count + np.arange(pre_lines, dtype=np.int64)
            hs.append(_fill_headers(
                pre_times, sw, win, ch, signal_type=0, baq_mode=aux_baq, pri_counts=counts,
                steering=np.zeros(pre_lines), data_take_id=data_take_id, subcom=subcoms[c],
                counters=counters[c],
            ))  # fmt: skip
            hs[-1]["signal_type"] = kinds
            hs[-1]["sas_ssb_flag"] = [1 if k >= int(SignalType.TX_CAL) else 0 for k in kinds]
            iqs.append(iq.astype(np.complex64))
        pri_count += pre_lines
        emit(hs, iqs)

    for b, per_channel in zip(bursts, echoes, strict=True):
        sw, win = b.swath, windows[b.swath.name]
        counts = pri_count + np.arange(b.n_lines, dtype=np.int64)
        pri_count += b.n_lines
        hs = [
            _fill_headers(
                b.line_times, sw, win, ch, signal_type=int(SignalType.ECHO), baq_mode=echo_baq,
                pri_counts=counts, steering=b.steering_angles(), data_take_id=data_take_id,
                subcom=subcoms[c], counters=counters[c],
            )
            for c, ch in enumerate(channels)
        ]  # fmt: skip
        emit(hs, [(x * scale).astype(np.complex64) for x in per_channel])

    headers = np.concatenate(all_headers) if all_headers else empty_headers(0)
    truth = _truth(
        mode, (lat_c, lon_c), targets, xyz, placed, swaths, windows, bursts, channels,
        t_start, span, baq, snr_db, noise_power, scale, noise_std_adc, data_take_id,
        relative_orbit, clutter, seed,
    )  # fmt: skip
    return SimulatedDatatake(b"".join(chunks), truth, orbit, headers)


def _truth(
    mode: str, center: tuple[float, float], targets: list[Target], xyz: npt.NDArray[np.float64],
    placed: SimulatedOrbit, swaths: tuple[SwathParameters, ...], windows: dict[str, EchoWindow],
    bursts: list[Burst], channels: tuple[Channel, ...], t_start: float, span: float, baq: str,
    snr_db: float | None, noise_power: float, scale: float, noise_std_adc: float,
    data_take_id: int, relative_orbit: int, clutter: ClutterPatch | None, seed: int,
) -> dict[str, Any]:  # fmt: skip
    orbit = placed.orbit

    def stamp(t: float) -> dict[str, Any]:
        return {"utc": gps_seconds_to_iso(t), "gps_seconds": t}

    target_records: list[dict[str, Any]] = []
    if len(targets):
        t_zd, r_zd = zero_doppler_times(orbit, xyz, placed.reference_time)
        for i, tg in enumerate(targets):
            delay = 2 * float(r_zd[i]) / SPEED_OF_LIGHT
            seen = [
                sw.name for sw in swaths
                if windows[sw.name].slant_range_time <= delay
                < windows[sw.name].slant_range_time + windows[sw.name].n_samples / sw.sampling_rate
            ]  # fmt: skip
            target_records.append({
                **tg.to_dict(),
                "ecef": [float(v) for v in xyz[i]],
                "zero_doppler_time": stamp(float(t_zd[i])),
                "slant_range": float(r_zd[i]),
                "two_way_delay": delay,
                "swaths": seen,
            })  # fmt: skip
    swath_records: dict[str, Any] = {}
    for sw in swaths:
        win = windows[sw.name]
        swath_records[sw.name] = {
            "prf": sw.prf, "pri": sw.pri, "pri_code": sw.pri_code,
            "range_decimation": sw.range_decimation, "range_sampling_rate": sw.sampling_rate,
            "chirp": {
                "ramp_rate": sw.chirp.ramp_rate, "start_frequency": sw.chirp.start_frequency,
                "pulse_length": sw.chirp.pulse_length, "txprr_code": sw.txprr_code,
                "txpsf_code": sw.txpsf_code, "txpl_code": sw.txpl_code,
            },
            "rank": win.rank, "swst": win.swst, "swst_code": win.swst_code,
            "swl_code": win.swl_code, "slant_range_time": win.slant_range_time,
            "n_samples": win.n_samples, "look_angle_span_deg": [sw.look_near_deg,
                                                                 sw.look_far_deg],
            "azimuth_steering_rate": sw.azimuth_steering_rate,
            "swath_number": sw.swath_number, "ecc_number": sw.ecc_number,
            "elevation_beam_address": sw.elevation_beam_address,
            "bursts": [
                {
                    "index": b.index, "burst_id": b.burst_id,
                    "label": f"t{relative_orbit:03d}_{b.burst_id:06d}_{sw.name.lower()}"
                    if sw.is_tops else "",
                    "first_line_time": stamp(b.first_line_time), "n_lines": b.n_lines,
                    "mid_time": stamp(b.mid_time), "line_interval": sw.pri,
                }
                for b in bursts if b.swath.name == sw.name
            ],
        }  # fmt: skip
    return {
        "mode": mode,
        "center": {"lat": center[0], "lon": center[1]},
        "polarisations": [c.name for c in channels],
        "rx_channels": {c.name: c.rx_channel_id for c in channels},
        "baq": baq,
        "data_take_id": data_take_id,
        "seed": seed,
        "start_time": stamp(t_start),
        "stop_time": stamp(t_start + span),
        "ascending": placed.ascending,
        "anx_time": stamp(placed.anx_time),
        "relative_orbit": relative_orbit,
        "reference_time": stamp(placed.reference_time),
        "reference_look_angle_deg": placed.look_angle_deg,
        "conventions": {
            "datation": "transmit time of the line's pulse (2^-16 s steps)",
            "line_times": "first_line_time + k * line_interval, exact",
            "sample0_delay": "rank*PRI + SWST + 320/(8 f_ref)",
            "pulse": "exp(j 2 pi (TXPSF t + TXPRR t^2/2)), 0 <= t < TXPL, from transmit",
            "carrier": "exp(-j 2 pi f0 tau), tau bistatic two-way delay",
            "steering": "psi = k_psi (t - burst mid_time)",
        },
        "targets": target_records,
        "clutter": None if clutter is None else clutter.__dict__,
        "noise": {
            "snr_db": snr_db,
            "noise_power_sim": noise_power,
            "noise_std_adc": noise_std_adc,
            "adc_scale": scale,
        },  # fmt: skip
        "orbit": {
            "state_vectors": [
                {
                    "time": gps_seconds_to_iso(float(t)),
                    "gps_seconds": float(t),
                    "position": [float(v) for v in p],
                    "velocity": [float(v) for v in v3],
                }
                for t, p, v3 in zip(orbit.times, orbit.positions, orbit.velocities, strict=True)
            ],
        },  # fmt: skip
        "swaths": swath_records,
    }


def write_simulation(path: str | Path, datatake: SimulatedDatatake) -> Path:
    """Write ``RAW.dat`` (packets) and ``RAW.dat.json`` (truth).

    Parameters
    ----------
    path
        A directory (``RAW.dat`` is created in it) or the ``.dat`` file path; the truth
        goes to the same path with ``.json`` appended.

    Returns
    -------
    pathlib.Path
        The ``.dat`` file written.

    Raises
    ------
    SimulationError
        If the files cannot be written.
    """
    p = Path(path)
    target = p / "RAW.dat" if p.is_dir() or p.suffix == "" else p
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(datatake.data)
        Path(f"{target}.json").write_text(json.dumps(datatake.truth, indent=1))
    except OSError as exc:
        raise SimulationError(f"cannot write simulation to {target}: {exc}") from None
    return target
