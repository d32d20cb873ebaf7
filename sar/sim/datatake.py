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

from sar.errors import SimulationError
from sar.geo.ellipsoid import ecef_to_geodetic, ellipsoid_normal
from sar.geo.orbit import Orbit, interpolate_orbit
from sar.l0.ancillary import WORDS_PER_CYCLE, encode_ancillary_words
from sar.l0.enums import BaqMode, SignalType
from sar.l0.fields import HeaderArray, empty_headers
from sar.l0.headers import SAS_CAL_TYPE, encode_calibration_sas
from sar.l0.packets import encode_packets
from sar.l0.radar import encode_packet_time
from sar.sim.acquisition import (
    Acquisition,
    Channel,
    add_burst_noise,
    noise_power_for,
    plan_acquisition,
    scene_scatterers,
    simulate_burst,
)
from sar.sim.echo import chirp_samples
from sar.sim.modes import SwathParameters, azimuth_beam_address
from sar.sim.scene import ClutterPatch, Target
from sar.sim.timeline import Burst, EchoWindow
from sar.sim.truth import build_truth

PEAK_ADC = 400.0
"""Largest |I| or |Q| of the echo packets after scaling, ADC units (bypass range +-511)."""

ADC_MAX = 511.0
"""Largest magnitude of a 10-bit sign-magnitude sample."""

CACHE_BYTES = 512 * 2**20
"""Echoes up to this size are kept between the scaling pass and the encoding pass;
larger data-takes are simulated twice, one burst at a time."""

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
        The header records given to the encoder (fields the encoder fills, such as
        ``number_of_quads``, ``packet_data_length`` and ``sync_marker``, are zero here).
    acquisition
        Geometry, windows and bursts of the simulation.
    """

    data: bytes
    truth: dict[str, Any]
    orbit: Orbit
    headers: HeaderArray = field(repr=False)
    acquisition: Acquisition | None = field(default=None, repr=False)


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


def _to_adc(x: npt.NDArray[np.complex64], scale: float) -> npt.NDArray[np.complex64]:
    """Scale to ADC units and saturate I and Q at +-511 (10-bit sign-magnitude)."""
    y = x * np.float32(scale)
    np.clip(y.real, -ADC_MAX, ADC_MAX, out=y.real)
    np.clip(y.imag, -ADC_MAX, ADC_MAX, out=y.imag)
    return y.astype(np.complex64)


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
    if baq.lower() not in _BAQ_CODES:
        raise SimulationError(f"unknown BAQ {baq!r}; use one of {', '.join(_BAQ_CODES)}")
    echo_baq = int(_BAQ_CODES[baq.lower()])
    bypass = int(BaqMode.BYPASS)
    aux_baq = int(BaqMode.BAQ_5BIT) if echo_baq == bypass else bypass
    acq = plan_acquisition(
        mode, center, duration, pol=pol, n_samples=n_samples, start_time=start_time,
        ascending=ascending, cross_pol_ratio=cross_pol_ratio, relative_orbit=relative_orbit,
        orbit_step=orbit_step,
    )  # fmt: skip
    swaths, channels, windows, bursts = acq.swaths, acq.channels, acq.windows, acq.bursts
    orbit, t_start = acq.placed.orbit, acq.start_time
    scat = scene_scatterers(targets, clutter, seed)

    def burst_echoes(b: Burst) -> list[npt.NDArray[np.complex64]]:
        return simulate_burst(
            acq, b, scat, elevation_pattern=elevation_pattern, azimuth_lobes=azimuth_lobes
        )

    # --- pass 1: signal power and peak (echoes kept when they fit in memory) ------------
    size = sum(b.n_lines * windows[b.swath.name].n_samples for b in bursts) * 8 * len(channels)
    cache: list[list[npt.NDArray[np.complex64]]] | None = [] if size <= CACHE_BYTES else None
    total, count, peak = 0.0, 0, 0.0
    for b in bursts:
        e = burst_echoes(b)
        total += float(np.sum(np.abs(e[0]) ** 2))
        count += e[0].size
        peak = max([peak] + [float(max(np.abs(x.real).max(), np.abs(x.imag).max())) for x in e])
        if cache is not None:
            cache.append(e)
    noise_power = noise_power_for(total / max(1, count), snr_db)

    # --- scaling to ADC units: the noise-free peak plus 5 sigma of noise at PEAK_ADC ----
    sigma = math.sqrt(noise_power / 2)
    scale = PEAK_ADC / (peak + 5 * sigma) if peak + sigma > 0 else 1.0
    noise_std_adc = sigma * scale if noise_power > 0 else DEFAULT_NOISE_ADC
    rng = np.random.default_rng([seed, 3])

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
            cal = np.array([k >= int(SignalType.TX_CAL) for k in kinds])
            hs[-1]["sas_ssb_flag"] = cal
            part = hs[-1][cal]
            encode_calibration_sas(part, [SAS_CAL_TYPE[k] for k in np.asarray(kinds)[cal]])
            hs[-1][cal] = part
            iqs.append(iq.astype(np.complex64))
        pri_count += pre_lines
        emit(hs, iqs)

    for number, b in enumerate(bursts):
        sw, win = b.swath, windows[b.swath.name]
        per_channel = add_burst_noise(
            cache[number] if cache is not None else burst_echoes(b), noise_power, seed, number
        )
        if cache is not None:
            cache[number] = []  # release memory as the stream is written
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
        emit(hs, [_to_adc(x, scale) for x in per_channel])

    headers = np.concatenate(all_headers) if all_headers else empty_headers(0)
    truth = build_truth(
        acq, targets, baq=baq, seed=seed, data_take_id=data_take_id, snr_db=snr_db,
        noise_power=noise_power, adc_scale=scale, noise_std_adc=noise_std_adc, clutter=clutter,
    )  # fmt: skip
    return SimulatedDatatake(b"".join(chunks), truth, orbit, headers, acq)


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
