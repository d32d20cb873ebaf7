"""Offline STAC validation for the tests: the schemas under ``schemas/`` (see its README)
in a ``referencing`` registry that refuses to fetch anything else."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, FormatChecker
from pystac.validation import JsonSchemaSTACValidator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

SCHEMA_DIR = Path(__file__).parent / "schemas"
STAC_SCHEMAS = "https://schemas.stacspec.org/v1.1.0"
ITEM_SCHEMA = f"{STAC_SCHEMAS}/item-spec/json-schema/item.json"
COLLECTION_SCHEMA = f"{STAC_SCHEMAS}/collection-spec/json-schema/collection.json"
CATALOG_SCHEMA = f"{STAC_SCHEMAS}/catalog-spec/json-schema/catalog.json"

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)
_DURATION = re.compile(
    r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
)


def _url_of(path: Path) -> str:
    rel = path.relative_to(SCHEMA_DIR).as_posix()
    if rel.startswith("stac-spec/v1.1.0/"):
        name = rel.rsplit("/", 1)[1]
        spec = {"catalog.json": "catalog", "collection.json": "collection"}.get(name, "item")
        return f"{STAC_SCHEMAS}/{spec}-spec/json-schema/{name}"
    if rel.startswith("geojson/"):
        return f"https://geojson.org/schema/{rel.removeprefix('geojson/')}"
    return "https://stac-extensions.github.io/" + rel.removeprefix("extensions/")


@lru_cache(maxsize=1)
def schema_store() -> dict[str, dict[str, Any]]:
    """Every shipped schema by its canonical URL."""
    return {_url_of(p): json.loads(p.read_text()) for p in sorted(SCHEMA_DIR.rglob("*.json"))}


def _refuse(uri: str) -> Resource[Any]:
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


def registry(extra: Mapping[str, Mapping[str, Any]] | None = None) -> Registry[Any]:
    """The shipped schemas (plus ``extra``, URL -> schema) and nothing else."""
    schemas = {**schema_store(), **(extra or {})}
    return Registry(retrieve=_refuse).with_resources(  # type: ignore[call-arg]
        (url, Resource.from_contents(dict(s))) for url, s in schemas.items()
    )


def format_checker() -> FormatChecker:
    """Draft-7 format checks plus RFC 3339 ``date-time`` and ISO 8601 ``duration``
    (without optional packages)."""
    checker = FormatChecker()

    @checker.checks("date-time")
    def _date_time(value: object) -> bool:
        return not isinstance(value, str) or bool(_RFC3339.match(value))

    @checker.checks("duration")
    def _duration(value: object) -> bool:
        return not isinstance(value, str) or bool(_DURATION.match(value))

    return checker


def validate_stac(
    doc: Mapping[str, Any], extra: Mapping[str, Mapping[str, Any]] | None = None
) -> list[str]:
    """Errors of a STAC Item, Collection or Catalog against the core schema of its type
    and the schema of each extension it lists (empty list: valid)."""
    reg = registry(extra)
    core = {"Feature": ITEM_SCHEMA, "Collection": COLLECTION_SCHEMA}.get(
        str(doc.get("type")), CATALOG_SCHEMA
    )
    errors: list[str] = []
    for url in [core, *doc.get("stac_extensions", [])]:
        try:
            schema = reg.contents(url)
        except NoSuchResource:
            errors.append(f"{url}: schema not available offline")
            continue
        validator = Draft7Validator(schema, registry=reg, format_checker=format_checker())
        for err in validator.iter_errors(dict(doc)):
            where = "/".join(str(p) for p in err.absolute_path)
            errors.append(f"{url.rsplit('/', 3)[-3]}: {where}: {err.message[:200]}")
    return errors


def pystac_validator(
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> JsonSchemaSTACValidator:
    """pystac's validator with its schema cache pre-filled (no download)."""
    validator = JsonSchemaSTACValidator()
    validator.schema_cache.update({k: dict(v) for k, v in schema_store().items()})
    validator.schema_cache.update({k: dict(v) for k, v in (extra or {}).items()})
    return validator
