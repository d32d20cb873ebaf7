from __future__ import annotations

import pytest

from sar.l0.packets import decode_packets
from sar.l0.stream import PacketScanner

from .conftest import build_stream


@pytest.fixture(scope="module")
def small() -> bytes:
    data, _, _ = build_stream(modes=(12, 0, 12), n_samples=40)
    return data


def test_every_split_point(small: bytes) -> None:
    offsets = decode_packets(small).headers["byte_offset"].tolist()
    for cut in range(len(small) + 1):
        scanner = PacketScanner()
        got = scanner.feed(small[:cut]) + scanner.feed(small[cut:])
        assert [o for o, _ in got] == offsets
        assert b"".join(p for _, p in got) == small
        assert scanner.skipped_bytes == 0 and scanner.pending_bytes == 0


def test_byte_by_byte_with_garbage(small: bytes) -> None:
    stream = b"\x00junk" + small + b"\xff" * 3 + small
    scanner = PacketScanner()
    got = []
    for i in range(len(stream)):
        got += scanner.feed(stream[i : i + 1])
    assert len(got) == 6
    assert scanner.skipped_bytes == 8
    assert scanner.dropped_packets == 2
    assert [e.offset for e in scanner.corrupt_events] == [0, 5 + len(small)]
    assert got[3][0] == 8 + len(small)


def test_truncated_tail_counted_on_close(small: bytes) -> None:
    scanner = PacketScanner()
    got = scanner.feed(small[:-5])
    assert len(got) == 2
    assert scanner.close() == scanner.skipped_bytes > 0
    assert scanner.dropped_packets == 1
