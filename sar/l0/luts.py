"""Reconstruction and decoding tables of S1-IF-ASD-PL-0007 (issue 13), as numpy arrays.

Transcribed specification tables:

* table 5.2-1, simple reconstruction parameters A (BAQ 3/4/5 bit) and B (FDBAQ BRC 0-4);
* table 5.2-2, normalised reconstruction levels (NRL) for BAQ and FDBAQ;
* table 5.2-3, sigma factors (SF) indexed by THIDX;
* section 3.3.4 (figure 3.3-7 .. 3.3-11), FDBAQ Huffman trees for BRC 0-4;
* section 3.2.5.4 (table 3.2-14), range decimation: ratio L/M, filter length;
* tables 5.1-1 (D values) and 5.1-2 (filter output offsets) for the sample count.

The derived arrays ``FDBAQ_RECON[brc, thidx, mcode]`` and ``BAQ_RECON[nbits, thidx,
mcode]`` hold reconstructed magnitudes, ready for the numba kernels.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import numpy.typing as npt

# --- table 5.2-1: simple reconstruction --------------------------------------------------
SIMPLE_A: dict[int, tuple[float, ...]] = {
    3: (3.00, 3.00, 3.12, 3.55),
    4: (7.00, 7.00, 7.00, 7.17, 7.40, 7.76),
    5: (15.00, 15.00, 15.00, 15.00, 15.00, 15.00, 15.44, 15.56, 16.11, 16.38, 16.65),
}
"""BAQ n-bit: value of the largest M-code for THIDX 0..len-1 (simple reconstruction)."""

SIMPLE_B: tuple[tuple[float, ...], ...] = (
    (3.00, 3.00, 3.16, 3.53),
    (4.00, 4.00, 4.08, 4.37),
    (6.00, 6.00, 6.00, 6.15, 6.50, 6.88),
    (9.00, 9.00, 9.00, 9.00, 9.36, 9.50, 10.10),
    (15.00, 15.00, 15.00, 15.00, 15.00, 15.00, 15.22, 15.50, 16.05),
)
"""FDBAQ BRC 0..4: value of the largest M-code for THIDX 0..len-1 (simple reconstruction)."""

# --- table 5.2-2: normalised reconstruction levels ---------------------------------------
NRL_BAQ: dict[int, tuple[float, ...]] = {
    3: (0.2490, 0.7681, 1.3655, 2.1864),
    4: (0.1290, 0.3900, 0.6601, 0.9471, 1.2623, 1.6261, 2.0793, 2.7467),
    5: (0.0660, 0.1985, 0.3320, 0.4677, 0.6061, 0.7487, 0.8964, 1.0510,
        1.2143, 1.3896, 1.5800, 1.7914, 2.0329, 2.3234, 2.6971, 3.2692),
}  # fmt: skip
NRL_FDBAQ: tuple[tuple[float, ...], ...] = (
    (0.3637, 1.0915, 1.8208, 2.6406),
    (0.3042, 0.9127, 1.5216, 2.1313, 2.8426),
    (0.2305, 0.6916, 1.1528, 1.6140, 2.0754, 2.5369, 3.1191),
    (0.1702, 0.5107, 0.8511, 1.1916, 1.5321, 1.8726, 2.2131, 2.5536, 2.8942, 3.3744),
    (0.1130, 0.3389, 0.5649, 0.7908, 1.0167, 1.2428, 1.4687, 1.6947,
     1.9206, 2.1466, 2.3725, 2.5985, 2.8244, 3.0504, 3.2764, 3.6623),
)  # fmt: skip

# --- table 5.2-3: sigma factors, THIDX 0..255 --------------------------------------------
SIGMA_FACTORS: npt.NDArray[np.float64] = np.array([
    0.00, 0.63, 1.25, 1.88, 2.51, 3.13, 3.76, 4.39, 5.01, 5.64, 6.27, 6.89, 7.52, 8.15,
    8.77, 9.40, 10.03, 10.65, 11.28, 11.91, 12.53, 13.16, 13.79, 14.41, 15.04, 15.67,
    16.29, 16.92, 17.55, 18.17, 18.80, 19.43, 20.05, 20.68, 21.31, 21.93, 22.56, 23.19,
    23.81, 24.44, 25.07, 25.69, 26.32, 26.95, 27.57, 28.20, 28.83, 29.45, 30.08, 30.71,
    31.33, 31.96, 32.59, 33.21, 33.84, 34.47, 35.09, 35.72, 36.35, 36.97, 37.60, 38.23,
    38.85, 39.48, 40.11, 40.73, 41.36, 41.99, 42.61, 43.24, 43.87, 44.49, 45.12, 45.75,
    46.37, 47.00, 47.63, 48.25, 48.88, 49.51, 50.13, 50.76, 51.39, 52.01, 52.64, 53.27,
    53.89, 54.52, 55.15, 55.77, 56.40, 57.03, 57.65, 58.28, 58.91, 59.53, 60.16, 60.79,
    61.41, 62.04, 62.98, 64.24, 65.49, 66.74, 68.00, 69.25, 70.50, 71.76, 73.01, 74.26,
    75.52, 76.77, 78.02, 79.28, 80.53, 81.78, 83.04, 84.29, 85.54, 86.80, 88.05, 89.30,
    90.56, 91.81, 93.06, 94.32, 95.57, 96.82, 98.08, 99.33, 100.58, 101.84, 103.09,
    104.34, 105.60, 106.85, 108.10, 109.35, 110.61, 111.86, 113.11, 114.37, 115.62,
    116.87, 118.13, 119.38, 120.63, 121.89, 123.14, 124.39, 125.65, 126.90, 128.15,
    129.41, 130.66, 131.91, 133.17, 134.42, 135.67, 136.93, 138.18, 139.43, 140.69,
    141.94, 143.19, 144.45, 145.70, 146.95, 148.21, 149.46, 150.71, 151.97, 153.22,
    154.47, 155.73, 156.98, 158.23, 159.49, 160.74, 161.99, 163.25, 164.50, 165.75,
    167.01, 168.26, 169.51, 170.77, 172.02, 173.27, 174.53, 175.78, 177.03, 178.29,
    179.54, 180.79, 182.05, 183.30, 184.55, 185.81, 187.06, 188.31, 189.57, 190.82,
    192.07, 193.33, 194.58, 195.83, 197.09, 198.34, 199.59, 200.85, 202.10, 203.35,
    204.61, 205.86, 207.11, 208.37, 209.62, 210.87, 212.13, 213.38, 214.63, 215.89,
    217.14, 218.39, 219.65, 220.90, 222.15, 223.41, 224.66, 225.91, 227.17, 228.42,
    229.67, 230.93, 232.18, 233.43, 234.69, 235.94, 237.19, 238.45, 239.70, 240.95,
    242.21, 243.46, 244.71, 245.97, 247.22, 248.47, 249.73, 250.98, 252.23, 253.49,
    254.74, 255.99, 255.99,
])  # fmt: skip
assert SIGMA_FACTORS.shape == (256,)

# --- section 3.3.4: FDBAQ Huffman codes (M-code -> bit string, after the sign bit) ------
HUFFMAN_CODES: tuple[tuple[str, ...], ...] = (
    ("0", "10", "110", "111"),
    ("0", "10", "110", "1110", "1111"),
    ("0", "10", "110", "1110", "11110", "111110", "111111"),
    ("00", "01", "10", "110", "1110", "11110", "111110", "1111110", "11111110", "11111111"),
    ("00", "010", "011", "100", "101", "1100", "1101", "1110", "11110", "111110",
     "11111100", "11111101", "111111100", "111111101", "111111110", "111111111"),
)  # fmt: skip
"""Huffman code of each M-code for BRC 0..4; a sample is 1 sign bit (1 = negative) + code."""

N_MCODES = np.array([len(c) for c in HUFFMAN_CODES], dtype=np.int64)
"""Number of M-codes per BRC (4, 5, 7, 10, 16)."""

PEEK_BITS = 10
"""Longest sample code: sign bit + 9-bit Huffman code (BRC 4)."""


def _build_huffman_tables() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Build peek tables: for each BRC and each 10-bit window, the M-code and code length."""
    mcode = np.zeros((5, 1 << PEEK_BITS), dtype=np.uint8)
    length = np.zeros((5, 1 << PEEK_BITS), dtype=np.uint8)
    for brc, codes in enumerate(HUFFMAN_CODES):
        for m, code in enumerate(codes):
            n = len(code)
            prefix = int(code, 2) << (PEEK_BITS - 1 - n)
            span = 1 << (PEEK_BITS - 1 - n)
            for sign in (0, 1):
                start = (sign << (PEEK_BITS - 1)) | prefix
                mcode[brc, start : start + span] = m
                length[brc, start : start + span] = n + 1
    return mcode, length


