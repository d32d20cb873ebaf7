"""CCSDS pseudo-randomiser (CCSDS 131.0-B-2 section 9)."""

from __future__ import annotations

import numpy as np

from sar.downlink.randomiser import derandomise, pseudo_random_sequence


def test_sequence_starts_as_published() -> None:
    # first 40 bits printed in the standard: 1111 1111 0100 1000 0000 1110 1100 0000 1001 1010
    assert pseudo_random_sequence(5).tobytes() == bytes.fromhex("FF480EC09A")


def test_sequence_period_is_255_bits() -> None:
    seq = np.unpackbits(pseudo_random_sequence(2 * 255))
    assert np.array_equal(seq[:255], seq[255:510])
    assert not np.array_equal(seq[:254], seq[1:255])
    assert seq[:255].sum() == 128  # m-sequence balance


def test_derandomise_is_an_involution() -> None:
    rng = np.random.default_rng(1)
    blocks = rng.integers(0, 256, (3, 1020), dtype=np.uint8)
    work = blocks.copy()
    derandomise(work)
    assert np.count_nonzero(work != blocks) > 2000
    derandomise(work)
    assert np.array_equal(work, blocks)
