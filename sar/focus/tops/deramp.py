"""Deramping and reramping of focused IW TOPS bursts (ESA COPE-GSEG-EOPG-TN-14-0025).

A focused TOPS burst has a Doppler centroid that sweeps by several kHz along azimuth
while lines are only 486 Hz apart, so its azimuth spectrum is aliased. The TN phase

``phi(eta, tau) = pi k_t(tau) (eta - eta_ref(tau))^2 + 2 pi f_DC(tau) eta``

with ``eta = (l - N/2) dt`` (zero-Doppler time from the burst centre, s), ``k_s = 2 v_s
k_psi / lambda``, ``k_t = k_a k_s / (k_a - k_s)``, ``eta_c = -f_DC / k_a`` and ``eta_ref =
eta_c(tau) - eta_c(tau_0)`` (``tau_0``: first sample) gives a baseband,
azimuth-invariant spectrum when removed (``deramp``) and restores the burst when added
back (``reramp``), docs/tops.md section 2. Only product fields are used: the first Doppler
centroid and FM-rate polynomials, the steering rate (rad/s) and the orbit speed at the
burst centre.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sar.constants import SPEED_OF_LIGHT
from sar.errors import ProductError
from sar.geo.orbit import interpolate_orbit
from sar.product.model import SlcImage

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex64]

_ROWS_PER_BLOCK = 256


def _check(slc: SlcImage) -> None:
    if not slc.azimuth_steering_rate > 0.0:
        raise ProductError("deramping needs a TOPS burst (positive azimuth steering rate)")
    if not slc.doppler_centroid or not slc.fm_rate:
        raise ProductError("deramping needs Doppler centroid and FM-rate polynomials")


def steering_doppler_rate(slc: SlcImage) -> float:
    """``k_s = 2 v_s k_psi / lambda`` (Hz/s), ``v_s`` = orbit speed at the burst centre."""
    _check(slc)
    centre = slc.line_time(0.5 * slc.lines)
    _, vel = interpolate_orbit(slc.orbit, centre)
    wavelength = SPEED_OF_LIGHT / slc.radar_frequency
    return float(2.0 * np.linalg.norm(vel) * slc.azimuth_steering_rate / wavelength)


def tops_phase(slc: SlcImage, line: npt.ArrayLike, sample: npt.ArrayLike) -> FloatArray:
    """TN deramp phase (rad) at (fractional) ``line`` and ``sample`` indices (broadcast).

    Parameters
    ----------
    slc
        TOPS burst with its polynomials.
    line, sample
        Image coordinates, pixels.

    Returns
    -------
    numpy.ndarray
        Phase in radians, float64, broadcast shape.
    """
    k_s = steering_doppler_rate(slc)
    dc = slc.doppler_centroid[0]
    fm = slc.fm_rate[0]
    ll, ss = np.broadcast_arrays(
        np.asarray(line, dtype=np.float64), np.asarray(sample, dtype=np.float64)
    )
    tau = slc.slant_range_time + ss / slc.range_sampling_rate
    tau0 = slc.slant_range_time
    f_dc = dc.evaluate(tau)
    k_a = fm.evaluate(tau)
    if np.any(k_a >= 0.0) or np.any(k_a == k_s):
        raise ProductError("FM-rate polynomial must be negative across the burst")
    k_t = k_a * k_s / (k_a - k_s)
    eta_c0 = -float(dc.evaluate(tau0)) / float(fm.evaluate(tau0))
    eta_ref = -f_dc / k_a - eta_c0
    eta = (ll - 0.5 * slc.lines) * slc.azimuth_time_interval
    d = eta - eta_ref
    return np.asarray(np.pi * k_t * d * d + 2.0 * np.pi * f_dc * eta, dtype=np.float64)


def _apply(slc: SlcImage, image: npt.ArrayLike, sign: float) -> ComplexArray:
    data = np.asarray(image)
    if data.shape != slc.image.shape:
        raise ProductError(
            f"image shape {data.shape} differs from the burst shape {slc.image.shape}"
        )
    out = np.empty(data.shape, dtype=np.complex64)
    samples = np.arange(slc.samples, dtype=np.float64)
    for first in range(0, slc.lines, _ROWS_PER_BLOCK):
        last = min(slc.lines, first + _ROWS_PER_BLOCK)
        lines = np.arange(first, last, dtype=np.float64)[:, None]
        phi = tops_phase(slc, lines, samples[None, :])
        out[first:last] = data[first:last] * np.exp(sign * 1j * phi)
    return out


def deramp_burst(slc: SlcImage) -> ComplexArray:
    """Remove the TOPS azimuth phase ramp: ``slc.image * exp(-j phi)`` (complex64).

    The result has a baseband, azimuth-invariant azimuth spectrum (within the processed
    bandwidth), suitable for interpolation, coregistration and spectral analysis.

    Raises
    ------
    ProductError
        If the burst carries no steering rate or polynomials.
    """
    _check(slc)
    return _apply(slc, slc.image, -1.0)


def reramp_burst(slc: SlcImage, image: npt.ArrayLike | None = None) -> ComplexArray:
    """Restore the TOPS phase ramp on a deramped image: ``image * exp(+j phi)`` (complex64).

    Parameters
    ----------
    slc
        The burst whose metadata defines ``phi``.
    image
        Deramped image of the burst's shape (default: ``slc.image``).

    Raises
    ------
    ProductError
        If the burst carries no steering rate or polynomials, or shapes differ.
    """
    _check(slc)
    return _apply(slc, slc.image if image is None else image, 1.0)
