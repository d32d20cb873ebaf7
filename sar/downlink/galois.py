"""GF(2^8) arithmetic of the CCSDS Reed-Solomon code and its dual-basis representation.

Facts used (CCSDS 131.0-B-2, *TM Synchronization and Channel Coding*, section 4):

* field generator polynomial F(x) = x^8 + x^7 + x^2 + x + 1 (0x187), alpha a root of F;
* code generator polynomial g(x) = prod_{j=128-E}^{127+E} (x - alpha^(11 j)), E = 16 for
  RS(255,223): 32 roots, consecutive powers of beta = alpha^11 from beta^112 to beta^143;
* symbols are transmitted in the *dual basis* (Berlekamp representation, section 4.4.2):
  with beta = alpha^117 (a different beta from the one above), the dual basis
  (l_0, ..., l_7) of (1, beta, ..., beta^7) satisfies Tr(l_i beta^j) = 1 if i = j else 0,
  Tr(z) = sum_{k=0}^{7} z^(2^k); a symbol is z_0 l_0 + ... + z_7 l_7 and z_0 is its most
  significant (first transmitted) bit.

For a field element x the dual-basis coordinates are therefore z_j = Tr(x alpha^(117 j)),
which is how :data:`TO_DUAL` is built here (no published table is copied). The
*conventional* representation is the polynomial basis (1, alpha, ..., alpha^7), bit i of
the byte being the coefficient of alpha^i.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FIELD_POLYNOMIAL = 0x187
"""F(x) = x^8 + x^7 + x^2 + x + 1 (CCSDS 131.0-B-2 section 4.3.3)."""

ROOT_SPACING = 11
"""The generator roots are powers of alpha^11 (section 4.3.4)."""

FIRST_ROOT = 112
"""First consecutive root exponent 128 - E for E = 16 (section 4.3.4)."""

DUAL_BETA_POWER = 117
"""The dual basis is the dual of (1, alpha^117, ..., alpha^(7*117)) (section 4.4.2)."""


def _build_tables() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]:
    exp = np.zeros(512, dtype=np.uint8)
    log = np.zeros(256, dtype=np.int32)
    x = 1
    for i in range(255):
        exp[i] = x
        log[x] = i
        x <<= 1
        if x & 0x100:
            x ^= FIELD_POLYNOMIAL
    exp[255:510] = exp[:255]
    log[0] = -1
    return exp, log


EXP, LOG = _build_tables()
"""Antilog table alpha^i (i in 0..509, periodic with 255) and log table (LOG[0] = -1)."""


def multiply(a: int, b: int) -> int:
    """Product of two field elements (conventional representation)."""
    if a == 0 or b == 0:
        return 0
    return int(EXP[(int(LOG[a]) + int(LOG[b])) % 255])


def power(exponent: int) -> int:
    """alpha^exponent for any integer exponent."""
    return int(EXP[exponent % 255])


def _trace(x: int) -> int:
    t = 0
    z = x
    for _ in range(8):
        t ^= z
        z = multiply(z, z)
    return t & 1  # the trace lies in GF(2): 0 or 1


def _build_dual() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    to_dual = np.zeros(256, dtype=np.uint8)
    betas = [power(DUAL_BETA_POWER * j) for j in range(8)]
    for x in range(256):
        z = 0
        for j in range(8):
            z |= _trace(multiply(x, betas[j])) << (7 - j)
        to_dual[x] = z
    from_dual = np.zeros(256, dtype=np.uint8)
    from_dual[to_dual] = np.arange(256, dtype=np.uint8)
    return to_dual, from_dual


TO_DUAL, FROM_DUAL = _build_dual()
"""Conventional -> dual-basis byte (``TO_DUAL``) and its inverse (``FROM_DUAL``), both
linear over GF(2): ``TO_DUAL[a ^ b] == TO_DUAL[a] ^ TO_DUAL[b]``."""


def generator_polynomial(n_roots: int = 32) -> npt.NDArray[np.uint8]:
    """Coefficients of g(x), highest degree first (``g[0] == 1``), conventional basis.

    Parameters
    ----------
    n_roots
        2E: 32 for RS(255,223), 16 for RS(255,239).
    """
    first = 128 - n_roots // 2
    g = [1]
    for j in range(first, first + n_roots):
        root = power(ROOT_SPACING * j)
        # multiply g(x) by (x + root)
        out = g + [0]
        for i in range(len(g)):
            out[i + 1] ^= multiply(g[i], root)
        g = out
    return np.array(g, dtype=np.uint8)
