"""STAC Collections of eoport: one per acquisition mode and product type.

=============================  ==============================================
collection id                  products
=============================  ==============================================
sentinel-1-iw-slc-burst        IW TOPS SLC, one item per burst and polarisation
sentinel-1-ew-slc-burst        EW TOPS SLC, one item per burst and polarisation
sentinel-1-sm-slc              stripmap (S1..S6) SLC blocks
sentinel-1-wv-slc              wave-mode SLC vignettes
=============================  ==============================================

``product:type`` of the items: ``IW_SLC_BURST``, ``EW_SLC_BURST``, ``SM_SLC``,
``WV_SLC`` (other product types: ``{MODE}_{TYPE}``). The collection document's extent is
computed from the catalogue's items (:meth:`streams.catalogue.store.Catalogue.extent`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.catalogue.errors import ItemNotFoundError

STAC_VERSION = "1.1.0"
"""STAC version of every document the catalogue writes."""

TOPS_MODES = frozenset({"IW", "EW"})

LICENSE_URL = "https://sentinels.copernicus.eu/documents/247904/690755/Sentinel_Data_Legal_Notice"
"""Legal notice of Copernicus Sentinel data (free, full and open)."""

QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
"""Link relation of a queryables document (OGC API - Features - Part 3)."""


@dataclass(frozen=True)
class CollectionInfo:
    """What a collection holds."""

    id: str
    title: str
    description: str
    mode: str
    product_type: str


def product_type_for(mode: str, product_type: str = "SLC") -> str:
    """``product:type`` of a product: ``IW_SLC_BURST`` for TOPS SLC bursts, else
    ``{mode}_{product_type}`` (``SM_SLC``)."""
    suffix = "_BURST" if mode in TOPS_MODES and product_type == "SLC" else ""
    return f"{mode}_{product_type}{suffix}"


def collection_id_for(mode: str, product_type: str = "SLC") -> str:
    """Collection id of a product: ``sentinel-1-{mode}-{type}[-burst]`` in lower case."""
    return "sentinel-1-" + product_type_for(mode, product_type).lower().replace("_", "-")


def _info(mode: str, title: str, description: str) -> CollectionInfo:
    return CollectionInfo(collection_id_for(mode), title, description, mode, "SLC")


COLLECTIONS: dict[str, CollectionInfo] = {
    c.id: c
    for c in (
        _info(
            "IW",
            "Sentinel-1 IW SLC bursts (near real time)",
            "Interferometric Wide swath TOPS bursts focused by eoport seconds after "
            "downlink: one single-look complex HDF5 product per burst and polarisation.",
        ),
        _info(
            "EW",
            "Sentinel-1 EW SLC bursts (near real time)",
            "Extra Wide swath TOPS bursts focused by eoport: one single-look complex HDF5 "
            "product per burst and polarisation.",
        ),
        _info(
            "SM",
            "Sentinel-1 stripmap SLC (near real time)",
            "Stripmap (S1-S6) data focused by eoport in overlapping blocks: one "
            "single-look complex HDF5 product per block and polarisation.",
        ),
        _info(
            "WV",
            "Sentinel-1 wave-mode SLC (near real time)",
            "Wave-mode vignettes focused by eoport.",
        ),
    )
}
"""Every collection eoport serves, by id."""


def collection_info(collection_id: str) -> CollectionInfo:
    """The collection called ``collection_id``.

    Raises
    ------
    ItemNotFoundError
        Unknown collection.
    """
    info = COLLECTIONS.get(collection_id)
    if info is None:
        raise ItemNotFoundError(
            f"no collection {collection_id!r}; collections: {', '.join(sorted(COLLECTIONS))}"
        )
    return info


def collection_document(
    info: CollectionInfo,
    stac_root: str,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    interval: tuple[str | None, str | None] | None = None,
) -> dict[str, Any]:
    """The STAC 1.1 Collection of ``info`` served under ``stac_root``.

    Parameters
    ----------
    info
        The collection.
    stac_root
        Absolute URL of the STAC API root (``http://host:8000/stac``).
    bbox
        Spatial extent of its items (west, south, east, north); whole Earth when ``None``.
    interval
        Temporal extent (RFC 3339 start, end; ``None`` open); open when ``None``.
    """
    root = stac_root.rstrip("/")
    href = f"{root}/collections/{info.id}"
    return {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [],
        "id": info.id,
        "title": info.title,
        "description": info.description,
        "keywords": ["sentinel-1", "sar", "c-band", "slc", "near-real-time", info.mode.lower()],
        "license": "other",
        "providers": [
            {"name": "ESA", "roles": ["producer", "licensor"], "url": "https://www.esa.int"},
            {"name": "eoport", "roles": ["processor", "host"]},
        ],
        "extent": {
            "spatial": {"bbox": [list(bbox) if bbox else [-180.0, -90.0, 180.0, 90.0]]},
            "temporal": {"interval": [list(interval) if interval else [None, None]]},
        },
        "summaries": {
            "constellation": ["sentinel-1"],
            "instruments": ["c-sar"],
            "sar:instrument_mode": [info.mode],
            "sar:frequency_band": ["C"],
            "product:type": [product_type_for(info.mode, info.product_type)],
            "processing:level": ["L1"],
        },
        "links": [
            {"rel": "self", "href": href, "type": "application/json"},
            {"rel": "root", "href": root, "type": "application/json"},
            {"rel": "parent", "href": root, "type": "application/json"},
            {"rel": "items", "href": f"{href}/items", "type": "application/geo+json"},
            {
                "rel": QUERYABLES_REL,
                "href": f"{href}/queryables",
                "type": "application/schema+json",
            },
            {
                "rel": "license",
                "href": LICENSE_URL,
                "type": "text/html",
                "title": "Copernicus Sentinel data legal notice",
            },
        ],  # fmt: skip
    }
