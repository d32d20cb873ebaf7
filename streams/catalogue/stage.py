"""The ``catalogue`` stage: ``l1-products`` in, STAC items in the catalogue.

Every product record becomes a STAC Item (:func:`~streams.catalogue.stac.product_to_stac_item`)
stored idempotently by product id (:func:`~streams.catalogue.store.index_product`): a
replayed record rewrites the same item. What costs time per product is done here, off
the focusing path: the quick-look PNG (:func:`sar.product.quicklook.make_quicklook`,
written next to the product; deterministic name, so a replay rewrites it) and the file
checksum (``file:checksum``, sha2-256 multihash), both from one read of the product.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter

from sar.product.quicklook import make_quicklook
from sar.product.slc import read_slc
from streams._infra.errors import ObjectNotFoundError
from streams._infra.objectstore import ObjectStore
from streams._infra.records import OutgoingRecord, Record
from streams._infra.runtime import StageBase
from streams.catalogue.stac import multihash_sha256_of, quicklook_url_for
from streams.catalogue.store import Catalogue, index_product
from streams.messages.products import ProductRecord

log = logging.getLogger(__name__)

ITEMS_INDEXED = Counter("eoport_catalogue_items", "STAC items written to the catalogue")


class Cataloguer(StageBase):
    """The ``catalogue`` stage (a :class:`streams._infra.runtime.Stage`).

    Parameters
    ----------
    catalogue
        Where items go.
    store
        Object store to read products from for their checksum and quick-look (``None``:
        items without them).
    """

    name = "catalogue"

    def __init__(self, catalogue: Catalogue, *, store: ObjectStore | None = None) -> None:
        self.catalogue = catalogue
        self.store = store
        self.items = 0

    def handle(self, record: Record, now: float) -> Sequence[OutgoingRecord]:
        """Store the item of one product record.

        Raises
        ------
        SchemaError
            Not a product record (dead-lettered).
        ObjectStoreError
            The product could not be read for its checksum (retried).
        """
        product = ProductRecord.from_bytes(record.value)
        extras: dict[str, Any] = {}
        if self.store is not None:
            try:
                extras = self._derived(product)
            except ObjectNotFoundError:
                log.warning("catalogue: product %s not found (item without assets' "
                            "checksum and quick-look)", product.url)  # fmt: skip
        index_product(self.catalogue, product, **extras)
        self.items += 1
        ITEMS_INDEXED.inc()
        return ()

    def _derived(self, product: ProductRecord) -> dict[str, Any]:
        """Checksum and quick-look of the product (one read of the file)."""
        assert self.store is not None
        out: dict[str, Any] = {}
        with self.store.open_read(product.url) as handle:
            if product.checksum is None:
                out["checksum"] = multihash_sha256_of(handle)
            if product.quicklook_url is None:
                handle.seek(0)
                image = read_slc(handle).image
                sar = product.sar or {}
                spacing = (
                    (float(sar["pixel_spacing_azimuth_m"]), float(sar["pixel_spacing_range_m"]))
                    if "pixel_spacing_azimuth_m" in sar and "pixel_spacing_range_m" in sar
                    else None
                )
                png = make_quicklook(image, spacing=spacing)
                del image
                url = quicklook_url_for(product.url)
                self.store.put_bytes(url, png)
                out.update(quicklook_url=url, quicklook_size=len(png))
        return out

    def close(self) -> None:
        """Release the catalogue's connections."""
        self.catalogue.close()
