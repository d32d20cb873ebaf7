"""Real focused products for the catalogue and STAC API tests.

One simulated IW pass (one burst cycle over two point targets, as the demo's) is decoded
and focused by :func:`sar.process.focus_packets` (the focusing workers' science call):
three bursts, IW1/IW2/IW3 VV. Each is written as an HDF5 SLC with its quick-look PNG and
described by a :class:`ProductRecord` built the way the focus worker builds it, plus the
figures the record does not carry yet (SAR parameters, checksum, quick-look).
Focusing is cached per process (about 30 s on the shared 2-core machine); writing the
files into a test's directory is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sar.l0.packets import decode_packets
from sar.process import FocusedProduct, focus_packets
from sar.product.geogrid import footprint_geojson
from sar.product.quicklook import make_quicklook
from sar.product.slc import write_slc
from sar.sim.datatake import SimulatedDatatake, simulate_datatake
from sar.sim.scene import Target
from sar.timeutil import gps_seconds_to_utc
from streams.catalogue.sarparams import SarParameters, sar_parameters_of
from streams.catalogue.stac import multihash_sha256_of, product_to_stac_item, quicklook_url_for
from streams.messages.jobs import burst_key
from streams.messages.products import ProductRecord

RELATIVE_ORBIT = 117
CENTER = (45.0, 10.0)
TARGETS = (Target(44.975, 10.0, 0.0, 1e4), Target(45.035, 10.0, 0.0, 1e4))
PROCESSING_VERSION = "0.1.0-test"


@dataclass(frozen=True)
class RealProduct:
    """A focused burst written to disk and what the catalogue needs to describe it."""

    record: ProductRecord
    sar: SarParameters
    checksum: str
    quicklook_url: str
    quicklook_size: int
    shape: tuple[int, int]

    def item(self, base_url: str | None = None) -> dict[str, Any]:
        """Its STAC item."""
        return product_to_stac_item(
            self.record,
            base_url=base_url,
            sar=self.sar,
            checksum=self.checksum,
            quicklook_url=self.quicklook_url,
            quicklook_size=self.quicklook_size,
        )


@lru_cache(maxsize=1)
def focused_pass() -> tuple[SimulatedDatatake, tuple[FocusedProduct, ...]]:
    """The simulated IW pass and its focused bursts (cached)."""
    dt = simulate_datatake(
        "IW", CENTER, 3.0, list(TARGETS), n_samples=4096, seed=1, relative_orbit=RELATIVE_ORBIT
    )
    packets = decode_packets(dt.data)
    return dt, tuple(focus_packets(packets, relative_orbit=RELATIVE_ORBIT))


def _record(dt: SimulatedDatatake, fp: FocusedProduct, url: str, size: int) -> ProductRecord:
    slc = fp.slc
    label = slc.burst_id  # e.g. t117_249424_iw1
    esa_id = int(label.split("_")[1])
    start = gps_seconds_to_utc(slc.first_line_time)
    stop = gps_seconds_to_utc(slc.line_time(slc.lines - 1))
    mid = 0.5 * (slc.first_line_time + slc.line_time(slc.lines - 1))
    vz = float(slc.orbit.velocities[abs(slc.orbit.times - mid).argmin(), 2])
    # a plausible near-real-time chain after sensing stop (seconds)
    steps = {
        "station_receive": 1.2, "kafka_append": 1.25, "burst_complete": 1.4,
        "aux_complete": 1.5, "focus_start": 1.6, "focus_end": 4.1, "product_written": 4.4,
    }  # fmt: skip
    timeline = {"sensing_start": start, "sensing_stop": stop}
    timeline |= {k: stop + timedelta(seconds=s) for k, s in steps.items()}
    return ProductRecord(
        burst_key=burst_key(slc.data_take_id, slc.swath, slc.polarisation, esa_id),
        processing_version=PROCESSING_VERSION,
        mode=slc.mode,
        swath=slc.swath,
        polarisation=slc.polarisation,
        burst_id=esa_id,
        data_take_id=slc.data_take_id,
        relative_orbit=RELATIVE_ORBIT,
        burst_label=label,
        orbit_state="ascending" if vz > 0 else "descending",
        anx_datetime=gps_seconds_to_utc(float(dt.truth["anx_time"]["gps_seconds"])),
        footprint=footprint_geojson(slc),
        sensing_start=start,
        sensing_stop=stop,
        url=url,
        size_bytes=size,
        quality={"packets": float(slc.lines), "missing_lines": 0.0, "complete": 1.0},
        timeline=timeline,
    )


def real_products(directory: Path) -> list[RealProduct]:
    """Write the focused bursts (HDF5 + quick-look PNG) into ``directory`` and describe
    them."""
    dt, focused = focused_pass()
    directory.mkdir(parents=True, exist_ok=True)
    out: list[RealProduct] = []
    for fp in focused:
        path = directory / f"{fp.name}.h5"
        write_slc(str(path), fp.slc, history={"processor": "eoport", "test": True})
        sar = sar_parameters_of(fp.slc)
        png = make_quicklook(
            fp.slc.image, spacing=(sar.pixel_spacing_azimuth_m, sar.pixel_spacing_range_m)
        )
        ql_url = quicklook_url_for(str(path))
        Path(ql_url).write_bytes(png)
        record = _record(dt, fp, str(path), path.stat().st_size)
        out.append(
            RealProduct(
                record=record,
                sar=sar,
                checksum=multihash_sha256_of(path),
                quicklook_url=ql_url,
                quicklook_size=len(png),
                shape=(fp.slc.lines, fp.slc.samples),
            )
        )
    return out
