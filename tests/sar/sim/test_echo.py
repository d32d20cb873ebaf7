"""Physics of the raw echo simulator: delay, phase history, TOPS Doppler."""

from __future__ import annotations

import numpy as np
import pytest

from sar.constants import SPEED_OF_LIGHT, WAVELENGTH
from sar.errors import SimulationError
from sar.focus.model import ChirpParameters
from sar.geo.ellipsoid import geodetic_to_ecef
from sar.geo.orbit import interpolate_orbit, make_orbit
from sar.sim.echo import AntennaModel, chirp_samples, simulate_echoes

T0 = 1.4e9
FS = 64.345238e6
CHIRP = ChirpParameters(ramp_rate=1.078e12, start_frequency=-28.24e6, pulse_length=52.4e-6)
PRF = 1717.13
SO = make_orbit(T0, 45.0, 8.0, look_angle_deg=32.0, before=10.0, after=10.0, step=1.0)
TARGET = SO.reference_xyz


def _range_compress(raw: np.ndarray) -> np.ndarray:
    replica = chirp_samples(CHIRP, FS)
    n = raw.shape[1] + replica.size
    spec = np.fft.fft(raw, n, axis=1) * np.conj(np.fft.fft(replica, n))[None, :]
    return np.fft.ifft(spec, axis=1)[:, : raw.shape[1]]


