"""Level-0 to Level-1: focus every swath, polarisation and burst of a decoded data-take.

This is the science-side processor used by ``eoport focus`` and by the streaming
focusing workers: decode (done by the caller), rebuild the orbit from the
sub-commutated ancillary data (S1-IF-ASD-PL-0007 section 3.2.3; one cycle per receive
channel, so dual-polarisation streams with both channels interleaved decode too), select
the echo packets of each swath/channel polarisation (and burst, for IW TOPS), and focus
them. A TOPS burst with lost packets inside (a hole shorter than
:data:`sar.l0.bursts.BURST_MAX_HOLE_S`) is focused as one product on its full line grid,
the missing lines zero-filled and listed in the product.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from sar.errors import FocusError
from sar.focus.raw import raw_from_packets, swath_name
from sar.geo.burst_id import ascending_node_time, identify_iw_burst
from sar.geo.orbit import Orbit
from sar.geo.propagate import extend_orbit
from sar.identity import BurstIdentity, mode_of
from sar.l0.ancillary import decode_ancillary, orbit_from_ancillary
from sar.l0.bursts import burst_indices, channel_polarisation, split_bursts
from sar.l0.enums import TOPS_ECC, SignalType, polarisation_name
from sar.l0.packets import Level0Packets
from sar.l0.radar import packet_time
from sar.product.model import SlcImage

if TYPE_CHECKING:
    from sar.focus.tops.workspace import FocusWorkspace

IW_AZIMUTH_STEERING_RATE_DEG_S = {"IW1": 1.590368784, "IW2": 0.979863325, "IW3": 1.397440818}
"""Nominal TOPS azimuth steering rates k_psi, deg/s (``azimuthSteeringRate`` of real IW
SLC annotation, which the IPF takes from its instrument auxiliary data)."""

IPF_AZIMUTH_WINDOWS = {"IW1": "hamming:0.70", "S5": "hamming:0.65"}
"""Default azimuth windows where the S1 IPF departs from Hamming 0.75 (S1 L1 specs)."""


@dataclass(frozen=True)
class FocusedProduct:
    """One focused product and the name it is written under.

    Attributes
    ----------
    name
        ``<swath>_<pol>`` for stripmap, ``<swath>_<pol>_<burst>`` for TOPS bursts.
    slc
        The focused image and metadata.
    """

    name: str
    slc: SlcImage


def default_azimuth_window(swath: str) -> str:
    """IPF default azimuth window of a swath (``hamming:0.75`` unless listed)."""
    key = "S5" if swath.startswith("S5") else swath
    return IPF_AZIMUTH_WINDOWS.get(key, "hamming:0.75")


ORBIT_MARGIN = 10.0
"""Orbit coverage required beyond the first and last packet, s (half an aperture is < 2 s)."""


END_FIT_VECTORS = 4
"""State vectors next to each end used to refine the end velocity before propagation."""


def _refined_end_velocity(orbit: Orbit, end: int) -> npt.NDArray[np.float64]:
    """Velocity of the first (``end`` 0) or last (``end`` -1) state vector that makes the
    propagated trajectory pass through the neighbouring positions.

    The ancillary velocities are float32 (S1-IF-ASD-PL-0007 section 3.2.3: ~0.5 mm/s steps
    at 7.5 km/s), the positions float64: propagating from the coded velocity drifts by
    ~0.5 mm per second (0.1 rad of carrier phase), which matters for the last burst of a
    pass, whose aperture reaches beyond the last state vector. Two Gauss-Newton steps of
    ``min |propagated(t_k) - p_k|`` over the velocity (sensitivity ``(t_k - t_end) I``).
    """
    n = min(END_FIT_VECTORS, orbit.times.size - 1)
    t0, p0 = float(orbit.times[end]), orbit.positions[end]
    v = np.array(orbit.velocities[end], dtype=np.float64)
    idx = np.arange(1, n + 1) if end == 0 else np.arange(-n - 1, -1)
    dt = orbit.times[idx] - t0
    for _ in range(2):
        # a two-vector orbit whose inner end is (t0, p0, v), so that extend_orbit
        # propagates from it towards the neighbours (the other vector is a placeholder)
        if end == 0:
            pair = Orbit(np.array([t0 - 1.0, t0]), np.array([p0 - v, p0]), np.array([v, v]))
            prop = extend_orbit(pair, t0 - 1.0, float(orbit.times[idx[-1]]))
        else:
            pair = Orbit(np.array([t0, t0 + 1.0]), np.array([p0, p0 + v]), np.array([v, v]))
            prop = extend_orbit(pair, float(orbit.times[idx[0]]), t0 + 1.0)
        lookup = {float(t): k for k, t in enumerate(prop.times)}
        rows = [lookup.get(float(t)) for t in orbit.times[idx]]
        if any(r is None for r in rows):  # not on the 1 s propagation grid
            return np.asarray(orbit.velocities[end], dtype=np.float64)
        residual = orbit.positions[idx] - prop.positions[[int(r) for r in rows if r is not None]]
        v = v + np.sum(dt[:, None] * residual, axis=0) / float(np.sum(dt * dt))
    return v


def orbit_from_packets(packets: Level0Packets, *, margin: float = ORBIT_MARGIN) -> Orbit:
    """Rebuild the orbit from the packets' sub-commutated ancillary data.

    The 1 Hz state vectors are extended by propagation (:func:`sar.geo.propagate.extend_orbit`)
    to cover the packets' sensing time plus ``margin`` seconds on both sides, from end
    velocities refined on the neighbouring positions (:func:`_refined_end_velocity`).
    """
    orbit = orbit_from_ancillary(decode_ancillary(packets.headers))
    if orbit.times.size >= 3:
        vel = np.array(orbit.velocities, dtype=np.float64)
        vel[0] = _refined_end_velocity(orbit, 0)
        vel[-1] = _refined_end_velocity(orbit, -1)
        orbit = Orbit(orbit.times, orbit.positions, vel)
    h = packets.headers
    times = packet_time(h["coarse_time"], h["fine_time"])
    return extend_orbit(orbit, float(np.min(times)) - margin, float(np.max(times)) + margin)


def _echo_groups(packets: Level0Packets) -> list[tuple[int, int]]:
    h = packets.headers
    echo = h["signal_type"] == int(SignalType.ECHO)
    if not np.any(echo):
        raise FocusError("no echo packets to focus")
    sel = h[echo]
    pols = channel_polarisation(sel)
    pairs = {(int(s), int(p)) for s, p in zip(sel["swath_number"], pols, strict=True)}
    return sorted(pairs)


def focus_packets(
    packets: Level0Packets,
    *,
    range_window: str = "hamming:0.75",
    azimuth_window: str | None = None,
    block_lines: int | None = None,
    orbit: Orbit | None = None,
    relative_orbit: int | None = None,
    workspace: FocusWorkspace | None = None,
) -> Iterator[FocusedProduct]:
    """Focus every swath and polarisation (and burst for TOPS) of decoded packets.

    Parameters
    ----------
    packets
        Decoded Level-0 packets of one data-take (any mix of signal types).
    range_window, azimuth_window
        Window specifications (``"hamming:0.75"``, ``"kaiser:2.5"``, ``"none"``);
        ``azimuth_window=None`` takes the IPF default of each swath.
    block_lines
        Stripmap azimuth block size in lines (``None``: whole data-take in one block).
    orbit
        Orbit to use instead of the one carried by the packets.
    relative_orbit
        Track number (1-175) for ESA burst IDs; ``None`` labels bursts ``t000_...``
        (burst number counted from the ascending node of the current orbit).
    workspace
        Buffers and FFT plans reused by TOPS burst focusing
        (:class:`sar.focus.tops.workspace.FocusWorkspace`); ``None``: one for this call,
        shared by its bursts. Not used for stripmap.

    Yields
    ------
    FocusedProduct
        In swath, polarisation (and burst) order.

    Raises
    ------
    FocusError
        No echo packets, or data that cannot be focused.
    """
    if orbit is None:
        orbit = orbit_from_packets(packets)
    ecc = int(np.bincount(packets.headers["ecc_number"]).argmax())
    if ecc in TOPS_ECC:
        yield from _focus_tops(
            packets, orbit, range_window, azimuth_window, relative_orbit, workspace
        )
        return
    from sar.focus.rda import focus_stripmap

    for swath_number, pol_code in _echo_groups(packets):
        swath = swath_name(swath_number)[1]
        pol = polarisation_name(pol_code)
        raw = raw_from_packets(packets, orbit, swath=swath_number, polarisation=pol)
        slc = focus_stripmap(
            raw,
            range_window=range_window,
            azimuth_window=azimuth_window or default_azimuth_window(swath),
            block_lines=block_lines,
        )
        yield FocusedProduct(f"{swath}_{pol}", slc)


def focus_identified_burst(
    packets: Level0Packets,
    identity: BurstIdentity,
    orbit: Orbit,
    *,
    range_window: str = "hamming:0.75",
    azimuth_window: str | None = None,
    workspace: FocusWorkspace | None = None,
) -> FocusedProduct:
    """Focus exactly the burst (or stripmap block) the caller identified, as one product.

    The streaming worker's entry point: the assembler already cut the burst and computed
    its identity (:mod:`sar.identity`), so nothing is split again and no ascending node
    is searched; every echo line of ``identity.swath``/``identity.polarisation`` in
    ``packets`` goes onto one line grid, lost lines zero-filled and listed in
    ``SlcImage.missing`` however long the hole (a burst is never cut in two).

    Parameters
    ----------
    packets
        Decoded packets of the burst (other swaths, polarisations and signal types are
        ignored).
    identity
        The burst's identity; its ``label`` becomes the product's ``burst_id``.
    orbit
        Orbit covering the burst and its focusing margins.
    range_window, azimuth_window
        As in :func:`focus_packets`.
    workspace
        Buffers and FFT plans reused by TOPS burst focusing; the output image comes from
        it (a worker hands it back with :meth:`~sar.focus.tops.workspace.FocusWorkspace.recycle`
        after writing the product). ``None``: allocated for this burst alone.

    Raises
    ------
    FocusError
        No echo line of the burst, or data that cannot be focused.
    """
    mode = mode_of(identity.swath)
    window = azimuth_window or default_azimuth_window(identity.swath)
    if mode == "SM":
        from sar.focus.rda import focus_stripmap

        raw = raw_from_packets(
            packets, orbit, swath=identity.swath, polarisation=identity.polarisation
        )
        slc = focus_stripmap(raw, range_window=range_window, azimuth_window=window)
        return FocusedProduct(identity.name, slc)
    rate = IW_AZIMUTH_STEERING_RATE_DEG_S.get(identity.swath)
    if rate is None:
        raise FocusError(f"{identity.swath}: no TOPS steering rate known for this swath")
    from sar.focus.tops import focus_burst

    raw = raw_from_packets(
        packets, orbit, swath=identity.swath, polarisation=identity.polarisation,
        max_missing_fraction=1.0,
    )  # fmt: skip
    raw = replace(
        raw, azimuth_steering_rate=math.radians(rate), burst_id=identity.label
    )
    slc = focus_burst(
        raw, range_window=range_window, azimuth_window=window, workspace=workspace
    )
    return FocusedProduct(identity.name, slc)


def burst_label_for(
    first_line_time: float, swath: str, orbit: Orbit, relative_orbit: int | None
) -> str:
    """ESA burst-map label of the IW burst whose first line is at ``first_line_time``."""
    anx = ascending_node_time(orbit, first_line_time)
    return identify_iw_burst(first_line_time, swath, anx, relative_orbit)[2]


def _focus_tops(
    packets: Level0Packets,
    orbit: Orbit,
    range_window: str,
    azimuth_window: str | None,
    relative_orbit: int | None,
    workspace: FocusWorkspace | None,
) -> Iterator[FocusedProduct]:
    from sar.focus.tops import FocusWorkspace, focus_burst

    ws = workspace if workspace is not None else FocusWorkspace()
    bursts = split_bursts(packets.headers, min_packets=64)
    if not bursts:
        raise FocusError("no complete TOPS burst in the data")
    counters: dict[tuple[int, int], int] = {}
    for burst in bursts:
        idx = burst_indices(packets.headers, burst)
        mask = np.zeros(len(packets.headers), dtype=bool)
        mask[idx] = True
        sub = packets.select(mask)
        swath = swath_name(burst.swath_number)[1]
        pol = polarisation_name(burst.polarisation)
        raw = raw_from_packets(
            sub, orbit, swath=burst.swath_number, polarisation=pol, max_missing_fraction=1.0
        )
        raw = replace(
            raw,
            azimuth_steering_rate=math.radians(IW_AZIMUTH_STEERING_RATE_DEG_S[swath]),
            burst_id=burst_label_for(raw.line_times[0], swath, orbit, relative_orbit),
        )
        key = (burst.swath_number, burst.polarisation)
        counters[key] = counters.get(key, 0) + 1
        slc = focus_burst(
            raw,
            range_window=range_window,
            azimuth_window=azimuth_window or default_azimuth_window(swath),
            workspace=ws,
        )
        label = slc.burst_id.rsplit("_", 1)[0] if slc.burst_id else f"b{counters[key]:02d}"
        yield FocusedProduct(f"{swath}_{pol}_{label}", slc)
