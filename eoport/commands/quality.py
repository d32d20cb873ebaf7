"""``eoport quality``: point-target analysis of an SLC product."""

from __future__ import annotations

import argparse
import dataclasses
import math
from typing import Any

from eoport.commands._io import check_input_path, print_json

CHIP_MARGIN = 40
"""Pixels a target must keep from the edges of the valid area (half a 64-pixel chip + search)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``eoport quality`` to the command line."""
    p = sub.add_parser("quality", help="point-target analysis of an SLC product")
    p.add_argument("file", help="SLC product (.h5)")
    p.add_argument("--targets", required=True, help="targets JSON file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=cmd_quality)


def split_targets(
    slc: Any, targets: list[Any]
) -> tuple[list[tuple[int, Any]], list[dict[str, Any]]]:
    """Split targets into those inside the product's valid area and the others.

    A scene's targets file usually covers several products (swaths, bursts): targets
    whose predicted position (from the product's own orbit) is not inside the fully
    focused lines and samples are reported as skipped, not as errors.
    """
    from sar.errors import QualityError as _QualityError
    from sar.quality.geolocation import predict_position

    lines = slc.valid_lines if slc.valid_lines[1] > slc.valid_lines[0] else (0, slc.lines)
    samples = slc.valid_samples if slc.valid_samples[1] > slc.valid_samples[0] else (0, slc.samples)
    inside: list[tuple[int, Any]] = []
    skipped: list[dict[str, Any]] = []
    for i, t in enumerate(targets):
        try:
            line, sample = predict_position(slc, t.lat, t.lon, t.height)
        except _QualityError as exc:
            skipped.append({"target": i, "reason": str(exc)})
            continue
        if (
            lines[0] + CHIP_MARGIN <= line < lines[1] - CHIP_MARGIN
            and samples[0] + CHIP_MARGIN <= sample < samples[1] - CHIP_MARGIN
        ):
            inside.append((i, t))
        else:
            skipped.append(
                {"target": i, "reason": f"predicted at line {line:.1f}, sample {sample:.1f}"}
            )
    return inside, skipped


def cmd_quality(args: argparse.Namespace) -> int:
    """Measure resolution, PSLR, ISLR and geolocation error of every target."""
    from sar.errors import QualityError
    from sar.product.slc import read_slc
    from sar.quality.geolocation import analyse_targets
    from sar.sim.scene import load_targets

    check_input_path(args.file, what="SLC product")
    check_input_path(args.targets, what="targets file")
    targets = load_targets(args.targets)
    slc = read_slc(args.file)
    inside, skipped = split_targets(slc, targets)
    if not inside:
        raise QualityError(
            f"none of the {len(targets)} targets lies in the focused area of {args.file}"
        )
    reports = [
        dataclasses.replace(report, name=str(index))
        for (index, _), report in zip(
            inside, analyse_targets(slc, [t for _, t in inside]), strict=True
        )
    ]
    rows = [r.to_dict() for r in reports]
    if args.json:
        print_json({"product": args.file, "targets": rows, "skipped": skipped})
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
    if skipped:
        print(
            f"skipped {len(skipped)} target(s) outside the focused area: "
            + ", ".join(str(item["target"]) for item in skipped)
        )
    return 0
