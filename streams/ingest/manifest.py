"""The station's manifest of a pass: which bursts it sent (:mod:`streams.messages.passes`).

The bursts are found with the processor's own rules (:func:`sar.l0.bursts.split_bursts`)
and named with :mod:`sar.identity` — the same identity the assembler computes — from the
packet headers alone (no user data is decoded): a 3 s IW pass of 59 MB takes a few tens
of milliseconds plus one ascending-node search per data-take.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sar.errors import GeometryError, Level0Error
from sar.focus.raw import swath_name
from sar.geo.propagate import extend_orbit
from sar.identity import AnxCache, identify_burst
from sar.l0.ancillary import decode_ancillary, orbit_from_ancillary
from sar.l0.bursts import burst_indices, channel_polarisation, split_bursts
from sar.l0.enums import TOPS_ECC, SignalType, polarisation_name
from sar.l0.fields import HeaderArray
from sar.l0.framing import scan_packets
from sar.l0.headers import decode_headers
from sar.l0.radar import packet_time
from streams._infra.records import OutgoingRecord
from streams.messages.events import EventRecord
from streams.messages.passes import ManifestEntry, PassManifest

ORBIT_MARGIN_S = 2.0
"""Orbit coverage asked for around a burst's first line before finding the ANX, s."""


def read_headers(data: bytes | np.ndarray) -> HeaderArray:
    """Headers of every packet of a Level-0 byte stream (bytes or a uint8 array, e.g. a
    memory-mapped file; corrupt regions skipped)."""
    buf = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes) else data
    offsets = scan_packets(buf, False)[0]
    return decode_headers(buf, offsets, validate=False)


def manifest_entries(headers: HeaderArray, relative_orbit: int | None) -> list[ManifestEntry]:
    """The bursts (TOPS) or swath/polarisation series (stripmap) of a pass's packets.

    Raises
    ------
    GeometryError
        A TOPS pass whose ancillary data gives no orbit (its bursts cannot be named).
    """
    echo = headers[headers["signal_type"] == int(SignalType.ECHO)]
    if echo.size == 0:
        return []
    times = np.asarray(packet_time(echo["coarse_time"], echo["fine_time"]), dtype=np.float64)
    if int(np.bincount(echo["ecc_number"]).argmax()) not in TOPS_ECC:
        return _stripmap_entries(echo, times)
    orbit = orbit_from_ancillary(decode_ancillary(headers))
    orbit = extend_orbit(orbit, float(times.min()) - ORBIT_MARGIN_S, float(times.max()) + 1.0)
    anx = AnxCache()
    entries: list[ManifestEntry] = []
    for burst in split_bursts(echo):
        idx = burst_indices(echo, burst)
        t = times[idx]
        swath = swath_name(burst.swath_number)[1]
        pol = polarisation_name(burst.polarisation)
        dt_id = int(echo["data_take_id"][idx[0]])
        first = float(t.min())
        anx_time = anx.anx_time(dt_id, first, orbit) if swath.startswith("IW") else None
        ident = identify_burst(
            dt_id, swath, pol, first, anx_time=anx_time, relative_orbit=relative_orbit
        )
        entries.append(ManifestEntry(
            key=ident.key, data_take_id=dt_id, swath=swath, polarisation=pol,
            sensing_start_gps=first, sensing_stop_gps=float(t.max()), packets=int(idx.size),
        ))  # fmt: skip
    return entries


def _stripmap_entries(echo: HeaderArray, times: np.ndarray) -> list[ManifestEntry]:
    pols = channel_polarisation(echo)
    series = np.stack([echo["data_take_id"], echo["swath_number"], pols], axis=1)
    out: list[ManifestEntry] = []
    for dt_id, swath_number, pol in np.unique(series, axis=0):
        sel = (
            (echo["data_take_id"] == dt_id) & (echo["swath_number"] == swath_number)
            & (pols == pol)
        )  # fmt: skip
        out.append(ManifestEntry(
            key=None, data_take_id=int(dt_id), swath=swath_name(int(swath_number))[1],
            polarisation=polarisation_name(int(pol)), sensing_start_gps=float(times[sel].min()),
            sensing_stop_gps=float(times[sel].max()), packets=int(np.count_nonzero(sel)),
        ))  # fmt: skip
    return out


def pass_manifest(
    data: bytes | np.ndarray,
    channel_key: str,
    *,
    chunks: int,
    relative_orbit: int | None = None,
) -> PassManifest:
    """The manifest of one channel's pass, from its bytes (or a uint8 array of them).

    Raises
    ------
    GeometryError, Level0Error
        Bytes that are not Level-0 packets, or a TOPS pass without a usable orbit.
    """
    headers = read_headers(data)
    if headers.size == 0:
        raise Level0Error(f"{channel_key}: no Level-0 packet in {len(data)} bytes")
    try:
        entries = manifest_entries(headers, relative_orbit)
    except GeometryError as exc:
        raise GeometryError(f"{channel_key}: cannot name the bursts: {exc}") from exc
    return PassManifest(channel_key=channel_key, chunks=chunks, n_bytes=len(data), entries=entries)


def file_manifest(
    path: str | Path, channel_key: str, *, chunks: int, relative_orbit: int | None = None
) -> PassManifest:
    """:func:`pass_manifest` of a Level-0 file, memory-mapped (headers only are read)."""
    data = np.memmap(path, dtype=np.uint8, mode="r")
    try:
        return pass_manifest(data, channel_key, chunks=chunks, relative_orbit=relative_orbit)
    finally:
        del data


def manifest_record(manifest: PassManifest, topic: str) -> OutgoingRecord:
    """The ``pass-manifest`` event of ``manifest`` on ``topic`` (keyed by the channel)."""
    event = EventRecord(
        kind="pass-manifest", source=manifest.channel_key, detail=manifest.model_dump()
    )
    return event.record(topic, event.source)
