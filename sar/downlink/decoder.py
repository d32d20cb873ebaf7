"""The ground side: a CADU byte stream of one X-band channel into per-VC packet streams.

Pipeline per input chunk (every step vectorised over the frames of the chunk):

1. frame synchronisation (:class:`~sar.downlink.sync.FrameSynchroniser`), any bit
   offset, across chunk boundaries;
2. de-randomisation (CCSDS 131.0-B-2 section 9);
3. Reed-Solomon check and correction of the interleaved codewords (section 4); a frame
   with an uncorrectable codeword is dropped and reported, never passed on;
4. optional frame error control check (CRC-16, CCSDS 732.0-B 4.1.6), version and
   spacecraft id checks;
5. virtual-channel demultiplexing: idle frames (VC 63) are counted and skipped, each
   data channel goes to its :class:`~sar.downlink.mpdu.VirtualChannelReassembler`,
   which counts lost frames from the VC frame counter and extracts complete packets.

:class:`CaduDecoder` is the incremental API a stream stage calls::

    decoder = CaduDecoder()
    for chunk in chunks:                  # any sizes, in order
        out = decoder.feed(chunk)         # DecodedChunk: packets per VC, gaps
        ...
    out = decoder.finish()                # end of pass: truncated frame/packet
    decoder.stats                         # LinkStatistics (per VC inside)

Nothing in corrupt input raises: losses are :class:`~sar.downlink.records.DownlinkGap`
records with their byte range in the input stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from sar.downlink.aos import AOS_VERSION, check_frame_crc, decode_frame_headers
from sar.downlink.mpdu import VirtualChannelReassembler
from sar.downlink.params import IDLE_VCID, FramingParameters
from sar.downlink.randomiser import pseudo_random_sequence
from sar.downlink.records import DownlinkGap, GapKind, LinkStatistics
from sar.downlink.reed_solomon import decode_codeblocks
from sar.downlink.sync import FrameFlag, FrameSynchroniser, SyncBatch, SyncEventKind, SyncParameters


@dataclass
class DecodedChunk:
    """Output of one :meth:`CaduDecoder.feed` or :meth:`CaduDecoder.finish` call.

    Attributes
    ----------
    packets
        Per virtual channel id: complete space packets that became available,
        concatenated in order (channels without new packets are absent).
    gaps
        Losses found, sorted by input byte offset.
    frames
        Frames synchronised in this call.
    """

    packets: dict[int, bytes] = field(default_factory=dict)
    gaps: list[DownlinkGap] = field(default_factory=list)
    frames: int = 0


class CaduDecoder:
    """Incremental decoder of the CADU stream of one physical channel.

    Parameters
    ----------
    params
        Frame layout and coding (defaults: the assumptions of
        :mod:`sar.downlink.params`).
    sync
        Synchroniser tuning.
    parallel
        Reed-Solomon decoding of large batches over numba's threads. By default the
        decoder works on the calling thread and its kernels release the GIL: run one
        decoder per X-band channel, each in its own thread (or process), to use two
        cores.
    """

    def __init__(
        self,
        params: FramingParameters | None = None,
        sync: SyncParameters | None = None,
        *,
        parallel: bool = False,
    ) -> None:
        self.params = params or FramingParameters()
        self.parallel = parallel
        self.sync = FrameSynchroniser(self.params.codeblock_octets, sync)
        self.stats = LinkStatistics()
        self.channels: dict[int, VirtualChannelReassembler] = {}
        self._cadu_bits = 8 * self.params.cadu_octets
        self._pn = (
            pseudo_random_sequence(self.params.codeblock_octets) if self.params.randomised else None
        )

    def feed(self, data: bytes | bytearray | memoryview | npt.NDArray[np.uint8]) -> DecodedChunk:
        """Decode the next octets of the link stream.

        Parameters
        ----------
        data
            Any number of octets, continuing the previous call's input.
        """
        batch = self.sync.feed(data)
        self.stats.bytes_in = self.sync.bytes_in
        return self._process(batch)

    def finish(self) -> DecodedChunk:
        """End of the pass: flush the synchroniser and the channels."""
        batch = self.sync.finish()
        out = self._process(batch)
        end = self.sync.bytes_in
        if batch.truncated is not None:
            a, b = batch.truncated
            out.gaps.append(DownlinkGap(
                GapKind.TRUNCATED, a, b, octets=b - a, reason="input ends inside a frame"
            ))  # fmt: skip
        if batch.trailing_skipped_bits >= 8:
            n = batch.trailing_skipped_bits // 8
            self.stats.unsynchronised_octets += n
            out.gaps.append(DownlinkGap(
                GapKind.UNSYNCHRONISED, end - n, end, octets=n,
                reason="input after the last frame could not be synchronised",
            ))  # fmt: skip
        for vc in self.channels.values():
            out.gaps.extend(vc.finish(end))
        out.gaps.sort(key=lambda g: g.byte_start)
        return out

    # ------------------------------------------------------------------ internals

    def _process(self, batch: SyncBatch) -> DecodedChunk:
        st = self.stats
        p = self.params
        out = DecodedChunk(frames=int(batch.flags.size))
        for ev in batch.events:
            if ev.kind == SyncEventKind.LOCK:
                st.locks += 1
                skipped = (ev.bit_offset - ev.value) // 8
                if skipped > 0:
                    st.unsynchronised_octets += skipped
                    out.gaps.append(DownlinkGap(
                        GapKind.UNSYNCHRONISED, ev.value // 8, ev.bit_offset // 8,
                        octets=skipped, reason="no sync marker found in these octets",
                    ))  # fmt: skip
            elif ev.kind == SyncEventKind.SYNC_LOSS:
                st.sync_losses += 1
            else:
                st.bit_slips += 1
        n = int(batch.flags.size)
        if n == 0:
            return out
        st.frames += n
        st.flywheel_frames += int(np.count_nonzero(batch.flags == FrameFlag.FLYWHEEL))
        blocks = batch.codeblocks
        if self._pn is not None:
            blocks ^= self._pn
        starts = batch.bit_offsets // 8
        ends = (batch.bit_offsets + self._cadu_bits + 7) // 8
        if p.reed_solomon:
            counts = decode_codeblocks(
                blocks, p.interleave_depth, dual_basis=p.dual_basis, parallel=self.parallel
            )
            bad = (counts < 0).any(axis=1)
            corrected = np.where(bad, 0, counts.clip(min=0).sum(axis=1))
        else:
            bad = np.zeros(n, dtype=bool)
            corrected = np.zeros(n, dtype=np.int64)
        frames = blocks[:, : p.transfer_frame_octets]
        hdr = decode_frame_headers(frames, p)
        vcid = hdr["vcid"].astype(np.int64)
        st.uncorrectable_frames += int(bad.sum())
        ok = ~bad
        if p.frame_error_control:
            crc_ok = check_frame_crc(frames)
            st.crc_failures += int(np.count_nonzero(ok & ~crc_ok))
            for i in np.flatnonzero(ok & ~crc_ok):
                out.gaps.append(DownlinkGap(
                    GapKind.UNCORRECTABLE, int(starts[i]), int(ends[i]), frames=1,
                    reason="frame error control (CRC-16) mismatch",
                ))  # fmt: skip
            ok &= crc_ok
        version_ok = hdr["version"] == AOS_VERSION
        st.bad_version += int(np.count_nonzero(ok & ~version_ok))
        ok &= version_ok
        if p.spacecraft_id is not None:
            scid_ok = hdr["spacecraft_id"] == p.spacecraft_id
            st.wrong_spacecraft += int(np.count_nonzero(ok & ~scid_ok))
            ok &= scid_ok
        st.valid_frames += int(ok.sum())
        fixed = ok & (corrected > 0)
        st.corrected_frames += int(fixed.sum())
        st.corrected_symbols += int(corrected[ok].sum())
        fill = ok & (vcid == IDLE_VCID)
        st.fill_frames += int(fill.sum())
        data = ok & ~fill
        # --- uncorrectable frames: attributed to a channel seen before them ------------
        unattributed: list[int] = []
        data_idx = np.flatnonzero(data)
        vcs, first = np.unique(vcid[data_idx], return_index=True)
        first_good = dict(zip(vcs.tolist(), data_idx[first].tolist(), strict=True))
        for i in np.flatnonzero(bad):
            v = int(vcid[i])
            seen = v in self.channels or first_good.get(v, n) < i
            if not seen:
                unattributed.append(int(i))
            out.gaps.append(DownlinkGap(
                GapKind.UNCORRECTABLE, int(starts[i]), int(ends[i]),
                vcid=v if seen else None, frames=1,
                reason="Reed-Solomon codeword with more than 16 symbol errors",
            ))  # fmt: skip
        attributed = np.setdiff1d(np.flatnonzero(bad), unattributed)
        # --- per virtual channel --------------------------------------------------------
        z0 = p.packet_zone_offset
        z1 = z0 + p.packet_zone_octets
        for v in np.unique(vcid[data]):
            v = int(v)
            sel = np.flatnonzero(data & (vcid == v))
            vc = self.channels.get(v)
            if vc is None:
                vc = VirtualChannelReassembler(v, p.packet_zone_octets)
                self.channels[v] = vc
                st.channels[v] = vc.stats
            h = hdr[sel]
            usage = h["count_usage"]
            count = h["vc_frame_count"].astype(np.int64)
            count = np.where(usage, count | (h["count_cycle"].astype(np.int64) << 24), count)
            moduli = np.where(usage, 1 << 28, 1 << 24).astype(np.int64)
            vc.stats.replay_frames += int(np.count_nonzero(h["replay"]))
            vc.stats.corrected_frames += int(np.count_nonzero(corrected[sel]))
            vc.stats.corrected_symbols += int(corrected[sel].sum())
            packets, gaps = vc.push(
                frames[sel, z0:z1], h["first_header_pointer"].astype(np.int64), count, moduli,
                starts[sel], ends[sel],
            )  # fmt: skip
            if packets:
                out.packets[v] = packets
            out.gaps.extend(gaps)
        for v in vcid[attributed].tolist():
            self.channels[v].stats.uncorrectable_frames += 1
        out.gaps.sort(key=lambda g: g.byte_start)
        return out


@dataclass
class DecodedStream:
    """Result of :func:`decode_cadu_stream`.

    Attributes
    ----------
    packets
        Per virtual channel id: all complete packets, concatenated.
    gaps
        Every loss, sorted by input byte offset.
    stats
        Link and channel statistics.
    """

    packets: dict[int, bytes]
    gaps: list[DownlinkGap]
    stats: LinkStatistics


def decode_cadu_stream(
    data: bytes,
    params: FramingParameters | None = None,
    sync: SyncParameters | None = None,
    chunk_octets: int = 8 << 20,
) -> DecodedStream:
    """Decode a whole CADU stream (convenience around :class:`CaduDecoder`).

    Parameters
    ----------
    data
        The link stream of one physical channel.
    params, sync
        Frame layout and synchroniser tuning.
    chunk_octets
        Octets per internal :meth:`CaduDecoder.feed` call (bounds memory).
    """
    decoder = CaduDecoder(params, sync)
    parts: dict[int, list[bytes]] = {}
    gaps: list[DownlinkGap] = []
    view = memoryview(data)
    for k in range(0, max(len(data), 1), chunk_octets):
        out = decoder.feed(view[k : k + chunk_octets])
        for v, b in out.packets.items():
            parts.setdefault(v, []).append(b)
        gaps.extend(out.gaps)
    out = decoder.finish()
    for v, b in out.packets.items():
        parts.setdefault(v, []).append(b)
    gaps.extend(out.gaps)
    gaps.sort(key=lambda g: g.byte_start)
    return DecodedStream({v: b"".join(x) for v, x in sorted(parts.items())}, gaps, decoder.stats)
