"""Point-target geolocation and resolution checks of an SLC against its own orbit.

A target at geodetic (lat, lon, height) is predicted in the image by solving the
zero-Doppler equation against the product orbit (:func:`sar.geo.geolocate.zero_doppler_time`,
Curlander & McDonough 1991 §8.2), giving azimuth time ``t`` and one-way slant range ``R``;
then ``line = (t - first_line_time) / azimuth_time_interval`` and
``sample = (2 R / c - slant_range_time) * range_sampling_rate``. The focused peak is
measured by :func:`sar.quality.point_target.analyse_point_target`; the difference is the
geolocation error. With simulated data (no atmosphere, tides or bistatic delay) it must
be a small fraction of a pixel (``docs/sentinel1-facts.md``, "Level-1 quality").

Pixel spacings used to convert pixels to metres:

* range: slant-range spacing ``c / (2 fs)``;
* azimuth: ground-track spacing ``azimuth_time_interval * v_g``, with ``v_g`` the speed of
  the zero-Doppler point at the target's slant range and height moving over the ground
  (finite difference of :func:`sar.geo.geolocate.geolocate` over ±0.5 s).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from sar.constants import SPEED_OF_LIGHT
from sar.errors import GeometryError, QualityError
from sar.geo.ellipsoid import geodetic_to_ecef
from sar.geo.geolocate import geolocate, zero_doppler_time
from sar.product.model import SlcImage
from sar.quality.cuts import DEFAULT_ISLR_EXTENT
from sar.quality.point_target import PointTargetResult, analyse_point_target
from sar.quality.theory import theoretical_response


class TargetLike(Protocol):
    """Anything with geodetic ``lat``, ``lon`` (deg) and ``height`` (m)."""

    @property
    def lat(self) -> float: ...

    @property
    def lon(self) -> float: ...

    @property
    def height(self) -> float: ...


@dataclass(frozen=True)
class TargetReport:
    """Quality figures of one point target.

    Attributes
    ----------
    name
        The target's ``name`` attribute if it has one, else its index.
    lat, lon, height
        Target position, deg, deg, m.
    predicted_line, predicted_sample
        Position predicted from the orbit, fractional pixels.
    measured_line, measured_sample
        Measured peak position, fractional pixels.
    azimuth_error_px, range_error_px
        Measured minus predicted, pixels.
    azimuth_error_m, range_error_m
        The same in metres (ground-track azimuth spacing, slant-range spacing).
    azimuth_resolution_px, range_resolution_px
        -3 dB widths, pixels.
    azimuth_resolution_m, range_resolution_m
        -3 dB widths in metres (azimuth along the ground track, range in slant range).
    azimuth_pslr_db, range_pslr_db, azimuth_islr_db, range_islr_db, islr_2d_db
        Side-lobe ratios, dB.
    azimuth_pixel_spacing_m, range_pixel_spacing_m
        Spacings used for the conversions, m.
    ground_velocity
        Ground speed of the zero-Doppler point at the target, m/s.
    range_theory, azimuth_theory
        Ideal (3 dB width px, PSLR dB, ISLR dB) for the product's window labels and
        oversampling (``fs / range_bandwidth``, ``1 / (azimuth_time_interval *
        azimuth_bandwidth)``) from :mod:`sar.quality.theory`; ``None`` if the label is
        unknown or a bandwidth is not positive.
    """

    name: str
    lat: float
    lon: float
    height: float
    predicted_line: float
    predicted_sample: float
    measured_line: float
    measured_sample: float
    azimuth_error_px: float
    range_error_px: float
    azimuth_error_m: float
    range_error_m: float
    azimuth_resolution_px: float
    range_resolution_px: float
    azimuth_resolution_m: float
    range_resolution_m: float
    azimuth_pslr_db: float
    range_pslr_db: float
    azimuth_islr_db: float
    range_islr_db: float
    islr_2d_db: float
    azimuth_pixel_spacing_m: float
    range_pixel_spacing_m: float
    ground_velocity: float
    range_theory: tuple[float, float, float] | None = None
    azimuth_theory: tuple[float, float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form; spacing conventions under ``"conventions"``."""
        out: dict[str, Any] = asdict(self)
        out["conventions"] = {
            "range_m": "slant range, c / (2 range_sampling_rate) per pixel",
            "azimuth_m": "ground track, azimuth_time_interval * ground_velocity per pixel",
            "error": "measured minus predicted",
        }
        return out


def _zero_doppler(slc: SlcImage, lat: float, lon: float, height: float) -> tuple[float, float]:
    xyz = geodetic_to_ecef(lat, lon, height)
    t_mid = slc.line_time(0.5 * (slc.lines - 1))
    try:
        return zero_doppler_time(slc.orbit, xyz, t_mid)
    except GeometryError as exc:
        raise QualityError(
            f"target (lat {lat:.6f}, lon {lon:.6f}) has no zero-Doppler time on the orbit: {exc}"
        ) from exc


def predict_position(slc: SlcImage, lat: float, lon: float, height: float) -> tuple[float, float]:
    """Predict the (line, sample) of a ground point from the product's orbit.

    Parameters
    ----------
    slc
        The product (orbit and grid timing are used; not the pixels).
    lat, lon
        Geodetic latitude and longitude, deg.
    height
        Height above WGS84, m.

    Returns
    -------
    tuple of float
        Fractional line and sample; may lie outside the image.

    Raises
    ------
    QualityError
        If the point has no zero-Doppler time within the orbit.
    """
    t, r = _zero_doppler(slc, lat, lon, height)
    line = (t - slc.first_line_time) / slc.azimuth_time_interval
    sample = (2.0 * r / SPEED_OF_LIGHT - slc.slant_range_time) * slc.range_sampling_rate
    return float(line), float(sample)


