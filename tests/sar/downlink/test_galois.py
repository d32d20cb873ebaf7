"""GF(256) of the CCSDS code and the dual-basis tables (CCSDS 131.0-B-2 4.3, 4.4.2)."""

from __future__ import annotations

import numpy as np

from sar.downlink.galois import (
    EXP,
    FROM_DUAL,
    LOG,
    TO_DUAL,
    generator_polynomial,
    multiply,
    power,
)


def test_field_is_generated_by_0x187() -> None:
    # alpha^8 = alpha^7 + alpha^2 + alpha + 1 for F(x) = x^8 + x^7 + x^2 + x + 1
    assert power(8) == 0x87
    assert len(set(EXP[:255].tolist())) == 255  # alpha is primitive
    assert all(EXP[LOG[x]] == x for x in range(1, 256))


def test_dual_basis_matches_published_values() -> None:
    # dual-basis octet -> conventional, first entries of the table published with
    # Phil Karn's CCSDS codec (ccsds_tal.c "Tal1tab"): 0x00, 0xcc, 0xac, 0x60, 0x79
    assert FROM_DUAL[:5].tolist() == [0x00, 0xCC, 0xAC, 0x60, 0x79]
    assert np.array_equal(TO_DUAL[FROM_DUAL], np.arange(256))


def test_dual_basis_is_linear() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 256, (2, 500))
    assert np.array_equal(TO_DUAL[a ^ b], TO_DUAL[a] ^ TO_DUAL[b])


def test_generator_has_the_ccsds_roots() -> None:
    g = generator_polynomial(32)
    assert g.size == 33 and g[0] == 1
    assert np.array_equal(g, g[::-1])  # the CCSDS generator is palindromic
    for j in (112, 127, 143):
        root = power(11 * j)
        acc = 0
        for c in g.tolist():
            acc = multiply(acc, root) ^ c
        assert acc == 0
    root = power(11 * 144)  # not a root
    acc = 0
    for c in g.tolist():
        acc = multiply(acc, root) ^ c
    assert acc != 0
