"""Shared builders of small synthetic Level-0 streams."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from sar.l0.fields import HeaderArray, empty_headers
from sar.l0.packets import encode_packets

Stream = tuple[bytes, HeaderArray, npt.NDArray[np.complex64]]
"""(packet bytes, headers given to the encoder, samples given to the encoder)."""


def build_stream(
    modes: tuple[int, ...] = (12, 12, 0, 4, 12, 5),
    signal_types: tuple[int, ...] | None = None,
    n_samples: int = 600,
    sigma: float = 40.0,
    seed: int = 0,
    brc: int | None = 3,
) -> tuple[bytes, HeaderArray, npt.NDArray[np.complex64]]:
    """Encode ``len(modes)`` packets of Gaussian noise; return (bytes, headers, samples)."""
    rng = np.random.default_rng(seed)
    n = len(modes)
    headers = empty_headers(n)
    headers["baq_mode"] = modes
    headers["signal_type"] = signal_types if signal_types is not None else [0] * n
    headers["coarse_time"] = 1_400_000_000 + np.arange(n)
    headers["fine_time"] = 1234
    headers["data_take_id"] = 0xABCDEF
    headers["ecc_number"] = 8
    headers["swath_number"] = 10
    headers["polarisation"] = 6
    headers["pri"] = 21_000
    headers["space_packet_count"] = np.arange(n)
    headers["n_samples"] = n_samples - 2 * (np.arange(n) % 3)
    shape = (n, n_samples)
    iq = (rng.normal(0, sigma, shape) + 1j * rng.normal(0, sigma, shape)).astype(np.complex64)
    return encode_packets(headers, iq, brc=brc), headers, iq


@pytest.fixture
def stream() -> Stream:
    """Six packets mixing FDBAQ, bypass and BAQ 4/5-bit."""
    return build_stream()
