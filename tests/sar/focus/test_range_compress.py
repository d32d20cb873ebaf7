"""Chirp replica and range compression: peak position, gain, resolution."""

from __future__ import annotations

import numpy as np
import pytest

from sar.errors import FocusError
from sar.focus.model import ChirpParameters
from sar.focus.range_compress import compress_range
from sar.focus.replica import (
    chirp_centre_frequency,
    make_range_filter,
    make_replica,
    replica_samples,
)

FS = 64.345238e6
CHIRP = ChirpParameters(ramp_rate=1.078e12, start_frequency=-28.24e6, pulse_length=20e-6)


def _echo(delay_samples: float, samples: int = 4096) -> np.ndarray:
    t = (np.arange(samples) - delay_samples) / FS
    inside = (t >= 0) & (t < CHIRP.pulse_length)
    ph = 2 * np.pi * (CHIRP.start_frequency * t + 0.5 * CHIRP.ramp_rate * t * t)
    return np.where(inside, np.exp(1j * ph), 0).astype(np.complex64)


def _peak(line: np.ndarray, up: int = 64) -> float:
    k = int(np.argmax(np.abs(line)))
    chip = line[k - 16: k + 16].astype(np.complex128)
    spec = np.fft.fftshift(np.fft.fft(chip))
    pad = np.zeros(32 * up, dtype=complex)
    pad[(32 * up - 32) // 2: (32 * up + 32) // 2] = spec
    fine = np.abs(np.fft.ifft(np.fft.ifftshift(pad)))
    return k - 16 + float(np.argmax(fine)) / up


def test_replica_follows_spec() -> None:
    rep = make_replica(CHIRP, FS)
    assert rep.shape == (replica_samples(CHIRP, FS),) and rep.dtype == np.complex64
    assert rep[0] == pytest.approx(1.0)
    t = 100 / FS
    assert np.angle(rep[100] * np.exp(-2j * np.pi * (CHIRP.start_frequency * t
                                                      + 0.5 * CHIRP.ramp_rate * t * t))) \
        == pytest.approx(0.0, abs=1e-3)
    assert chirp_centre_frequency(CHIRP) == pytest.approx(-28.24e6 + 0.5 * 1.078e12 * 20e-6)


@pytest.mark.parametrize("delay", [300.0, 555.37, 1000.81])
def test_peak_at_echo_delay(delay: float) -> None:
    echoes = np.stack([_echo(delay), _echo(delay + 10.5)])
    out = compress_range(echoes, CHIRP, FS, "none")
    assert _peak(out[0]) == pytest.approx(delay, abs=0.05)
    assert _peak(out[1]) == pytest.approx(delay + 10.5, abs=0.05)
    assert np.abs(out[0]).max() == pytest.approx(1.0, rel=0.1)


def test_in_place_and_window_gain() -> None:
    echoes = np.stack([_echo(400.0)] * 3)
    ref = compress_range(echoes, CHIRP, FS, "hamming:0.75")
    work = echoes.copy()
    out = compress_range(work, CHIRP, FS, "hamming:0.75", in_place=True)
    assert out is work
    assert np.allclose(out, ref, atol=1e-5)
    assert np.abs(out[0]).max() == pytest.approx(1.0, rel=0.1)


def test_bad_chirps_raise() -> None:
    with pytest.raises(FocusError):
        make_replica(ChirpParameters(1e12, 0.0, 0.0), FS)
    with pytest.raises(FocusError):
        make_replica(ChirpParameters(0.0, 0.0, 1e-5), FS)
    with pytest.raises(FocusError):
        make_replica(ChirpParameters(1e13, 0.0, 1e-5), FS)  # 100 MHz > fs
    with pytest.raises(FocusError):
        make_range_filter(CHIRP, FS, 100)
