"""Orbit state vectors.

The :class:`Orbit` record is shared by the simulator, the focusing core, products
and quality analysis. Positions and velocities are Earth-centred Earth-fixed
(ECEF, WGS84), in m and m/s; times are GPS seconds (:mod:`sar.timeutil`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sar.errors import GeometryError

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Orbit:
    """Orbit state vectors, sorted by time.

    Attributes
    ----------
    times
        Sample times, GPS seconds, shape (n,), strictly increasing.
    positions
        ECEF positions, m, shape (n, 3).
    velocities
        ECEF velocities, m/s, shape (n, 3).
    """

    times: FloatArray
    positions: FloatArray
    velocities: FloatArray

    def __post_init__(self) -> None:
        n = self.times.shape[0]
        if self.times.ndim != 1 or n < 2:
            raise GeometryError("an orbit needs at least 2 state vectors")
        if self.positions.shape != (n, 3) or self.velocities.shape != (n, 3):
            raise GeometryError("orbit positions and velocities must have shape (n, 3)")
        if not np.all(np.diff(self.times) > 0):
            raise GeometryError("orbit times must be strictly increasing")
        if not (np.all(np.isfinite(self.positions)) and np.all(np.isfinite(self.velocities))):
            raise GeometryError("orbit contains non-finite state vectors")

    @property
    def start(self) -> float:
        """First state-vector time, GPS s."""
        return float(self.times[0])

    @property
    def stop(self) -> float:
        """Last state-vector time, GPS s."""
        return float(self.times[-1])
