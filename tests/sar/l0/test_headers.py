from __future__ import annotations

import numpy as np
import pytest

from sar.constants import SYNC_MARKER
from sar.errors import CorruptPacketError, SyncMarkerError, TruncatedPacketError
from sar.l0.fields import SPEC_FIELD_NAMES, empty_headers
from sar.l0.headers import (
    BIT_LAYOUT,
    HEADER_BYTES,
    NOT_APPLICABLE,
    decode_headers,
    encode_headers,
    sas_fields,
)


@pytest.mark.parametrize("fill", ["zero", "max", "random"])
def test_every_field_round_trips(fill: str) -> None:
    rng = np.random.default_rng(4)
    headers = empty_headers(5)
    for name, (_, width) in BIT_LAYOUT.items():
        top = (1 << width) - 1
        if fill == "max":
            headers[name] = top
        elif fill == "random":
            headers[name] = rng.integers(0, top, 5, endpoint=True, dtype=np.uint64)
    rows = encode_headers(headers)
    assert rows.shape == (5, HEADER_BYTES)
    decoded = decode_headers(rows.tobytes(), np.arange(5) * HEADER_BYTES, validate=False)
    for name in SPEC_FIELD_NAMES:
        np.testing.assert_array_equal(decoded[name], headers[name], err_msg=name)
    np.testing.assert_array_equal(encode_headers(decoded), rows)


def test_known_bit_positions() -> None:
    headers = empty_headers(1)
    headers["secondary_header_flag"] = 1
    headers["sync_marker"] = SYNC_MARKER
    headers["baq_mode"] = 12
    headers["number_of_quads"] = 0x1234
    headers["packet_data_length"] = 61
    headers["signal_type"] = 9
    headers["swap"] = 1
    row = encode_headers(headers)[0]
    assert row[0] == 0x08  # version 0, type 0, secondary header flag 1
    assert row[4:6].tobytes() == b"\x00\x3d"
    assert row[12:16].tobytes() == bytes.fromhex("352EF853")
    assert row[37] == 12
    assert row[63] == 0x91  # signal type 9 in the high nibble, swap in bit 0
    assert row[65:67].tobytes() == b"\x12\x34"
    assert row[67] == 0


def test_value_too_wide_is_rejected() -> None:
    headers = empty_headers(1)
    headers["rank"] = 32
    with pytest.raises(CorruptPacketError, match="rank"):
        encode_headers(headers)


def _valid(n: int) -> np.ndarray:
    headers = empty_headers(n)
    headers["secondary_header_flag"] = 1
    headers["sync_marker"] = SYNC_MARKER
    headers["packet_data_length"] = 61
    return headers


def test_validation_reports_offset() -> None:
    good = _valid(3)
    rows = encode_headers(good)
    rows[1, 13] ^= 0xFF
    with pytest.raises(SyncMarkerError, match="byte offset 68"):
        decode_headers(rows.tobytes(), [0, 68, 136])
    rows = encode_headers(good)
    rows[2, 37] = 7  # BAQ mode 7 does not exist
    with pytest.raises(CorruptPacketError, match="unknown BAQ mode.*offset 136"):
        decode_headers(rows.tobytes(), [0, 68, 136])
    rows = encode_headers(good)
    rows[0, 0] |= 0x20  # version 1
    with pytest.raises(CorruptPacketError, match="version"):
        decode_headers(rows.tobytes(), [0, 68, 136])


def test_truncated_header() -> None:
    rows = encode_headers(_valid(1))
    with pytest.raises(TruncatedPacketError, match="offset 0"):
        decode_headers(rows.tobytes()[:40], [0])


def test_sas_fields_follow_the_ssb_flag() -> None:
    # S1-IF-ASD-PL-0007 section 3.2.5.13: imaging packets carry elevation (4 bits) and
    # azimuth (10 bits) beam addresses; calibration packets the SAS test flag (1 bit),
    # calibration type (3 bits) and calibration beam address (10 bits) in the same bits
    headers = empty_headers(2)
    headers["sas_ssb_flag"] = [0, 1]
    headers["elevation_beam_address"] = 0b1011
    headers["azimuth_beam_address"] = 0x2AB
    row = encode_headers(headers)
    assert row[1, 60] >> 4 == 0b1011  # bits 480-483
    fields = sas_fields(decode_headers(row.tobytes(), [0, HEADER_BYTES], validate=False))
    assert fields["elevation_beam_address"].tolist() == [11, NOT_APPLICABLE]
    assert fields["azimuth_beam_address"].tolist() == [0x2AB, NOT_APPLICABLE]
    assert fields["sas_test"].tolist() == [NOT_APPLICABLE, 1]
    assert fields["cal_type"].tolist() == [NOT_APPLICABLE, 3]
    assert fields["calibration_beam_address"].tolist() == [NOT_APPLICABLE, 0x2AB]
