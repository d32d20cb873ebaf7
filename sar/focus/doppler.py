"""Doppler centroid and azimuth FM rate.

- FM rate from the orbit: at the zero-Doppler time of a ground point ``P`` at slant range
  ``R``, ``R R'' = |V|^2 + (S - P).A`` (``S, V, A`` satellite position, velocity and
  acceleration, ECEF, the point fixed on the rotating Earth), so
  ``K_a = -2 R'' / lambda = -2 V_eff^2 / (lambda R)`` with ``V_eff^2 = R R''`` (Cumming &
  Wong, *Digital Processing of SAR Data*, 2005, section 4.3; exact to second order in
  azimuth time). ``P`` is found on the WGS84 ellipsoid (zero height) with
  :func:`sar.geo.geolocate.geolocate`.
- Doppler centroid from the data: average cross-correlation coefficient (Madsen, IEEE TAES
  25(2), 1989), ``f_dc = PRF / (2 pi) arg sum s(n+1) s*(n)``, per range block, which gives
  the centroid modulo the PRF; the ambiguity is the one closest to the geometric
  centroid (0 Hz for Sentinel-1's total zero-Doppler steering unless given).
- Polynomials in two-way slant-range time, :class:`sar.product.model.Polynomial`.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

from sar.constants import SPEED_OF_LIGHT, WAVELENGTH
from sar.errors import FocusError, GeometryError
from sar.geo.geolocate import geolocate
from sar.geo.orbit import Orbit, interpolate_orbit_full
from sar.product.model import Polynomial

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex64]


def _second_derivative(
    orbit: Orbit, t: float, slant_range_time: npt.ArrayLike, look: str
) -> tuple[FloatArray, FloatArray]:
    """(R, R'') at zero-Doppler time ``t`` for ground points at the given range times."""
    tau = np.atleast_1d(np.asarray(slant_range_time, dtype=np.float64))
    r = 0.5 * SPEED_OF_LIGHT * tau
    try:
        p = geolocate(orbit, np.full_like(r, t), r, 0.0, look=look)
    except GeometryError as exc:
        raise FocusError(f"cannot place the swath on the ellipsoid: {exc}") from exc
    s, v, a = interpolate_orbit_full(orbit, t)
    rdd = (float(np.dot(v, v)) + np.einsum("kc,c->k", s[None, :] - p, a)) / r
    return r, rdd


def fm_rate(
    orbit: Orbit,
    t: float,
    slant_range_time: npt.ArrayLike,
    *,
    wavelength: float = WAVELENGTH,
    look: str = "right",
) -> FloatArray:
    """Azimuth FM rate ``K_a = -2 R'' / lambda`` (Hz/s, negative) at zero-Doppler time ``t``.

    Parameters
    ----------
    orbit
        ECEF state vectors covering ``t``.
    t
        Zero-Doppler azimuth time, GPS s.
    slant_range_time
        Two-way slant-range time(s), s.
    wavelength
        Radar wavelength, m.
    look
        ``"right"`` (Sentinel-1) or ``"left"``.

    Returns
    -------
    numpy.ndarray
        FM rate, Hz/s, shape of ``atleast_1d(slant_range_time)``.
    """
    _, rdd = _second_derivative(orbit, t, slant_range_time, look)
    return -2.0 * rdd / wavelength


def effective_velocity(
    orbit: Orbit, t: float, slant_range_time: npt.ArrayLike, *, look: str = "right"
) -> FloatArray:
    """Effective velocity ``V_eff = sqrt(R R'')`` (m/s) of the hyperbolic range model.

    ``R(eta) = sqrt(R0^2 + V_eff^2 eta^2)`` matches the true range history to second order
    at the zero-Doppler time ``t`` (GPS s) for each two-way slant-range time (s).
    """
    r, rdd = _second_derivative(orbit, t, slant_range_time, look)
    prod = r * rdd
    if np.any(prod <= 0.0):
        raise FocusError("non-positive effective velocity: orbit and swath are inconsistent")
    return np.sqrt(prod)


def geometry_doppler_centroid(
    orbit: Orbit,
    t: float,
    slant_range_time: npt.ArrayLike,
    *,
    squint: float = 0.0,
    wavelength: float = WAVELENGTH,
    look: str = "right",
) -> FloatArray:
    """Doppler centroid from geometry and beam squint (Hz).

    Sentinel-1 steers its attitude to zero Doppler (total zero-Doppler steering), so the
    nominal squint is 0 and so is the centroid; a residual squint ``squint`` (rad, beam
    ahead of the zero-Doppler plane positive) gives ``2 V_eff sin(squint) / lambda``.
    """
    v = effective_velocity(orbit, t, slant_range_time, look=look)
    return 2.0 * v * math.sin(squint) / wavelength


def fit_polynomial(
    azimuth_time: float,
    slant_range_time: npt.ArrayLike,
    values: npt.ArrayLike,
    degree: int,
    weights: npt.ArrayLike | None = None,
) -> Polynomial:
    """Least-squares polynomial in slant-range time, referenced to the mid range time.

    Parameters
    ----------
    azimuth_time
        GPS s the polynomial refers to.
    slant_range_time
        Two-way times, s.
    values
        Values at those times (Hz or Hz/s).
    degree
        Polynomial degree (reduced when there are too few points).
    weights
        Optional non-negative weights.
    """
    tau = np.asarray(slant_range_time, dtype=np.float64)
    val = np.asarray(values, dtype=np.float64)
    t0 = float(0.5 * (tau.min() + tau.max()))
    deg = max(0, min(degree, tau.size - 1))
    x = (tau - t0) * 1e6  # microseconds keep the fit well conditioned
    w = None if weights is None else np.sqrt(np.asarray(weights, dtype=np.float64))
    coef = np.polynomial.polynomial.polyfit(x, val, deg, w=w)
    scaled = tuple(float(c) * 1e6**k for k, c in enumerate(coef))
    return Polynomial(azimuth_time=float(azimuth_time), t0=t0, coefficients=scaled)


@numba.njit(parallel=True, cache=True)
def _lag_one_correlation(
    data: ComplexArray, step: int, blocks: int
) -> tuple[npt.NDArray[np.complex128], FloatArray]:  # pragma: no cover - jit
    lines, samples = data.shape
    width = samples // blocks
    corr = np.zeros(blocks, dtype=np.complex128)
    power = np.zeros(blocks, dtype=np.float64)
    for b in numba.prange(blocks):
        c = 0.0 + 0.0j
        p = 0.0
        for k in range(b * width, (b + 1) * width, step):
            for n in range(lines - 1):
                x0 = data[n, k]
                x1 = data[n + 1, k]
                c += x1 * np.conj(x0)
                p += x0.real * x0.real + x0.imag * x0.imag
        corr[b] = c
        power[b] = p
    return corr, power


def estimate_doppler_centroid(
    data: ComplexArray,
    prf: float,
    slant_range_time: float,
    range_sampling_rate: float,
    azimuth_time: float,
    *,
    blocks: int = 16,
    degree: int = 1,
    reference: Polynomial | float = 0.0,
    range_step: int = 4,
) -> Polynomial:
    """Estimate the Doppler centroid polynomial with the correlation Doppler estimator.

    Parameters
    ----------
    data
        complex64 [lines, samples], raw or range-compressed echoes of one swath.
    prf
        Pulse repetition frequency, Hz.
    slant_range_time
        Two-way time of sample 0, s.
    range_sampling_rate
        Hz.
    azimuth_time
        Time the estimate refers to (block mid), GPS s.
    blocks
        Range blocks with one estimate each.
    degree
        Polynomial degree in slant-range time.
    reference
        Geometric Doppler centroid (Hz or polynomial) that picks the PRF ambiguity.
    range_step
        Use every ``range_step``-th range sample (speed).

    Returns
    -------
    Polynomial
        Doppler centroid in Hz versus two-way slant-range time.
    """
    if not prf > 0.0:
        raise FocusError(f"PRF must be positive, got {prf}")
    lines, samples = data.shape
    if lines < 2:
        raise FocusError("Doppler estimation needs at least 2 lines")
    blocks = max(1, min(blocks, samples // max(1, range_step)))
    corr, power = _lag_one_correlation(data, max(1, range_step), blocks)
    width = samples // blocks
    tau = slant_range_time + (np.arange(blocks) + 0.5) * width / range_sampling_rate
    weight = np.abs(corr)
    total = complex(np.sum(corr))
    if weight.sum() <= 0.0 or not np.isfinite(weight.sum()):
        raise FocusError("no signal to estimate the Doppler centroid from")
    # Unwrap around the power-weighted mean phase, then choose the PRF ambiguity.
    phase = np.angle(total) + np.angle(corr * np.conj(total))
    frac = phase * prf / (2.0 * np.pi)
    ref = (
        reference.evaluate(tau) if isinstance(reference, Polynomial)
        else np.full(blocks, float(reference))
    )
    mean_frac = float(np.sum(weight * frac) / weight.sum())
    mean_ref = float(np.sum(weight * ref) / weight.sum())
    amb = round((mean_ref - mean_frac) / prf)
    return fit_polynomial(azimuth_time, tau, frac + amb * prf, degree, weights=weight)
