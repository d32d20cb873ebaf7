"""A Level-1 product record as a STAC 1.1 Item.

:func:`product_to_stac_item` is pure: it reads the :class:`ProductRecord` (and, while the
record does not carry them yet, the optional ``sar``, ``checksum`` and quick-look
arguments) and returns the Item as a JSON-compatible dict. Items are stored without links
(:data:`base_url` ``None``); :func:`link_item` adds the links and the ``eoport``
extension URL of the API that serves them.

Extensions (current versions): ``sar`` v1.3.2, ``sat`` v1.2.0, ``processing`` v1.2.0,
``product`` v1.1.0, ``timestamps`` v1.1.0 (``published``), ``file`` v2.1.0 (asset size
and multihash checksum) and eoport's own ``eoport:`` fields
(:mod:`streams.catalogue.extension`).

Assets: ``data`` (the HDF5 SLC, roles ``data``) and, when the quick-look was written,
``thumbnail`` (PNG, roles ``thumbnail`` and ``overview``; :func:`quicklook_url_for`).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from shapely import geometry as sgeom

from sar.constants import RADAR_FREQUENCY
from streams.catalogue.collections import (
    STAC_VERSION,
    TOPS_MODES,
    collection_id_for,
    product_type_for,
)
from streams.catalogue.extension import eoport_extension_url
from streams.catalogue.sarparams import SarParameters

if TYPE_CHECKING:
    from streams.messages.products import ProductRecord

EXTENSION_SCHEMAS = {
    "sar": "https://stac-extensions.github.io/sar/v1.3.2/schema.json",
    "sat": "https://stac-extensions.github.io/sat/v1.2.0/schema.json",
    "processing": "https://stac-extensions.github.io/processing/v1.2.0/schema.json",
    "product": "https://stac-extensions.github.io/product/v1.1.0/schema.json",
    "timestamps": "https://stac-extensions.github.io/timestamps/v1.1.0/schema.json",
    "file": "https://stac-extensions.github.io/file/v2.1.0/schema.json",
}
"""Schema URL of each community extension the items use."""

PLATFORM_DESIGNATORS = {"sentinel-1a": "2014-016A", "sentinel-1b": "2016-025A"}
"""COSPAR international designators (``sat:platform_international_designator``)."""

HDF5_MEDIA_TYPE = "application/x-hdf5"
PNG_MEDIA_TYPE = "image/png"
MULTIHASH_SHA2_256 = "1220"
"""Multihash prefix of a SHA2-256 digest: function code 0x12, length 0x20 (32 bytes)."""


# ---------------------------------------------------------------------------- helpers


def iso_utc(value: datetime) -> str:
    """Aware datetime -> RFC 3339 UTC text ending in ``Z``."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def multihash_sha256(data: bytes) -> str:
    """``file:checksum`` of ``data``: the hex multihash of its SHA2-256 digest."""
    return MULTIHASH_SHA2_256 + hashlib.sha256(data).hexdigest()


def multihash_sha256_of(source: str | Path | IO[bytes], chunk: int = 8 << 20) -> str:
    """``file:checksum`` of a file (path or binary file object read from its current
    position to the end), hashed in ``chunk``-byte pieces."""
    digest = hashlib.sha256()
    if isinstance(source, str | Path):
        with open(source, "rb") as handle:
            for piece in iter(lambda: handle.read(chunk), b""):
                digest.update(piece)
    else:
        for piece in iter(lambda: source.read(chunk), b""):
            digest.update(piece)
    return MULTIHASH_SHA2_256 + digest.hexdigest()


def quicklook_url_for(product_url: str) -> str:
    """Where the quick-look of a product is written: next to it, ``.h5`` -> ``.png``."""
    stem = product_url[:-3] if product_url.endswith(".h5") else product_url
    return stem + ".png"


def stage_latencies(timeline: Mapping[str, datetime], sensing_stop: datetime) -> dict[str, float]:
    """Seconds from each timeline stamp's predecessor to it, stamps taken in time order
    (``sensing_stop`` from the record when the timeline lacks it; stamps before it, like
    ``sensing_start``, are left out)."""
    stamps = {"sensing_stop": sensing_stop, **timeline}
    ordered = sorted(
        ((name, when) for name, when in stamps.items() if when >= stamps["sensing_stop"]),
        key=lambda kv: (kv[1], kv[0] != "sensing_stop"),
    )
    out: dict[str, float] = {}
    for (_, before), (name, after) in zip(ordered, ordered[1:], strict=False):
        out[name] = round((after - before).total_seconds(), 6)
    return out


