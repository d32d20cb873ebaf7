"""Exact azimuth spectrum phase of squinted TOPS targets (correction to the hyperbolic model).

The TOPS azimuth filter of :mod:`sar.focus.tops.strip` uses the hyperbolic range model
``R(t) = sqrt(R0^2 + v_e^2 t^2)`` with one effective velocity ``v_e(tau)`` per range,
fitted at the burst centre (:func:`sar.focus.doppler.effective_velocity`): its spectrum
has the phase ``-4 pi R0 D(f) / lambda``, ``D = sqrt(1 - (lambda f / 2 v_e)^2)``. A
target ``eta`` seconds from the burst centre is seen around the Doppler centroid ``f_c =
f_u0 / alpha + k_t eta`` (docs/tops.md section 2), i.e. ``f_c / k_a`` (about a second in
IW) away from its zero-Doppler time, where its true range history departs from that
hyperbola (the orbit and the Earth's rotation change ``v_e`` along the track, and the
history has third-order terms). Measured on full-size IW bursts, the focused phase at the
edges of the valid area was then off by 0.12-0.2 rad (growing as ``eta^3``), with
position shifts of ~0.01 line.

:func:`spectral_phase_correction` computes, once per burst, the exact stationary-phase
spectrum of point targets on a grid of ranges and Doppler centroids (Newton on ``dR/dt =
-lambda f / 2`` with the orbit's position, velocity and acceleration; principle of
stationary phase, e.g. Cumming & Wong, "Digital Processing of SAR Data", 2005, section
4.3) minus the hyperbolic model, and fits it with a polynomial in range and Doppler
frequency. The strip processing adds it to the per-bin azimuth filter, so every target is
compressed with its own range history at its own band; the correction is exact at each
target's band centre, which is where the phase and position are read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sar.constants import SPEED_OF_LIGHT
from sar.errors import FocusError, GeometryError
from sar.focus.tops.geometry import BurstGeometry
from sar.geo.geolocate import geolocate
from sar.geo.orbit import Orbit, interpolate_orbit_full

FloatArray = npt.NDArray[np.float64]

RANGE_NODES = 5
DOPPLER_NODES = 11
RANGE_DEGREE = 2
DOPPLER_DEGREE = 6
_NEWTON_STEPS = 4


@dataclass(frozen=True)
class SpectralCorrection:
    """``true - hyperbolic`` azimuth spectrum phase (rad) as a polynomial.

    ``value(tau, f) = sum c[i, k] x^i y^k`` with ``x = (tau - tau_c) / tau_s`` and ``y = (f -
    f_c) / f_s`` (two-way range time tau in s, Doppler frequency f in Hz).
    """

    coefficients: FloatArray
    tau_c: float
    tau_s: float
    f_c: float
    f_s: float
    rms_fit: float

    def evaluate(self, tau: float, f: npt.ArrayLike) -> FloatArray:
        """Correction (rad) at range time ``tau`` for Doppler frequencies ``f``."""
        x = (float(tau) - self.tau_c) / self.tau_s
        # held constant beyond the fitted span (frequencies no valid target's band holds)
        y = np.clip((np.asarray(f, dtype=np.float64) - self.f_c) / self.f_s, -1.0, 1.0)
        c = self.coefficients
        row = np.polynomial.polynomial.polyval(x, c)  # coefficients of y
        return np.asarray(np.polynomial.polynomial.polyval(y, row), dtype=np.float64)


def _stationary_phase(
    orbit: Orbit, targets: FloatArray, t0: FloatArray, f: FloatArray, t_start: FloatArray,
    wavelength: float,
) -> FloatArray:  # fmt: skip
    """Phase of ``-4 pi R(t) / lambda - 2 pi f (t - t0)`` at its stationary point (rad)."""
    t = np.array(t_start, dtype=np.float64)
    target_rate = -0.5 * wavelength * f
    for _ in range(_NEWTON_STEPS):
        pos, vel, acc = interpolate_orbit_full(orbit, t0 + t)
        d = targets - pos
        r = np.linalg.norm(d, axis=1)
        rate = -np.sum(d * vel, axis=1) / r
        accel = (np.sum(vel * vel, axis=1) - np.sum(d * acc, axis=1) - rate * rate) / r
        t = t - (rate - target_rate) / accel
    # absolute GPS times are resolved to ~0.2 us only: use the offset actually evaluated
    # (the phase is stationary there, so the rounding costs nothing to first order)
    when = t0 + t
    pos, _, _ = interpolate_orbit_full(orbit, when)
    r = np.linalg.norm(targets - pos, axis=1)
    return np.asarray(
        -4.0 * np.pi * r / wavelength - 2.0 * np.pi * f * (when - t0), dtype=np.float64
    )


def spectral_phase_correction(
    orbit: Orbit,
    geometry: BurstGeometry,
    tau_first: float,
    tau_last: float,
    doppler_of: Callable[[FloatArray], FloatArray],
    eta_span: float,
) -> SpectralCorrection:
    """Fit the exact-minus-hyperbolic azimuth spectrum phase of one burst.

    Parameters
    ----------
    orbit
        The burst's orbit.
    geometry
        TOPS geometry (steering centre, ``k_s``, ``v_e(tau)``, ``k_a(tau)``).
    tau_first, tau_last
        Two-way range times spanned by the output, s.
    doppler_of
        Doppler centroid (Hz) of a target at the steering centre (``eta = 0``) as a
        function of two-way range times (s).
    eta_span
        Half-span of zero-Doppler offsets from the steering centre to cover, s.

    Raises
    ------
    FocusError
        If the targets of the grid cannot be placed on the ellipsoid.
    """
    lam = geometry.wavelength
    tau = np.linspace(tau_first, tau_last, RANGE_NODES)
    f0 = np.asarray(doppler_of(tau), dtype=np.float64)
    k_t = geometry.centroid_rate(tau)
    eta = np.linspace(-eta_span, eta_span, DOPPLER_NODES)
    tt, ee = np.meshgrid(tau, eta, indexing="ij")
    ff = f0[:, None] + k_t[:, None] * ee
    r0 = 0.5 * SPEED_OF_LIGHT * tt.ravel()
    t0 = geometry.t_mid + ee.ravel()
    try:
        targets = np.asarray(geolocate(orbit, t0, r0), dtype=np.float64).reshape(-1, 3)
    except GeometryError as exc:
        raise FocusError(f"cannot place the TOPS phase-model targets: {exc}") from exc
    v = geometry.effective_velocity(tt.ravel())
    f = ff.ravel()
    dd = np.sqrt(1.0 - (lam * f / (2.0 * v)) ** 2)
    t_h = -lam * f * r0 / (2.0 * v * v * dd)
    true = _stationary_phase(orbit, targets, t0, f, t_h, lam)
    model = -4.0 * np.pi * r0 * dd / lam
    delta = np.angle(np.exp(1j * (true - model)))
    tau_c, tau_s = 0.5 * (tau_first + tau_last), max(0.5 * (tau_last - tau_first), 1e-9)
    f_c, f_s = float(np.mean(ff)), float(max(np.ptp(ff) * 0.5, 1.0))
    x = (tt.ravel() - tau_c) / tau_s
    y = (f - f_c) / f_s
    deg_x = min(RANGE_DEGREE, RANGE_NODES - 1)
    deg_y = min(DOPPLER_DEGREE, DOPPLER_NODES - 1)
    design = np.stack(
        [x**i * y**k for i in range(deg_x + 1) for k in range(deg_y + 1)], axis=1
    )
    coef, *_ = np.linalg.lstsq(design, delta, rcond=None)
    rms = float(np.sqrt(np.mean((design @ coef - delta) ** 2)))
    return SpectralCorrection(
        coefficients=coef.reshape(deg_x + 1, deg_y + 1), tau_c=tau_c, tau_s=tau_s, f_c=f_c,
        f_s=f_s, rms_fit=rms,
    )  # fmt: skip
