"""IW TOPS burst focusing: point targets, phase, deramping and interferometry.

Raw bursts come from :func:`sar.sim.echo.simulate_echoes` (exact bistatic delays, two-way
TOPS azimuth pattern ``sinc^2(L_a (sin theta - sin psi) / lambda)``, ``psi = k_psi (t -
t_mid)``) on a designed Sentinel-1 orbit (:func:`sar.geo.orbit.make_orbit`). Bursts are
short (600 raw lines, 1536 samples, 10 us chirp) but keep IW1 PRF, sampling rate,
steering rate, antenna and wavelength, so the TOPS physics (k_s, k_t, alpha ~ 4.3,
aliased Doppler ramp of the output) is that of IW1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest

from sar.constants import SPEED_OF_LIGHT, WAVELENGTH
from sar.errors import FocusError, ProductError
from sar.focus.model import ChirpParameters, RawData
from sar.focus.tops import FocusWorkspace, focus_burst
from sar.focus.tops.deramp import deramp_burst, reramp_burst, tops_phase
from sar.focus.windows import parse_window, window_weights
from sar.geo.geolocate import geolocate, zero_doppler_time
from sar.geo.orbit import Orbit, interpolate_orbit, make_orbit
from sar.product.model import SlcImage
from sar.quality.cuts import measure_cut
from sar.quality.point_target import analyse_point_target
from sar.quality.theory import theoretical_cut
from sar.sim.echo import simulate_echoes

T_REF = 1.4e9
PRF = 1717.13
FS = 64.345e6
K_PSI = math.radians(1.590368784)
LINES = 600
SAMPLES = 1536
R_MID = 850e3
PULSE = 10e-6
BANDWIDTH = 56.5e6
CHIRP = ChirpParameters(ramp_rate=BANDWIDTH / PULSE, start_frequency=-BANDWIDTH / 2,
                        pulse_length=PULSE)  # fmt: skip
# zero-Doppler offsets (s) and ranges (m) of the point targets: burst start, middle, end
TARGETS = (
    (-0.30, R_MID - 250.0), (-0.30, R_MID + 250.0), (0.0, R_MID - 250.0),
    (0.0, R_MID + 250.0), (0.30, R_MID - 250.0), (0.30, R_MID + 250.0),
)  # fmt: skip


@dataclass(frozen=True)
class Case:
    orbit: Orbit
    xyz: npt.NDArray[np.float64]
    raw: RawData
    slc: SlcImage


def _orbit() -> Orbit:
    return make_orbit(T_REF, 10.0, 20.0, look_angle_deg=30.0, before=20, after=20).orbit


def _line_times() -> npt.NDArray[np.float64]:
    return T_REF + (np.arange(LINES) - 0.5 * (LINES - 1)) / PRF


def _window_start() -> float:
    # whole echoes of targets around R_MID inside the window
    return 2.0 * R_MID / SPEED_OF_LIGHT - 0.5 * (SAMPLES - PULSE * FS) / FS


def _simulate(orbit: Orbit, xyz: npt.ArrayLike, amp: npt.ArrayLike, method: str) -> RawData:
    times = _line_times()
    t_mid = 0.5 * (times[0] + times[-1])
    echoes = simulate_echoes(
        orbit, times, xyz, amp, window_start=_window_start(), sampling_rate=FS,
        n_samples=SAMPLES, chirp=CHIRP, steering_angles=K_PSI * (times - t_mid),
        method=method,
    )  # fmt: skip
    return RawData(
        echoes=echoes, line_times=times, slant_range_time=_window_start(),
        range_sampling_rate=FS, prf=PRF, chirp=CHIRP, orbit=orbit, mode="IW", swath="IW1",
        polarisation="VV", azimuth_steering_rate=K_PSI, burst_id="t001_000001_iw1",
    )  # fmt: skip


def _expected(slc: SlcImage, orbit: Orbit, xyz: npt.ArrayLike) -> tuple[float, float, float]:
    """(line, sample, slant range) of the zero-Doppler position of a point."""
    t, r = zero_doppler_time(orbit, xyz, T_REF)
    line = (t - slc.first_line_time) / slc.azimuth_time_interval
    sample = (2.0 * r / SPEED_OF_LIGHT - slc.slant_range_time) * slc.range_sampling_rate
    return line, sample, r


def _value_at(img: npt.NDArray[np.complex64], line: float, sample: float) -> complex:
    """Band-limited (Fourier) interpolation of a baseband image at a fractional position."""
    h = 16
    i0, j0 = int(round(line)), int(round(sample))
    chip = img[i0 - h : i0 + h, j0 - h : j0 + h].astype(np.complex128)
    spec = np.fft.fft2(chip)
    f = np.fft.fftfreq(2 * h)
    dl, ds = line - (i0 - h), sample - (j0 - h)
    kernel = np.exp(2j * np.pi * (f[:, None] * dl + f[None, :] * ds))
    return complex(np.sum(spec * kernel) / (2 * h) ** 2)


@pytest.fixture(scope="module")
def points() -> Case:
    orbit = _orbit()
    xyz = np.array([geolocate(orbit, T_REF + t, r) for t, r in TARGETS]).reshape(-1, 3)
    raw = _simulate(orbit, xyz, np.ones(len(TARGETS)), "exact")
    slc = focus_burst(raw, workers=2, strip_width=256)
    return Case(orbit=orbit, xyz=xyz, raw=raw, slc=slc)


def _azimuth_theory(slc: SlcImage, sample: float) -> tuple[float, float, float]:
    """Ideal azimuth (width in lines, PSLR, ISLR): the window alone over B_p.

    ``focus_burst`` divides out the TOPS antenna taper ``sinc^2(L_a alpha d / (2 v_s))``
    (docs/tops.md section 4) inside the processed band, so the spectrum is the window.
    """
    del sample
    n = 1 << 16
    up = 64
    f = np.fft.fftfreq(n, d=slc.azimuth_time_interval / up)
    spec = window_weights(parse_window(slc.azimuth_window.replace(" ", ":")),
                          f / slc.azimuth_bandwidth)  # fmt: skip
    h = np.fft.ifft(spec)
    power = np.abs(np.fft.fftshift(h)) ** 2
    m = measure_cut(power, 1.0 / up)
    return m.width_3db, m.pslr_db, m.islr_db


def test_targets_focus_at_zero_doppler_position(points: Case) -> None:
    slc = points.slc
    v0, v1 = slc.valid_lines
    for x in points.xyz:
        line, sample, _ = _expected(slc, points.orbit, x)
        assert v0 + 10 < line < v1 - 10
        res = analyse_point_target(slc.image, line, sample)
        assert abs(res.line - line) < 0.1
        assert abs(res.sample - sample) < 0.1


def test_impulse_response_matches_theory(points: Case) -> None:
    slc = points.slc
    deramped = deramp_burst(slc)
    range_theory = theoretical_cut("hamming 0.75", FS / BANDWIDTH)
    for x in points.xyz:
        line, sample, _ = _expected(slc, points.orbit, x)
        width, pslr, islr = _azimuth_theory(slc, sample)
        for img in (slc.image, deramped):
            res = analyse_point_target(img, line, sample)
            assert res.azimuth.width_3db == pytest.approx(width, rel=0.10)
            assert abs(res.azimuth.pslr_db - pslr) < 1.0
            assert abs(res.azimuth.islr_db - islr) < 1.5
            assert res.range.width_3db == pytest.approx(range_theory.width_3db, rel=0.10)
            assert abs(res.range.pslr_db - range_theory.pslr_db) < 1.0
            assert abs(res.range.islr_db - range_theory.islr_db) < 1.5


def test_phase_is_minus_four_pi_r_over_lambda(points: Case) -> None:
    # exact convention: -4 pi R0 / lambda - pi / 4 (stationary phase of the azimuth chirp)
    slc = points.slc
    deramped = deramp_burst(slc)
    for x in points.xyz:
        line, sample, r = _expected(slc, points.orbit, x)
        value = _value_at(deramped, line, sample)
        phase = math.atan2(value.imag, value.real) + float(tops_phase(slc, line, sample))
        err = np.angle(np.exp(1j * (phase + 4.0 * np.pi * r / WAVELENGTH + np.pi / 4.0)))
        assert abs(err) < 0.05


def test_product_metadata(points: Case) -> None:
    slc = points.slc
    assert slc.image.dtype == np.complex64
    assert slc.swath == "IW1" and slc.burst_id == "t001_000001_iw1"
    assert slc.azimuth_steering_rate == K_PSI
    assert slc.azimuth_time_interval == pytest.approx(2.0555563e-3)
    # common grid: line times are integer multiples of the interval
    k = slc.first_line_time / slc.azimuth_time_interval
    assert abs(k - round(k)) < 1e-3
    # a 0.35 s raw burst spans alpha ~ 4.3 times longer after focusing, less the
    # processed aperture; 20 partially focused lines on each side
    assert slc.lines * slc.azimuth_time_interval > 2.5 * LINES / PRF
    assert slc.valid_lines[0] == pytest.approx(20, abs=2)
    assert slc.lines - slc.valid_lines[1] == pytest.approx(20, abs=2)
    assert slc.valid_samples == (0, slc.valid_samples[1])
    assert slc.samples - 60 < slc.valid_samples[1] <= slc.samples
    assert float(slc.fm_rate[0].evaluate(slc.slant_range_time)) < -2000.0
    assert slc.azimuth_window == "hamming 0.7"


def test_deramp_gives_baseband_invariant_spectrum(points: Case) -> None:
    slc = points.slc
    deramped = deramp_burst(slc)
    for x in points.xyz:
        line, sample, _ = _expected(slc, points.orbit, x)
        # the raw image carries the local Doppler ramp, the deramped one none
        assert abs(analyse_point_target(deramped, line, sample).azimuth_frequency) < 0.01
    back = reramp_burst(slc, deramped)
    assert np.allclose(back, slc.image, atol=1e-4 * float(np.abs(slc.image).max()))


def test_deramp_rejects_stripmap(points: Case) -> None:
    from dataclasses import replace

    with pytest.raises(ProductError):
        deramp_burst(replace(points.slc, azimuth_steering_rate=0.0))


def test_bad_input_raises(points: Case) -> None:
    from dataclasses import replace

    with pytest.raises(FocusError):
        focus_burst(replace(points.raw, azimuth_steering_rate=0.0))
    with pytest.raises(FocusError):
        short = replace(points.raw, echoes=points.raw.echoes[:10],
                        line_times=points.raw.line_times[:10])  # fmt: skip
        focus_burst(short)
    with pytest.raises(FocusError):
        focus_burst(points.raw, azimuth_bandwidth=900.0)


def _clutter(orbit: Orbit, rng: np.random.Generator, n: int) -> tuple[
    npt.NDArray[np.float64], npt.NDArray[np.complex128]
]:  # fmt: skip
    t = T_REF + rng.uniform(-0.45, 0.45, n)
    r = R_MID + rng.uniform(-800.0, 800.0, n)
    xyz = geolocate(orbit, t, r)
    amp = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) / math.sqrt(2.0)
    return np.asarray(xyz, dtype=np.float64).reshape(-1, 3), amp


def test_interferogram_of_shifted_orbit() -> None:
    orbit = _orbit()
    rng = np.random.default_rng(7)
    xyz, amp = _clutter(orbit, rng, 4000)
    # move the orbit away from the scene along the centre line of sight by d_r
    d_r = 0.004
    centre = np.asarray(geolocate(orbit, T_REF, R_MID), dtype=np.float64).reshape(3)
    pos, _ = interpolate_orbit(orbit, T_REF)
    los = (pos - centre) / np.linalg.norm(pos - centre)
    shifted = Orbit(times=orbit.times, positions=orbit.positions + d_r * los,
                    velocities=orbit.velocities)  # fmt: skip
    slcs = [focus_burst(_simulate(o, xyz, amp, "fft"), workers=2, strip_width=256)
            for o in (orbit, shifted)]  # fmt: skip
    a, b = (deramp_burst(s) for s in slcs)
    v0, v1 = slcs[0].valid_lines
    s1 = slcs[0].valid_samples[1]
    a, b = a[v0 + 20 : v1 - 20, 20 : s1 - 20], b[v0 + 20 : v1 - 20, 20 : s1 - 20]
    cross = complex(np.sum(a * np.conj(b)))
    coherence = abs(cross) / math.sqrt(
        float(np.sum(np.abs(a) ** 2)) * float(np.sum(np.abs(b) ** 2))
    )
    expected = 4.0 * np.pi * d_r / WAVELENGTH  # b is further away: b = a exp(-j 4 pi dR/lambda)
    assert coherence > 0.95
    assert abs(np.angle(cross * np.exp(-1j * expected))) < 0.05
    # and the deramped clutter spectrum is baseband and the same in both halves
    half = a.shape[0] // 2
    f = np.fft.fftfreq(half, slcs[0].azimuth_time_interval)
    for part in (a[:half], a[half : 2 * half]):
        p = np.sum(np.abs(np.fft.fft(part, axis=0)) ** 2, axis=1)
        assert abs(float(np.sum(f * p) / np.sum(p))) < 5.0


def test_plain_numpy_version_agrees(points: Case) -> None:
    from benchmarks.baselines.tops import focus_burst_baseline

    ref = focus_burst_baseline(points.raw, strip_width=256)
    slc = points.slc
    assert ref.image.shape == slc.image.shape
    assert ref.first_line_time == slc.first_line_time
    scale = float(np.abs(slc.image).max())
    assert float(np.abs(ref.image - slc.image).max()) < 1e-3 * scale


@pytest.mark.parametrize(
    ("swath", "prf", "fs", "k_psi_deg", "bandwidth"),
    [
        ("IW2", 1451.63, 54.596e6, 0.979863325, 48.3e6),
        ("IW3", 1685.8, 46.918e6, 1.397440818, 42.8e6),
    ],
)
def test_other_subswaths(
    swath: str, prf: float, fs: float, k_psi_deg: float, bandwidth: float
) -> None:
    orbit = _orbit()
    targets = TARGETS[::2]
    xyz = np.array([geolocate(orbit, T_REF + t, r) for t, r in targets]).reshape(-1, 3)
    times = T_REF + (np.arange(LINES) - 0.5 * (LINES - 1)) / prf
    chirp = ChirpParameters(ramp_rate=bandwidth / PULSE, start_frequency=-bandwidth / 2,
                            pulse_length=PULSE)  # fmt: skip
    k_psi = math.radians(k_psi_deg)
    start = 2.0 * R_MID / SPEED_OF_LIGHT - 0.5 * (SAMPLES - PULSE * fs) / fs
    echoes = simulate_echoes(
        orbit, times, xyz, np.ones(len(targets)), window_start=start, sampling_rate=fs,
        n_samples=SAMPLES, chirp=chirp, steering_angles=k_psi * (times - T_REF),
    )  # fmt: skip
    raw = RawData(
        echoes=echoes, line_times=times, slant_range_time=start, range_sampling_rate=fs,
        prf=prf, chirp=chirp, orbit=orbit, mode="IW", swath=swath, azimuth_steering_rate=k_psi,
    )  # fmt: skip
    slc = focus_burst(raw, workers=2)
    assert slc.azimuth_window == "hamming 0.75"
    assert slc.azimuth_bandwidth == {"IW2": 313.0, "IW3": 314.0}[swath]
    deramped = deramp_burst(slc)
    for x in xyz:
        line, sample, r = _expected(slc, orbit, x)
        assert slc.valid_lines[0] < line < slc.valid_lines[1]
        res = analyse_point_target(deramped, line, sample)
        assert abs(res.line - line) < 0.1 and abs(res.sample - sample) < 0.1
        width, pslr, islr = _azimuth_theory(slc, sample)
        assert res.azimuth.width_3db == pytest.approx(width, rel=0.10)
        assert abs(res.azimuth.pslr_db - pslr) < 1.0
        assert abs(res.azimuth.islr_db - islr) < 1.5
        value = _value_at(deramped, line, sample)
        phase = math.atan2(value.imag, value.real) + float(tops_phase(slc, line, sample))
        err = np.angle(np.exp(1j * (phase + 4.0 * np.pi * r / WAVELENGTH + np.pi / 4.0)))
        assert abs(err) < 0.05


@pytest.mark.parametrize("shared", [False, True], ids=["own", "shared-workspace"])
def test_concurrent_bursts_do_not_share_buffers(points: Case, shared: bool) -> None:
    from concurrent.futures import ThreadPoolExecutor

    workspace = FocusWorkspace() if shared else None

    def focus(_: int) -> SlcImage:
        slc = focus_burst(points.raw, workers=2, strip_width=256, workspace=workspace)
        return slc

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(focus, range(3)))
    assert len({id(slc.image) for slc in results}) == 3
    for slc in results:
        assert np.array_equal(slc.image, points.slc.image)


def test_recycled_output_buffer_is_reused_with_identical_result(points: Case) -> None:
    workspace = FocusWorkspace()
    first = focus_burst(points.raw, workers=2, strip_width=256, workspace=workspace)
    buffer = first.image
    buffer[:] = np.complex64(7.0 + 7.0j)  # stale content must be overwritten everywhere
    workspace.recycle(buffer)
    workspace.recycle(buffer)  # handing the same buffer back twice keeps one entry
    second = focus_burst(points.raw, workers=2, strip_width=256, workspace=workspace)
    assert second.image is buffer
    assert np.array_equal(second.image, points.slc.image)
    third = focus_burst(points.raw, workers=2, strip_width=256, workspace=workspace)
    assert third.image is not buffer
    workspace.recycle(third.image[:, :10])  # not contiguous: ignored
    workspace.recycle(points.slc.image)  # not allocated by this workspace: ignored
    fourth = focus_burst(points.raw, workers=2, strip_width=256, workspace=workspace)
    assert fourth.image is not third.image and fourth.image is not points.slc.image
    assert np.array_equal(fourth.image, points.slc.image)
    workspace.recycle(fourth.image)
    workspace.clear()  # cached buffers dropped: the next output is fresh memory
    fifth = focus_burst(points.raw, workers=2, strip_width=256, workspace=workspace)
    assert fifth.image is not fourth.image
    assert np.array_equal(fifth.image, points.slc.image)


def test_smaller_burst_is_focused_into_a_larger_recycled_buffer(points: Case) -> None:
    from dataclasses import replace

    workspace = FocusWorkspace()
    big = focus_burst(points.raw, workers=2, strip_width=256, workspace=workspace)
    owner = big.image
    workspace.recycle(owner)
    short = replace(points.raw, echoes=points.raw.echoes[:, :-256].copy())
    alone = focus_burst(short, workers=2, strip_width=256)
    reused = focus_burst(short, workers=2, strip_width=256, workspace=workspace)
    assert reused.image.base is owner and reused.image.flags.c_contiguous
    assert np.array_equal(reused.image, alone.image)
    workspace.recycle(reused.image)  # the view gives its whole buffer back
    again = focus_burst(points.raw, workers=2, strip_width=256, workspace=workspace)
    assert again.image is owner


def test_narrow_range_compressed_scratch_gives_the_same_image(
    points: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scratch burst keeps only the columns the strips read
    (:func:`sar.focus.tops.setup.compressed_columns`): the image is bit-identical to
    keeping every column, and a bound that is too tight is an error, not a wrong image."""
    import sar.focus.tops.burst as burst_module
    from sar.focus.tops.setup import compressed_columns

    raw = points.raw
    kept = compressed_columns(
        raw, strip_width=256, doppler_centroid=None, bistatic=True,
        output_azimuth_time_interval=points.slc.azimuth_time_interval,
    )  # fmt: skip
    assert kept < raw.samples
    monkeypatch.setattr(burst_module, "compressed_columns", lambda raw, **_: raw.samples)
    full = focus_burst(raw, workers=2, strip_width=256)
    assert np.array_equal(full.image, points.slc.image)
    monkeypatch.setattr(burst_module, "compressed_columns", lambda raw, **_: 8)
    with pytest.raises(FocusError, match="internal error"):
        focus_burst(raw, workers=2, strip_width=256)
