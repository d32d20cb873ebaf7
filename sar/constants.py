"""Physical and Sentinel-1 constants used across :mod:`sar`.

Sources: S1-IF-ASD-PL-0007 (SAR Space Packet Protocol Data Unit) for the reference
frequency; ESA Sentinel-1 IPF DPM (S1-TN-MDA-52-7445) table 9-7 for burst cycles;
NIMA TR8350.2 for WGS84.
"""

from __future__ import annotations

SPEED_OF_LIGHT = 299_792_458.0
"""Speed of light in vacuum, m/s."""

F_REF = 37.53472224e6
"""Instrument reference frequency f_ref, Hz (S1-IF-ASD-PL-0007 section 3.2.5)."""

RADAR_FREQUENCY = 5.405e9
"""Sentinel-1 C-band carrier frequency, Hz."""

WAVELENGTH = SPEED_OF_LIGHT / RADAR_FREQUENCY
"""Carrier wavelength, m."""

WGS84_A = 6_378_137.0
"""WGS84 semi-major axis, m."""

WGS84_F = 1.0 / 298.257223563
"""WGS84 flattening."""

WGS84_B = WGS84_A * (1.0 - WGS84_F)
"""WGS84 semi-minor axis, m."""

WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
"""WGS84 first eccentricity squared."""

EARTH_GM = 3.986004418e14
"""Earth's gravitational parameter, m^3/s^2."""

EARTH_ROTATION_RATE = 7.2921151467e-5
"""Earth's rotation rate, rad/s."""

AZIMUTH_ANTENNA_LENGTH = 12.3
"""Sentinel-1 antenna length (azimuth aperture), m (ESA Sentinel-1 SAR instrument page)."""

IW_BURST_CYCLE = 2.758273
"""IW burst cycle T_beam, s (IPF DPM table 9-7)."""

EW_BURST_CYCLE = 3.038376
"""EW burst cycle, s (IPF DPM table 9-7)."""

ORBIT_PERIOD_NOMINAL = 12 * 86400 / 175
"""Nominal orbital period, s (12-day repeat cycle of 175 orbits)."""

GPS_EPOCH_ISO = "1980-01-06T00:00:00"
"""Epoch of the packet datation coarse time (GPS time), UTC without leap seconds."""

SYNC_MARKER = 0x352EF853
"""Secondary-header sync marker (S1-IF-ASD-PL-0007 section 3.2.2.1)."""

PRIMARY_HEADER_BYTES = 6
SECONDARY_HEADER_BYTES = 62
