"""The Level-0 packet header record: one structured dtype for codec, simulator and focus.

Field names are the snake_case names of the fields in S1-IF-ASD-PL-0007 (issue 13),
section 3.1 (primary header) and section 3.2 (secondary header: datation 3.2.1,
fixed ancillary 3.2.2, sub-commutated ancillary 3.2.3, counters 3.2.4, radar
configuration support 3.2.5, radar sample count 3.2.6). Values are the raw integer
codes of the specification; physical units are computed by :mod:`sar.l0.radar`.

Two fields are not in the packet but describe where it was found:
``byte_offset`` (offset of the packet's first byte in the input) and ``n_samples``
(complex samples in the user data, ``2 * number_of_quads``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

HEADER_FIELDS: tuple[tuple[str, str], ...] = (
    # primary header (3.1), 6 bytes
    ("packet_version_number", "u1"),
    ("packet_type", "u1"),
    ("secondary_header_flag", "u1"),
    ("process_id", "u1"),
    ("packet_category", "u1"),
    ("sequence_flags", "u1"),
    ("packet_sequence_count", "u2"),
    ("packet_data_length", "u2"),
    # datation service (3.2.1)
    ("coarse_time", "u4"),
    ("fine_time", "u2"),
    # fixed ancillary data service (3.2.2)
    ("sync_marker", "u4"),
    ("data_take_id", "u4"),
    ("ecc_number", "u1"),
    ("test_mode", "u1"),
    ("rx_channel_id", "u1"),
    ("instrument_configuration_id", "u4"),
    # sub-commutated ancillary data service (3.2.3)
    ("subcom_word_index", "u1"),
    ("subcom_word", "u2"),
    # counters service (3.2.4)
    ("space_packet_count", "u4"),
    ("pri_count", "u4"),
    # radar configuration support service (3.2.5)
    ("error_flag", "u1"),
    ("baq_mode", "u1"),
    ("baq_block_length", "u1"),
    ("range_decimation", "u1"),
    ("rx_gain", "u1"),
    ("tx_ramp_rate", "u2"),
    ("tx_pulse_start_frequency", "u2"),
    ("tx_pulse_length", "u4"),
    ("rank", "u1"),
    ("pri", "u4"),
    ("swst", "u4"),
    ("swl", "u4"),
    # SAS SSB message (3.2.5.12)
    ("sas_ssb_flag", "u1"),
    ("polarisation", "u1"),
    ("temperature_compensation", "u1"),
    ("elevation_beam_address", "u1"),
    ("azimuth_beam_address", "u2"),
    # SES SSB message (3.2.5.13)
    ("cal_mode", "u1"),
    ("tx_pulse_number", "u1"),
    ("signal_type", "u1"),
    ("swap", "u1"),
    ("swath_number", "u1"),
    # radar sample count service (3.2.6)
    ("number_of_quads", "u2"),
    # location in the input, not packet content
    ("byte_offset", "i8"),
    ("n_samples", "i4"),
)
"""(name, numpy type code) of every header field, in packet order."""

HEADER_DTYPE = np.dtype(list(HEADER_FIELDS))
"""Structured dtype of one decoded packet header."""

SPEC_FIELD_NAMES: tuple[str, ...] = tuple(
    name for name, _ in HEADER_FIELDS if name not in ("byte_offset", "n_samples")
)
"""Header fields that exist in the packet (everything but the location fields)."""

HeaderArray = npt.NDArray[np.void]
"""A 1-D array of :data:`HEADER_DTYPE` records."""


def empty_headers(n: int) -> HeaderArray:
    """Return ``n`` zeroed header records.

    Parameters
    ----------
    n
        Number of records.

    Returns
    -------
    numpy.ndarray
        Array of dtype :data:`HEADER_DTYPE`, all fields zero.
    """
    return np.zeros(n, dtype=HEADER_DTYPE)
