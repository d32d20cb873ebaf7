"""Catalogue test fixtures: a private PostgreSQL/PostGIS server for the whole session
(skipped, with the reason, where PostgreSQL, PostGIS or psycopg is not installed)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from streams.catalogue.store import Catalogue, SqliteCatalogue
from tests.streams.catalogue.pgserver import postgis_missing, temporary_postgis

BACKENDS = ("sqlite", "postgis")


@pytest.fixture(scope="session")
def postgis_url() -> Iterator[str]:
    """URL of a throw-away PostGIS server."""
    reason = postgis_missing()
    if reason is not None:
        pytest.skip(reason)
    with temporary_postgis() as url:
        yield url


@pytest.fixture
def new_catalogue(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Catalogue]:
    """Factory of empty catalogues of a backend (a new file or a new table each)."""

    def make(backend: str) -> Catalogue:
        if backend == "sqlite":
            return SqliteCatalogue(Path(tmp_path_factory.mktemp("cat")) / "items.sqlite")
        from streams.catalogue.postgis import PostgisCatalogue

        url = request.getfixturevalue("postgis_url")
        return PostgisCatalogue(url, table=f"items_{uuid.uuid4().hex[:10]}")

    return make
