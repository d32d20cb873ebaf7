"""The catalogue stage: every product record becomes a valid STAC item with its
checksum and quick-look, computed off the focusing path."""

from __future__ import annotations

from pathlib import Path

from sar.product.quicklook import PNG_SIGNATURE
from streams._infra.objectstore import ObjectStore
from streams._infra.records import Record
from streams.catalogue.search import build_query
from streams.catalogue.stac import link_item, multihash_sha256_of, quicklook_url_for
from streams.catalogue.stage import Cataloguer
from streams.catalogue.store import SqliteCatalogue
from tests.streams.catalogue.realdata import real_products
from tests.streams.catalogue.stac_schemas import validate_stac
from tests.streams.catalogue.test_stac import EXTRA, ROOT


def test_records_become_valid_items_with_checksum_and_quicklook(tmp_path: Path) -> None:
    products = real_products(tmp_path / "products")
    catalogue = SqliteCatalogue(tmp_path / "catalogue.sqlite")
    stage = Cataloguer(catalogue, store=ObjectStore(str(tmp_path)))
    for i, p in enumerate(products):
        # the worker's record: no checksum, no quick-look (made here)
        record = p.record.model_copy(update={"sar": p.sar.model_dump()})
        Path(quicklook_url_for(record.url)).unlink()
        value = Record("l1-products", 0, i, record.product_id, record.to_bytes(), {}, None)
        assert stage.handle(value, 0.0) == ()
        item = catalogue.get(record.product_id)
        assert validate_stac(link_item(item, ROOT), EXTRA) == []  # as the API serves it
        assert item["assets"]["data"]["file:checksum"] == multihash_sha256_of(record.url)
        thumb = item["assets"]["thumbnail"]
        png = Path(thumb["href"]).read_bytes()
        assert png.startswith(PNG_SIGNATURE) and thumb["file:size"] == len(png)
    assert stage.items == len(products) == 3
    # a replayed record rewrites the same item and quick-look
    again = Record("l1-products", 0, 9, products[0].record.product_id,
                   products[0].record.model_copy(update={"sar": products[0].sar.model_dump()})
                   .to_bytes(), {}, None)  # fmt: skip
    stage.handle(again, 0.0)
    page = catalogue.search(build_query(limit=10))
    assert len(page.items) == 3
    stage.close()