def _sar_properties(record: ProductRecord, sar: SarParameters | None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "sar:instrument_mode": record.mode,
        "sar:frequency_band": "C",
        "sar:center_frequency": RADAR_FREQUENCY / 1e9,
        "sar:polarizations": [record.polarisation],
        "sar:observation_direction": "right",
        "sar:beam_ids": [record.swath],
    }
    if record.mode in TOPS_MODES and record.burst_id >= 1:
        props["sar:relative_burst"] = record.burst_id
    if sar is not None:
        props.update(sar.stac_properties())
    return props


def _sat_properties(record: ProductRecord) -> dict[str, Any]:
    props: dict[str, Any] = {}
    designator = PLATFORM_DESIGNATORS.get(record.platform)
    if designator is not None:
        props["sat:platform_international_designator"] = designator
    if record.orbit_state is not None:
        props["sat:orbit_state"] = record.orbit_state
    if record.absolute_orbit is not None:
        props["sat:absolute_orbit"] = record.absolute_orbit
    if record.relative_orbit is not None:
        props["sat:relative_orbit"] = record.relative_orbit
    if record.anx_datetime is not None:
        props["sat:anx_datetime"] = iso_utc(record.anx_datetime)
    return props


def _eoport_properties(record: ProductRecord) -> dict[str, Any]:
    props: dict[str, Any] = {
        "eoport:swath": record.swath,
        "eoport:burst_key": record.burst_key,
        "eoport:data_take_id": record.data_take_id,
        "eoport:timeline": {k: iso_utc(v) for k, v in sorted(record.timeline.items())},
        "eoport:stage_latency": stage_latencies(record.timeline, record.sensing_stop),
    }
    latency = record.latency_s("sensing_stop", "product_written")
    if latency is not None:
        props["eoport:latency"] = round(latency, 6)
    if record.burst_label:
        props["eoport:burst_label"] = record.burst_label
    if record.quality:
        props["eoport:quality"] = dict(record.quality)
    if record.missing_lines:
        props["eoport:missing_lines"] = [[iso_utc(a), iso_utc(b)] for a, b in record.missing_lines]
    return props


def _extensions(props: Mapping[str, Any], assets: Iterable[Mapping[str, Any]]) -> list[str]:
    used = {k.split(":", 1)[0] for k in props if ":" in k}
    for asset in assets:
        used |= {k.split(":", 1)[0] for k in asset if ":" in k}
    if "published" in props:
        used.add("timestamps")
    return [url for name, url in EXTENSION_SCHEMAS.items() if name in used]


# ---------------------------------------------------------------------------- items


