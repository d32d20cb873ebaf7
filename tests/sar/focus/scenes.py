"""Small stripmap point-target scenes shared by the focusing tests."""

from __future__ import annotations

from sar.constants import SPEED_OF_LIGHT
from sar.focus.model import ChirpParameters, RawData
from sar.focus.pointsim import LineScene, simulate_point_raw

FS = 64.345238e6
PRF = 1000.0
SRT = 5.6e-3
CHIRP = ChirpParameters(ramp_rate=42e6 / 10e-6, start_frequency=-21e6, pulse_length=10e-6)
ILLUMINATED = 900.0
PROCESSED = 800.0
SCENE = LineScene()
T_FIRST = SCENE.t_ref


def target_at(line: float, sample: float) -> tuple[float, float]:
    """(zero-Doppler transmit-grid time GPS s, slant range m) of a raw line / sample."""
    return T_FIRST + line / PRF, 0.5 * SPEED_OF_LIGHT * (SRT + sample / FS)


def make_raw(
    targets: list[tuple[float, float, complex]],
    *,
    lines: int = 1024,
    samples: int = 1536,
    noise: float = 0.0,
    doppler_centroid: float = 0.0,
    seed: int = 0,
) -> RawData:
    """Raw block of targets given as (raw line, sample, amplitude)."""
    tg = [(*target_at(line, sample), amp) for line, sample, amp in targets]
    return simulate_point_raw(
        SCENE, tg, lines=lines, samples=samples, first_line_time=T_FIRST, prf=PRF,
        range_sampling_rate=FS, slant_range_time=SRT, chirp=CHIRP,
        illuminated_bandwidth=ILLUMINATED, doppler_centroid=doppler_centroid,
        noise_sigma=noise, seed=seed,
    )
