"""Synthetic product records and items for the catalogue unit tests (fast, reproducible).

Footprints are small quadrilaterals (about 20 x 85 km, IW-burst sized) scattered over a
few degrees around (45 N, 10 E) and, for some, across the antimeridian; times spread over
two days; attributes drawn from the Sentinel-1 vocabularies. Some items lose optional
properties so that filters meet nulls.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from streams.catalogue.sarparams import SarParameters
from streams.catalogue.stac import product_to_stac_item
from streams.messages.products import ProductRecord

T0 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
SWATHS = {"IW": ("IW1", "IW2", "IW3"), "EW": ("EW1", "EW2"), "SM": ("S1", "S3", "S6")}


def footprint(lon: float, lat: float, w: float = 0.25, h: float = 0.8) -> dict[str, Any]:
    """A slanted quadrilateral with its south-west corner at (lon, lat)."""
    ring = [
        [lon, lat],
        [lon + w, lat + 0.05],
        [lon + w - 0.1, lat + h],
        [lon - 0.1, lat + h - 0.05],
    ]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def make_record(rng: random.Random, n: int) -> ProductRecord:
    """The ``n``-th random product."""
    mode = rng.choice(["IW", "IW", "IW", "EW", "SM"])
    swath = rng.choice(SWATHS[mode])
    pol = rng.choice(["VV", "VH", "HH", "HV"])
    lon = rng.uniform(8.0, 12.0)
    if n % 17 == 0:  # either side of the antimeridian
        lon = rng.uniform(179.0, 179.5) if n % 34 else rng.uniform(-179.85, -179.5)
    lat = rng.uniform(43.0, 47.0)
    start = T0 + timedelta(seconds=rng.uniform(0, 2 * 86400))
    stop = start + timedelta(seconds=2.758 if mode != "SM" else 8.0)
    written = stop + timedelta(seconds=rng.uniform(2.0, 60.0))
    burst = rng.randint(1, 375_000) if mode != "SM" else 0
    return ProductRecord(
        burst_key=f"{n:06X}/{swath}/{pol}/{burst}",
        processing_version=rng.choice(["0.1.0", "0.2.0"]),
        platform=rng.choice(["sentinel-1a", "sentinel-1c"]),
        mode=mode,
        swath=swath,
        polarisation=pol,
        burst_id=burst,
        data_take_id=rng.randint(0, 0xFFFFFF),
        absolute_orbit=rng.choice([None, rng.randint(1, 70_000)]),
        relative_orbit=rng.choice([None, rng.randint(1, 175)]),
        burst_label=f"t{rng.randint(1, 175):03d}_{burst}_{swath.lower()}" if burst else None,
        orbit_state=rng.choice(["ascending", "descending", None]),
        anx_datetime=start - timedelta(seconds=rng.uniform(0, 5000)),
        footprint=footprint(lon, lat),
        sensing_start=start,
        sensing_stop=stop,
        url=f"s3://products/{n}.h5",
        size_bytes=rng.randint(1, 10**9),
        timeline={
            "sensing_stop": stop,
            "focus_start": stop + timedelta(seconds=1.0),
            "focus_end": written - timedelta(seconds=0.2),
            "product_written": written,
        },
        timeliness_category=rng.choice(["NRT-10m", "NRT-3h"]),
    )


def make_items(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` random items (stored form)."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        record = make_record(rng, i)
        sar = None
        if i % 3 == 0:
            sar = SarParameters(
                range_bandwidth_hz=rng.choice([56.5e6, 48.3e6, 42.8e6]),
                azimuth_bandwidth_hz=rng.choice([327.0, 313.0]),
                resolution_range_m=round(rng.uniform(2.5, 3.6), 3),
                resolution_azimuth_m=round(rng.uniform(20.0, 23.0), 3),
                pixel_spacing_range_m=2.33,
                pixel_spacing_azimuth_m=13.9,
            )
        item = product_to_stac_item(record, sar=sar)
        if i % 11 == 3:  # some nulls for the three-valued logic
            item["properties"].pop("eoport:latency", None)
            item["properties"].pop("sar:beam_ids", None)
        items.append(item)
    return items
