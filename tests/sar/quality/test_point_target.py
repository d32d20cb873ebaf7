"""Point-target analysis on analytic 2-D responses versus theory."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from sar.errors import QualityError
from sar.quality.point_target import analyse_point_target, estimate_phase_ramp, upsample_fft
from sar.quality.theory import theoretical_islr_2d, theoretical_response

OSF_AZ = 1.2
OSF_RG = 1.15


def response(t_px: npt.ArrayLike, osf: float, alpha: float) -> npt.NDArray[np.float64]:
    """Analytic transform of a generalised-Hamming spectrum of bandwidth 1/osf (t in px)."""
    t = np.asarray(t_px, dtype=np.float64)
    b = 1.0 / osf
    return alpha * np.sinc(b * t) + 0.5 * (1 - alpha) * (np.sinc(b * t - 1) + np.sinc(b * t + 1))


def point_image(
    n: int, line: float, sample: float, alpha: float, f_az: float = 0.0, f_rg: float = 0.0
) -> npt.NDArray[np.complex64]:
    """Separable 2-D sinc-like response at (line, sample) with linear phase ramps."""
    ll = np.arange(n)[:, None] - line
    ss = np.arange(n)[None, :] - sample
    h: npt.NDArray[np.float64] = response(ll, OSF_AZ, alpha) * response(ss, OSF_RG, alpha)
    ramp = np.exp(2j * np.pi * (f_az * ll + f_rg * ss))
    return (h * ramp * 100.0).astype(np.complex64)


@pytest.mark.parametrize(("alpha", "label"), [(1.0, "none"), (0.75, "hamming 0.75")])
@pytest.mark.parametrize(
    ("f_az", "f_rg"),
    [(0.0, 0.0), (5 / 64, -7 / 64), (0.41, 0.27)],  # none, several cycles/chip, TOPS-like
)
@pytest.mark.parametrize(("d_line", "d_sample"), [(0.0, 0.0), (0.37, -0.21), (-0.5, 0.5)])
def test_matches_theory(
    alpha: float, label: str, f_az: float, f_rg: float, d_line: float, d_sample: float
) -> None:
    line, sample = 70.0 + d_line, 81.0 + d_sample
    image = point_image(150, line, sample, alpha, f_az, f_rg)
    res = analyse_point_target(image, 70.0, 81.0)
    assert res.line == pytest.approx(line, abs=0.01)
    assert res.sample == pytest.approx(sample, abs=0.01)
    for cut, osf in ((res.azimuth, OSF_AZ), (res.range, OSF_RG)):
        width, pslr, islr = theoretical_response(label, osf)
        assert cut.width_3db == pytest.approx(width, rel=0.02)
        assert cut.pslr_db == pytest.approx(pslr, abs=0.3)
        assert cut.islr_db == pytest.approx(islr, abs=0.3)
    assert res.islr_2d_db == pytest.approx(
        theoretical_islr_2d(label, OSF_RG, label, OSF_AZ), abs=0.3
    )
    assert res.azimuth_frequency == pytest.approx(f_az, abs=2e-3)
    assert res.range_frequency == pytest.approx(f_rg, abs=2e-3)


def test_known_numbers_flat() -> None:
    res = analyse_point_target(point_image(128, 64.2, 60.7, 1.0), 64, 61)
    # 0.886 px per unit oversampling, -13.26 dB, bounded ISLR -10.16 dB
    assert res.azimuth.width_3db == pytest.approx(0.886 * OSF_AZ, rel=0.01)
    assert res.range.width_3db == pytest.approx(0.886 * OSF_RG, rel=0.01)
    assert res.range.pslr_db == pytest.approx(-13.26, abs=0.1)
    assert res.azimuth.islr_db == pytest.approx(-10.16, abs=0.1)
    assert res.to_dict()["range"]["pslr_db"] == res.range.pslr_db
    assert res.range_profile.max() == pytest.approx(1.0)


def test_target_in_clutter() -> None:
    rng = np.random.default_rng(3)
    image = point_image(160, 80.3, 79.6, 0.75)
    clutter = (rng.normal(size=image.shape) + 1j * rng.normal(size=image.shape)) * 0.3
    res = analyse_point_target(image + clutter.astype(np.complex64), 80, 80)
    assert res.line == pytest.approx(80.3, abs=0.02)
    assert res.sample == pytest.approx(79.6, abs=0.02)
    assert res.range.pslr_db == pytest.approx(
        theoretical_response("hamming 0.75", OSF_RG)[1], abs=1
    )


def test_upsample_is_interpolating() -> None:
    x = point_image(64, 31.3, 30.8, 1.0)[31, :].astype(np.complex128)
    up = upsample_fft(x, 8, axis=0)
    np.testing.assert_allclose(up[::8], x, atol=1e-9)
    assert up.shape == (512,)


def test_phase_ramp_estimate() -> None:
    chip = point_image(64, 32, 32, 0.75, f_az=-0.3, f_rg=0.45)
    assert estimate_phase_ramp(chip, axis=0) == pytest.approx(-0.3, abs=1e-3)
    assert estimate_phase_ramp(chip, axis=1) == pytest.approx(0.45, abs=1e-3)


def test_errors() -> None:
    image = point_image(128, 64, 64, 1.0)
    with pytest.raises(QualityError, match="outside"):
        analyse_point_target(image, 200, 64)
    with pytest.raises(QualityError, match="does not fit"):
        analyse_point_target(point_image(128, 10, 64, 1.0), 10, 64)
    rng = np.random.default_rng(1)
    noise = (rng.normal(size=(128, 128)) + 1j * rng.normal(size=(128, 128))).astype(np.complex64)
    with pytest.raises(QualityError, match="no clear peak"):
        analyse_point_target(noise, 64, 64, search=0)
    with pytest.raises(QualityError, match="search border"):
        analyse_point_target(image, 64, 52, search=8)
    with pytest.raises(QualityError, match="complex"):
        analyse_point_target(np.abs(image), 64, 64)
    with pytest.raises(QualityError, match="chip"):
        analyse_point_target(image, 64, 64, chip=15)
