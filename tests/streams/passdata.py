"""Simulated passes shared by the assembler, worker and pipeline tests (cached per process)."""

from __future__ import annotations

from functools import lru_cache

from sar.sim.datatake import SimulatedDatatake, simulate_datatake
from sar.sim.scene import Target

CENTER = (45.0, 10.0)
TARGET_A = Target(44.975, 10.0, 0.0, 1e4)
TARGET_B = Target(45.035, 10.0, 0.0, 1e4)
IW_RELATIVE_ORBIT = 117
"""Track of the simulated IW pass (its truth carries the ESA burst IDs of that track)."""


@lru_cache(maxsize=4)
def stripmap_pass(n_samples: int = 4096, duration_s: float = 3.0) -> SimulatedDatatake:
    """S6 stripmap over CENTER with targets A and B (4096 samples: focusable)."""
    return simulate_datatake(
        "S6", CENTER, duration_s, [TARGET_A, TARGET_B], n_samples=n_samples, seed=1
    )


@lru_cache(maxsize=2)
def iw_pass(n_samples: int = 512, duration_s: float = 5.6) -> SimulatedDatatake:
    """IW TOPS pass (two burst cycles) with few samples: for burst assembly, not focusing;
    relative orbit :data:`IW_RELATIVE_ORBIT`."""
    return simulate_datatake(
        "IW", CENTER, duration_s, [TARGET_A], n_samples=n_samples, seed=2,
        relative_orbit=IW_RELATIVE_ORBIT,
    )  # fmt: skip


def truth_bursts(dt: SimulatedDatatake) -> dict[str, tuple[int, str, float]]:
    """Truth burst key -> (ESA burst ID, burst-map label, first line time GPS s) of every
    IW burst of a simulated pass (one polarisation: VV)."""
    from streams.messages.jobs import burst_key

    return {
        burst_key(int(dt.truth["data_take_id"]), swath, "VV", int(b["burst_id"])): (
            int(b["burst_id"]), str(b["label"]), float(b["first_line_time"]["gps_seconds"])
        )
        for swath, info in dt.truth["swaths"].items()
        for b in info["bursts"]
    }  # fmt: skip
