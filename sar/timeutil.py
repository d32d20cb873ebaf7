"""Time scales of the science core.

Every time inside :mod:`sar` is a ``float`` (or float64 array) of **GPS seconds**:
seconds of GPS time since the GPS epoch 1980-01-06T00:00:00. This is what the
packet datation service carries (S1-IF-ASD-PL-0007 section 3.2.1: coarse time in
seconds, fine time in units of 2^-16 s). float64 resolves 0.24 microseconds at
today's values, 1.8 mm of satellite motion, far below a pixel.

UTC appears only at the edges (products, CLI, JSON), converted with the leap-second
table below (IERS Bulletin C; GPS - UTC = 18 s since 2017-01-01).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

GPS_EPOCH = datetime(1980, 1, 6, tzinfo=UTC)

# (first UTC instant at which the offset applies, GPS - UTC in seconds)
_LEAP_TABLE: tuple[tuple[datetime, int], ...] = (
    (datetime(2012, 7, 1, tzinfo=UTC), 16),
    (datetime(2015, 7, 1, tzinfo=UTC), 17),
    (datetime(2017, 1, 1, tzinfo=UTC), 18),
)


def gps_minus_utc(when: datetime) -> int:
    """Return GPS - UTC in whole seconds at UTC instant ``when`` (valid from 2012)."""
    offset = 15
    for start, value in _LEAP_TABLE:
        if when >= start:
            offset = value
    return offset


def utc_to_gps_seconds(when: datetime) -> float:
    """Convert a timezone-aware UTC datetime to GPS seconds.

    Parameters
    ----------
    when
        Aware datetime (UTC or any zone).

    Returns
    -------
    float
        Seconds of GPS time since 1980-01-06T00:00:00.
    """
    if when.tzinfo is None:
        raise ValueError("naive datetime: give a timezone-aware UTC datetime")
    when = when.astimezone(UTC)
    return (when - GPS_EPOCH).total_seconds() + gps_minus_utc(when)


def gps_seconds_to_utc(seconds: float) -> datetime:
    """Convert GPS seconds to an aware UTC datetime (microsecond resolution)."""
    approx = GPS_EPOCH + timedelta(seconds=seconds)
    return approx - timedelta(seconds=gps_minus_utc(approx - timedelta(seconds=18)))


def gps_seconds_to_iso(seconds: float) -> str:
    """Format GPS seconds as ISO 8601 UTC with microseconds (``...T17:47:00.123456Z``)."""
    return gps_seconds_to_utc(seconds).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_to_gps_seconds(text: str) -> float:
    """Parse ISO 8601 UTC (``Z`` or ``+00:00`` suffix, or naive meaning UTC) to GPS seconds."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return utc_to_gps_seconds(parsed)
