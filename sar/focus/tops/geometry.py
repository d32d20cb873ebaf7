"""Geometry and processing plan of one IW TOPS burst.

Quantities of the Sentinel-1 TOPS burst model (ESA COPE-GSEG-EOPG-TN-14-0025, "TN";
De Zan & Monti Guarnieri, TGRS 44(9), 2006), all as functions of the two-way
slant-range time ``tau``:

- steering Doppler rate ``k_s = 2 v_s k_psi / lambda`` (Hz/s), ``v_s = |V|`` at burst mid;
- azimuth FM rate ``k_a = -2 v_e^2 / (lambda R0)`` (Hz/s, negative), hyperbolic range
  model ``R(eta) = sqrt(R0^2 + v_e^2 eta^2)`` with ``v_e`` from :mod:`sar.focus.doppler`;
- Doppler-centroid rate of the focused burst ``k_t = k_a k_s / (k_a - k_s)`` (TN);
- footprint scaling ``alpha = 1 - k_s / k_a = k_s / k_t``: a target whose beam-centre
  crossing happens ``x`` seconds after the steering centre has its zero-Doppler time
  ``alpha x`` seconds after it.

:func:`plan_burst` fixes the transform sizes of the azimuth chain in :mod:`sar.focus.tops.burst`
once per burst, so that FFT plans can be reused from burst to burst.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from sar.constants import SPEED_OF_LIGHT
from sar.errors import FocusError
from sar.focus.doppler import effective_velocity
from sar.focus.model import RawData
from sar.focus.sizes import fft_cost, fft_penalty, smooth_sizes_between
from sar.geo.orbit import interpolate_orbit

FloatArray = npt.NDArray[np.float64]

IW_AZIMUTH_TIME_INTERVAL = 2.0555563e-3
"""Common IW SLC line spacing, s (S1 annotation ``azimuthTimeInterval``)."""

PROCESSED_BANDWIDTH = {"IW1": 327.0, "IW2": 313.0, "IW3": 314.0}
"""IW azimuth processed bandwidths, Hz (S1 annotation, IPF)."""

_GEOMETRY_NODES = 9


@dataclass(frozen=True)
class BurstGeometry:
    """Per-burst TOPS geometry.

    Attributes
    ----------
    t_mid
        Steering centre (middle of the raw lines), GPS s.
    wavelength
        m.
    v_s
        Satellite speed at ``t_mid``, m/s.
    k_s
        Steering Doppler rate, Hz/s.
    tau_nodes, v_e_nodes
        Two-way range times (s) and effective velocities (m/s) at a few nodes across
        the swath; :meth:`effective_velocity` interpolates them (quadratic fit).
    """

    t_mid: float
    wavelength: float
    v_s: float
    k_s: float
    tau_nodes: FloatArray
    v_e_nodes: FloatArray

    @cached_property
    def _velocity_coefficients(self) -> FloatArray:
        xn = (self.tau_nodes - self.tau_nodes[0]) * 1e6
        coef = np.polynomial.polynomial.polyfit(xn, self.v_e_nodes, min(2, xn.size - 1))
        return np.asarray(coef, dtype=np.float64)

    def effective_velocity(self, tau: npt.ArrayLike) -> FloatArray:
        """Effective velocity (m/s) at two-way time(s) ``tau`` (s)."""
        x = (np.asarray(tau, dtype=np.float64) - self.tau_nodes[0]) * 1e6
        coef = self._velocity_coefficients
        return np.asarray(np.polynomial.polynomial.polyval(x, coef), dtype=np.float64)

    def fm_rate(self, tau: npt.ArrayLike) -> FloatArray:
        """Azimuth FM rate ``k_a = -2 v_e^2 / (lambda R0)``, Hz/s, at ``tau`` (s)."""
        t = np.asarray(tau, dtype=np.float64)
        v = self.effective_velocity(t)
        return -2.0 * v * v / (self.wavelength * 0.5 * SPEED_OF_LIGHT * t)

    def centroid_rate(self, tau: npt.ArrayLike) -> FloatArray:
        """Doppler-centroid rate of the focused burst ``k_t = k_a k_s / (k_a - k_s)``, Hz/s."""
        ka = self.fm_rate(tau)
        return ka * self.k_s / (ka - self.k_s)

    def scaling(self, tau: npt.ArrayLike) -> FloatArray:
        """Footprint scaling ``alpha = 1 - k_s / k_a`` (dimensionless)."""
        return 1.0 - self.k_s / self.fm_rate(tau)

    def geometric_doppler(self, tau: npt.ArrayLike) -> FloatArray:
        """Raw-data Doppler centroid at the steering centre predicted by the geometry, Hz.

        Sentinel-1 flies total zero-Doppler steering (Fiedler et al., "Total zero Doppler
        steering", IEEE TGRS 43(8), 2005): the unsteered beam points at zero Doppler at
        every range. The beam is steered at transmit time ``t`` while the echo's Doppler
        is that of the two-way path, i.e. of the mid-point time ``t + tau / 2``: at beam
        centre the echo is ``k_a tau / 2`` (about -6 Hz for IW, the same at every range
        since ``k_a tau`` barely varies) away from the steering Doppler.
        """
        t = np.asarray(tau, dtype=np.float64)
        return np.asarray(0.5 * self.fm_rate(t) * t, dtype=np.float64)


def steering_doppler_rate(raw: RawData) -> tuple[float, float, float]:
    """Steering centre ``t_mid`` (GPS s, middle of the raw lines), satellite speed ``v_s``
    there (m/s) and steering Doppler rate ``k_s = 2 v_s k_psi / lambda`` (Hz/s, TN)."""
    times = np.asarray(raw.line_times, dtype=np.float64)
    t_mid = 0.5 * float(times[0] + times[-1])
    _, vel = interpolate_orbit(raw.orbit, t_mid)
    v_s = float(np.linalg.norm(vel))
    wavelength = SPEED_OF_LIGHT / raw.radar_frequency
    return t_mid, v_s, 2.0 * v_s * raw.azimuth_steering_rate / wavelength


def burst_geometry(raw: RawData, tau_first: float, tau_last: float) -> BurstGeometry:
    """Compute the TOPS geometry of ``raw`` over two-way times ``[tau_first, tau_last]``.

    Raises
    ------
    FocusError
        If the burst is not TOPS (zero steering rate) or the orbit does not cover it.
    """
    if not raw.azimuth_steering_rate > 0.0:
        raise FocusError(
            f"TOPS focusing needs a positive azimuth steering rate, got "
            f"{raw.azimuth_steering_rate} rad/s"
        )
    t_mid, v_s, k_s = steering_doppler_rate(raw)
    wavelength = SPEED_OF_LIGHT / raw.radar_frequency
    tau_nodes = np.linspace(tau_first, tau_last, _GEOMETRY_NODES)
    v_e = effective_velocity(raw.orbit, t_mid, tau_nodes)
    return BurstGeometry(
        t_mid=t_mid, wavelength=wavelength, v_s=v_s, k_s=k_s, tau_nodes=tau_nodes,
        v_e_nodes=np.asarray(v_e, dtype=np.float64),
    )  # fmt: skip


@dataclass(frozen=True)
class AzimuthPlan:
    """Transform sizes of the TOPS azimuth chain of one burst.

    Attributes
    ----------
    n_in
        Raw lines N.
    n_mosaic
        Length N' of the chirp-convolved (full-band) azimuth domain, PRF' = k_s' N' / PRF.
    n_specan
        Length N'' of the final SPECAN transform; output spacing
        ``PRF' / (N'' k_x)`` equals the azimuth time interval.
    range_halo_left, range_halo_right
        Range samples read on each side of a strip (RCMC reach).
    strip_width
        Output range samples per strip (at least the requested width, see
        :func:`choose_strip_span`).
    """

    n_in: int
    n_mosaic: int
    n_specan: int
    range_halo_left: int
    range_halo_right: int
    strip_width: int

    @property
    def strip_span(self) -> int:
        """Range samples of a strip including halos (range FFT length)."""
        return self.strip_width + self.range_halo_left + self.range_halo_right


SPECAN_MARGIN = 0.04
"""How far N'' may exceed the size that gives ``k_s' = k_s`` (fraction)."""


def plan_azimuth(
    geometry: BurstGeometry,
    lines: int,
    prf: float,
    azimuth_time_interval: float,
    tau_first: float,
    tau_last: float,
    range_sampling_rate: float,
    doppler_offset: float,
    strip_width: int,
) -> AzimuthPlan:
    """Choose N', N'' and range halos for a burst.

    N' must hold the whole unfolded Doppler band, ``PRF' >= k_s T_B + PRF`` (docs/tops.md
    section 3); every strip then uses its own mosaicking rate ``k_s'`` near ``k_s`` so
    that ``k_s' N' / (PRF N'' dt) = k_t`` at the strip centre (exact output spacing).
    N'' may exceed that ideal size by up to :data:`SPECAN_MARGIN` (``k_s'`` grows with it,
    which only widens the unfolded band), so that a fast FFT size can be chosen: the pair
    minimises the estimated cost of the chain, three length-N' and one length-N'' FFT per
    range bin (:func:`fft_cost`) plus about six memory passes over N' and three over N''.
    """
    k_s = geometry.k_s
    kt = geometry.centroid_rate(np.array([tau_first, tau_last]))
    kt_mean = math.sqrt(float(kt[0] * kt[1]))
    spread = float(abs(kt[1] - kt[0]) / kt_mean)
    # k_s' spans +-spread/2 around k_s: leave room for it in N'
    low = 1.0 - 0.5 * spread - 0.016
    n_min = int(math.ceil((lines * (k_s / (k_s * low)) + prf * prf / (k_s * low)) * 1.0)) + 16
    best: tuple[float, int, int] | None = None
    for n1 in smooth_sizes_between(n_min, int(n_min * 1.25) + 64):
        ideal = k_s * n1 / (kt_mean * azimuth_time_interval * prf)
        hi = int(ideal * (1.0 + SPECAN_MARGIN)) + 1
        for n2 in smooth_sizes_between(int(ideal * 0.985), hi):
            cost = 3.0 * fft_cost(n1) + fft_cost(n2) + 18.0 * n1 + 9.0 * n2
            if best is None or cost < best[0]:
                best = (cost, n1, n2)
    if best is None:
        raise FocusError("no FFT sizes found for the TOPS azimuth chain")
    _, n1, n2 = best
    halo_right = range_halo_right(geometry, n1, prf, doppler_offset, tau_last, range_sampling_rate)
    span = choose_strip_span(strip_width, RANGE_HALO_LEFT + halo_right)
    return AzimuthPlan(
        n_in=lines, n_mosaic=n1, n_specan=n2, range_halo_left=RANGE_HALO_LEFT,
        range_halo_right=halo_right, strip_width=span - RANGE_HALO_LEFT - halo_right,
    )  # fmt: skip


RANGE_HALO_LEFT = 8
"""Range samples read before a strip (the range-Doppler filters' near-side reach)."""


def range_halo_right(
    geometry: BurstGeometry, n_mosaic: int, prf: float, doppler_offset: float,
    tau_last: float, range_sampling_rate: float,
) -> int:  # fmt: skip
    """Range samples read after a strip: the range migration at the edge of the unfolded
    Doppler band ``|doppler_offset| + 1.05 PRF' / 2`` (``PRF' = k_s N' / PRF``) at the far
    range ``tau_last`` (two-way samples), plus 8.

    Raises
    ------
    FocusError
        If the band edge is beyond the range-Doppler model (``lambda f / 2 v >= 0.5``).
    """
    prf1 = geometry.k_s * n_mosaic / prf
    f_max = abs(doppler_offset) + 0.5 * prf1 * 1.05
    v_e = float(geometry.effective_velocity(tau_last))
    x = geometry.wavelength * f_max / (2.0 * v_e)
    if x >= 0.5:
        raise FocusError("unfolded Doppler band too wide for the range-Doppler model")
    rcm = tau_last * (1.0 / math.sqrt(1.0 - x * x) - 1.0) * range_sampling_rate
    return int(math.ceil(rcm)) + 8


def strip_reach(samples_out: int, plan: AzimuthPlan) -> int:
    """Range-compressed columns that the strips of ``plan`` read: every strip loads its
    whole span, the last one (which may be narrower than ``strip_width``) included, from
    column ``first_bin - range_halo_left``."""
    last = (max(1, samples_out) - 1) // plan.strip_width * plan.strip_width
    return last - plan.range_halo_left + plan.strip_span


def choose_strip_span(min_width: int, halos: int) -> int:
    """Range FFT length of a strip: at least ``min_width + halos``, up to 25 % longer.

    Each strip wastes its ``halos`` samples, and the strip's range FFTs run faster on some
    lengths (:func:`fft_penalty`); the span minimises ``span / (span - halos)`` times a cost
    factor in which the FFT penalty weighs a quarter (most passes over a strip do not
    depend on the length's factors). Measured with IW1 bursts (3 threads, CPU s per burst,
    10 interleaved rounds, relative to span 864): span 768 1.006, 1,152 0.968, 1,024
    0.935; with its halos of 82 samples this choice gives 1,024 there. The strip width is
    ``span - halos``.
    """
    need = max(1, int(min_width)) + int(halos)

    def score(n: int) -> float:
        return n / (n - halos) * (0.75 + 0.25 * fft_penalty(n))

    return min(smooth_sizes_between(need, int(need * 1.25) + 1), key=score)