HUFFMAN_MCODE, HUFFMAN_LENGTH = _build_huffman_tables()
"""``[brc, window]``: M-code and total code length (with sign) of a 10-bit bit window."""

HUFFMAN_BITS = np.zeros((5, 16), dtype=np.uint32)
HUFFMAN_NBITS = np.zeros((5, 16), dtype=np.uint8)
for _brc, _codes in enumerate(HUFFMAN_CODES):
    for _m, _code in enumerate(_codes):
        HUFFMAN_BITS[_brc, _m] = int(_code, 2)
        HUFFMAN_NBITS[_brc, _m] = len(_code)


def _build_fdbaq_recon() -> npt.NDArray[np.float32]:
    """Reconstructed magnitude ``[brc, thidx, mcode]`` (S1-IF-ASD-PL-0007 section 5.2)."""
    out = np.zeros((5, 256, 16), dtype=np.float32)
    for brc in range(5):
        n = int(N_MCODES[brc])
        simple = SIMPLE_B[brc]
        for thidx in range(256):
            if thidx < len(simple):
                out[brc, thidx, : n - 1] = np.arange(n - 1)
                out[brc, thidx, n - 1] = simple[thidx]
            else:
                out[brc, thidx, :n] = np.asarray(NRL_FDBAQ[brc]) * SIGMA_FACTORS[thidx]
    return out


