"""Acquisition planning and echo simulation shared by the Level-0 and RawData outputs.

:func:`plan_acquisition` places the orbit so that the scene centre lies mid-swath (IW:
mid-IW2) at zero Doppler at mid-time, designs each swath's echo window and the line
timeline; :func:`simulate_burst` simulates one burst for every receive channel, and
thermal noise is drawn per burst from the seed (same data whatever the output);
:func:`simulate_raw` returns the echoes directly as :class:`~sar.focus.model.RawData`
blocks (unquantised, no packets), for fast focusing tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sar.constants import IW_BURST_CYCLE, RADAR_FREQUENCY, SPEED_OF_LIGHT
from sar.errors import SimulationError
from sar.focus.model import RawData
from sar.geo.orbit import SimulatedOrbit, interpolate_orbit, make_orbit
from sar.l0.enums import Polarisation, RxChannelId
from sar.l0.radar import encode_packet_time, packet_time
from sar.sim.echo import AntennaModel, add_noise, simulate_echoes
from sar.sim.modes import SwathParameters, mode_swaths
from sar.sim.scene import ClutterPatch, Target, clutter_scatterers, targets_ecef
from sar.sim.timeline import Burst, EchoWindow, centred_window, full_swath_window, plan_bursts
from sar.timeutil import iso_to_gps_seconds

DEFAULT_START = "2024-06-01T10:00:00Z"
"""Default first-line time (UTC)."""

ComplexArray = npt.NDArray[np.complex64]


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

    Raises
    ------
    SimulationError
        For another polarisation.
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
class Acquisition:
    """Geometry and timeline of a simulated data-take.

    Attributes
    ----------
    mode
        ``"S1"`` .. ``"S6"`` or ``"IW"``.
    center
        Scene centre (lat, lon), deg.
    swaths, channels
        Swath parameters and receive channels.
    placed
        The designed orbit (``placed.orbit``) and its placement.
    windows
        Echo window per swath name.
    bursts
        Line blocks in time order (one per swath and burst cycle; one for stripmap).
    start_time, span
        First echo line (GPS s) and sensing span (s).
    relative_orbit
        Relative orbit used in burst labels.
    """

    mode: str
    center: tuple[float, float]
    swaths: tuple[SwathParameters, ...]
    channels: tuple[Channel, ...]
    placed: SimulatedOrbit
    windows: dict[str, EchoWindow]
    bursts: list[Burst]
    start_time: float
    span: float
    relative_orbit: int

    def burst_label(self, burst: Burst) -> str:
        """ESA burst label ``t{track:03d}_{id:06d}_iw{n}`` (empty for stripmap)."""
        if not burst.swath.is_tops:
            return ""
        return f"t{self.relative_orbit:03d}_{burst.burst_id:06d}_{burst.swath.name.lower()}"


def _gps_start(start_time: float | str | None) -> float:
    t = iso_to_gps_seconds(DEFAULT_START) if start_time is None else start_time
    t = iso_to_gps_seconds(t) if isinstance(t, str) else float(t)
    coarse, fine = encode_packet_time(t)
    return float(packet_time(coarse, fine))  # representable exactly by the datation


def plan_acquisition(
    mode: str,
    center: tuple[float, float],
    duration: float,
    *,
    pol: str = "VV",
    n_samples: int | None = None,
    start_time: float | str | None = None,
    ascending: bool = True,
    cross_pol_ratio: float = 0.1,
    relative_orbit: int = 1,
    orbit_step: float = 1.0,
) -> Acquisition:
    """Place the orbit, design the echo windows and plan the lines of a data-take.

    See :func:`sar.sim.datatake.simulate_datatake` for the parameters.

    Raises
    ------
    SimulationError
        Unknown mode or polarisation, bad centre or duration.
    """
    swaths = mode_swaths(mode)
    channels = parse_polarisation(pol, cross_pol_ratio)
    lat_c, lon_c = float(center[0]), float(center[1])
    if not (-90 <= lat_c <= 90 and -180 <= lon_c <= 180):
        raise SimulationError(f"centre ({lat_c}, {lon_c}) is not a valid lat/lon")
    if not duration > 0:
        raise SimulationError(f"duration must be positive, got {duration}")
    t_start = _gps_start(start_time)
    tops = swaths[0].is_tops
    span = max(1, round(duration / IW_BURST_CYCLE)) * IW_BURST_CYCLE if tops else duration
    t_mid = t_start + 0.5 * span
    reference = swaths[len(swaths) // 2]
    margin = 0.5 * span + 20.0
    placed = make_orbit(
        t_mid, lat_c, lon_c, look_angle_deg=reference.look_mid_deg, ascending=ascending,
        before=margin, after=margin, step=orbit_step,
    )  # fmt: skip
    pos_mid, _ = interpolate_orbit(placed.orbit, t_mid)
    radius = float(np.linalg.norm(pos_mid))
    centre_delay = 2 * float(np.linalg.norm(placed.reference_xyz - pos_mid)) / SPEED_OF_LIGHT
    windows: dict[str, EchoWindow] = {}
    for sw in swaths:
        full = full_swath_window(sw, radius, lat_c)
        if n_samples is None:
            windows[sw.name] = full
            continue
        delay = centre_delay
        if sw is not reference:
            delay = full.slant_range_time + 0.5 * (
                full.n_samples / sw.sampling_rate - sw.chirp.pulse_length
            )
        windows[sw.name] = centred_window(sw, delay, n_samples)
    bursts = plan_bursts(
        swaths, t_start, duration, anx_time=placed.anx_time, relative_orbit=relative_orbit
    )
    return Acquisition(
        mode, (lat_c, lon_c), swaths, channels, placed, windows, bursts, t_start, span,
        relative_orbit,
    )  # fmt: skip


@dataclass(frozen=True)
class Scatterers:
    """Scatterers of a scene: point targets (exact echoes) and clutter (FFT echoes).

    Attributes
    ----------
    points_xyz, points_amp
        ECEF m (n, 3) and complex amplitudes (n,) of the point targets.
    clutter_xyz, clutter_amp
        The same for the distributed clutter.
    """

    points_xyz: npt.NDArray[np.float64]
    points_amp: npt.NDArray[np.complex128]
    clutter_xyz: npt.NDArray[np.float64]
    clutter_amp: npt.NDArray[np.complex128]


def scene_scatterers(targets: list[Target], clutter: ClutterPatch | None, seed: int) -> Scatterers:
    """Scatterers of point targets (amplitude ``sqrt(rcs)``) and an optional clutter patch.

    The clutter draws from ``numpy.random.default_rng([seed, 1])``.
    """
    amp = np.sqrt(np.array([t.rcs for t in targets], dtype=np.float64)).astype(np.complex128)
    if clutter is not None:
        c_xyz, c_amp = clutter_scatterers(clutter, np.random.default_rng([seed, 1]))
    else:
        c_xyz, c_amp = np.zeros((0, 3)), np.zeros(0, dtype=np.complex128)
    return Scatterers(targets_ecef(targets), amp, c_xyz, c_amp)


def simulate_burst(
    acq: Acquisition,
    burst: Burst,
    scatterers: Scatterers,
    *,
    elevation_pattern: bool = False,
    azimuth_lobes: float = 2.0,
) -> list[ComplexArray]:
    """Noise-free echoes of one burst, one complex64 [lines, samples] array per channel."""
    sw, win = burst.swath, acq.windows[burst.swath.name]
    antenna = AntennaModel(
        elevation_boresight=math.radians(sw.look_mid_deg) if elevation_pattern else None,
        azimuth_lobes=azimuth_lobes,
    )
    kw: dict[str, Any] = {
        "window_start": win.slant_range_time, "sampling_rate": sw.sampling_rate,
        "n_samples": win.n_samples, "chirp": sw.chirp,
        "steering_angles": burst.steering_angles(), "antenna": antenna,
    }  # fmt: skip
    orbit = acq.placed.orbit
    out = []
    for ch in acq.channels:
        gain = math.sqrt(ch.rcs_factor)
        raw = simulate_echoes(
            orbit, burst.line_times, scatterers.points_xyz, scatterers.points_amp * gain, **kw
        )
        if scatterers.clutter_amp.size:
            raw += simulate_echoes(
                orbit, burst.line_times, scatterers.clutter_xyz,
                scatterers.clutter_amp * gain, method="fft", **kw,
            )  # fmt: skip
        out.append(raw)
    return out


def burst_noise_rng(seed: int, burst_number: int) -> np.random.Generator:
    """Random generator of the thermal noise of burst ``burst_number`` (0-based order)."""
    return np.random.default_rng([seed, 2, burst_number])


def add_burst_noise(
    echoes: list[ComplexArray], noise_power: float, seed: int, burst_number: int
) -> list[ComplexArray]:
    """Add thermal noise of power ``noise_power`` to a burst's channels (deterministic)."""
    if noise_power <= 0:
        return echoes
    rng = burst_noise_rng(seed, burst_number)
    return [add_noise(x, noise_power, rng) for x in echoes]


