"""Simulated passes shared by the assembler, worker and pipeline tests (cached per process)."""

from __future__ import annotations

from functools import lru_cache

from sar.sim.datatake import SimulatedDatatake, simulate_datatake
from sar.sim.scene import Target

CENTER = (45.0, 10.0)
TARGET_A = Target(44.975, 10.0, 0.0, 1e4)
TARGET_B = Target(45.035, 10.0, 0.0, 1e4)


@lru_cache(maxsize=4)
def stripmap_pass(n_samples: int = 4096, duration_s: float = 3.0) -> SimulatedDatatake:
    """S6 stripmap over CENTER with targets A and B (4096 samples: focusable)."""
    return simulate_datatake(
        "S6", CENTER, duration_s, [TARGET_A, TARGET_B], n_samples=n_samples, seed=1
    )


@lru_cache(maxsize=2)
def iw_pass(n_samples: int = 512, duration_s: float = 5.6) -> SimulatedDatatake:
    """IW TOPS pass (two burst cycles) with few samples: for burst assembly, not focusing."""
    return simulate_datatake("IW", CENTER, duration_s, [TARGET_A], n_samples=n_samples, seed=2)
