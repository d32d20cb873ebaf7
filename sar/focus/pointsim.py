"""Point-target raw echoes on a straight-line trajectory (focusing tests and benchmark).

A compact, exactly solvable model, independent of :mod:`sar.sim`: the satellite moves on
a straight ECEF line ``S(t) = S0 + V (t - t_ref)`` (zero acceleration), so the range to a
fixed point is exactly hyperbolic, ``R(t) = sqrt(R0^2 + |V|^2 (t - t0)^2)``, and the
azimuth FM rate is exactly ``-2 |V|^2 / (lambda R0)``. Echo delays are bistatic:
``c tau = |P - S(t)| + |P - S(t + tau)|``. Each target is illuminated with a flat
(rectangular) pattern over the Doppler band ``f_dc +- B_ill / 2`` so its azimuth
spectrum is flat, which makes windowed impulse responses match theory. Pulse:
S1-IF-ASD-PL-0007 3.2.5.6-3.2.5.8 chirp, see :mod:`sar.focus.replica`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sar.constants import RADAR_FREQUENCY, SPEED_OF_LIGHT, WGS84_A
from sar.errors import FocusError
from sar.focus.model import ChirpParameters, RawData
from sar.geo.orbit import Orbit

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LineScene:
    """Geometry of a straight-line acquisition.

    Attributes
    ----------
    t_ref
        GPS s at which the satellite is at ``S0`` (above the equator, heading north).
    altitude
        Height of ``S0`` above the equatorial radius, m.
    speed
        |V|, m/s.
    look_angle
        Off-nadir angle of the targets, rad (right-looking).
    """

    t_ref: float = 1.4e9
    altitude: float = 693_000.0
    speed: float = 7_600.0
    look_angle: float = math.radians(32.0)

    def position(self, t: npt.ArrayLike) -> FloatArray:
        """ECEF position(s) at GPS time(s) ``t``, m, shape ``shape(t) + (3,)``."""
        dt = np.asarray(t, dtype=np.float64) - self.t_ref
        s0 = np.array([WGS84_A + self.altitude, 0.0, 0.0])
        return s0 + dt[..., None] * self.velocity

    @property
    def velocity(self) -> FloatArray:
        """ECEF velocity, m/s (northward)."""
        return np.array([0.0, 0.0, self.speed])

    def orbit(self, start: float, stop: float, step: float = 1.0) -> Orbit:
        """State vectors covering ``[start, stop]`` GPS s with margin."""
        times = np.arange(math.floor(start) - 5.0, math.ceil(stop) + 5.0 + step, step)
        vel = np.broadcast_to(self.velocity, (times.size, 3)).copy()
        return Orbit(times=times, positions=self.position(times), velocities=vel)

    def target(self, zero_doppler_time: float, slant_range: float) -> FloatArray:
        """ECEF point with the given zero-Doppler time (GPS s) and slant range (m)."""
        s = self.position(zero_doppler_time)
        along = self.velocity / self.speed
        up = s - (s @ along) * along
        up /= np.linalg.norm(up)
        right = np.cross(along, up)
        look = -math.cos(self.look_angle) * up + math.sin(self.look_angle) * right
        return np.asarray(s + slant_range * look, dtype=np.float64)


def echo_delays(scene: LineScene, line_times: FloatArray, point: FloatArray) -> FloatArray:
    """Bistatic two-way delays ``tau`` of a fixed point for pulses sent at ``line_times``."""
    p_tx = scene.position(line_times)
    r_tx = np.linalg.norm(point - p_tx, axis=-1)
    tau = 2.0 * r_tx / SPEED_OF_LIGHT
    for _ in range(4):
        r_rx = np.linalg.norm(point - scene.position(line_times + tau), axis=-1)
        tau = (r_tx + r_rx) / SPEED_OF_LIGHT
    return np.asarray(tau, dtype=np.float64)


def simulate_point_raw(
    scene: LineScene,
    targets: list[tuple[float, float, complex]],
    *,
    lines: int,
    samples: int,
    first_line_time: float,
    prf: float,
    range_sampling_rate: float,
    slant_range_time: float,
    chirp: ChirpParameters,
    illuminated_bandwidth: float,
    doppler_centroid: float = 0.0,
    noise_sigma: float = 0.0,
    radar_frequency: float = RADAR_FREQUENCY,
    seed: int = 0,
) -> RawData:
    """Raw echoes of point targets given by (zero-Doppler time GPS s, slant range m, amplitude).

    Parameters
    ----------
    scene
        Straight-line geometry.
    targets
        ``(t0, R0, amplitude)`` per target.
    lines, samples
        Block shape.
    first_line_time
        Transmit time of line 0, GPS s; lines every ``1 / prf``.
    prf, range_sampling_rate
        Hz.
    slant_range_time
        Two-way time of sample 0, s.
    chirp
        Transmitted pulse.
    illuminated_bandwidth
        Doppler band illuminated around ``doppler_centroid``, Hz (< PRF for no aliasing).
    doppler_centroid
        Hz (beam squint).
    noise_sigma
        Standard deviation of complex white noise per real component.
    radar_frequency
        Carrier, Hz.
    seed
        Noise seed.

    Returns
    -------
    RawData
    """
    if illuminated_bandwidth >= prf:
        raise FocusError("illuminated bandwidth must be below the PRF")
    wavelength = SPEED_OF_LIGHT / radar_frequency
    times = first_line_time + np.arange(lines) / prf
    echoes = np.zeros((lines, samples), dtype=np.complex64)
    n_pulse = int(math.ceil(chirp.pulse_length * range_sampling_rate)) + 1
    for t0, r0, amp in targets:
        point = scene.target(t0, r0)
        tau = echo_delays(scene, times, point)
        mid = times + 0.5 * tau
        los = point - scene.position(mid)
        rng = np.linalg.norm(los, axis=-1)
        doppler = 2.0 * (los @ scene.velocity) / (wavelength * rng)
        lit = np.nonzero(np.abs(doppler - doppler_centroid) <= 0.5 * illuminated_bandwidth)[0]
        for n in lit:
            k0 = int(math.ceil((tau[n] - slant_range_time) * range_sampling_rate))
            k = np.arange(max(k0, 0), min(k0 + n_pulse, samples))
            u = slant_range_time + k / range_sampling_rate - tau[n]
            inside = (u >= 0.0) & (u < chirp.pulse_length)
            k, u = k[inside], u[inside]
            phase = 2.0 * np.pi * (chirp.start_frequency * u + 0.5 * chirp.ramp_rate * u * u
                                   - radar_frequency * tau[n])
            echoes[n, k] += (amp * np.exp(1j * phase)).astype(np.complex64)
    if noise_sigma > 0.0:
        rng_gen = np.random.default_rng(seed)
        noise = rng_gen.standard_normal((lines, 2 * samples), dtype=np.float32)
        echoes += (noise_sigma * noise).view(np.complex64)
    t_mid = float(0.5 * (times[0] + times[-1]))
    return RawData(
        echoes=echoes,
        line_times=times,
        slant_range_time=slant_range_time,
        range_sampling_rate=range_sampling_rate,
        prf=prf,
        chirp=chirp,
        orbit=scene.orbit(t_mid - lines / prf, t_mid + lines / prf),
        radar_frequency=radar_frequency,
        mode="SM",
        swath="S3",
        polarisation="VV",
    )