def _peak_position(line: np.ndarray, up: int = 32) -> float:
    """Sub-sample peak position by zero-padding the spectrum of a 64-sample chip."""
    k = int(np.argmax(np.abs(line)))
    chip = line[k - 32 : k + 32]
    spec = np.fft.fftshift(np.fft.fft(chip))
    pad = np.zeros(64 * up, dtype=complex)
    pad[(64 * up - 64) // 2 : (64 * up + 64) // 2] = spec
    fine = np.fft.ifft(np.fft.ifftshift(pad))
    return k - 32 + int(np.argmax(np.abs(fine))) / up


def _setup(lines: int, samples: int) -> tuple[np.ndarray, float]:
    times = T0 + (np.arange(lines) - lines // 2) / PRF
    pos, _ = interpolate_orbit(SO.orbit, T0)
    r0 = float(np.linalg.norm(TARGET - pos))
    win0 = 2 * r0 / SPEED_OF_LIGHT - (samples // 3) / FS
    return times, win0


def test_range_peak_at_geometric_delay_and_phase_history() -> None:
    lines, samples = 801, 6000
    times, win0 = _setup(lines, samples)
    raw = simulate_echoes(
        SO.orbit, times, TARGET[None, :], [1.0], window_start=win0, sampling_rate=FS,
        n_samples=samples, chirp=CHIRP, bistatic=False,
    )  # fmt: skip
    rc = _range_compress(raw.astype(np.complex128))
    pos, _ = interpolate_orbit(SO.orbit, times)
    rng = np.linalg.norm(TARGET[None, :] - pos, axis=1)
    expected = (2 * rng / SPEED_OF_LIGHT - win0) * FS
    rows = np.arange(lines)
    # range-compressed peak at the geometric delay (x32 FFT interpolation, 0.05 sample)
    for n in range(0, lines, 40):
        assert abs(_peak_position(rc[n]) - expected[n]) < 0.05
    # azimuth phase history: the compressed chirp (centred on baseband) is real near its
    # peak, so the phase on the sample nearest the delay is the carrier -4 pi R / lambda
    near = np.rint(expected).astype(int)
    resid = np.angle(rc[rows, near] * np.exp(4j * np.pi * rng / WAVELENGTH))
    assert np.max(np.abs(resid)) < 0.05
    # amplitude of the compressed peak follows the two-way sinc^2 azimuth pattern
    assert abs(rc[lines // 2, near[lines // 2]]) > 0.9 * np.max(np.abs(rc))


def test_azimuth_phase_history_exact_on_sample_grid() -> None:
    """Put the delay of every line exactly on a sample: phase must equal -4 pi R / lambda."""
    lines, samples = 401, 5000
    times, _ = _setup(lines, samples)
    pos, _ = interpolate_orbit(SO.orbit, times)
    rng = np.linalg.norm(TARGET[None, :] - pos, axis=1)
    out = []
    for n in (0, lines // 4, lines // 2, 3 * lines // 4):
        win0 = 2 * rng[n] / SPEED_OF_LIGHT - 1000 / FS
        raw = simulate_echoes(
            SO.orbit, times[n : n + 1], TARGET[None, :], [1.0], window_start=win0,
            sampling_rate=FS, n_samples=samples, chirp=CHIRP, bistatic=False,
            antenna=None,
        )  # fmt: skip
        rc = _range_compress(raw.astype(np.complex128))
        assert int(np.argmax(np.abs(rc[0]))) == 1000
        out.append(np.angle(rc[0, 1000] * np.exp(4j * np.pi * rng[n] / WAVELENGTH)))
    # identical residual phase (the compressed chirp's own constant phase, here 0)
    assert np.max(np.abs(np.array(out))) < 1e-3


def test_bistatic_delay_shift() -> None:
    samples = 4000
    times, win0 = _setup(1, samples)
    times = times + 0.2  # off zero Doppler: first-order term present
    a, b = (
        simulate_echoes(
            SO.orbit,
            times,
            TARGET[None, :],
            [1.0],
            window_start=win0,
            sampling_rate=FS,
            n_samples=samples,
            chirp=CHIRP,
            bistatic=bistatic,
        )  # fmt: skip
        for bistatic in (False, True)
    )
    pos, vel = interpolate_orbit(SO.orbit, times[0])
    r1 = np.linalg.norm(TARGET - pos)
    tau = 2 * r1 / SPEED_OF_LIGHT
    for _ in range(5):  # receive position from the interpolated orbit
        rx, _ = interpolate_orbit(SO.orbit, times[0] + tau)
        tau = (r1 + np.linalg.norm(TARGET - rx)) / SPEED_OF_LIGHT
    dr = SPEED_OF_LIGHT * tau - 2 * r1
    assert abs(dr) > 0.05  # the correction is not negligible
    expected = np.exp(-2j * np.pi * (dr / WAVELENGTH))
    ratio = np.vdot(a[0], b[0]) / np.vdot(a[0], a[0])
    assert abs(abs(ratio) - 1) < 1e-2
    assert abs(np.angle(ratio * np.conj(expected))) < 0.02


def test_tops_doppler_centre_follows_steering() -> None:
    k_psi = np.radians(1.590368784)  # IW1 azimuth steering rate (docs/tops.md section 1)
    lines, samples = 1430, 3000
    t_mid = T0 + 0.8
    times = t_mid + (np.arange(lines) - lines / 2) / PRF
    psi = k_psi * (times - t_mid)
    pos, vel = interpolate_orbit(SO.orbit, times)
    r = np.linalg.norm(TARGET[None, :] - pos, axis=1)
    win0 = 2 * r.min() / SPEED_OF_LIGHT - 500 / FS
    raw = simulate_echoes(
        SO.orbit, times, TARGET[None, :], [1.0], window_start=win0, sampling_rate=FS,
        n_samples=samples, chirp=CHIRP, steering_angles=psi,
    )  # fmt: skip
    rc = _range_compress(raw.astype(np.complex128))
    track = np.array([rc[n, int(round((2 * r[n] / SPEED_OF_LIGHT - win0) * FS))]
                      for n in range(lines)])  # fmt: skip
    power = np.abs(track) ** 2
    lit = power > 0.25 * power.max()
    idx = np.nonzero(lit)[0]
    # beam-centre crossing: power-weighted time; Doppler from the phase slope there
    t_c = float(np.sum(times * power) / np.sum(power))
    n_c = int(np.argmin(np.abs(times - t_c)))
    seg = slice(max(idx[0], n_c - 20), min(idx[-1], n_c + 20))
    dphi = np.angle(np.sum(track[seg][1:] * np.conj(track[seg][:-1])))
    f_dc = dphi * PRF / (2 * np.pi)
    v_s = np.linalg.norm(vel[lines // 2])
    k_s = 2 * v_s * k_psi / WAVELENGTH
    expected = k_s * (t_c - t_mid)
    assert abs(t_c - t_mid) > 0.1  # the target is lit off the burst centre
    # the raw Doppler centre is sampled at the PRF: compare modulo PRF
    wrapped = (f_dc - expected + PRF / 2) % PRF - PRF / 2
    assert abs(expected) > 1000.0
    assert abs(wrapped) < 0.02 * abs(expected)


def test_fft_method_matches_exact() -> None:
    lines, samples = 64, 4000
    times, win0 = _setup(lines, samples)
    pts = geodetic_to_ecef([45.0, 45.002], [8.0, 8.01], [0.0, 10.0])
    a, b = (
        simulate_echoes(
            SO.orbit,
            times,
            pts,
            [1.0, 0.5j],
            window_start=win0,
            sampling_rate=FS,
            n_samples=samples,
            chirp=CHIRP,
            method=method,
        )  # fmt: skip
        for method in ("exact", "fft")
    )
    err = np.linalg.norm(a - b) / np.linalg.norm(a)
    assert err < 0.05


def test_bad_arguments() -> None:
    with pytest.raises(SimulationError, match="one amplitude per target"):
        simulate_echoes(
            SO.orbit, [T0], TARGET[None, :], [1.0, 2.0], window_start=0.0, sampling_rate=FS,
            n_samples=10, chirp=CHIRP,
        )  # fmt: skip
    with pytest.raises(SimulationError, match="unknown echo method"):
        simulate_echoes(
            SO.orbit, [T0], TARGET[None, :], [1.0], window_start=0.0, sampling_rate=FS,
            n_samples=10, chirp=CHIRP, method="magic",
        )  # fmt: skip


def test_antenna_patterns() -> None:
    """Line energy follows the two-way sinc^2 azimuth pattern and the elevation pattern."""
    lines, samples = 601, 5000
    times, win0 = _setup(lines, samples)
    times = T0 + (np.arange(lines) - lines // 2) * 4 / PRF  # wider span: 1.4 s
    pos, vel = interpolate_orbit(SO.orbit, times)
    los = TARGET[None, :] - pos
    rng = np.linalg.norm(los, axis=1)
    sin_theta = np.sum(los * vel, axis=1) / (rng * np.linalg.norm(vel, axis=1))
    x = 12.3 * sin_theta / WAVELENGTH
    raw = simulate_echoes(
        SO.orbit, times, TARGET[None, :], [1.0], window_start=win0, sampling_rate=FS,
        n_samples=samples, chirp=CHIRP, bistatic=False,
    )  # fmt: skip
    amp = np.sqrt(np.sum(np.abs(raw.astype(np.complex128)) ** 2, axis=1))
    ref = amp[lines // 2] * (rng[lines // 2] / rng) ** 2
    lit = np.abs(x) < 1.5
    model = np.sinc(x) ** 2
    np.testing.assert_allclose(amp[lit], (ref * model)[lit], atol=2e-3 * ref[lines // 2])
    assert np.all(amp[np.abs(x) > 2.0] == 0)  # outside the simulated azimuth extent
    # elevation: boresight on the target = unit gain; off by 1 deg = sinc^2(H sin(1 deg)/lambda)
    pos0, _ = interpolate_orbit(SO.orbit, T0)
    look = np.radians(32.0)  # SO places TARGET at 32 deg off nadir
    gains = []
    for boresight in (look, look + np.radians(1.0)):
        one = simulate_echoes(
            SO.orbit, [T0], TARGET[None, :], [1.0], window_start=win0, sampling_rate=FS,
            n_samples=samples, chirp=CHIRP, bistatic=False,
            antenna=AntennaModel(elevation_boresight=float(boresight)),
        )  # fmt: skip
        gains.append(np.abs(one).max())
    assert gains[0] == pytest.approx(1.0 * (850e3 / np.linalg.norm(TARGET - pos0)) ** 2, rel=1e-5)
    expected = np.sinc(0.821 * np.sin(np.radians(1.0)) / WAVELENGTH) ** 2
    assert gains[1] / gains[0] == pytest.approx(expected, rel=1e-4)
