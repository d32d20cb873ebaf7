"""``eoport focus``: Level-0 file to SLC products (HDF5)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from eoport.commands._io import print_json, read_input_file
from eoport.errors import InvalidArgumentError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``eoport focus`` to the command line."""
    p = sub.add_parser("focus", help="focus a Level-0 file into SLC products (HDF5)")
    p.add_argument("file", nargs="?", default=None, help="Level-0 file")
    p.add_argument("-o", "--output", default=None, help="output .h5 (or directory for IW)")
    p.add_argument(
        "--burst", default=None, metavar="KEY",
        help="focus a burst the stream stored (raw object + job; e.g. one early selection "
        "skipped) from EOPORT_OBJECT_STORE_URL, as the focus stage would",
    )  # fmt: skip
    p.add_argument("--window-range", default="hamming:0.75", help="e.g. hamming:0.75, none")
    p.add_argument("--window-azimuth", default=None, help="default: IPF (hamming:0.75)")
    p.add_argument("--block-lines", type=int, default=None, help="azimuth block size, lines")
    p.add_argument(
        "--compression",
        choices=("none", "gzip", "lzf"),
        default="none",
        help="HDF5 filter for /image (default none: gzip saves ~17%% for ~20x write time)",
    )
    p.add_argument(
        "--relative-orbit",
        type=int,
        default=None,
        help="track 1-175 for ESA burst IDs of IW bursts (default: t000, counted from ANX)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(handler=cmd_focus)


def output_paths(output: str, names: list[str]) -> list[Path]:
    """Where the products go: ``OUT.h5`` for one, ``OUT_<name>.h5`` (or ``DIR/<name>.h5``)."""
    out = Path(output)
    if out.is_dir() or output.endswith(("/", "\\")):
        out.mkdir(parents=True, exist_ok=True)
        return [out / f"{name}.h5" for name in names]
    if len(names) == 1:
        return [out]
    stem = out.with_suffix("") if out.suffix == ".h5" else out
    return [stem.with_name(f"{stem.name}_{name}.h5") for name in names]


def focus_stored_burst(key: str, output: str | None = None) -> dict[str, object]:
    """Focus a burst the stream stored (``raw/{key}.dat`` and its job, kept by early
    selection) exactly as the ``focus`` stage would: same job, same code, same product id;
    the product is written where the stream writes it (``products/{id}.h5`` in the
    object store of ``EOPORT_OBJECT_STORE_URL``) and copied to ``output`` if given.

    Raises
    ------
    InvalidArgumentError
        No burst is stored under ``key``.
    """
    from streams import load
    from streams.assemble.selection import JobNotFoundError, load_job
    from streams.focus import FocusWorker, FocusWorkerSettings

    settings = load(FocusWorkerSettings)
    store = settings.make_object_store()
    try:
        job = load_job(store, key)
    except JobNotFoundError as exc:
        raise InvalidArgumentError(f"--burst: {exc}") from exc
    worker = FocusWorker(store, processing_version=settings.processing_version)
    product = worker.focus(job)
    out: dict[str, object] = {
        "burst_key": product.burst_key, "product_id": product.product_id, "url": product.url,
        "size_bytes": product.size_bytes, "footprint": product.footprint,
    }  # fmt: skip
    if output is not None:
        path = Path(output)
        if path.is_dir() or output.endswith(("/", "\\")):
            path.mkdir(parents=True, exist_ok=True)
            path = path / f"{product.product_id}.h5"
        path.write_bytes(store.get_bytes(product.url))
        out["output"] = str(path)
    return out


def cmd_focus(args: argparse.Namespace) -> int:
    """Focus every swath/polarisation (stripmap) or burst (IW) of a Level-0 file, or
    (``--burst KEY``) a burst the stream stored."""
    if getattr(args, "burst", None):
        if getattr(args, "file", None):
            raise InvalidArgumentError("give a Level-0 file or --burst KEY, not both")
        summary = focus_stored_burst(args.burst, args.output)
        if args.json:
            print_json(summary)
        else:
            print(f"wrote {summary.get('output', summary['url'])} ({summary['product_id']})")
        return 0
    if not getattr(args, "file", None) or not args.output:
        raise InvalidArgumentError("eoport focus needs FILE and -o OUTPUT (or --burst KEY)")
    from sar.focus import focus_file
    from sar.focus.windows import parse_window
    from sar.product.slc import write_slc

    for label, spec in (
        ("--window-range", args.window_range),
        ("--window-azimuth", args.window_azimuth),
    ):
        if spec is not None:
            try:
                parse_window(spec)
            except Exception as exc:
                raise InvalidArgumentError(f"{label}: {exc}") from exc
    if args.relative_orbit is not None and not 1 <= args.relative_orbit <= 175:
        raise InvalidArgumentError(f"--relative-orbit must be 1..175, got {args.relative_orbit}")
    if args.block_lines is not None and args.block_lines < 16:
        raise InvalidArgumentError(f"--block-lines must be at least 16, got {args.block_lines}")
    data = read_input_file(args.file, what="Level-0 file")
    t0 = time.perf_counter()
    products = list(
        focus_file(
            data,
            range_window=args.window_range,
            azimuth_window=args.window_azimuth,
            block_lines=args.block_lines,
            relative_orbit=args.relative_orbit,
            name=args.file,
        )
    )
    paths = output_paths(args.output, [p.name for p in products])
    history = {"command": "eoport focus", "input": str(Path(args.file).name)}
    written = []
    missing_total: dict[str, int] = {}
    for product, path in zip(products, paths, strict=True):
        write_slc(path, product.slc, history=history, compression=args.compression)
        written.append(
            {
                "product": str(path),
                "name": product.name,
                "lines": product.slc.lines,
                "samples": product.slc.samples,
                "complete": product.slc.complete,
                "missing_lines": [
                    list(r) for r in (product.slc.missing.ranges if product.slc.missing else ())
                ],
            }
        )
        if product.slc.missing is not None and product.slc.missing.ranges:
            missing_total[str(path)] = product.slc.missing.count
    elapsed = time.perf_counter() - t0
    if args.json:
        print_json({"products": written, "seconds": elapsed})
    else:
        for item in written:
            note = ""
            if item["product"] in missing_total:
                note = (
                    f", {missing_total[str(item['product'])]} missing raw lines zero-filled: "
                    f"{item['missing_lines']}"
                )
            print(f"wrote {item['product']} ({item['lines']} x {item['samples']}{note})")
        print(f"focused {len(written)} product(s) in {elapsed:.2f} s")
    return 0
