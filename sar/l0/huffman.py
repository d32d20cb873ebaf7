"""Table-driven FDBAQ Huffman decoding (S1-IF-ASD-PL-0007 sections 3.3.4 and 4.4).

Every FDBAQ sample is a sign bit followed by the Huffman code of its M-code, with the
code tree of the block's bit-rate code (BRC 0-4, :data:`sar.l0.luts.HUFFMAN_CODES`). A
sample therefore takes 2 to 10 bits. Instead of walking the tree bit by bit, the decoder
looks at the next :data:`MULTI_BITS` bits of the stream and reads, from one table entry,
up to :data:`MULTI_SYMBOLS` complete samples that start there, how many there are and
how many bits they take. Near the end of a block, where fewer samples than that remain,
the one-sample table :data:`FDBAQ_SINGLE` (10-bit window: the longest sample) is used.

Entry layout (uint64), for both tables:

* bits 0-31: the samples, one per byte, each ``sign << 4 | M-code`` (bytes past the
  count are zero);
* bits 32-34: the number of complete samples in the window (at least 1);
* bits 40-43: the number of bits they take.

The byte layout lets a kernel store all samples of a window with one 32-bit store.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sar.errors import Level0Error
from sar.l0.luts import HUFFMAN_LENGTH, HUFFMAN_MCODE, PEEK_BITS

MULTI_BITS = 11
"""Window of the multi-sample table, bits (16 KiB per BRC: fits the L1 cache)."""

MULTI_SYMBOLS = 4
"""Most samples read from one window."""

SINGLE_BITS = PEEK_BITS
"""Window of the one-sample table: sign bit + longest (9-bit) code of BRC 4."""

COUNT_SHIFT = 32
LENGTH_SHIFT = 40


def build_table(bits: int, max_symbols: int) -> npt.NDArray[np.uint64]:
    """Decoding table ``[brc, window]`` for ``bits``-bit windows (layout in the module doc).

    Built from the one-sample tables of :mod:`sar.l0.luts` (M-code and length of the
    sample at the start of a 10-bit window, from the code trees of section 3.3.4): the
    samples of a window are read one after the other while they end inside it.

    Parameters
    ----------
    bits
        Window length, 10-16 bits (every window then holds at least one sample).
    max_symbols
        Most samples per entry, 1-4.
    """
    if not PEEK_BITS <= bits <= 16 or not 1 <= max_symbols <= 4:
        raise Level0Error("Huffman window must be 10-16 bits with 1-4 samples")
    windows = np.arange(1 << bits, dtype=np.uint64) << np.uint64(64 - bits)
    table = np.zeros((HUFFMAN_LENGTH.shape[0], 1 << bits), dtype=np.uint64)
    for brc in range(HUFFMAN_LENGTH.shape[0]):
        rest = windows.copy()  # unread bits, left-aligned; zeros past the window
        avail = np.full(windows.shape, bits, dtype=np.uint64)
        alive = np.ones(windows.shape, dtype=bool)
        count = np.zeros(windows.shape, dtype=np.uint64)
        used = np.zeros(windows.shape, dtype=np.uint64)
        entry = np.zeros(windows.shape, dtype=np.uint64)
        for j in range(max_symbols):
            top = (rest >> np.uint64(64 - PEEK_BITS)).astype(np.intp)
            length = HUFFMAN_LENGTH[brc, top].astype(np.uint64)
            symbol = HUFFMAN_MCODE[brc, top].astype(np.uint64) | (
                (top >> (PEEK_BITS - 5)) & 0x10
            ).astype(np.uint64)
            alive &= length <= avail
            count += alive
            used += np.where(alive, length, 0).astype(np.uint64)
            entry |= np.where(alive, symbol << np.uint64(8 * j), 0).astype(np.uint64)
            rest = np.where(alive, rest << length, 0).astype(np.uint64)
            avail = np.where(alive, avail - length, 0).astype(np.uint64)
        table[brc] = entry | (count << np.uint64(COUNT_SHIFT)) | (used << np.uint64(LENGTH_SHIFT))
    return table


FDBAQ_MULTI = build_table(MULTI_BITS, MULTI_SYMBOLS)
"""``[brc, next 11 bits]``: up to 4 samples (layout in the module doc)."""

FDBAQ_SINGLE = build_table(SINGLE_BITS, 1)
"""``[brc, next 10 bits]``: exactly one sample."""
