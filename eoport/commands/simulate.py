"""``eoport simulate``: a Level-0 file of point targets with its truth file."""

from __future__ import annotations

import argparse

from eoport.commands._io import check_input_path, parse_lat_lon, print_json
from eoport.errors import InvalidArgumentError

MODES = ("S1", "S2", "S3", "S4", "S5", "S6", "IW")


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
    if args.json:
        print_json(summary)
    else:
        print(
            f"wrote {path} ({summary['packets']} packets, {summary['bytes']} bytes) and {path}.json"
        )
    return 0
