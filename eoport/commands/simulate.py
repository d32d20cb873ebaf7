"""``eoport simulate``: a Level-0 file of point targets with its truth file."""

from __future__ import annotations

import argparse
from pathlib import Path

from eoport.commands._io import check_input_path, parse_lat_lon, print_json
from eoport.errors import InvalidArgumentError

MODES = ("S1", "S2", "S3", "S4", "S5", "S6", "IW")

DOWNLINK_HELP = (
    "isp (default): the packet file only; cadu[:KEY=VALUE,...]: also one CADU stream per "
    "X-band channel, <output>.ch1.cadu and <output>.ch2.cadu (sar.downlink), with optional "
    "impairments ber, burst, burst_octets, drop, slip, max_slip, garbage, seed and idle "
    "frames fill=N (one every N frames)"
)
_DOWNLINK_KEYS = (
    "ber", "burst", "burst_octets", "drop", "slip", "max_slip", "garbage", "seed", "fill",
)  # fmt: skip


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``eoport simulate`` to the command line."""
    p = sub.add_parser("simulate", help="simulate a Level-0 file of point targets")
    p.add_argument("--mode", required=True, help="S1..S6 (stripmap) or IW")
    p.add_argument("--center", required=True, help="scene centre LAT,LON in degrees")
    p.add_argument("--duration", required=True, type=float, help="sensing duration, s")
    p.add_argument("--targets", required=True, help="targets JSON file")
    p.add_argument("-o", "--output", required=True, help="output Level-0 file (RAW.dat)")
    p.add_argument("--pol", default="VV", choices=("VV", "VH", "HH", "HV", "VV+VH", "HH+HV"))
    p.add_argument("--baq", default="fdbaq", choices=("fdbaq", "bypass", "3", "4", "5"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--samples",
        type=int,
        default=None,
        help="range samples per line (default: the mode's full swath)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("--downlink", default="isp", help=DOWNLINK_HELP)
    p.set_defaults(handler=cmd_simulate)


def parse_downlink(spec: str) -> dict[str, float] | None:
    """``--downlink`` value: ``None`` for ``isp``, else the CADU options (may be empty)."""
    kind, _, rest = spec.partition(":")
    if kind == "isp" and not rest:
        return None
    if kind != "cadu":
        raise InvalidArgumentError(f"--downlink must be isp or cadu[:KEY=VALUE,...], got {spec!r}")
    options: dict[str, float] = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq or key not in _DOWNLINK_KEYS:
            raise InvalidArgumentError(f"--downlink: unknown option {item!r}")
        try:
            options[key] = float(value)
        except ValueError:
            raise InvalidArgumentError(f"--downlink: {key} needs a number, got {value!r}") from None
    return options


def write_downlink(path: Path, data: bytes, options: dict[str, float]) -> list[str]:
    """Write the CADU stream of each X-band channel next to ``path``; return the paths."""
    from sar.downlink.impairments import Impairments
    from sar.downlink.simulation import write_downlink as write_cadus

    imp = None
    if set(options) - {"fill"}:
        imp = Impairments(
            bit_error_rate=options.get("ber", 0.0), burst_rate=options.get("burst", 0.0),
            burst_octets=int(options.get("burst_octets", 40)),
            drop_rate=options.get("drop", 0.0), slip_rate=options.get("slip", 0.0),
            max_slip_bits=int(options.get("max_slip", 1)),
            leading_garbage=int(options.get("garbage", 0)), seed=int(options.get("seed", 0)),
        )  # fmt: skip
    files = write_cadus(path, data, impairments=imp, fill_every=int(options.get("fill", 0)))
    return [str(f) for f in files]


def cmd_simulate(args: argparse.Namespace) -> int:
    """Simulate a data-take and write ``RAW.dat`` and ``RAW.dat.json``."""
    mode = args.mode.upper()
    if mode not in MODES:
        raise InvalidArgumentError(
            f"unknown --mode {args.mode!r}: choose one of {', '.join(MODES)}"
        )
    center = parse_lat_lon(args.center)
    if not args.duration > 0:
        raise InvalidArgumentError(f"--duration must be positive, got {args.duration}")
    downlink = parse_downlink(getattr(args, "downlink", "isp"))
    if args.samples is not None and args.samples < 64:
        raise InvalidArgumentError(f"--samples must be at least 64, got {args.samples}")
    from sar.sim.datatake import simulate_datatake, write_simulation
    from sar.sim.scene import load_targets

    check_input_path(args.targets, what="targets file")
    targets = load_targets(args.targets)
    baq = args.baq if args.baq in ("fdbaq", "bypass") else f"baq{args.baq}"
    datatake = simulate_datatake(
        mode,
        center,
        args.duration,
        targets,
        pol=args.pol,
        baq=baq,
        seed=args.seed,
        n_samples=args.samples,
    )
    path = write_simulation(args.output, datatake)
    summary = {
        "output": str(path),
        "truth": f"{path}.json",
        "bytes": len(datatake.data),
        "packets": int(len(datatake.headers)),
        "mode": mode,
        "targets": len(targets),
    }
    cadu_files = [] if downlink is None else write_downlink(path, datatake.data, downlink)
    if cadu_files:
        summary["cadu"] = cadu_files
    if args.json:
        print_json(summary)
    else:
        print(
            f"wrote {path} ({summary['packets']} packets, {summary['bytes']} bytes) and {path}.json"
        )
        if cadu_files:
            print(f"wrote CADU streams {', '.join(cadu_files)}")
    return 0
