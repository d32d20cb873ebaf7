"""CCSDS Reed-Solomon (255,223) with interleaving: encode, check and correct codeblocks.

Code (CCSDS 131.0-B-2 section 4): E = 16 (t = 16 correctable symbol errors per codeword),
field and generator of :mod:`sar.downlink.galois`, symbols in the dual basis on the
link. Interleaving (section 4.3.5): a codeblock of depth I holds I codewords symbol by
symbol, octet k belonging to codeword ``k mod I``; the first 223 I octets are the
transfer frame, the last 32 I the check symbols. No virtual fill (the transfer frame is
exactly 223 I octets).

Decoding: the received codeword is converted to the conventional basis, the remainder
of r(x) modulo g(x) is computed with a table-driven shift register (the information part
re-encoded and added to the received check symbols); a zero remainder is a valid
codeword (the common case, about 1 us per codeword). Otherwise the 32 syndromes are
evaluated on the remainder (r(x) = q(x) g(x) + rem(x), so r(root) = rem(root)),
Berlekamp-Massey gives the error locator, a Chien search its roots and Forney's formula
(with the first root 112 and root spacing 11) the error values. A codeword is declared
uncorrectable when the locator degree exceeds t, when the Chien search does not find
deg(locator) distinct roots, or when the corrected word is not a codeword (its
remainder is recomputed). Beyond t errors, a bounded-distance decoder still miscorrects
to another codeword with a probability of about 1/t! (~5e-14 for t = 16, Berlekamp's
estimate); everything detectable is reported, never silently returned.

The hot loops are numba kernels that release the GIL (optionally parallel over
codeblocks).
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

from sar.downlink.galois import (
    EXP,
    FIRST_ROOT,
    FROM_DUAL,
    LOG,
    ROOT_SPACING,
    TO_DUAL,
    generator_polynomial,
    multiply,
)

N = 255
"""Codeword length, symbols."""

K = 223
"""Information symbols per codeword."""

NROOTS = N - K
"""Check symbols per codeword (2E = 32)."""

T = NROOTS // 2
"""Correctable symbol errors per codeword (E = 16)."""

UNCORRECTABLE = -1
"""Value of a codeword's correction count when it could not be corrected."""


def _build_lfsr_table() -> npt.NDArray[np.uint64]:
    """Row ``fb`` packs ``fb * g_(31-k)`` for k = 0..31 into four big-endian uint64."""
    g = generator_polynomial(NROOTS)  # g[0] = 1 (x^32) ... g[32] (x^0)
    table = np.zeros((256, 4), dtype=np.uint64)
    for fb in range(256):
        row = bytes(multiply(fb, int(g[k + 1])) for k in range(NROOTS))
        for w in range(4):
            table[fb, w] = np.uint64(int.from_bytes(row[8 * w : 8 * w + 8], "big"))
    return table


_LFSR = _build_lfsr_table()
_EXP = EXP.astype(np.int64)
_LOG = LOG.astype(np.int64)
_TO_DUAL = TO_DUAL.copy()
_FROM_DUAL = FROM_DUAL.copy()

_SCRATCH = 2 * T + 200
_SYN_LOG = np.array(
    [[(ROOT_SPACING * (FIRST_ROOT + j) * (NROOTS - 1 - k)) % 255 for j in range(NROOTS)]
     for k in range(NROOTS)],
    dtype=np.int64,
)  # fmt: skip
"""log of beta^((112 + j)(31 - k)): remainder coefficient k's weight in syndrome j."""
_S8 = np.uint64(8)
_S56 = np.uint64(56)
_FF = np.uint64(0xFF)


@nb.njit(cache=True, nogil=True, inline="always")
def _remainder(
    cw: npt.NDArray[np.uint8], table: npt.NDArray[np.uint64], rem: npt.NDArray[np.uint8]
) -> bool:
    """Remainder of the conventional-basis codeword ``cw`` (255 symbols, highest degree
    first) modulo g(x) into ``rem`` (32 symbols, x^31 first); True if all zero."""
    w0 = np.uint64(0)
    w1 = np.uint64(0)
    w2 = np.uint64(0)
    w3 = np.uint64(0)
    for i in range(K):
        fb = (w0 >> _S56) ^ np.uint64(cw[i])
        w0 = (w0 << _S8) | (w1 >> _S56)
        w1 = (w1 << _S8) | (w2 >> _S56)
        w2 = (w2 << _S8) | (w3 >> _S56)
        w3 = w3 << _S8
        f = np.int64(fb)
        w0 ^= table[f, 0]
        w1 ^= table[f, 1]
        w2 ^= table[f, 2]
        w3 ^= table[f, 3]
    nonzero = False
    for w in range(4):
        word = w0 if w == 0 else (w1 if w == 1 else (w2 if w == 2 else w3))
        for b in range(8):
            v = np.uint8((word >> np.uint64(56 - 8 * b)) & _FF) ^ cw[K + 8 * w + b]
            rem[8 * w + b] = v
            if v != 0:
                nonzero = True
    return not nonzero


