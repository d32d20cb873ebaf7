"""FFT length choice (:mod:`sar.focus.sizes`)."""

from __future__ import annotations

import pytest

from sar.focus.sizes import FAST_LENGTH_SLACK, fast_length, fft_cost, smooth_size

# raw line lengths of full-size IW bursts (benchmarks.tops.full_size) and their largest
# prime factor: none of them is a fast FFT length
IW_LINE_SAMPLES = {25408: 397, 25036: 569, 23492: 839}


def _largest_prime(n: int) -> int:
    p, largest = 2, 1
    while n > 1:
        while n % p == 0:
            largest, n = p, n // p
        p += 1
    return largest


@pytest.mark.parametrize("n", [*IW_LINE_SAMPLES, 1429, 1565, 1430, 1021, 1531, 20000, 1])
def test_fast_length_is_an_even_7_smooth_length_within_the_slack(n: int) -> None:
    m = fast_length(n)
    assert n <= m <= max(n, int(n * (1.0 + FAST_LENGTH_SLACK)) + 1)
    assert _largest_prime(m) <= 7
    assert m % 2 == 0 or m == 1
    # nothing in the window is cheaper by the cost model
    for k in range(n, m):
        if _largest_prime(k) <= 7:
            assert fft_cost(k) >= fft_cost(m)


@pytest.mark.parametrize("n", list(IW_LINE_SAMPLES))
def test_full_size_iw_lines_avoid_odd_smooth_lengths(n: int) -> None:
    assert _largest_prime(n) == IW_LINE_SAMPLES[n]
    # many factors 2 (the smallest 7-smooth length, 25,515 for IW1, is odd and 3x slower)
    assert fast_length(n) % 32 == 0
    assert smooth_size(25408, (2, 3, 5, 7)) == 25515


def test_fast_lengths_keep_lengths_that_are_already_fast() -> None:
    for n in (1024, 2048, 2560, 25600, 24576):
        assert fast_length(n) == n
