"""Sub-commutated ancillary data: orbit and attitude spread over 64 packets.

Each packet carries one 16-bit word and its index 1..64 (S1-IF-ASD-PL-0007 section
3.2.3, table 3.2-12). Word layout used here:

* words 1-12: ECEF position x, y, z, IEEE float64 big-endian, 4 words each (m);
* words 13-18: ECEF velocity vx, vy, vz, float32, 2 words each (m/s);
* words 19-22: PVT time stamp: 8 spare bits, 32-bit GPS seconds, 24-bit fraction (2**-24 s);
* words 23-30: attitude quaternion q0..q3, float32;
* words 31-36: angular rates omega x, y, z, float32 (deg/s as on board);
* words 37-40: attitude time stamp, same format as the PVT one;
* word 41: pointing status (AOCS mode in the high byte, roll/pitch/yaw error bits);
* words 42-64: antenna and TGU temperature housekeeping (not interpreted here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sar.errors import GeometryError, Level0Error
from sar.geo.orbit import Orbit
from sar.l0.fields import HeaderArray

WORDS_PER_CYCLE = 64
TIME_FRACTION_BITS = 24

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class AncillaryData:
    """Decoded ancillary cycles.

    Attributes
    ----------
    orbit_times
        PVT times, GPS s, shape (n,).
    positions, velocities
        ECEF m and m/s, shape (n, 3).
    attitude_times
        Attitude times, GPS s, shape (n,).
    quaternions
        q0..q3, shape (n, 4).
    angular_rates
        Shape (n, 3).
    complete_cycles, incomplete_cycles
        Number of full 64-word cycles decoded, and of cycles with missing words.
    """

    orbit_times: FloatArray
    positions: FloatArray
    velocities: FloatArray
    attitude_times: FloatArray
    quaternions: FloatArray
    angular_rates: FloatArray
    complete_cycles: int
    incomplete_cycles: int


def _time_words(t: float) -> list[int]:
    value = int(round(t * 2**TIME_FRACTION_BITS))
    if not 0 <= value < 1 << 56:
        raise Level0Error(f"time stamp {t} s is out of range")
    return [(value >> s) & 0xFFFF for s in (48, 32, 16, 0)]


def _float_words(values: npt.ArrayLike, dtype: str) -> list[int]:
    raw = np.asarray(values, dtype=dtype).tobytes()
    return [int(w) for w in np.frombuffer(raw, dtype=">u2")]


def encode_ancillary_words(
    position: npt.ArrayLike,
    velocity: npt.ArrayLike,
    pvt_time: float,
    quaternion: npt.ArrayLike = (1.0, 0.0, 0.0, 0.0),
    angular_rate: npt.ArrayLike = (0.0, 0.0, 0.0),
    attitude_time: float | None = None,
    aocs_mode: int = 0,
) -> npt.NDArray[np.uint16]:
    """Build the 64 words of one ancillary cycle (word ``i`` goes with index ``i + 1``).

    Parameters
    ----------
    position, velocity
        ECEF position (m) and velocity (m/s), 3 values each.
    pvt_time, attitude_time
        GPS seconds (attitude time defaults to the PVT time).
    quaternion, angular_rate
        Attitude quaternion (4) and angular rates (3).
    aocs_mode
        AOCS operational mode code, word 41 high byte.
    """
    words = (
        _float_words(position, ">f8")
        + _float_words(velocity, ">f4")
        + _time_words(pvt_time)
        + _float_words(quaternion, ">f4")
        + _float_words(angular_rate, ">f4")
        + _time_words(pvt_time if attitude_time is None else attitude_time)
        + [(int(aocs_mode) & 0xFF) << 8]
    )
    out = np.zeros(WORDS_PER_CYCLE, dtype=np.uint16)
    out[: len(words)] = words
    return out


def _words_to(words: npt.NDArray[np.uint16], dtype: str, count: int) -> FloatArray:
    raw = words.astype(">u2").tobytes()
    return np.frombuffer(raw, dtype=dtype)[:count].astype(np.float64)


def _words_time(words: npt.NDArray[np.uint16]) -> FloatArray:
    w = words.astype(np.uint64)
    value = (w[:, 0] << np.uint64(48)) | (w[:, 1] << np.uint64(32))
    value |= (w[:, 2] << np.uint64(16)) | w[:, 3]
    value &= np.uint64((1 << 56) - 1)
    seconds = (value >> np.uint64(TIME_FRACTION_BITS)).astype(np.float64)
    fraction = (value & np.uint64((1 << TIME_FRACTION_BITS) - 1)).astype(np.float64)
    out: FloatArray = seconds + fraction * 2.0**-TIME_FRACTION_BITS
    return out


def decode_ancillary(headers: HeaderArray) -> AncillaryData:
    """Reassemble complete 64-word cycles from packet headers (in stream order).

    The cycle runs through the packets of each receive channel (``rx_channel_id``,
    section 3.2.2.5): in a dual-polarisation stream the two channels' packets interleave
    and each carries its own cycle, so cycles are reassembled per channel and the records
    merged in time order. A cycle is complete when 64 consecutive packets of a channel
    carry word indices 1, 2, ..., 64; cycles with missing or repeated words are counted in
    ``incomplete_cycles``.
    """
    channels = np.unique(headers["rx_channel_id"]) if headers.size else np.zeros(0)
    if channels.size <= 1:
        return _decode_channel(headers)
    parts = [_decode_channel(headers[headers["rx_channel_id"] == c]) for c in channels]
    order = np.argsort(np.concatenate([p.orbit_times for p in parts]), kind="stable")

    def cat(name: str) -> FloatArray:
        return np.asarray(np.concatenate([getattr(p, name) for p in parts])[order])

    return AncillaryData(
        orbit_times=cat("orbit_times"),
        positions=cat("positions"),
        velocities=cat("velocities"),
        attitude_times=cat("attitude_times"),
        quaternions=cat("quaternions"),
        angular_rates=cat("angular_rates"),
        complete_cycles=sum(p.complete_cycles for p in parts),
        incomplete_cycles=sum(p.incomplete_cycles for p in parts),
    )


def _decode_channel(headers: HeaderArray) -> AncillaryData:
    """Complete cycles of one channel's packets (in stream order)."""
    index = headers["subcom_word_index"].astype(np.int64)
    word = headers["subcom_word"].astype(np.uint16)
    n = index.size
    starts = np.flatnonzero(index == 1)
    expected = np.arange(1, WORDS_PER_CYCLE + 1)
    complete = [
        s for s in starts if s + WORDS_PER_CYCLE <= n
        and np.array_equal(index[s : s + WORDS_PER_CYCLE], expected)
    ]  # fmt: skip
    incomplete = starts.size - len(complete)
    if n and index[0] > 1:
        incomplete += 1
    cycles = (
        np.stack([word[s : s + WORDS_PER_CYCLE] for s in complete])
        if complete
        else np.zeros((0, WORDS_PER_CYCLE), dtype=np.uint16)
    )
    m = cycles.shape[0]
    pos = np.array([_words_to(c[0:12], ">f8", 3) for c in cycles]).reshape(m, 3)
    vel = np.array([_words_to(c[12:18], ">f4", 3) for c in cycles]).reshape(m, 3)
    quat = np.array([_words_to(c[22:30], ">f4", 4) for c in cycles]).reshape(m, 4)
    rate = np.array([_words_to(c[30:36], ">f4", 3) for c in cycles]).reshape(m, 3)
    return AncillaryData(
        orbit_times=_words_time(cycles[:, 18:22]),
        positions=pos,
        velocities=vel,
        attitude_times=_words_time(cycles[:, 36:40]),
        quaternions=quat,
        angular_rates=rate,
        complete_cycles=m,
        incomplete_cycles=int(incomplete),
    )


def orbit_from_ancillary(anc: AncillaryData) -> Orbit:
    """Build an :class:`~sar.geo.orbit.Orbit` from the decoded PVT records.

    Repeated state vectors (same time stamp) are kept once.

    Raises
    ------
    GeometryError
        With fewer than 2 distinct state vectors.
    """
    times, first = np.unique(anc.orbit_times, return_index=True)
    if times.size < 2:
        raise GeometryError(f"only {times.size} distinct state vectors in the ancillary data")
    return Orbit(times, anc.positions[first], anc.velocities[first])
