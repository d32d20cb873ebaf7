"""Downlink a simulated Level-0 packet stream as CADU streams (one per X-band channel).

:func:`downlink_packets` is the simulator's downlink: the packets are split over the
X-band channels (:func:`~sar.downlink.channels.split_packets`), each channel's packets
framed on its own virtual channel (:func:`~sar.downlink.framer.packetise`,
:func:`~sar.downlink.framer.build_frames`), idle frames (VC 63) mixed in at a fixed
interval if asked, and the frames coded into CADUs
(:func:`~sar.downlink.framer.encode_cadus`). :func:`~sar.downlink.impairments.impair_cadus`
then degrades a channel's stream. Decoding each stream with
:func:`~sar.downlink.decoder.decode_cadu_stream` and merging the channels with
:func:`~sar.downlink.channels.merge_packet_streams` gives back the original stream
bit-exactly when nothing was impaired.

Output convention of ``eoport simulate --downlink cadu``: one file per X-band channel,
``<name>.ch1.cadu`` and ``<name>.ch2.cadu`` next to the packet file (two physical links
are two byte streams; nothing is interleaved).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from sar.downlink.channels import split_packets
from sar.downlink.errors import DownlinkError
from sar.downlink.framer import build_frames, encode_cadus, idle_frames, packetise
from sar.downlink.impairments import Impairments, impair_cadus
from sar.downlink.params import DEFAULT_VCIDS, FramingParameters


def frame_channel(
    packets: bytes,
    params: FramingParameters,
    *,
    vcid: int,
    spacecraft_id: int = 0,
    first_count: int = 0,
    fill_every: int = 0,
) -> bytes:
    """CADU stream of one X-band channel carrying ``packets`` on one virtual channel.

    Parameters
    ----------
    packets
        Concatenated space packets.
    params
        Frame layout and coding.
    vcid
        Virtual channel id.
    spacecraft_id
        Spacecraft id of the frames.
    first_count
        VC frame count of the first frame.
    fill_every
        Insert one idle frame (VC 63) after every ``fill_every`` data frames (0: none).

    Returns
    -------
    bytes
        Whole CADUs.
    """
    zones, fhp = packetise(packets, params.packet_zone_octets)
    frames = build_frames(
        zones, fhp, params, vcid=vcid, spacecraft_id=spacecraft_id, first_count=first_count
    )
    if fill_every > 0 and frames.shape[0]:
        n_fill = (frames.shape[0] - 1) // fill_every
        fill = idle_frames(n_fill, params, spacecraft_id=spacecraft_id)
        at = (np.arange(n_fill) + 1) * fill_every
        frames = np.insert(frames, at, fill, axis=0)
    return encode_cadus(frames, params)


def downlink_packets(
    stream: bytes,
    params: FramingParameters | None = None,
    *,
    policy: str = "auto",
    vcids: tuple[int, ...] = DEFAULT_VCIDS,
    spacecraft_id: int = 0,
    fill_every: int = 0,
) -> list[bytes]:
    """CADU streams of the X-band channels for a Level-0 packet stream.

    Parameters
    ----------
    stream
        Concatenated Sentinel-1 ISPs (e.g. ``SimulatedDatatake.data``).
    params
        Frame layout (default :class:`FramingParameters`).
    policy
        Channel split policy (:data:`~sar.downlink.channels.POLICIES`; assumptions).
    vcids
        Virtual channel of each X-band channel (default (1, 2), an assumption); its
        length is the number of channels.
    spacecraft_id
        Spacecraft id of the frames.
    fill_every
        Idle frame interval (see :func:`frame_channel`).

    Returns
    -------
    list of bytes
        One CADU stream per X-band channel.
    """
    if not vcids:
        raise DownlinkError("need at least one virtual channel")
    p = params or FramingParameters()
    parts = split_packets(stream, policy, n_channels=len(vcids))
    return [
        frame_channel(part, p, vcid=v, spacecraft_id=spacecraft_id, fill_every=fill_every)
        for part, v in zip(parts, vcids, strict=False)
    ]


def write_downlink(
    path: str | Path,
    stream: bytes,
    params: FramingParameters | None = None,
    *,
    impairments: Impairments | None = None,
    fill_every: int = 0,
    policy: str = "auto",
) -> list[Path]:
    """Write the CADU stream of each X-band channel next to a packet file.

    Parameters
    ----------
    path
        The packet file (``RAW.dat``); channel k goes to ``RAW.dat.ch<k>.cadu``.
    stream
        Its packets.
    params
        Frame layout.
    impairments
        Applied to every channel, with seed ``impairments.seed * 2 + k`` for channel k.
    fill_every, policy
        See :func:`downlink_packets`.

    Returns
    -------
    list of pathlib.Path
        The files written, channel 1 first.

    Raises
    ------
    DownlinkError
        If a file cannot be written.
    """
    p = params or FramingParameters()
    base = Path(path)
    written: list[Path] = []
    for k, cadus in enumerate(
        downlink_packets(stream, p, policy=policy, fill_every=fill_every), start=1
    ):
        if impairments is not None:
            imp = replace(impairments, seed=impairments.seed * 2 + k)
            cadus, _ = impair_cadus(cadus, p.cadu_octets, imp)
        target = base.with_name(f"{base.name}.ch{k}.cadu")
        try:
            target.write_bytes(cadus)
        except OSError as exc:
            raise DownlinkError(f"cannot write {target}: {exc}") from None
        written.append(target)
    return written