@nb.njit(cache=True, nogil=True)
def _correct(
    cw: npt.NDArray[np.uint8],
    rem: npt.NDArray[np.uint8],
    exp: npt.NDArray[np.int64],
    log: npt.NDArray[np.int64],
    table: npt.NDArray[np.uint64],
    err_pos: npt.NDArray[np.int64],
    err_val: npt.NDArray[np.int64],
    work: npt.NDArray[np.int64],
    syn: npt.NDArray[np.int64],
) -> int:
    """Correct ``cw`` in place given its nonzero remainder; number of corrected symbols
    (their indices and conventional error values in ``err_pos``/``err_val``) or -1.

    ``work`` is scratch space of at least 6 * 33 int64; ``syn`` is :data:`_SYN_LOG`.
    ``exp`` has 510+ entries so that sums of two logarithms need no reduction.
    """
    s = work[0:NROOTS]
    c = work[33:66]
    bb = work[66:99]
    tmp = work[99:132]
    om = work[132:164]
    ex = work[165:198]
    # syndromes s_j = rem(beta^(112+j)) = sum_k rem_k beta^((112+j)(31-k)), beta = alpha^11
    s[:] = 0
    for k in range(NROOTS):
        if rem[k] != 0:
            lr = log[rem[k]]
            for j in range(NROOTS):
                s[j] ^= exp[lr + syn[k, j]]
    # Berlekamp-Massey: locator C(x) = 1 + C1 x + ... over the sequence s_0..s_31
    c[:] = 0
    bb[:] = 0
    c[0] = 1
    bb[0] = 1
    n_err = 0
    m = 1
    b = 1
    for n in range(NROOTS):
        d = s[n]
        for i in range(1, n_err + 1):
            if c[i] != 0 and s[n - i] != 0:
                d ^= exp[log[c[i]] + log[s[n - i]]]
        if d == 0:
            m += 1
            continue
        coef = log[d] - log[b]
        if coef < 0:
            coef += 255
        if 2 * n_err <= n:
            tmp[:] = c
            for i in range(NROOTS + 1 - m):
                if bb[i] != 0:
                    c[i + m] ^= exp[log[bb[i]] + coef]
            n_err = n + 1 - n_err
            bb[:] = tmp
            b = d
            m = 1
        else:
            for i in range(NROOTS + 1 - m):
                if bb[i] != 0:
                    c[i + m] ^= exp[log[bb[i]] + coef]
            m += 1
    if n_err > T:
        return -1
    for i in range(n_err + 1, NROOTS + 1):
        if c[i] != 0:
            return -1
    # Chien search: symbol index idx (0 = first sent) has power p = 254 - idx and locator
    # X = beta^p; an error at idx makes C(X^-1) = sum_i c_i alpha^(-11 p i) = 0. The
    # exponents ex_i = log c_i - 11 p i advance by 11 i (mod 255) as p decreases.
    for i in range(1, n_err + 1):
        if c[i] != 0:
            ex[i] = (log[c[i]] + 255 * 255 - (ROOT_SPACING * (N - 1) * i) % 255) % 255
    found = 0
    for idx in range(N):
        acc = 1
        for i in range(1, n_err + 1):
            if c[i] != 0:
                acc ^= exp[ex[i]]
                e = ex[i] + (ROOT_SPACING * i) % 255
                ex[i] = e - 255 if e >= 255 else e
        if acc == 0:
            if found >= n_err:
                return -1
            err_pos[found] = idx
            found += 1
    if found != n_err:
        return -1
    # Omega(x) = S(x) C(x) mod x^32
    for i in range(NROOTS):
        acc = 0
        for k in range(min(i, n_err) + 1):
            if c[k] != 0 and s[i - k] != 0:
                acc ^= exp[log[c[k]] + log[s[i - k]]]
        om[i] = acc
    # Forney: e = X^(1 - b0) Omega(X^-1) / C'(X^-1), b0 = 112
    for q in range(found):
        idx = err_pos[q]
        p = N - 1 - idx
        lxinv = (255 - (ROOT_SPACING * p) % 255) % 255  # log of X^-1
        num = 0
        li = 0  # log of X^-i, i = 0, 1, ...
        for i in range(NROOTS):
            if om[i] != 0:
                num ^= exp[log[om[i]] + li]
            li += lxinv
            if li >= 255:
                li -= 255
        den = 0
        li = 0  # log of X^-(i-1) for odd i
        step = 2 * lxinv % 255
        for i in range(1, n_err + 1, 2):  # formal derivative: odd terms
            if c[i] != 0:
                den ^= exp[log[c[i]] + li]
            li += step
            if li >= 255:
                li -= 255
        if den == 0 or num == 0:
            return -1
        lxb = (ROOT_SPACING * p * (FIRST_ROOT - 1)) % 255  # log of X^(1 - b0), negated
        e = log[num] - log[den] - lxb
        while e < 0:
            e += 255
        ev = exp[e]
        err_val[q] = ev
        cw[idx] ^= np.uint8(ev)
    # the result must be a codeword
    if not _remainder(cw, table, rem):
        return -1
    return found


