"""``eoport l0 info`` and ``eoport l0 decode``."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from eoport.commands._io import print_json, read_input_file

LENIENT_HELP = (
    "skip corrupt bytes and packets (resynchronising on the next valid header) and report "
    "skipped_bytes, dropped_packets and the skipped byte ranges; default: stop at the first"
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``eoport l0 info|decode`` to the command line."""
    p = sub.add_parser("l0", help="inspect and decode Level-0 space-packet files")
    l0sub = p.add_subparsers(dest="l0_command", required=True, metavar="COMMAND")
    info = l0sub.add_parser("info", help="summary of a Level-0 file")
    info.add_argument("file", help="Level-0 file (raw space-packet stream, e.g. an S1 .dat)")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.add_argument("--lenient", action="store_true", help=LENIENT_HELP)
    info.set_defaults(handler=cmd_info)
    dec = l0sub.add_parser("decode", help="decode packets into an .npz (I/Q + header fields)")
    dec.add_argument("file", help="Level-0 file")
    dec.add_argument("-o", "--output", required=True, help="output .npz path")
    dec.add_argument(
        "--signal",
        choices=("echo", "noise", "cal", "all"),
        default="all",
        help="which packets to decode (default: all)",
    )
    dec.add_argument("--lenient", action="store_true", help=LENIENT_HELP)
    dec.set_defaults(handler=cmd_decode)


def _decode(path: str, *, strict: bool = True) -> tuple[Any, int]:
    from sar.errors import Level0Error
    from sar.l0.packets import decode_packets

    data = read_input_file(path, what="Level-0 file")
    packets = decode_packets(data, strict=strict)
    if len(packets.headers) == 0:
        raise Level0Error(f"not a Level-0 file: no valid space packet found in {path}", 0)
    return packets, len(data)


def cmd_info(args: argparse.Namespace) -> int:
    """Print a summary of a Level-0 file (``--lenient``: skip and report corrupt parts)."""
    from sar.l0.info import summarize_packets

    packets, size = _decode(args.file, strict=not getattr(args, "lenient", False))
    summary = summarize_packets(packets, size).to_dict()
    summary["file"] = args.file
    if args.json:
        print_json(summary)
        return 0
    width = max(len(k) for k in summary)
    for key, value in summary.items():
        print(f"{key:<{width}}  {value}")
    return 0


_SIGNALS = {
    "echo": {0},
    "noise": {1},
    "cal": {8, 9, 10, 11, 12, 15},
}


def cmd_decode(args: argparse.Namespace) -> int:
    """Decode packets into an .npz with I/Q, sample counts and every header field.

    The SAS fields follow the SSB flag (S1-IF-ASD-PL-0007 section 3.2.5.13,
    :func:`sar.l0.headers.sas_fields`): ``elevation_beam_address`` and
    ``azimuth_beam_address`` for imaging packets, ``sas_test``, ``cal_type`` and
    ``calibration_beam_address`` for calibration packets, -1 where not applicable.
    ``--lenient`` skips corrupt parts and stores ``skipped_bytes``, ``dropped_packets``
    and ``skipped_ranges`` ([n, 2] byte ranges).
    """
    from sar.l0.fields import SPEC_FIELD_NAMES
    from sar.l0.headers import sas_fields
    from sar.l0.info import skipped_byte_ranges
    from sar.l0.radar import physical_header_fields

    lenient = bool(getattr(args, "lenient", False))
    packets, size = _decode(args.file, strict=not lenient)
    ranges = skipped_byte_ranges(packets.headers, size) if packets.skipped_bytes else []
    if args.signal != "all":
        mask = np.isin(packets.headers["signal_type"], sorted(_SIGNALS[args.signal]))
        packets = packets.select(mask)
    headers = packets.headers
    arrays: dict[str, Any] = {
        "iq": packets.iq,
        "n_samples": headers["n_samples"].astype(np.int32),
        "byte_offset": headers["byte_offset"],
    }
    for name in SPEC_FIELD_NAMES:
        arrays[name] = headers[name]
    arrays.update(sas_fields(headers))
    arrays.update(physical_header_fields(headers))
    arrays["skipped_bytes"] = np.int64(packets.skipped_bytes)
    arrays["dropped_packets"] = np.int64(packets.dropped_packets)
    arrays["skipped_ranges"] = np.array(ranges, dtype=np.int64).reshape(-1, 2)
    out = args.output
    with open(out, "wb") as fh:
        np.savez(fh, **arrays)
    print(
        f"wrote {out}: {len(headers)} packets ({args.signal}), "
        f"iq {packets.iq.shape[0]} x {packets.iq.shape[1]} complex64"
    )
    if lenient:
        print(
            f"skipped {packets.skipped_bytes} bytes, dropped {packets.dropped_packets} "
            f"packet(s), byte ranges {ranges}"
        )
    return 0
