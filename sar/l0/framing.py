"""Finding packet boundaries in a byte stream (S1-IF-ASD-PL-0007 sections 3.1, 3.2.2).

A position is a *plausible packet start* when the 68 header bytes are present, the
primary header has version 0, type 0 and secondary-header flag 1, the sync marker is
0x352EF853, the packet length (``packet_data_length + 7``) is a multiple of 4 octets and
at least 68, and the BAQ mode is a known code. Scanning follows packet lengths; in
lenient mode a bad position starts a byte-by-byte search for the next plausible start.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

from sar.l0.headers import HEADER_BYTES

NEED_MORE = 0
BAD_PRIMARY = -1
BAD_SYNC = -2
BAD_LENGTH = -3
BAD_BAQ_MODE = -4
TRUNCATED = -5
REASON = {
    BAD_PRIMARY: "primary header is not version 0 / type 0 / secondary header flag 1",
    BAD_SYNC: "sync marker is not 0x352EF853",
    BAD_LENGTH: "packet length is not a multiple of 4 octets or shorter than 68 bytes",
    BAD_BAQ_MODE: "unknown BAQ mode",
    TRUNCATED: "stream ends inside a packet",
}
"""Why a position is not a packet start, by the negative codes of :func:`check_start`."""


@nb.njit(cache=True)
def check_start(buf: npt.NDArray[np.uint8], pos: int, end: int) -> int:
    """Return the packet length at ``pos`` if plausible, else a code <= 0.

    0 (:data:`NEED_MORE`) means fewer than 68 bytes remain; negative values are keys of
    :data:`REASON`. A header that is plausible but whose packet runs past ``end`` gives
    :data:`TRUNCATED`.
    """
    if pos + HEADER_BYTES > end:
        return NEED_MORE
    if (buf[pos] & 0xF8) != 0x08:
        return BAD_PRIMARY
    if buf[pos + 12] != 0x35 or buf[pos + 13] != 0x2E or buf[pos + 14] != 0xF8:
        return BAD_SYNC
    if buf[pos + 15] != 0x53:
        return BAD_SYNC
    length = ((int(buf[pos + 4]) << 8) | int(buf[pos + 5])) + 7
    if length % 4 != 0 or length < HEADER_BYTES:
        return BAD_LENGTH
    mode = buf[pos + 37] & 0x1F
    if not (mode == 0 or 3 <= mode <= 5 or 12 <= mode <= 14):
        return BAD_BAQ_MODE
    if pos + length > end:
        return TRUNCATED
    return length


@nb.njit(cache=True)
def find_next_start(buf: npt.NDArray[np.uint8], pos: int, end: int) -> int:
    """First position >= ``pos`` whose header is plausible (packet may be truncated).

    Returns ``end - 67`` (the earliest position that could still start a header once more
    bytes arrive) when there is none.
    """
    last = end - HEADER_BYTES
    for p in range(pos, last + 1):
        code = check_start(buf, p, end)
        if code > 0 or code == TRUNCATED:
            return p
    return max(pos, last + 1)


@nb.njit(cache=True)
def scan_packets(
    buf: npt.NDArray[np.uint8], strict: bool
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int, int, int, int]:
    """Walk the packets of a complete stream.

    Returns
    -------
    tuple
        ``(offsets, lengths, skipped_bytes, dropped_packets, error_code, error_offset)``;
        in strict mode scanning stops at the first bad position with ``error_code < 0``.
    """
    end = buf.shape[0]
    offsets = np.empty(end // HEADER_BYTES + 1, dtype=np.int64)
    lengths = np.empty(end // HEADER_BYTES + 1, dtype=np.int64)
    n = 0
    pos = 0
    skipped = 0
    dropped = 0
    while pos < end:
        code = check_start(buf, pos, end)
        if code > 0 and not strict and pos + code < end:
            after = check_start(buf, pos + code, end)
            if after < 0 and after != TRUNCATED:
                # nothing valid follows: trust this length only if no header starts inside
                inner = find_next_start(buf, pos + 1, pos + code + HEADER_BYTES - 1)
                if inner < pos + code:
                    code = BAD_LENGTH
        if code > 0:
            offsets[n] = pos
            lengths[n] = code
            n += 1
            pos += code
            continue
        if code == NEED_MORE:
            code = TRUNCATED
        if strict:
            return offsets[:n], lengths[:n], skipped, dropped, code, pos
        dropped += 1
        if code == TRUNCATED and find_next_start(buf, pos + 1, end) >= end - HEADER_BYTES + 1:
            skipped += end - pos
            break
        nxt = find_next_start(buf, pos + 1, end)
        if nxt > end - HEADER_BYTES:
            nxt = end
        skipped += nxt - pos
        pos = nxt
    return offsets[:n], lengths[:n], skipped, dropped, 0, -1