@nb.njit(cache=True, nogil=True)
def _decode_row(
    row: npt.NDArray[np.uint8],
    counts: npt.NDArray[np.int16],
    depth: int,
    dual: bool,
    exp: npt.NDArray[np.int64],
    log: npt.NDArray[np.int64],
    table: npt.NDArray[np.uint64],
    to_dual: npt.NDArray[np.uint8],
    from_dual: npt.NDArray[np.uint8],
    scratch: npt.NDArray[np.int64],
) -> None:
    """Check and correct the ``depth`` codewords of one codeblock in place
    (``scratch``: at least :data:`_SCRATCH` int64)."""
    cw = np.empty(N, dtype=np.uint8)
    rem = np.empty(NROOTS, dtype=np.uint8)
    err_pos = scratch[0:T]
    err_val = scratch[T : 2 * T]
    work = scratch[2 * T :]
    for c in range(depth):
        if dual:
            for i in range(N):
                cw[i] = from_dual[row[c + depth * i]]
        else:
            for i in range(N):
                cw[i] = row[c + depth * i]
        if _remainder(cw, table, rem):
            counts[c] = 0
            continue
        got = _correct(cw, rem, exp, log, table, err_pos, err_val, work, _SYN_LOG)
        if got < 0:
            counts[c] = UNCORRECTABLE
            continue
        counts[c] = got
        for q in range(got):
            e = np.uint8(err_val[q])
            row[c + depth * err_pos[q]] ^= to_dual[e] if dual else e


@nb.njit(cache=True, parallel=True)
def _decode_blocks(
    blocks: npt.NDArray[np.uint8],
    depth: int,
    dual: bool,
    exp: npt.NDArray[np.int64],
    log: npt.NDArray[np.int64],
    table: npt.NDArray[np.uint64],
    to_dual: npt.NDArray[np.uint8],
    from_dual: npt.NDArray[np.uint8],
) -> npt.NDArray[np.int16]:
    n = blocks.shape[0]
    counts = np.zeros((n, depth), dtype=np.int16)
    for f in nb.prange(n):
        scratch = np.empty(_SCRATCH, dtype=np.int64)
        _decode_row(blocks[f], counts[f], depth, dual, exp, log, table, to_dual, from_dual, scratch)
    return counts


@nb.njit(cache=True, nogil=True)
def _decode_blocks_serial(
    blocks: npt.NDArray[np.uint8],
    depth: int,
    dual: bool,
    exp: npt.NDArray[np.int64],
    log: npt.NDArray[np.int64],
    table: npt.NDArray[np.uint64],
    to_dual: npt.NDArray[np.uint8],
    from_dual: npt.NDArray[np.uint8],
) -> npt.NDArray[np.int16]:
    n = blocks.shape[0]
    counts = np.zeros((n, depth), dtype=np.int16)
    scratch = np.empty(_SCRATCH, dtype=np.int64)
    for f in range(n):
        _decode_row(blocks[f], counts[f], depth, dual, exp, log, table, to_dual, from_dual, scratch)
    return counts


PARALLEL_MIN_BLOCKS = 256
"""With ``parallel=True``, batches smaller than this are still decoded on the calling
thread (a parallel region costs milliseconds on a loaded machine)."""