def product_to_stac_item(
    record: ProductRecord,
    *,
    base_url: str | None = None,
    collection: str | None = None,
    sar: SarParameters | Mapping[str, Any] | None = None,
    checksum: str | None = None,
    quicklook_url: str | None = None,
    quicklook_size: int | None = None,
    published: datetime | None = None,
) -> dict[str, Any]:
    """The product as a STAC 1.1 Item (GeoJSON Feature), pure.

    Parameters
    ----------
    record
        The product record (value of ``l1-products``).
    base_url
        Absolute URL of the STAC API root (``http://host:8000/stac``); when given the
        item gets its links (:func:`link_item`). ``None``: the storage form, no links.
    collection
        Collection id; default :func:`~streams.catalogue.collections.collection_id_for`
        the record's mode and product type.
    sar
        Resolution, spacing and bandwidth of the SLC (``sar:`` figures), a
        :class:`~streams.catalogue.sarparams.SarParameters` or its ``model_dump()``;
        default the record's ``sar`` field when it has one.
    checksum
        ``file:checksum`` of the HDF5 product (:func:`multihash_sha256_of`); default the
        record's ``checksum`` field when it has one.
    quicklook_url, quicklook_size
        The quick-look PNG (:func:`quicklook_url_for`) and its size in bytes; default the
        record's ``quicklook_url`` / ``quicklook_size`` fields when it has them. No
        thumbnail asset without a URL.
    published
        ``published`` (timestamps extension): when the product became available; default
        the ``product_written`` timeline stamp.

    Returns
    -------
    dict
        The item. ``datetime`` is the middle of the sensing interval,
        ``start_datetime``/``end_datetime`` its ends; the geometry is the product's
        footprint and ``bbox`` its bounds.
    """
    sar_given = sar if sar is not None else getattr(record, "sar", None)
    sar = (
        sar_given
        if isinstance(sar_given, SarParameters | None)
        else SarParameters.model_validate(sar_given)
    )
    checksum = checksum or getattr(record, "checksum", None)
    quicklook_url = quicklook_url or getattr(record, "quicklook_url", None)
    if quicklook_size is None:
        quicklook_size = getattr(record, "quicklook_size", None)
    mid = record.sensing_start + (record.sensing_stop - record.sensing_start) / 2
    props: dict[str, Any] = {
        "datetime": iso_utc(mid),
        "start_datetime": iso_utc(record.sensing_start),
        "end_datetime": iso_utc(record.sensing_stop),
        "platform": record.platform,
        "constellation": "sentinel-1",
        "instruments": ["c-sar"],
    }
    props.update(_sar_properties(record, sar))
    props.update(_sat_properties(record))
    props.update(
        {
            "processing:level": "L1",
            "processing:facility": "eoport",
            "processing:software": {"eoport": record.processing_version},
            "processing:version": record.processing_version,
            "product:type": product_type_for(record.mode, record.product_type),
            "product:timeliness": record.timeliness,
            "product:timeliness_category": record.timeliness_category,
            "product:acquisition_type": "nominal",
        }
    )
    if "focus_end" in record.timeline:
        props["processing:datetime"] = iso_utc(record.timeline["focus_end"])
    pub = published or record.timeline.get("product_written")
    if pub is not None:
        props["published"] = iso_utc(pub)
        props["created"] = iso_utc(pub)
    props.update(_eoport_properties(record))
    data: dict[str, Any] = {
        "href": record.url,
        "type": record.media_type or HDF5_MEDIA_TYPE,
        "title": f"{record.swath} {record.polarisation} {product_type_for(record.mode)} "
        f"{record.burst_label or record.burst_id} (HDF5)",
        "roles": ["data"],
        "file:size": record.size_bytes,
        "sar:polarizations": [record.polarisation],
    }
    if checksum:
        data["file:checksum"] = checksum
    assets: dict[str, dict[str, Any]] = {"data": data}
    if quicklook_url:
        thumb: dict[str, Any] = {
            "href": quicklook_url,
            "type": PNG_MEDIA_TYPE,
            "title": "Quick-look (multilooked intensity, dB)",
            "roles": ["thumbnail", "overview"],
        }
        if quicklook_size is not None:
            thumb["file:size"] = quicklook_size
        assets["thumbnail"] = thumb
    item: dict[str, Any] = {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": _extensions(props, assets.values()),
        "id": record.product_id,
        "collection": collection or collection_id_for(record.mode, record.product_type),
        "geometry": record.footprint,
        "bbox": [float(b) for b in sgeom.shape(record.footprint).bounds],
        "properties": props,
        "links": [],
        "assets": assets,
    }
    return item if base_url is None else link_item(item, base_url)


def link_item(item: Mapping[str, Any], stac_root: str) -> dict[str, Any]:
    """A copy of a stored item with the links of the STAC API at ``stac_root``.

    Adds ``self`` (``{root}/collections/{collection}/items/{id}``), ``parent`` and
    ``collection`` (the collection), ``root``; and lists the eoport extension schema
    served there when the item has ``eoport:`` fields.
    """
    out = copy.deepcopy(dict(item))
    root = stac_root.rstrip("/")
    coll_href = f"{root}/collections/{out['collection']}"
    out["links"] = [
        {"rel": "self", "href": f"{coll_href}/items/{out['id']}", "type": "application/geo+json"},
        {"rel": "parent", "href": coll_href, "type": "application/json"},
        {"rel": "collection", "href": coll_href, "type": "application/json"},
        {"rel": "root", "href": root, "type": "application/json"},
    ]
    if any(k.startswith("eoport:") for k in out.get("properties", {})):
        url = eoport_extension_url(root)
        extensions = [u for u in out.get("stac_extensions", []) if "/extensions/eoport/" not in u]
        out["stac_extensions"] = [*extensions, url]
    return out
