"""Fast FFT lengths: which padded length to transform a line or a column at.

FFTW's time per ``n log2 n`` depends strongly on the factors of ``n``: on the development
machine (FFTW 3.3, complex64, ``FFTW_PATIENT``) a full-size IW1 line of 25,408 =
2^6 x 397 samples took 128-276 us, the same line padded to 25,600 = 2^10 x 5^2 40 us,
and the odd 7-smooth 25,515 = 3^6 x 5 x 7 still 129 us. Raw Sentinel-1 line lengths are
whatever the sampling window gives (``NumberOfQuads``, S1-IF-ASD-PL-0007 section 3.2.5.9),
so row transforms are padded to a length chosen here: the cheapest by :func:`fft_cost`
among the 7-smooth lengths a little above the need (:func:`fast_length`). Such a length,
rich in factors 2, is a bad row stride for transforms along columns (a multiple of 4 KiB
thrashes the cache): arrays whose columns are transformed pad their rows
(:func:`sar.focus.tops.strip.aligned_rows`) or keep the smallest 7-smooth length
(:func:`sar.focus.rda.next_fast_length`).
"""

from __future__ import annotations

import functools
import math

FAST_LENGTH_SLACK = 0.1
"""How far above the needed length :func:`fast_length` looks for a cheaper one (fraction)."""


def _factor(n: int, primes: tuple[int, ...]) -> tuple[list[int], int]:
    """Exponents of ``primes`` in ``n`` and the cofactor left after dividing them out."""
    m = max(1, int(n))
    exponents = []
    for p in primes:
        k = 0
        while m % p == 0:
            m //= p
            k += 1
        exponents.append(k)
    return exponents, m


def smooth_size(n: int, primes: tuple[int, ...] = (2, 3, 5)) -> int:
    """Smallest integer >= ``n`` whose prime factors are all in ``primes`` (fast FFT size)."""
    m = max(1, int(n))
    while _factor(m, primes)[1] != 1:
        m += 1
    return m


@functools.lru_cache(maxsize=1024)
def smooth_sizes_between(
    lo: int, hi: int, primes: tuple[int, ...] = (2, 3, 5)
) -> tuple[int, ...]:
    """All fast FFT sizes in ``[lo, hi]`` (cached: every burst's set-up asks for the same
    ranges, ~5 ms each time otherwise)."""
    out = []
    m = smooth_size(lo, primes)
    while m <= hi:
        out.append(m)
        m = smooth_size(m + 1, primes)
    return tuple(out)


def fft_penalty(n: int) -> float:
    """FFTW time per ``n log2 n`` of a batched complex64 FFT of length ``n``, relative to a
    power of two.

    Measured on the 2-core development machine (FFTW 3.3, ``FFTW_PATIENT``, 16 rows per
    call, 5-smooth sizes 1,920-2,700): it grows by about 20 % for each factor 3 or 5
    (2,048: 0.124 ns, 2,560 = 2^9 5: 0.155 ns, 2,500 = 2^2 5^4: 0.213 ns) and is 3-5 times
    the power-of-two figure when ``n`` has at most one factor 2 (2,025: 0.48 ns, 2,187:
    0.67 ns). Lines of ~25,000 samples (8 rows per call) agree: 25,600 = 2^10 5^2 40 us,
    24,000 42 us, 25,088 = 2^9 7^2 50 us, 25,515 = 3^6 5 7 129 us.
    """
    (e2, e3, e5, e7), rest = _factor(n, (2, 3, 5, 7))
    penalty = 1.0 + 0.2 * (e3 + e5 + 2 * e7) + (10.0 if rest != 1 else 0.0)
    return penalty * 3.5 if e2 <= 1 else penalty


def fft_cost(n: int) -> float:
    """Relative cost of one batched complex64 FFT of length ``n``: ``n log2 n`` times
    :func:`fft_penalty`."""
    return float(n) * math.log2(max(n, 2)) * fft_penalty(n)


def fast_length(n: int, slack: float = FAST_LENGTH_SLACK) -> int:
    """The FFT length >= ``n`` that transforms fastest: the 7-smooth length of least
    :func:`fft_cost` in ``[n, (1 + slack) n]``.

    Examples: IW1's 25,408-sample lines -> 25,600 (not the smallest 7-smooth length, the
    odd 25,515, 3x slower); IW2's 25,036 -> 25,600 (25,088 = 2^9 7^2 is 1.25x slower);
    IW3's 23,492 -> 24,576 (not the odd 23,625).
    """
    n = max(1, int(n))
    candidates = smooth_sizes_between(n, int(n * (1.0 + slack)) + 1, (2, 3, 5, 7))
    return min(candidates, key=fft_cost)
