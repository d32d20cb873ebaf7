"""SAR figures of a focused SLC for the STAC ``sar`` extension (resolutions, spacings,
bandwidth, looks).

Computed from the product's own metadata (:class:`sar.product.model.SlcImage`):

- slant-range pixel spacing ``c / (2 f_s)``; azimuth pixel spacing ``v_g * dt_az`` with
  ``v_g`` the ground speed of the zero-Doppler point at mid-image
  (:func:`sar.quality.geolocation.ground_velocity`);
- 3 dB resolutions ``k_w * c / (2 B_r)`` in slant range and ``k_w * v_g / B_az`` in
  azimuth, ``k_w`` the window's 3 dB width factor (0.886 for no window, broadened by the
  product's Hamming or Kaiser weighting; :func:`sar.focus.windows.window_theory`);
- one look in each direction (single-look complex).

These are the figures the STAC ``sar`` extension (v1.3) calls ``sar:resolution_range``,
``sar:resolution_azimuth``, ``sar:pixel_spacing_range``, ``sar:pixel_spacing_azimuth``
(metres), ``sar:bandwidth`` (GHz) and ``sar:looks_*``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from sar.constants import SPEED_OF_LIGHT, WGS84_A
from sar.errors import SarError
from sar.focus.windows import parse_window, window_theory
from sar.geo.orbit import interpolate_orbit
from sar.product.model import SlcImage
from sar.quality.geolocation import ground_velocity


class SarParameters(BaseModel):
    """Resolution and sampling of one SLC product (metres, hertz).

    Meant to travel with the product record (``ProductRecord.sar``) so that the STAC
    item carries them without reopening the product.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    range_bandwidth_hz: float = Field(gt=0.0, description="processed range bandwidth, Hz")
    azimuth_bandwidth_hz: float = Field(gt=0.0, description="processed azimuth bandwidth, Hz")
    resolution_range_m: float = Field(gt=0.0, description="3 dB slant-range resolution, m")
    resolution_azimuth_m: float = Field(gt=0.0, description="3 dB azimuth resolution, m")
    pixel_spacing_range_m: float = Field(gt=0.0, description="slant-range sample spacing, m")
    pixel_spacing_azimuth_m: float = Field(gt=0.0, description="azimuth line spacing, m")
    looks_range: int = Field(default=1, ge=1)
    looks_azimuth: int = Field(default=1, ge=1)

    def stac_properties(self) -> dict[str, Any]:
        """The ``sar:`` item properties these figures give (rounded to 1 mm / 1 kHz)."""
        return {
            "sar:bandwidth": round(self.range_bandwidth_hz / 1e9, 6),
            "sar:resolution_range": round(self.resolution_range_m, 3),
            "sar:resolution_azimuth": round(self.resolution_azimuth_m, 3),
            "sar:pixel_spacing_range": round(self.pixel_spacing_range_m, 3),
            "sar:pixel_spacing_azimuth": round(self.pixel_spacing_azimuth_m, 3),
            "sar:looks_range": self.looks_range,
            "sar:looks_azimuth": self.looks_azimuth,
            "sar:looks_equivalent_number": float(self.looks_range * self.looks_azimuth),
        }


def _ground_speed(slc: SlcImage) -> float:
    """Ground speed of the zero-Doppler point at mid-image, m/s."""
    t_mid = slc.line_time(0.5 * (slc.lines - 1))
    r_mid = 0.5 * SPEED_OF_LIGHT * slc.sample_range_time(0.5 * (slc.samples - 1))
    try:
        return ground_velocity(slc, t_mid, r_mid, 0.0)
    except SarError:
        # orbit too short around mid-image: satellite speed scaled to the ground by the
        # ratio of geocentric radii (Earth as a sphere of the WGS84 equatorial radius)
        pos, vel = interpolate_orbit(slc.orbit, t_mid)
        return float(np.linalg.norm(vel)) * WGS84_A / float(np.linalg.norm(pos))


def sar_parameters_of(slc: SlcImage) -> SarParameters:
    """Resolution, pixel spacing and bandwidth of a focused SLC.

    Parameters
    ----------
    slc
        The focused image and its metadata (windows, bandwidths, sampling, orbit).

    Returns
    -------
    SarParameters

    Raises
    ------
    sar.errors.FocusError
        If a window label cannot be parsed.
    ValueError
        If the product has no positive bandwidth or sampling (pydantic validation).
    """
    v_g = _ground_speed(slc)
    k_rg = window_theory(parse_window(slc.range_window)).width_factor
    k_az = window_theory(parse_window(slc.azimuth_window)).width_factor
    rg_res = k_rg * SPEED_OF_LIGHT / (2.0 * slc.range_bandwidth) if slc.range_bandwidth > 0 else 0.0
    az_res = k_az * v_g / slc.azimuth_bandwidth if slc.azimuth_bandwidth > 0 else 0.0
    return SarParameters(
        range_bandwidth_hz=slc.range_bandwidth,
        azimuth_bandwidth_hz=slc.azimuth_bandwidth,
        resolution_range_m=rg_res,
        resolution_azimuth_m=az_res,
        pixel_spacing_range_m=SPEED_OF_LIGHT / (2.0 * slc.range_sampling_rate),
        pixel_spacing_azimuth_m=v_g * slc.azimuth_time_interval,
    )