@nb.njit(cache=True, parallel=True)
def _encode_blocks(
    frames: npt.NDArray[np.uint8],
    out: npt.NDArray[np.uint8],
    depth: int,
    dual: bool,
    table: npt.NDArray[np.uint64],
    to_dual: npt.NDArray[np.uint8],
    from_dual: npt.NDArray[np.uint8],
) -> None:
    n = frames.shape[0]
    kb = K * depth
    for f in nb.prange(n):
        cw = np.zeros(N, dtype=np.uint8)
        rem = np.empty(NROOTS, dtype=np.uint8)
        out[f, :kb] = frames[f]
        for c in range(depth):
            for i in range(K):
                v = frames[f, c + depth * i]
                cw[i] = from_dual[v] if dual else v
            _remainder(cw, table, rem)  # check part zero: rem = parity
            for k in range(NROOTS):
                out[f, kb + c + depth * k] = to_dual[rem[k]] if dual else rem[k]


def _check_depth(depth: int) -> None:
    if depth not in (1, 2, 3, 4, 5, 8):
        from sar.downlink.errors import InvalidFramingError

        raise InvalidFramingError(
            f"interleaving depth must be 1, 2, 3, 4, 5 or 8 (CCSDS 131.0-B-2 4.3.5), got {depth}"
        )


def encode_codeblocks(
    frames: npt.NDArray[np.uint8], depth: int = 4, *, dual_basis: bool = True
) -> npt.NDArray[np.uint8]:
    """Append the interleaved check symbols to transfer frames.

    Parameters
    ----------
    frames
        uint8, shape (n, 223 * depth): transfer frames, octets as transmitted.
    depth
        Interleaving depth I (1, 2, 3, 4, 5 or 8).
    dual_basis
        Symbols in the dual basis (CCSDS); ``False``: conventional representation.

    Returns
    -------
    numpy.ndarray
        uint8, shape (n, 255 * depth): the codeblocks (frame then check symbols).
    """
    _check_depth(depth)
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    if frames.ndim != 2 or frames.shape[1] != K * depth:
        from sar.downlink.errors import InvalidFramingError

        raise InvalidFramingError(
            f"frames must have shape (n, {K * depth}) for depth {depth}, got {frames.shape}"
        )
    out = np.empty((frames.shape[0], N * depth), dtype=np.uint8)
    _encode_blocks(frames, out, depth, dual_basis, _LFSR, _TO_DUAL, _FROM_DUAL)
    return out


def decode_codeblocks(
    blocks: npt.NDArray[np.uint8],
    depth: int = 4,
    *,
    dual_basis: bool = True,
    parallel: bool = False,
) -> npt.NDArray[np.int16]:
    """Check and correct interleaved codeblocks in place.

    Parameters
    ----------
    blocks
        uint8, C-contiguous, shape (n, 255 * depth), modified in place: corrected symbols
        are fixed (also in the check part), uncorrectable codewords are left as received.
    depth
        Interleaving depth I.
    dual_basis
        Symbols in the dual basis (CCSDS) or conventional.
    parallel
        Spread large batches over numba's threads. The default decodes on the calling
        thread without holding the GIL, so that each X-band channel's decoder can run
        in its own thread: measured under load, a parallel region per batch was 4x
        slower than one serial decoder per channel.

    Returns
    -------
    numpy.ndarray
        int16, shape (n, depth): symbols corrected in each codeword (0..16), or
        :data:`UNCORRECTABLE` (-1).
    """
    _check_depth(depth)
    if blocks.dtype != np.uint8 or blocks.ndim != 2 or blocks.shape[1] != N * depth:
        from sar.downlink.errors import InvalidFramingError

        raise InvalidFramingError(
            f"codeblocks must be uint8 of shape (n, {N * depth}), got {blocks.dtype} {blocks.shape}"
        )
    if not blocks.flags.c_contiguous:
        from sar.downlink.errors import InvalidFramingError

        raise InvalidFramingError("codeblocks must be C-contiguous (decoded in place)")
    big = parallel and blocks.shape[0] >= PARALLEL_MIN_BLOCKS
    kernel = _decode_blocks if big else _decode_blocks_serial
    counts: npt.NDArray[np.int16] = kernel(
        blocks, depth, dual_basis, _EXP, _LOG, _LFSR, _TO_DUAL, _FROM_DUAL
    )
    return counts
