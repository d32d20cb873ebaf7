"""Level-0 packet streams: decode to headers + complex samples, and encode back.

Implements S1-IF-ASD-PL-0007 (issue 13) sections 3 (packet layout) and 4-5 (user data
decoding and reconstruction) for every data format: bypass, BAQ 3/4/5 bit and FDBAQ.
The BAQ mode may change from packet to packet (noise and calibration packets in
bypass or BAQ among FDBAQ echoes). The decoder keeps each block's BRC and THIDX, so that
:func:`reencode_packets` reproduces the packets bit-exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sar.constants import SYNC_MARKER
from sar.errors import CorruptPacketError, Level0Error, TruncatedPacketError
from sar.l0.encoders import encode_user_data
from sar.l0.enums import BAQ_MODES
from sar.l0.fields import HEADER_DTYPE, HeaderArray
from sar.l0.framing import REASON, TRUNCATED, scan_packets
from sar.l0.headers import HEADER_BYTES, decode_headers, encode_headers, validate_headers
from sar.l0.userdata import BLOCK_QUADS, OK, STATUS_TEXT, TOO_SHORT, decode_user_data_blocks


@dataclass(frozen=True)
class Level0Packets:
    """Decoded packets.

    Attributes
    ----------
    headers
        One :data:`~sar.l0.fields.HEADER_DTYPE` record per packet.
    iq
        complex64 samples, shape (n, max_samples), zero-padded after
        ``headers["n_samples"][i]`` samples; ADC units.
    skipped_bytes
        Bytes of the input that were not part of a decoded packet (lenient decoding).
    dropped_packets
        Corrupt packets or garbage runs that were skipped (lenient decoding).
    block_brc
        int16, shape (n, max_blocks): FDBAQ bit-rate code of each 128-quad block as read
        from the user data (S1-IF-ASD-PL-0007 section 4.4), -1 where there is none
        (bypass and BAQ packets, past a packet's last block); ``None`` when not known.
    block_thidx
        int16, shape (n, max_blocks): THIDX of each block of BAQ and FDBAQ packets
        (sections 4.3, 4.4; 0-255), -1 where there is none (bypass, past the last
        block); ``None`` when not known. With ``block_brc``, :func:`reencode_packets`
        reproduces the original packets bit-exactly.
    """

    headers: HeaderArray
    iq: npt.NDArray[np.complex64]
    skipped_bytes: int = 0
    dropped_packets: int = 0
    block_brc: npt.NDArray[np.int16] | None = None
    block_thidx: npt.NDArray[np.int16] | None = None

    def __len__(self) -> int:
        return int(self.headers.shape[0])

    def select(self, mask: npt.NDArray[np.bool_]) -> Level0Packets:
        """Return the packets where ``mask`` is true (columns trimmed to the longest)."""
        headers = self.headers[mask]
        width = int(headers["n_samples"].max()) if headers.size else 0
        quads = int(headers["number_of_quads"].max()) if headers.size else 0
        nblocks = (quads + BLOCK_QUADS - 1) // BLOCK_QUADS
        brc = None if self.block_brc is None else self.block_brc[mask, :nblocks]
        thidx = None if self.block_thidx is None else self.block_thidx[mask, :nblocks]
        return Level0Packets(
            headers, self.iq[mask, :width], self.skipped_bytes, self.dropped_packets, brc, thidx
        )


def _as_buffer(
    data: bytes | bytearray | memoryview | npt.NDArray[np.uint8],
) -> npt.NDArray[np.uint8]:
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data, dtype=np.uint8).ravel()
    return np.frombuffer(bytes(data) if isinstance(data, memoryview) else data, dtype=np.uint8)


def expected_user_data_sizes(
    number_of_quads: npt.NDArray[np.int64], baq_modes: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Exact user data sizes (bytes, 4-octet padded) of bypass and BAQ packets.

    Sections 4.2 and 4.3 of S1-IF-ASD-PL-0007: each channel is ``ceil(bits / 16)`` words,
    the QE channel adds 8 THIDX bits per 128-quad block. FDBAQ sizes depend on the
    Huffman codes and are given as -1.
    """
    nq = number_of_quads.astype(np.int64)
    bits = np.where(baq_modes == 0, 10, baq_modes).astype(np.int64)
    nblocks = (nq + BLOCK_QUADS - 1) // BLOCK_QUADS
    words = (bits * nq + 15) // 16
    words_qe = np.where(baq_modes == 0, words, (bits * nq + 8 * nblocks + 15) // 16)
    size = ((2 * (3 * words + words_qe) + 3) // 4) * 4
    known = (baq_modes == 0) | np.isin(baq_modes, np.array(sorted(BAQ_MODES)))
    out: npt.NDArray[np.int64] = np.where(known, size, -1)
    return out


def decode_packets(
    data: bytes | bytearray | memoryview | npt.NDArray[np.uint8],
    *,
    signal_types: set[int] | None = None,
    strict: bool = True,
    reference: bool = False,
) -> Level0Packets:
    """Decode a stream of Sentinel-1 space packets.

    Parameters
    ----------
    data
        Concatenated packets (a Level-0 ``.dat`` file's content).
    signal_types
        Keep only packets with these SIGTYP codes (:class:`~sar.l0.enums.SignalType`);
        default all.
    strict
        Raise on the first corrupt packet; otherwise skip it (and any garbage) and count
        it in ``skipped_bytes`` / ``dropped_packets``.
    reference
        Decode the user data with the previous kernels
        (:mod:`sar.l0.userdata_reference`): same result, slower; for tests and benchmarks.

    Returns
    -------
    Level0Packets

    Raises
    ------
    CorruptPacketError, SyncMarkerError, TruncatedPacketError
        In strict mode, with the byte offset of the bad packet.
    """
    buf = _as_buffer(data)
    offsets, lengths, skipped, dropped, code, where = scan_packets(buf, strict)
    if code < 0:
        _raise_framing(buf, int(code), int(where))
    headers = decode_headers(buf, offsets, validate=False)
    if strict:
        validate_headers(headers)
    keep = np.ones(headers.size, dtype=bool)
    if signal_types is not None:
        keep &= np.isin(headers["signal_type"], np.array(sorted(signal_types), dtype=np.int64))
    headers, lengths = headers[keep], lengths[keep]
    starts = headers["byte_offset"] + HEADER_BYTES
    ends = headers["byte_offset"] + lengths
    quads = headers["number_of_quads"].astype(np.int64)
    modes = headers["baq_mode"].astype(np.int64)
    expected = expected_user_data_sizes(quads, modes)
    status = np.where((expected >= 0) & (expected != ends - starts), TOO_SHORT, OK)
    iq, decoded, block_brc, block_thidx = decode_user_data_blocks(
        buf, starts, ends, quads, modes, reference=reference
    )
    status = np.where(status != OK, status, decoded)
    bad = status != OK
    if np.any(bad):
        i = int(np.argmax(bad))
        if strict:
            raise CorruptPacketError(
                f"packet {i}: {STATUS_TEXT[int(status[i])]} "
                f"(number_of_quads {int(quads[i])}, baq_mode {int(modes[i])}, "
                f"user data {int(ends[i] - starts[i])} bytes)",
                int(headers["byte_offset"][i]),
            )
        skipped += int((ends[bad] - starts[bad] + HEADER_BYTES).sum())
        dropped += int(bad.sum())
        headers, iq = headers[~bad], iq[~bad]
        width = int(headers["n_samples"].max()) if headers.size else 0
        iq = iq[:, :width]
        quads_kept = int(headers["number_of_quads"].max()) if headers.size else 0
        nblocks = (quads_kept + BLOCK_QUADS - 1) // BLOCK_QUADS
        block_brc = block_brc[~bad, :nblocks]
        block_thidx = block_thidx[~bad, :nblocks]
    return Level0Packets(headers, iq, int(skipped), int(dropped), block_brc, block_thidx)


def _raise_framing(buf: npt.NDArray[np.uint8], code: int, where: int) -> None:
    if code == TRUNCATED:
        raise TruncatedPacketError("stream ends inside a packet", where)
    hint = "" if where == 0 else " (or the previous packet's length is wrong)"
    message = f"no valid packet here: {REASON[code]}{hint}"
    if code == -2:
        from sar.errors import SyncMarkerError

        raise SyncMarkerError(message, where)
    raise CorruptPacketError(message, where)


def encode_packets(
    headers: HeaderArray,
    iq: npt.NDArray[np.complex64],
    *,
    brc: int | npt.NDArray[np.integer] | None = None,
    thidx: npt.NDArray[np.integer] | None = None,
) -> bytes:
    """Encode packets: headers plus complex samples, quantised per the header's BAQ mode.

    ``number_of_quads``, ``packet_data_length``, ``n_samples``, ``baq_block_length``
    (31: 256-sample blocks, section 3.2.5.3), ``sync_marker``, ``packet_version_number``,
    ``packet_type`` and ``secondary_header_flag`` are filled in; all other fields are
    written as given. Packet ``i`` uses ``headers["n_samples"][i]`` samples of
    ``iq[i]`` (all of the row when that is 0).

    Parameters
    ----------
    headers
        Header records, shape (n,).
    iq
        complex64 samples, shape (n, max_samples), ADC units.
    brc
        FDBAQ bit-rate codes (0-4): one for every block, one per packet (shape (n,)) or
        one per 128-quad block (shape (n, max_blocks), as
        :attr:`Level0Packets.block_brc`); -1 entries, and the default, choose per block
        (:func:`~sar.l0.encoders.choose_brc_thidx`). Ignored for bypass/BAQ packets.
    thidx
        THIDX (0-255) per block, shape (n, max_blocks) (as
        :attr:`Level0Packets.block_thidx`); -1 entries, and the default, choose the
        THIDX of least quantisation error. Ignored for bypass packets.

    Notes
    -----
    With the decoded ``block_brc`` and ``block_thidx`` (:func:`reencode_packets`),
    re-encoding decoded packets reproduces their bytes exactly for every BAQ mode. The
    default choice is idempotent: ``encode(decode(encode(x))) == encode(x)``; packets
    from another encoder (the satellite) re-encode exactly only with the explicit
    per-block parameters, since their THIDX/BRC choice rule is not this one.

    Returns
    -------
    bytes
        The concatenated packets.
    """
    if iq.ndim != 2 or iq.shape[0] != headers.shape[0]:
        raise Level0Error("iq must have shape (n_packets, n_samples)")
    filled = np.array(headers, dtype=HEADER_DTYPE, copy=True)
    brc_rows = _block_rows(brc, filled.size, "brc", allow_per_packet=True)
    thidx_rows = _block_rows(thidx, filled.size, "thidx", allow_per_packet=False)
    chunks: list[bytes] = []
    bodies: list[bytes] = []
    offset = 0
    for i in range(filled.size):
        n = int(filled["n_samples"][i]) or iq.shape[1]
        nblocks = ((n + 1) // 2 + BLOCK_QUADS - 1) // BLOCK_QUADS
        brc_i = _row(brc_rows, brc, i, nblocks, "brc")
        thidx_i = _row(thidx_rows, None, i, nblocks, "thidx")
        body, nq = encode_user_data(iq[i, :n], int(filled["baq_mode"][i]), brc=brc_i, thidx=thidx_i)
        if HEADER_BYTES + len(body) - 7 >= 1 << 16:
            raise CorruptPacketError(f"packet {i}: {len(body)} bytes of user data is too long")
        filled["number_of_quads"][i] = nq
        filled["n_samples"][i] = 2 * nq
        filled["packet_data_length"][i] = HEADER_BYTES + len(body) - 7
        filled["byte_offset"][i] = offset
        offset += HEADER_BYTES + len(body)
        bodies.append(body)
    filled["baq_block_length"] = np.where(filled["baq_mode"] == 0, filled["baq_block_length"], 31)
    filled["sync_marker"] = SYNC_MARKER
    filled["packet_version_number"] = 0
    filled["packet_type"] = 0
    filled["secondary_header_flag"] = 1
    rows = encode_headers(filled)
    for i, body in enumerate(bodies):
        chunks.append(rows[i].tobytes())
        chunks.append(body)
    return b"".join(chunks)


def _block_rows(
    values: int | npt.NDArray[np.integer] | None, n: int, name: str, *, allow_per_packet: bool
) -> npt.NDArray[np.int64] | None:
    """Per-block parameter array (n, max_blocks), or None when not per block."""
    if values is None or not isinstance(values, np.ndarray):
        return None
    if values.ndim == 1 and allow_per_packet and values.shape[0] == n:
        return None
    if values.ndim != 2 or values.shape[0] != n:
        shapes = "(n_packets,) or (n_packets, max_blocks)" if allow_per_packet else "(n, blocks)"
        raise Level0Error(f"{name} must have shape {shapes}, got {values.shape}")
    return values.astype(np.int64)


def _row(
    rows: npt.NDArray[np.int64] | None,
    scalar: int | npt.NDArray[np.integer] | None,
    i: int,
    nblocks: int,
    name: str,
) -> int | npt.NDArray[np.int64] | None:
    """Packet ``i``'s parameter: its first ``nblocks`` per-block values, or one value."""
    if rows is not None:
        if rows.shape[1] < nblocks:
            raise Level0Error(f"packet {i}: {name} has {rows.shape[1]} blocks, need {nblocks}")
        row: npt.NDArray[np.int64] = rows[i, :nblocks]
        return row
    if isinstance(scalar, np.ndarray):
        return int(scalar[i])
    return scalar


def reencode_packets(packets: Level0Packets) -> bytes:
    """Encode decoded packets again, with their own per-block BRC and THIDX.

    For packets from :func:`decode_packets` this reproduces the decoded packets' bytes
    exactly (S1-IF-ASD-PL-0007 sections 3-4; bytes skipped in lenient decoding are not
    part of the output). Without block parameters the encoder's default choice is used.
    """
    return encode_packets(
        packets.headers, packets.iq, brc=packets.block_brc, thidx=packets.block_thidx
    )


def read_level0(
    path: str | Path, *, signal_types: set[int] | None = None, strict: bool = True
) -> Level0Packets:
    """Read and decode a Level-0 ``.dat`` file (arguments as in :func:`decode_packets`)."""
    data = Path(path).read_bytes()
    return decode_packets(data, signal_types=signal_types, strict=strict)