def ground_velocity(slc: SlcImage, t: float, slant_range: float, height: float) -> float:
    """Speed (m/s) of the zero-Doppler point at ``slant_range`` and ``height`` over the ground.

    Central difference of :func:`sar.geo.geolocate.geolocate` over ±0.5 s (clipped to
    the orbit span).
    """
    dt = min(0.5, 0.5 * (slc.orbit.stop - t), 0.5 * (t - slc.orbit.start))
    if dt <= 1e-3:
        raise QualityError("target time is at the edge of the orbit; cannot get ground speed")
    try:
        p = geolocate(slc.orbit, np.array([t - dt, t + dt]), slant_range, height=height)
    except GeometryError as exc:
        raise QualityError(f"cannot geolocate around the target: {exc}") from exc
    return float(np.linalg.norm(p[1] - p[0]) / (2.0 * dt))


def product_theory(
    slc: SlcImage, islr_extent: float = DEFAULT_ISLR_EXTENT
) -> tuple[tuple[float, float, float] | None, tuple[float, float, float] | None]:
    """Ideal (width px, PSLR dB, ISLR dB) in range and azimuth for the product's windows."""

    def one(label: str, oversampling: float) -> tuple[float, float, float] | None:
        if not (math.isfinite(oversampling) and oversampling > 0.0):
            return None
        try:
            return theoretical_response(label, oversampling, islr_extent=islr_extent)
        except QualityError:
            return None

    rg_osf = slc.range_sampling_rate / slc.range_bandwidth if slc.range_bandwidth > 0 else 0.0
    az_band = slc.azimuth_time_interval * slc.azimuth_bandwidth
    az_osf = 1.0 / az_band if az_band > 0 else 0.0
    return one(slc.range_window, rg_osf), one(slc.azimuth_window, az_osf)


def analyse_targets(
    slc: SlcImage,
    targets: Iterable[TargetLike],
    *,
    chip: int = 64,
    upsample: int = 32,
    search: int = 8,
    islr_extent: float = DEFAULT_ISLR_EXTENT,
) -> list[TargetReport]:
    """Predict, measure and report every target.

    Parameters
    ----------
    slc
        Focused product.
    targets
        Objects with ``lat``, ``lon`` (deg) and ``height`` (m); an optional ``name``.
    chip, upsample, search, islr_extent
        See :func:`sar.quality.point_target.analyse_point_target`.

    Returns
    -------
    list of TargetReport
        One report per target, in order.

    Raises
    ------
    QualityError
        A target lies outside the image (its chip does not fit) or shows no clear peak.
    """
    reports = []
    rg_theory, az_theory = product_theory(slc, islr_extent)
    dr = SPEED_OF_LIGHT / (2.0 * slc.range_sampling_rate)
    for index, target in enumerate(targets):
        lat, lon, h = float(target.lat), float(target.lon), float(target.height)
        name = str(getattr(target, "name", index))
        line, sample = predict_position(slc, lat, lon, h)
        half = chip // 2
        if not (half <= line < slc.lines - half and half <= sample < slc.samples - half):
            raise QualityError(
                f"target {name} predicted at (line {line:.1f}, sample {sample:.1f}) lies outside "
                f"the analysable part of the {slc.lines} x {slc.samples} image"
            )
        try:
            res: PointTargetResult = analyse_point_target(
                slc.image,
                line,
                sample,
                chip=chip,
                upsample=upsample,
                search=search,
                islr_extent=islr_extent,
            )
        except QualityError as exc:
            raise QualityError(f"target {name}: {exc}") from exc
        t, r = _zero_doppler(slc, lat, lon, h)
        vg = ground_velocity(slc, t, r, h)
        da = slc.azimuth_time_interval * vg
        az_err = res.line - line
        rg_err = res.sample - sample
        reports.append(
            TargetReport(
                name=name,
                lat=lat,
                lon=lon,
                height=h,
                predicted_line=line,
                predicted_sample=sample,
                measured_line=res.line,
                measured_sample=res.sample,
                azimuth_error_px=az_err,
                range_error_px=rg_err,
                azimuth_error_m=az_err * da,
                range_error_m=rg_err * dr,
                azimuth_resolution_px=res.azimuth.width_3db,
                range_resolution_px=res.range.width_3db,
                azimuth_resolution_m=res.azimuth.width_3db * da,
                range_resolution_m=res.range.width_3db * dr,
                azimuth_pslr_db=res.azimuth.pslr_db,
                range_pslr_db=res.range.pslr_db,
                azimuth_islr_db=res.azimuth.islr_db,
                range_islr_db=res.range.islr_db,
                islr_2d_db=res.islr_2d_db,
                azimuth_pixel_spacing_m=da,
                range_pixel_spacing_m=dr,
                ground_velocity=vg,
                range_theory=rg_theory,
                azimuth_theory=az_theory,
            )
        )
        if not math.isfinite(reports[-1].azimuth_error_m):
            raise QualityError(f"target {name}: non-finite geolocation error")
    return reports
