"""Errors raised by the science core.

One root class, :class:`SarError`, and a few domain subclasses. Level-0 errors carry
the byte offset in the input stream where the problem was found, so a user can
locate it with ``xxd -s OFFSET``.
"""

from __future__ import annotations


class SarError(Exception):
    """Root of every error raised by :mod:`sar`."""


class Level0Error(SarError):
    """Problem in a Level-0 space-packet stream.

    Parameters
    ----------
    message
        What is wrong, in one line.
    offset
        Byte offset in the input where the problem starts, or ``None`` if unknown.
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.offset = offset
        where = f" at byte offset {offset}" if offset is not None else ""
        super().__init__(f"{message}{where}")


class CorruptPacketError(Level0Error):
    """A packet whose header or user data violates S1-IF-ASD-PL-0007."""


class SyncMarkerError(CorruptPacketError):
    """The secondary header's sync marker is not 0x352EF853."""


class TruncatedPacketError(Level0Error):
    """The stream ends inside a packet."""


class UnsupportedPacketError(Level0Error):
    """A valid packet that uses a feature this decoder does not implement."""


class GeometryError(SarError):
    """Invalid geometry: a point that cannot be geolocated, an orbit that does not cover a time."""


class SimulationError(SarError):
    """Invalid simulation request (unknown mode, target outside the swath, bad parameters)."""


class FocusError(SarError):
    """Raw data that cannot be focused (too few lines, inconsistent radar parameters)."""


class ProductError(SarError):
    """An SLC product file that is missing, unreadable or does not follow the layout."""


class QualityError(SarError):
    """Point-target analysis impossible (target outside the image, no clear peak)."""
