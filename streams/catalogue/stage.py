"""The ``catalogue`` stage: ``l1-products`` in, STAC items in the catalogue.

Every product record becomes a STAC Item (:func:`~streams.catalogue.stac.product_to_stac_item`)
stored idempotently by product id (:func:`~streams.catalogue.store.index_product`): a
replayed record rewrites the same item. The file checksum (``file:checksum``, sha2-256
multihash) is computed here, off the focusing path, by streaming the product from the
object store (~0.4 s per IW burst on the development machine).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from prometheus_client import Counter

from streams._infra.errors import ObjectNotFoundError
from streams._infra.objectstore import ObjectStore
from streams._infra.records import OutgoingRecord, Record
from streams._infra.runtime import StageBase
from streams.catalogue.stac import multihash_sha256_of
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
        Object store to read products from for their checksum (``None``: no checksum).
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
        checksum = product.checksum
        if checksum is None and self.store is not None:
            try:
                with self.store.open_read(product.url) as handle:
                    checksum = multihash_sha256_of(handle)
            except ObjectNotFoundError:
                log.warning("catalogue: product %s not found for its checksum", product.url)
        index_product(self.catalogue, product, checksum=checksum)
        self.items += 1
        ITEMS_INDEXED.inc()
        return ()

    def close(self) -> None:
        """Release the catalogue's connections."""
        self.catalogue.close()
