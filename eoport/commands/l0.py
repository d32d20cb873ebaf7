"""``eoport l0 info`` and ``eoport l0 decode``."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from eoport.commands._io import print_json, read_input_file


def _decode(path: str, *, strict: bool = True) -> Any:
    from sar.errors import Level0Error
    from sar.l0.packets import decode_packets

    data = read_input_file(path, what="Level-0 file")
    packets = decode_packets(data, strict=strict)
    if len(packets.headers) == 0:
        raise Level0Error(f"not a Level-0 file: no valid space packet found in {path}", 0)
    return packets


def cmd_info(args: argparse.Namespace) -> int:
    """Print a summary of a Level-0 file."""
    from sar.l0.info import summarize_packets

    packets = _decode(args.file)
    summary = summarize_packets(packets).to_dict()
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
    """Decode packets into an .npz with I/Q, sample counts and every header field."""
    from sar.l0.fields import SPEC_FIELD_NAMES
    from sar.l0.radar import physical_header_fields

    packets = _decode(args.file)
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
    arrays.update(physical_header_fields(headers))
    out = args.output
    with open(out, "wb") as fh:
        np.savez(fh, **arrays)
    print(
        f"wrote {out}: {len(headers)} packets ({args.signal}), "
        f"iq {packets.iq.shape[0]} x {packets.iq.shape[1]} complex64"
    )
    return 0
