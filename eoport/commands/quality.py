"""``eoport quality``: point-target analysis of an SLC product."""

from __future__ import annotations

import argparse
import math

from eoport.commands._io import check_input_path, print_json


def cmd_quality(args: argparse.Namespace) -> int:
    """Measure resolution, PSLR, ISLR and geolocation error of every target."""
    from sar.product.slc import read_slc
    from sar.quality.geolocation import analyse_targets
    from sar.sim.scene import load_targets

    check_input_path(args.file, what="SLC product")
    check_input_path(args.targets, what="targets file")
    targets = load_targets(args.targets)
    slc = read_slc(args.file)
    reports = analyse_targets(slc, targets)
    rows = [r.to_dict() for r in reports]
    if args.json:
        print_json({"product": args.file, "targets": rows})
        return 0
    print(f"{args.file}: {slc.mode} {slc.swath} {slc.polarisation}, {slc.lines} x {slc.samples}")
    for r in reports:
        geo_m = math.hypot(r.range_error_m, r.azimuth_error_m)
        print(
            f"target {r.name} (lat {r.lat:.5f}, lon {r.lon:.5f}, h {r.height:.0f} m): "
            f"geolocation error {geo_m:.3f} m "
            f"(range {r.range_error_px:+.4f} px, azimuth {r.azimuth_error_px:+.4f} px)"
        )
        for axis, res_m, res_px, pslr, islr, theory in (
            ("range", r.range_resolution_m, r.range_resolution_px, r.range_pslr_db,
             r.range_islr_db, r.range_theory),
            ("azimuth", r.azimuth_resolution_m, r.azimuth_resolution_px, r.azimuth_pslr_db,
             r.azimuth_islr_db, r.azimuth_theory),
        ):  # fmt: skip
            ideal = (
                f"  [theory {theory[0]:.3f} px, {theory[1]:.2f} dB, {theory[2]:.2f} dB]"
                if theory
                else ""
            )
            print(
                f"  {axis:<8} resolution {res_m:7.3f} m ({res_px:.3f} px)  "
                f"PSLR {pslr:7.2f} dB  ISLR {islr:7.2f} dB{ideal}"
            )
    return 0
