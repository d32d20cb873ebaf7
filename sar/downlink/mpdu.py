"""Packet reassembly from the M_PDUs of one virtual channel (CCSDS 732.0-B 4.1.4).

Space packets (CCSDS 133.0-B) are laid end to end in the packet zones of consecutive
frames of a virtual channel, spanning frame boundaries; the first header pointer (FHP)
of each M_PDU gives the offset of the first packet that *starts* in its zone (0x7FF:
none, 0x7FE: idle data only). Walking the packets by their length fields, the FHP of
every frame entered is checked against the walk. After a loss (a jump of the VC frame
counter, which includes frames dropped as uncorrectable) the packet in progress is
discarded and the walk restarts at the next FHP, exactly as a packet receiver does;
the same happens when an FHP disagrees with the walk or a packet header is not
version 0. Idle packets (APID 0x7FF) are dropped.

:class:`VirtualChannelReassembler` is incremental: frames arrive in batches, a packet
in progress is carried over to the next batch. Its output is the channel's packet
stream (complete packets only, concatenated) and :class:`~sar.downlink.records.DownlinkGap`
records of what was lost.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

from sar.downlink.params import FHP_IDLE_DATA, FHP_NO_PACKET_START, IDLE_APID
from sar.downlink.records import ChannelStatistics, DownlinkGap, GapKind

EV_BREAK = 1
EV_MISMATCH = 2
EV_BAD_HEADER = 3

_REASONS = {
    EV_BREAK: "packet interrupted by lost frames",
    EV_MISMATCH: "first header pointer disagrees with the packet lengths",
    EV_BAD_HEADER: "packet primary header is not version 0",
}


@nb.njit(cache=True, nogil=True, inline="always")
def _record(
    ev: npt.NDArray[np.int64], ne: int, kind: int, frame: int, start: int, stop: int
) -> int:
    """Write event ``ne`` (kind, frame, discarded octets ``[start, stop)``); the next index."""
    ev[ne, 0] = kind
    ev[ne, 1] = frame
    ev[ne, 2] = start
    ev[ne, 3] = stop
    return ne + 1


@nb.njit(cache=True, nogil=True)
def _walk(
    stream: npt.NDArray[np.uint8],
    zone0: int,
    zone_len: int,
    fhp: npt.NDArray[np.int64],
    brk: npt.NDArray[np.bool_],
    pos_in: int,
) -> tuple[npt.NDArray[np.int64], int, npt.NDArray[np.int64], int, int, int, int]:
    """Walk the packets of one batch.

    Returns packets (k, 3: start, end, idle), their count, events (e, 4: kind, frame,
    discard start, discard end), their count, octets skipped while resynchronising,
    the position of the packet in progress at the end (-1: resynchronising) and the
    number of idle-only zones.
    """
    m = fhp.size
    end = stream.size
    max_pk = end // 7 + 2
    pk = np.empty((max_pk, 3), dtype=np.int64)
    ev = np.empty((2 * m + 4, 4), dtype=np.int64)
    npk = 0
    ne = 0
    skipped = 0
    idle_only = 0
    for f in range(m):
        if fhp[f] == FHP_IDLE_DATA:
            idle_only += 1
    pos = pos_in
    j = 0  # first frame not yet entered
    while True:
        if pos < 0:
            while j < m and fhp[j] >= FHP_IDLE_DATA:
                skipped += zone_len
                j += 1
            if j >= m:
                break
            pos = zone0 + j * zone_len + fhp[j]
            j += 1
            continue
        # a packet opening a frame enters it: the frame's FHP must be 0
        if j < m and pos == zone0 + j * zone_len:
            if brk[j]:
                pos = -1
                continue
            if fhp[j] != 0:
                ne = _record(ev, ne, EV_MISMATCH, j, pos, pos)
                pos = -1
                continue
            j += 1
        need = pos + 6
        f = j
        broken = False
        while f < m and zone0 + f * zone_len < need:
            if brk[f]:
                zs = zone0 + f * zone_len
                ne = _record(ev, ne, EV_BREAK, f, pos, zs)
                pos = -1
                j = f
                broken = True
                break
            f += 1
        if broken:
            continue
        if need > end:
            break
        if (stream[pos] & 0xE0) != 0:
            stop = min(end, zone0 + j * zone_len) if j > 0 else pos
            ne = _record(ev, ne, EV_BAD_HEADER, max(j - 1, 0), pos, stop)
            pos = -1
            continue
        length = int((np.int64(stream[pos + 4]) << 8) | np.int64(stream[pos + 5])) + 7
        pend = pos + length
        apid = int(((np.int64(stream[pos]) & 0x07) << 8) | np.int64(stream[pos + 1]))
        # enter the frames this packet runs into
        while j < m and zone0 + j * zone_len < pend:
            zs = zone0 + j * zone_len
            if brk[j]:
                ne = _record(ev, ne, EV_BREAK, j, pos, zs)
                pos = -1
                broken = True
                break
            expected = pend - zs if pend < zs + zone_len else FHP_NO_PACKET_START
            if fhp[j] != expected:
                ne = _record(ev, ne, EV_MISMATCH, j, pos, zs)
                pos = -1
                broken = True
                break
            j += 1
        if broken:
            continue
        if pend > end:
            break
        pk[npk, 0] = pos
        pk[npk, 1] = pend
        pk[npk, 2] = 1 if apid == IDLE_APID else 0
        npk += 1
        pos = pend
    return pk[:npk], npk, ev[:ne], ne, skipped, pos, idle_only


@nb.njit(cache=True, nogil=True)
def _gather(
    stream: npt.NDArray[np.uint8], pk: npt.NDArray[np.int64], total: int
) -> npt.NDArray[np.uint8]:
    out = np.empty(total, dtype=np.uint8)
    o = 0
    for k in range(pk.shape[0]):
        if pk[k, 2]:
            continue
        n = pk[k, 1] - pk[k, 0]
        out[o : o + n] = stream[pk[k, 0] : pk[k, 1]]
        o += n
    return out


class VirtualChannelReassembler:
    """Incremental packet extraction for one virtual channel.

    Parameters
    ----------
    vcid
        Virtual channel id (for the records).
    zone_octets
        Packet zone length of each frame, octets.
    """

    def __init__(self, vcid: int, zone_octets: int) -> None:
        self.vcid = vcid
        self.zone_octets = zone_octets
        self.stats = ChannelStatistics(vcid)
        self._carry = np.zeros(0, dtype=np.uint8)
        self._carry_pos = -1  # start of the packet in progress in _carry, -1: resyncing
        # frames holding the carried octets: offset in the carry, input start, input end
        self._carry_map = np.zeros((0, 3), dtype=np.int64)
        self._last_count: int | None = None
        self._last_modulus = 1 << 24
        self._last_frame_end = 0
        self.bytes_out = 0

    def push(
        self,
        zones: npt.NDArray[np.uint8],
        fhp: npt.NDArray[np.int64],
        counts: npt.NDArray[np.int64],
        moduli: npt.NDArray[np.int64],
        frame_starts: npt.NDArray[np.int64],
        frame_ends: npt.NDArray[np.int64],
    ) -> tuple[bytes, list[DownlinkGap]]:
        """Add the next valid frames of this channel, in link order.

        Parameters
        ----------
        zones
            uint8, shape (m, zone_octets): packet zones.
        fhp
            First header pointers, shape (m,).
        counts
            VC frame counts (extended by the count cycle when it is used), shape (m,).
        moduli
            Counter modulus of each frame (2^24, or 2^28 with the cycle), shape (m,).
        frame_starts, frame_ends
            Octet range of each frame's CADU in the input link stream.

        Returns
        -------
        bytes
            Complete packets that became available, concatenated.
        list of DownlinkGap
            Losses found in this batch.
        """
        m = int(fhp.size)
        if m == 0:
            return b"", []
        gaps: list[DownlinkGap] = []
        # --- counter continuity ---------------------------------------------------
        prev = np.empty(m, dtype=np.int64)
        prev[1:] = counts[:-1]
        prev[0] = -1 if self._last_count is None else self._last_count
        diff = (counts - prev - 1) % moduli
        brk = diff != 0
        if self._last_count is None:
            brk[0] = False
        prev_end = np.empty(m, dtype=np.int64)
        prev_end[1:] = frame_ends[:-1]
        prev_end[0] = self._last_frame_end
        # --- packet walk ------------------------------------------------------------
        zones_flat = np.ascontiguousarray(zones).reshape(-1)
        if self._carry_pos >= 0 and self._carry.size > self._carry_pos:
            stream = np.concatenate([self._carry[self._carry_pos :], zones_flat])
        else:
            stream = zones_flat
        carry_len = stream.size - zones_flat.size
        pos_in = 0 if self._carry_pos >= 0 else -1
        pk, npk, ev, ne, skipped, pos, idle_only = _walk(
            stream, carry_len, self.zone_octets, fhp.astype(np.int64), brk, pos_in
        )
        real = pk[:, 2] == 0
        lengths = np.where(real, pk[:, 1] - pk[:, 0], 0)
        total = int(lengths.sum())
        out = _gather(stream, pk, total).tobytes() if total else b""
        cum_end = pk[:, 1]
        cum_out = np.cumsum(lengths)

        def out_offset(x: int) -> int:
            k = int(np.searchsorted(cum_end, x, side="right"))
            return self.bytes_out + (int(cum_out[k - 1]) if k > 0 else 0)

        # input range of the frame holding each stream octet: carried frames, then zones
        seg = np.concatenate([
            self._carry_map if carry_len else np.zeros((0, 3), dtype=np.int64),
            np.stack([carry_len + np.arange(m, dtype=np.int64) * self.zone_octets,
                      frame_starts, frame_ends], axis=1),
        ])  # fmt: skip

        def frame_of(x: int) -> int:
            return max(int(np.searchsorted(seg[:, 0], x, side="right")) - 1, 0)

        def input_of(x: int, end_side: bool) -> int:
            return int(seg[frame_of(x), 2 if end_side else 1])

        # --- gap records --------------------------------------------------------------
        for j in np.flatnonzero(brk):
            d = int(diff[j])
            mod = int(moduli[j])
            zs = carry_len + int(j) * self.zone_octets
            if d < mod // 2:
                first = (int(prev[j]) + 1) % mod
                gaps.append(DownlinkGap(
                    GapKind.LOST_FRAMES, int(prev_end[j]), int(frame_starts[j]), self.vcid,
                    first_count=first, last_count=(first + d - 1) % mod, frames=d,
                    output_offset=out_offset(zs),
                    reason=f"VC frame counter jumps from {int(prev[j])} to {int(counts[j])}",
                ))  # fmt: skip
                self.stats.lost_frames += d
            else:
                self.stats.counter_discontinuities += 1
                gaps.append(DownlinkGap(
                    GapKind.LOST_FRAMES, int(prev_end[j]), int(frame_starts[j]), self.vcid,
                    output_offset=out_offset(zs),
                    reason=f"VC frame counter goes back from {int(prev[j])} to {int(counts[j])}",
                ))  # fmt: skip
        for e in range(ne):
            kind, frame, d0, d1 = (int(v) for v in ev[e])
            n = max(0, d1 - d0)
            if kind == EV_MISMATCH:
                self.stats.fhp_mismatches += 1
            elif kind == EV_BAD_HEADER:
                self.stats.bad_packet_headers += 1
            if n == 0 and kind == EV_BREAK:
                continue
            self.stats.discarded_octets += n
            gaps.append(DownlinkGap(
                GapKind.DISCARDED_PACKET, input_of(d0, False),
                max(input_of(max(d1 - 1, d0), True),
                    int(frame_starts[frame] if kind == EV_BREAK else frame_ends[frame])),
                self.vcid,
                octets=n, output_offset=out_offset(d0), reason=_REASONS[kind],
            ))  # fmt: skip
        # --- carry-over ---------------------------------------------------------------
        if pos >= 0:
            k = frame_of(pos)
            cmap = seg[k:].copy()
            cmap[:, 0] -= pos
            cmap[0, 0] = 0
            self._carry_map = cmap
            self._carry = stream[pos:].copy()
            self._carry_pos = 0
        else:
            self._carry = np.zeros(0, dtype=np.uint8)
            self._carry_pos = -1
        self._last_count = int(counts[-1])
        self._last_modulus = int(moduli[-1])
        self._last_frame_end = int(frame_ends[-1])
        st = self.stats
        st.frames += m
        st.idle_only_frames += idle_only
        st.packets += int(real.sum())
        st.idle_packets += int(npk - real.sum())
        st.bytes_out += total
        st.resync_skipped_octets += skipped
        self.bytes_out += total
        return out, gaps

    def finish(self, input_end: int) -> list[DownlinkGap]:
        """End of the pass: a packet still in progress is reported as truncated.

        Parameters
        ----------
        input_end
            Octet offset of the end of the input link stream.
        """
        gaps: list[DownlinkGap] = []
        if self._carry_pos >= 0 and self._carry.size > self._carry_pos:
            n = int(self._carry.size - self._carry_pos)
            self.stats.discarded_octets += n
            gaps.append(DownlinkGap(
                GapKind.TRUNCATED, int(self._carry_map[0, 1]), input_end, self.vcid, octets=n,
                output_offset=self.bytes_out, reason="pass ends inside a packet",
            ))  # fmt: skip
        self._carry = np.zeros(0, dtype=np.uint8)
        self._carry_pos = -1
        return gaps
