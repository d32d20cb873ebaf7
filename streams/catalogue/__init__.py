"""STAC catalogue: items of Level-1 products, their storage and search, CQL2 filters.

- :mod:`~streams.catalogue.stac`: :func:`~streams.catalogue.stac.product_to_stac_item`
  (a product record as a STAC 1.1 Item), :func:`~streams.catalogue.stac.link_item`.
- :mod:`~streams.catalogue.collections`: the collections (one per mode and product type).
- :mod:`~streams.catalogue.extension`: the ``eoport:`` item fields and their JSON Schema.
- :mod:`~streams.catalogue.sarparams`: SAR figures of an SLC for the ``sar`` extension.
- :mod:`~streams.catalogue.queryables`: the properties a filter or sort may name.
- :mod:`~streams.catalogue.cql2`: CQL2 parsing, evaluation on an item, SQL translation.
- :mod:`~streams.catalogue.geometry`, :mod:`~streams.catalogue.search`: STAC search
  parameters (bbox, intersects, datetime, sortby, limit, paging tokens).
- :mod:`~streams.catalogue.store`: the :class:`~streams.catalogue.store.Catalogue`
  protocol, the embedded SQLite store (R*Tree), :func:`~streams.catalogue.store.open_catalogue`;
  :mod:`~streams.catalogue.postgis`: the PostgreSQL/PostGIS store;
  :mod:`~streams.catalogue.sqlparts`: SQL both share.
"""

from __future__ import annotations

from pydantic import Field

from streams._infra.runtime import StageRuntime
from streams._infra.settings import CommonSettings
from streams._infra.topics import ensure_topics
from streams.catalogue.stage import Cataloguer
from streams.catalogue.store import Catalogue, open_catalogue
from streams.messages.stages import stage_config

__all__ = ["CatalogueSettings", "Cataloguer", "build_cataloguer", "open_catalogue"]


class CatalogueSettings(CommonSettings):
    """The STAC catalogue and its indexer (``eoport run catalogue``; also the API)."""

    client_id: str = "eoport-catalogue"
    catalogue_group_id: str = "eoport-catalogue"
    catalogue_url: str | None = Field(
        default=None,
        description="sqlite:///PATH or postgresql://... (default: STATE_DIR/catalogue.sqlite)",
    )
    catalogue_checksums: bool = Field(
        default=True,
        description="read each product once for its file:checksum and quick-look PNG",
    )
    stall_after_s: float = Field(
        default=60.0, gt=0, description="watchdog: recreate a consumer idle while lagging, s"
    )

    def catalogue_location(self) -> str:
        """The catalogue URL (the default under ``state_dir`` when unset)."""
        return self.catalogue_url or str(self.state_dir / "catalogue.sqlite")


def build_cataloguer(
    settings: CatalogueSettings, *, catalogue: Catalogue | None = None
) -> StageRuntime:
    """The ``catalogue`` stage configured by ``settings``, ready to
    :meth:`~StageRuntime.run`; ``catalogue`` replaces the one the settings name."""
    bus = settings.make_bus()
    ensure_topics(bus, settings.topics.specs())
    stage = Cataloguer(
        catalogue if catalogue is not None else open_catalogue(settings.catalogue_location()),
        store=settings.make_object_store() if settings.catalogue_checksums else None,
    )
    config = stage_config(
        settings, group_id=settings.catalogue_group_id, topics=[settings.topics.l1_products],
        max_batch=100,
    )  # fmt: skip
    return StageRuntime(stage, bus, config)
