"""AOS primary header and CRC-16 (CCSDS 732.0-B 4.1.2, 4.1.6)."""

from __future__ import annotations

import numpy as np

from sar.downlink.aos import check_frame_crc, decode_frame_headers, encode_frame_header, frame_crc16
from sar.downlink.params import FramingParameters


def test_header_round_trip() -> None:
    p = FramingParameters()
    cases = [(0, 1, 0, False, None), (255, 62, 0xFFFFFF, True, 9), (0x6A, 2, 123456, False, 0)]
    frames = np.zeros((len(cases), p.transfer_frame_octets), dtype=np.uint8)
    for i, (scid, vcid, count, replay, cycle) in enumerate(cases):
        frames[i, :6] = np.frombuffer(
            encode_frame_header(scid, vcid, count, replay=replay, count_cycle=cycle), np.uint8
        )
        frames[i, 6:8] = [0x07, 0xFE]
    h = decode_frame_headers(frames, p)
    assert h["version"].tolist() == [1, 1, 1]
    assert h["spacecraft_id"].tolist() == [0, 255, 0x6A]
    assert h["vcid"].tolist() == [1, 62, 2]
    assert h["vc_frame_count"].tolist() == [0, 0xFFFFFF, 123456]
    assert h["replay"].tolist() == [False, True, False]
    assert h["count_usage"].tolist() == [False, True, True]
    assert h["count_cycle"].tolist() == [0, 9, 0]
    assert h["first_header_pointer"].tolist() == [0x7FE] * 3


def test_header_bit_layout() -> None:
    # version '01', SCID 0xFF, VCID 0x3F -> 0111 1111 1111 1111
    assert encode_frame_header(0xFF, 0x3F, 0x010203)[:5] == bytes([0x7F, 0xFF, 1, 2, 3])
    assert encode_frame_header(0, 0, 0, replay=True, count_cycle=5)[5] == 0x80 | 0x40 | 5


def test_crc16_check_value() -> None:
    # CRC-16/CCITT with preset 0xFFFF: check value of "123456789" is 0x29B1
    assert int(frame_crc16(np.frombuffer(b"123456789", np.uint8))[0]) == 0x29B1
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (4, 100), dtype=np.uint8)
    crc = frame_crc16(frames[:, :-2])
    frames[:, -2] = crc >> 8
    frames[:, -1] = crc & 0xFF
    frames[2, 50] ^= 1
    assert check_frame_crc(frames).tolist() == [True, True, False, True]
