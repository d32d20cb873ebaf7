"""Errors of the downlink layer (subclasses of :mod:`sar.errors`).

Corrupt *data* on the link is never an error: it is measured and reported as
:class:`~sar.downlink.records.DownlinkGap`. These exceptions are for bad *requests*
(inconsistent framing parameters, wrong array shapes, a packet stream that cannot be
framed).
"""

from __future__ import annotations

from sar.errors import Level0Error


class DownlinkError(Level0Error):
    """Root of the downlink errors."""


class InvalidFramingError(DownlinkError):
    """Framing parameters or arrays that do not describe a valid CCSDS frame layout."""