def _build_baq_recon() -> npt.NDArray[np.float32]:
    """Reconstructed magnitude ``[nbits, thidx, mcode]`` for BAQ 3/4/5 bit (section 5.2)."""
    out = np.zeros((6, 256, 16), dtype=np.float32)
    for nbits in (3, 4, 5):
        n = 1 << (nbits - 1)
        simple = SIMPLE_A[nbits]
        for thidx in range(256):
            if thidx < len(simple):
                out[nbits, thidx, : n - 1] = np.arange(n - 1)
                out[nbits, thidx, n - 1] = simple[thidx]
            else:
                out[nbits, thidx, :n] = np.asarray(NRL_BAQ[nbits]) * SIGMA_FACTORS[thidx]
    return out


FDBAQ_RECON = _build_fdbaq_recon()
BAQ_RECON = _build_baq_recon()

# --- section 3.2.5.4 and tables 5.1-1, 5.1-2: range decimation ----------------------------
DECIMATION_RATIO: dict[int, Fraction] = {
    0: Fraction(3, 4), 1: Fraction(2, 3), 3: Fraction(5, 9), 4: Fraction(4, 9),
    5: Fraction(3, 8), 6: Fraction(1, 3), 7: Fraction(1, 6), 8: Fraction(3, 7),
    9: Fraction(5, 16), 10: Fraction(3, 26), 11: Fraction(4, 11),
}  # fmt: skip
"""Range decimation code -> ratio L/M; sampling rate is L/M * 4 f_ref."""

DECIMATION_FILTER_BANDWIDTH: dict[int, float] = {
    0: 100.0e6, 1: 87.71e6, 3: 74.25e6, 4: 59.44e6, 5: 50.62e6, 6: 44.89e6,
    7: 22.20e6, 8: 56.59e6, 9: 42.86e6, 10: 15.10e6, 11: 48.35e6,
}  # fmt: skip
"""Range decimation code -> decimation filter bandwidth, Hz."""

DECIMATION_FILTER_LENGTH: dict[int, int] = {
    0: 28, 1: 28, 3: 32, 4: 40, 5: 48, 6: 52, 7: 92, 8: 36, 9: 68, 10: 120, 11: 44,
}  # fmt: skip
"""Range decimation code -> filter length N_F, samples."""

FILTER_OUTPUT_OFFSET: dict[int, int] = {
    0: 87, 1: 87, 3: 88, 4: 90, 5: 92, 6: 93, 7: 103, 8: 89, 9: 97, 10: 110, 11: 91,
}  # fmt: skip
"""Table 5.1-2: decimation filter output offset, samples."""

D_VALUES: dict[int, tuple[int, ...]] = {
    0: (1, 1, 2, 3),
    1: (1, 1, 2),
    3: (1, 1, 2, 2, 3, 3, 4, 4, 5),
    4: (0, 1, 1, 2, 2, 3, 3, 4, 4),
    5: (0, 1, 1, 1, 2, 2, 3, 3),
    6: (0, 0, 1),
    7: (0, 0, 0, 0, 0, 1),
    8: (0, 1, 1, 2, 2, 3, 3),
    9: (0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5),
    10: (0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3),
    11: (0, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4),
}
"""Table 5.1-1: D as a function of C, per range decimation code."""
