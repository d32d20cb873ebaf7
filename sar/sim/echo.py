"""Raw echoes of point scatterers seen by a moving right-looking SAR.

For pulse ``n`` transmitted at ``t_n`` from ``S(t_n)`` the echo of a fixed scatterer
``P`` starts at the two-way delay ``tau_n`` and is the transmitted baseband pulse
``p(t) = exp(j 2 pi (TXPSF t + TXPRR t^2 / 2))``, ``0 <= t < TXPL`` (S1-IF-ASD-PL-0007
sections 3.2.5.6-3.2.5.8), delayed by ``tau_n``, times the carrier phase
``exp(-j 2 pi f0 tau_n)`` (= ``exp(-j 4 pi R / lambda)`` in the stop-and-go limit),
sampled on the decimated complex grid ``window_start + i / f_s`` after transmission.

Delay model (not stop-and-go): ``tau = (|P - S(t_n)| + |P - S(t_n + tau)|) / c``,
solved by fixed-point iteration with the receive position extrapolated from the state
at ``t_n`` (``S + V tau + A tau^2 / 2``); the target is treated as fixed during one
pulse (intra-pulse Doppler ignored: a few mm of range change within 60 us).

Amplitude: ``a_k G_az G_el R_ref^2 / (R_tx R_rx)``, with the two-way azimuth pattern of
a uniformly illuminated aperture ``sinc^2(L_a (sin theta - sin psi) / lambda)``
(``theta``: angle of the line of sight from the zero-Doppler plane, ``psi``: TOPS
steering angle, ``docs/tops.md`` section 4) and optionally the elevation pattern
``sinc^2(H (sin(beta - beta_0)) / lambda)``. Only the azimuth extent where
``|L_a (sin theta - sin psi) / lambda| < lobes`` and the range samples covered by the
pulse are computed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np
import numpy.typing as npt

from sar.constants import RADAR_FREQUENCY, SPEED_OF_LIGHT
from sar.errors import SimulationError
from sar.focus.model import ChirpParameters
from sar.geo.ellipsoid import ecef_to_geodetic, ellipsoid_normal
from sar.geo.orbit import FloatArray, Orbit, interpolate_orbit_full

ComplexArray = npt.NDArray[np.complex64]

AZIMUTH_ANTENNA_LENGTH = 12.3
"""Sentinel-1 antenna length, m (12.3 x 0.84 m aperture, ESA SAR instrument page)."""

ELEVATION_ANTENNA_HEIGHT = 0.821
"""Sentinel-1 antenna height, m (ESA Sentinel-1 SAR user guide: 12.3 m x 0.821 m)."""

REFERENCE_RANGE = 850_000.0
"""Range at which a unit-amplitude scatterer in the beam centre has amplitude 1, m."""


@dataclass(frozen=True)
class AntennaModel:
    """Two-way antenna pattern of the simulator.

    Attributes
    ----------
    azimuth_length
        Aperture length, m.
    elevation_height
        Aperture height, m (used only when ``elevation_boresight`` is set).
    elevation_boresight
        Off-nadir angle of the elevation beam centre, rad, or ``None`` for a flat
        elevation pattern.
    azimuth_lobes
        Half-width of the simulated azimuth extent in units of ``lambda / L_a`` in
        ``sin(theta)`` (1: main lobe only, 2: main lobe and first sidelobes).
    """

    azimuth_length: float = AZIMUTH_ANTENNA_LENGTH
    elevation_height: float = ELEVATION_ANTENNA_HEIGHT
    elevation_boresight: float | None = None
    azimuth_lobes: float = 2.0


@nb.njit(cache=True, inline="always")
def _sinc2(x: float) -> float:
    if abs(x) < 1e-12:
        return 1.0
    s = math.sin(math.pi * x) / (math.pi * x)
    return s * s


@nb.njit(cache=True, inline="always")
def _geometry(
    px: float, py: float, pz: float, pos: FloatArray, vel: FloatArray, acc: FloatArray,
    down: FloatArray, n: int, sin_psi: float, la: float, he: float, el0: float,
    use_el: bool, lobes: float, bistatic: bool, c: float,
) -> tuple[float, float, float]:  # fmt: skip
    """Return (gain, tau, 1/(R_tx R_rx)); gain < 0 when outside the simulated extent."""
    dx = px - pos[n, 0]
    dy = py - pos[n, 1]
    dz = pz - pos[n, 2]
    r1 = math.sqrt(dx * dx + dy * dy + dz * dz)
    vn = math.sqrt(vel[n, 0] ** 2 + vel[n, 1] ** 2 + vel[n, 2] ** 2)
    sin_theta = (dx * vel[n, 0] + dy * vel[n, 1] + dz * vel[n, 2]) / (r1 * vn)
    x = la * (sin_theta - sin_psi)
    if abs(x) >= lobes:
        return -1.0, 0.0, 0.0
    g = _sinc2(x)
    if use_el:
        cb = (dx * down[n, 0] + dy * down[n, 1] + dz * down[n, 2]) / r1
        beta = math.acos(min(1.0, max(-1.0, cb)))
        g *= _sinc2(he * math.sin(beta - el0))
    tau = 2.0 * r1 / c
    r2 = r1
    if bistatic:
        for _ in range(3):
            sx = pos[n, 0] + vel[n, 0] * tau + 0.5 * acc[n, 0] * tau * tau
            sy = pos[n, 1] + vel[n, 1] * tau + 0.5 * acc[n, 1] * tau * tau
            sz = pos[n, 2] + vel[n, 2] * tau + 0.5 * acc[n, 2] * tau * tau
            r2 = math.sqrt((px - sx) ** 2 + (py - sy) ** 2 + (pz - sz) ** 2)
            tau = (r1 + r2) / c
    return g, tau, 1.0 / (r1 * r2)


@nb.njit(parallel=True, cache=True)
def _echo_kernel(
    out: ComplexArray, pos: FloatArray, vel: FloatArray, acc: FloatArray, down: FloatArray,
    sin_psi: FloatArray, tgt: FloatArray, amp: npt.NDArray[np.complex128], win0: float,
    fs: float, txpsf: float, txprr: float, txpl: float, f0: float, la: float, he: float,
    el0: float, use_el: bool, lobes: float, r_ref2: float, bistatic: bool, c: float,
) -> None:  # fmt: skip
    n_lines, n_samples = out.shape
    two_pi = 2.0 * math.pi
    for n in nb.prange(n_lines):
        for k in range(tgt.shape[0]):
            g, tau, inv_rr = _geometry(
                tgt[k, 0], tgt[k, 1], tgt[k, 2], pos, vel, acc, down, n, sin_psi[n], la, he,
                el0, use_el, lobes, bistatic, c,
            )  # fmt: skip
            if g < 0.0:
                continue
            a = amp[k] * (g * r_ref2 * inv_rr)
            ft = f0 * tau
            carrier = -two_pi * (ft - math.floor(ft))
            i0 = max(0, int(math.ceil((tau - win0) * fs)))
            i1 = min(n_samples - 1, int(math.floor((tau + txpl - win0) * fs)))
            for i in range(i0, i1 + 1):
                t = (win0 - tau) + i / fs
                if t < 0.0 or t >= txpl:
                    continue
                ph = carrier + two_pi * (txpsf * t + 0.5 * txprr * t * t)
                out[n, i] += a * complex(math.cos(ph), math.sin(ph))


@nb.njit(parallel=True, cache=True)
def _deposit_kernel(
    out: npt.NDArray[np.complex128], pos: FloatArray, vel: FloatArray, acc: FloatArray,
    down: FloatArray, sin_psi: FloatArray, tgt: FloatArray, amp: npt.NDArray[np.complex128],
    win0: float, fs: float, offset: int, f0: float, la: float, he: float, el0: float,
    use_el: bool, lobes: float, r_ref2: float, bistatic: bool, c: float, half: int,
) -> None:  # fmt: skip
    """Band-limited impulses (Hann-windowed sinc, ``2 half`` taps) at each echo delay."""
    n_lines, n_buf = out.shape
    two_pi = 2.0 * math.pi
    for n in nb.prange(n_lines):
        for k in range(tgt.shape[0]):
            g, tau, inv_rr = _geometry(
                tgt[k, 0], tgt[k, 1], tgt[k, 2], pos, vel, acc, down, n, sin_psi[n], la, he,
                el0, use_el, lobes, bistatic, c,
            )  # fmt: skip
            if g < 0.0:
                continue
            a = amp[k] * (g * r_ref2 * inv_rr)
            ft = f0 * tau
            carrier = -two_pi * (ft - math.floor(ft))
            a = a * complex(math.cos(carrier), math.sin(carrier))
            q = (tau - win0) * fs + offset
            iq = int(math.floor(q))
            for j in range(iq - half + 1, iq + half + 1):
                if j < 0 or j >= n_buf:
                    continue
                d = j - q
                w = 0.5 + 0.5 * math.cos(math.pi * d / half)
                s = 1.0 if abs(d) < 1e-12 else math.sin(math.pi * d) / (math.pi * d)
                out[n, j] += a * (w * s)


def chirp_samples(chirp: ChirpParameters, sampling_rate: float) -> npt.NDArray[np.complex128]:
    """Transmitted baseband pulse sampled at ``t = k / f_s``, ``0 <= t < TXPL``.

    ``p(t) = exp(j 2 pi (TXPSF t + TXPRR t^2 / 2))`` (S1-IF-ASD-PL-0007 section 3.2.5.8).
    """
    n = int(math.ceil(chirp.pulse_length * sampling_rate))
    t = np.arange(n) / sampling_rate
    t = t[t < chirp.pulse_length]
    phase = 2 * np.pi * (chirp.start_frequency * t + 0.5 * chirp.ramp_rate * t**2)
    return np.asarray(np.exp(1j * phase), dtype=np.complex128)


def _line_geometry(
    orbit: Orbit, line_times: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    pos, vel, acc = interpolate_orbit_full(orbit, line_times)
    lat, lon, _ = ecef_to_geodetic(pos)
    down = -ellipsoid_normal(lat, lon)
    return (
        np.ascontiguousarray(pos),
        np.ascontiguousarray(vel),
        np.ascontiguousarray(acc),
        np.ascontiguousarray(down),
    )


def simulate_echoes(
    orbit: Orbit,
    line_times: npt.ArrayLike,
    targets_xyz: npt.ArrayLike,
    amplitudes: npt.ArrayLike,
    *,
    window_start: float,
    sampling_rate: float,
    n_samples: int,
    chirp: ChirpParameters,
    steering_angles: npt.ArrayLike | None = None,
    antenna: AntennaModel | None = None,
    radar_frequency: float = RADAR_FREQUENCY,
    bistatic: bool = True,
    method: str = "exact",
    reference_range: float = REFERENCE_RANGE,
) -> ComplexArray:
    """Simulate raw echo lines of point scatterers.

    Parameters
    ----------
    orbit
        ECEF orbit covering ``line_times`` (plus the ~6 ms echo delay).
    line_times
        Transmit time of each line's pulse, GPS s, shape (n_lines,).
    targets_xyz
        Scatterer positions, ECEF m, shape (n_targets, 3).
    amplitudes
        Complex scatterer amplitudes (``sqrt(rcs)`` times a phase), shape (n_targets,).
    window_start
        Two-way time from transmission to sample 0 of every line, s.
    sampling_rate
        Complex sampling rate, Hz.
    n_samples
        Samples per line.
    chirp
        Transmitted pulse (TXPRR Hz/s, TXPSF Hz, TXPL s).
    steering_angles
        TOPS azimuth steering angle per line, rad (``k_psi (t - t_mid)``), default 0.
    antenna
        Antenna pattern model.
    radar_frequency
        Carrier frequency, Hz.
    bistatic
        Model the satellite motion between transmission and reception (else stop-and-go).
    method
        ``"exact"``: pulse evaluated analytically at every sample (point targets);
        ``"fft"``: band-limited impulses convolved with the sampled pulse by FFT
        (fast for many scatterers, e.g. clutter; accurate inside the pulse band).
    reference_range
        Range of unit gain, m.

    Returns
    -------
    numpy.ndarray
        complex64 [n_lines, n_samples].

    Raises
    ------
    SimulationError
        On inconsistent shapes or parameters.
    """
    times = np.ascontiguousarray(np.asarray(line_times, dtype=np.float64).reshape(-1))
    tgt = np.ascontiguousarray(np.asarray(targets_xyz, dtype=np.float64).reshape(-1, 3))
    amp = np.ascontiguousarray(np.asarray(amplitudes, dtype=np.complex128).reshape(-1))
    if amp.shape[0] != tgt.shape[0]:
        raise SimulationError("one amplitude per target is required")
    if n_samples <= 0 or sampling_rate <= 0:
        raise SimulationError("n_samples and sampling_rate must be positive")
    if chirp.pulse_length <= 0:
        raise SimulationError("pulse length must be positive")
    ant = antenna if antenna is not None else AntennaModel()
    psi = (
        np.zeros_like(times)
        if steering_angles is None
        else np.asarray(steering_angles, dtype=np.float64).reshape(-1)
    )
    if psi.shape != times.shape:
        raise SimulationError("one steering angle per line is required")
    sin_psi = np.ascontiguousarray(np.sin(psi))
    pos, vel, acc = _line_geometry(orbit, times)[:3]
    down = _line_geometry(orbit, times)[3] if ant.elevation_boresight is not None else pos
    wavelength = SPEED_OF_LIGHT / radar_frequency
    use_el = ant.elevation_boresight is not None
    el0 = float(ant.elevation_boresight) if ant.elevation_boresight is not None else 0.0
    common = (
        radar_frequency,
        ant.azimuth_length / wavelength,
        ant.elevation_height / wavelength,
        el0,
        use_el,
        float(ant.azimuth_lobes),
        reference_range**2,
        bistatic,
        SPEED_OF_LIGHT,
    )
    if method == "exact":
        out = np.zeros((times.size, n_samples), dtype=np.complex64)
        _echo_kernel(
            out, pos, vel, acc, down, sin_psi, tgt, amp, float(window_start),
            float(sampling_rate), chirp.start_frequency, chirp.ramp_rate, chirp.pulse_length,
            *common,
        )  # fmt: skip
        return out
    if method == "fft":
        return _fft_echoes(
            pos, vel, acc, down, sin_psi, tgt, amp, float(window_start), float(sampling_rate),
            n_samples, chirp, common,
        )  # fmt: skip
    raise SimulationError(f"unknown echo method {method!r}")


def _fft_echoes(
    pos: FloatArray, vel: FloatArray, acc: FloatArray, down: FloatArray, sin_psi: FloatArray,
    tgt: FloatArray, amp: npt.NDArray[np.complex128], win0: float, fs: float, n_samples: int,
    chirp: ChirpParameters, common: tuple[float, float, float, float, bool, float, float, bool,
                                          float],
) -> ComplexArray:  # fmt: skip
    pulse = chirp_samples(chirp, fs)
    half = 8
    offset = pulse.size + half
    n_buf = n_samples + offset + half
    nfft = 1 << int(math.ceil(math.log2(n_buf + pulse.size)))
    spec = np.fft.fft(pulse, nfft)
    out = np.empty((pos.shape[0], n_samples), dtype=np.complex64)
    block = 256
    for l0 in range(0, pos.shape[0], block):
        l1 = min(pos.shape[0], l0 + block)
        buf = np.zeros((l1 - l0, n_buf), dtype=np.complex128)
        _deposit_kernel(
            buf, pos[l0:l1], vel[l0:l1], acc[l0:l1], down[l0:l1], sin_psi[l0:l1], tgt, amp,
            win0, fs, offset, *common, half,
        )  # fmt: skip
        conv = np.fft.ifft(np.fft.fft(buf, nfft, axis=1) * spec[None, :], axis=1)
        out[l0:l1] = conv[:, offset : offset + n_samples]
    return out


def add_noise(echoes: ComplexArray, noise_power: float, rng: np.random.Generator) -> ComplexArray:
    """Add circular complex Gaussian thermal noise of power ``noise_power`` per sample."""
    if noise_power < 0:
        raise SimulationError("noise power must be non-negative")
    sigma = math.sqrt(noise_power / 2.0)
    noise = rng.standard_normal(echoes.shape, dtype=np.float32) * sigma
    noise = noise + 1j * rng.standard_normal(echoes.shape, dtype=np.float32) * sigma
    return (echoes + noise).astype(np.complex64)