def noise_power_for(signal_power: float, snr_db: float | None) -> float:
    """Noise power giving ``snr_db`` against ``signal_power`` (0 when ``snr_db`` is None).

    Raises
    ------
    SimulationError
        If an SNR is requested but there is no signal.
    """
    if snr_db is None:
        return 0.0
    if signal_power <= 0:
        raise SimulationError("snr_db needs some signal: no target echoes in the window")
    return signal_power / 10 ** (snr_db / 10)


def simulate_raw(
    mode: str,
    center: tuple[float, float],
    duration: float,
    targets: list[Target],
    *,
    pol: str = "VV",
    seed: int = 0,
    n_samples: int | None = None,
    start_time: float | str | None = None,
    ascending: bool = True,
    snr_db: float | None = None,
    clutter: ClutterPatch | None = None,
    cross_pol_ratio: float = 0.1,
    elevation_pattern: bool = False,
    azimuth_lobes: float = 2.0,
    data_take_id: int = 0,
    relative_orbit: int = 1,
) -> tuple[Acquisition, list[RawData]]:
    """Simulate a data-take straight into :class:`~sar.focus.model.RawData` blocks.

    Same geometry, timeline and echoes as :func:`sar.sim.datatake.simulate_datatake`
    (same parameters), without quantisation or packets: one block per burst (one for
    stripmap) and receive channel, in time order, channels adjacent.

    Returns
    -------
    tuple
        The :class:`Acquisition` (geometry, windows, bursts) and the blocks.
    """
    acq = plan_acquisition(
        mode, center, duration, pol=pol, n_samples=n_samples, start_time=start_time,
        ascending=ascending, cross_pol_ratio=cross_pol_ratio, relative_orbit=relative_orbit,
    )  # fmt: skip
    scat = scene_scatterers(targets, clutter, seed)
    echoes = [
        simulate_burst(
            acq, b, scat, elevation_pattern=elevation_pattern, azimuth_lobes=azimuth_lobes
        )
        for b in acq.bursts
    ]
    total = sum(float(np.sum(np.abs(e[0]) ** 2)) for e in echoes)
    signal_power = total / max(1, sum(e[0].size for e in echoes))
    noise_power = noise_power_for(signal_power, snr_db)
    echoes = [add_burst_noise(e, noise_power, seed, i) for i, e in enumerate(echoes)]
    blocks: list[RawData] = []
    for b, per_channel in zip(acq.bursts, echoes, strict=True):
        sw, win = b.swath, acq.windows[b.swath.name]
        for ch, block in zip(acq.channels, per_channel, strict=True):
            blocks.append(
                RawData(
                    echoes=block, line_times=b.line_times,
                    slant_range_time=win.slant_range_time, range_sampling_rate=sw.sampling_rate,
                    prf=sw.prf, chirp=sw.chirp, orbit=acq.placed.orbit,
                    radar_frequency=RADAR_FREQUENCY, mode=mode, swath=sw.name,
                    polarisation=ch.name, azimuth_steering_rate=sw.azimuth_steering_rate,
                    burst_id=acq.burst_label(b), data_take_id=data_take_id,
                    extra={"burst_index": b.index, "burst_mid_time": b.mid_time,
                           "rank": win.rank},
                )
            )  # fmt: skip
    return acq, blocks
