"""STAC API routes (STAC API 1.0: core, collections, features, item search, sort, filter).

Mounted under ``/stac``; the catalogue comes from :data:`eoport.api.deps.CatalogueDep` (a
:class:`streams.catalogue.store.Catalogue`). Routes:

===============================================  ============================================
``GET /stac``                                    landing page (links: self, root, conformance,
                                                 service-desc, service-doc, data, search,
                                                 queryables, one child per collection)
``GET /stac/conformance``                        the conformance classes implemented
``GET /stac/api``                                the app's OpenAPI document (service-desc)
``GET /stac/collections[/{id}]``                 collections (extent from the items)
``GET /stac/collections/{id}/items[/{item}]``    items of a collection (bbox, datetime, filter,
                                                 sortby, limit, token) / one item
``GET|POST /stac/search``                        item search (ids, collections, bbox,
                                                 intersects, datetime, filter, filter-lang,
                                                 sortby, limit, token)
``GET /stac[/collections/{id}]/queryables``      queryable properties (JSON Schema)
``GET /stac/extensions/eoport/v1.0.0/schema.json``  schema of the ``eoport:`` fields
===============================================  ============================================

Bad input answers 400 with ``{"code": "InvalidParameterValue", "description": ...}``
(invalid bbox, geometry, datetime, limit, token, sortby, unknown parameter, filter naming
an unknown queryable...), an unknown collection or item 404, a POST body over
:data:`MAX_BODY_BYTES` 413. Paging: ``next`` links carry an opaque ``token`` (keyset
pagination); for POST the link repeats the body with the token (``method``/``body``).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from eoport.api.deps import CatalogueDep
from streams.catalogue.collections import (
    COLLECTIONS,
    QUERYABLES_REL,
    STAC_VERSION,
    collection_document,
    collection_info,
)
from streams.catalogue.cql2 import cql2_text_available
from streams.catalogue.errors import ItemNotFoundError, QueryError
from streams.catalogue.extension import EOPORT_EXTENSION_PATH, eoport_schema
from streams.catalogue.queryables import queryables_schema
from streams.catalogue.search import SearchPage, SearchQuery, build_query
from streams.catalogue.stac import link_item
from streams.catalogue.store import Catalogue

MAX_BODY_BYTES = 4 * 1024 * 1024
"""Largest ``POST /search`` body accepted (a 100,000-position geometry fits)."""

GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.1"
"""Media type of the service description (FastAPI writes OpenAPI 3.1)."""

_SEARCH_PARAMS = frozenset(
    {"ids", "collections", "bbox", "intersects", "datetime", "filter", "filter-lang",
     "filter-crs", "sortby", "limit", "token"}
)  # fmt: skip
_ITEMS_PARAMS = frozenset(
    {"ids", "collections", "bbox", "datetime", "filter", "filter-lang", "filter-crs",
     "sortby", "limit", "token"}
)  # fmt: skip
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

router = APIRouter(prefix="/stac", tags=["stac"])


def conformance_classes() -> list[str]:
    """The conformance classes this API implements (cql2-text when the optional ``cql2``
    package is installed)."""
    stac = "https://api.stacspec.org/v1.0.0"
    ogc = "http://www.opengis.net/spec"
    cql2 = f"{ogc}/cql2/1.0/conf"
    classes = [
        f"{stac}/core",
        f"{stac}/collections",
        f"{stac}/ogcapi-features",
        f"{stac}/ogcapi-features#sort",
        f"{stac}/item-search",
        f"{stac}/item-search#sort",
        f"{stac}/item-search#filter",
        f"{ogc}/ogcapi-features-1/1.0/conf/core",
        f"{ogc}/ogcapi-features-1/1.0/conf/geojson",
        f"{ogc}/ogcapi-features-3/1.0/conf/filter",
        f"{ogc}/ogcapi-features-3/1.0/conf/features-filter",
        f"{cql2}/cql2-json",
        f"{cql2}/basic-cql2",
        f"{cql2}/advanced-comparison-operators",
        f"{cql2}/basic-spatial-functions",
        f"{cql2}/basic-spatial-functions-plus",
        f"{cql2}/spatial-functions",
        f"{cql2}/temporal-functions",
        f"{cql2}/array-functions",
        f"{cql2}/property-property",
    ]
    if cql2_text_available():
        classes.append(f"{cql2}/cql2-text")
    return classes


# ---------------------------------------------------------------------------- helpers


def _root(request: Request) -> str:
    return str(request.url_for("stac_landing")).rstrip("/")


def _problem(status: int, code: str, description: str) -> JSONResponse:
    return JSONResponse({"code": code, "description": description}, status_code=status)


def _bad(exc: Exception) -> JSONResponse:
    return _problem(400, "InvalidParameterValue", str(exc))


def _not_found(exc: Exception) -> JSONResponse:
    return _problem(404, "NotFound", str(exc.args[0]) if exc.args else "not found")


def _check_params(request: Request, allowed: frozenset[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key not in allowed:
            raise QueryError(
                f"unsupported query parameter {key!r}; supported: {', '.join(sorted(allowed))}"
            )
        if key in params:
            raise QueryError(f"query parameter {key!r} given more than once")
        params[key] = value
    crs = params.pop("filter-crs", None)
    if crs is not None and crs != CRS84:
        raise QueryError(f"filter-crs must be {CRS84}")
    return params


def _query_from_get(params: dict[str, str], collection: str | None = None) -> SearchQuery:
    intersects = params.get("intersects")
    geometry = None
    if intersects is not None:
        try:
            geometry = json.loads(intersects)
        except json.JSONDecodeError as exc:
            raise QueryError(f"intersects is not valid GeoJSON: {exc.msg}") from None
    collections: Any = params.get("collections")
    if collection is not None:
        named = {c.strip() for c in (collections or collection).split(",")}
        if named != {collection}:
            raise QueryError(f"collections may only name {collection!r} on its items endpoint")
        collections = [collection]
    return build_query(
        ids=params.get("ids"),
        collections=collections,
        bbox=params.get("bbox"),
        intersects=geometry,
        datetime=params.get("datetime"),
        filter=params.get("filter"),
        filter_lang=params.get("filter-lang"),
        sortby=params.get("sortby"),
        limit=params.get("limit"),
        token=params.get("token"),
    )


def _feature_collection(page: SearchPage, root: str, links: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": [link_item(item, root) for item in page.items],
        "links": links,
        "numberReturned": len(page.items),
    }
    if page.matched is not None:
        body["numberMatched"] = page.matched
    return body


def _get_next_link(request: Request, params: dict[str, str], token: str) -> dict[str, Any]:
    query = {k: v for k, v in params.items() if k != "token"}
    query["token"] = token
    href = str(request.url.replace(query=urlencode(query)))
    return {"rel": "next", "href": href, "type": GEOJSON, "method": "GET"}


async def _read_json_body(request: Request) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _BodyTooLargeError
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise QueryError(f"request body is not valid JSON: {exc}") from None


class _BodyTooLargeError(Exception):
    pass


# ---------------------------------------------------------------------------- routes


@router.get("", name="stac_landing", summary="STAC API landing page")
def landing(request: Request) -> JSONResponse:
    """The landing page: a STAC Catalog with ``conformsTo`` and the API's links."""
    root = _root(request)
    links: list[dict[str, Any]] = [
        {"rel": "self", "href": root, "type": JSON},
        {"rel": "root", "href": root, "type": JSON},
        {"rel": "conformance", "href": f"{root}/conformance", "type": JSON},
        {"rel": "service-desc", "href": f"{root}/api", "type": OPENAPI},
        {"rel": "data", "href": f"{root}/collections", "type": JSON},
        {"rel": "search", "href": f"{root}/search", "type": GEOJSON, "method": "GET"},
        {"rel": "search", "href": f"{root}/search", "type": GEOJSON, "method": "POST"},
        {"rel": QUERYABLES_REL, "href": f"{root}/queryables", "type": "application/schema+json"},
    ]
    if request.app.docs_url:
        docs = str(request.base_url).rstrip("/") + request.app.docs_url
        links.append({"rel": "service-doc", "href": docs, "type": "text/html"})
    for cid, info in COLLECTIONS.items():
        links.append(
            {"rel": "child", "href": f"{root}/collections/{cid}", "type": JSON,
             "title": info.title}
        )  # fmt: skip
    return JSONResponse(
        {
            "type": "Catalog",
            "stac_version": STAC_VERSION,
            "id": "eoport",
            "title": "eoport near-real-time Sentinel-1 products",
            "description": "STAC API of the Level-1 products focused by eoport: IW/EW bursts "
            "and stripmap blocks, seconds after downlink.",
            "conformsTo": conformance_classes(),
            "links": links,
        }
    )


@router.get("/conformance", summary="Conformance classes")
def conformance() -> JSONResponse:
    """The conformance classes implemented."""
    return JSONResponse({"conformsTo": conformance_classes()})


@router.get("/api", summary="OpenAPI service description")
def service_description(request: Request) -> JSONResponse:
    """The whole app's OpenAPI document (``service-desc``)."""
    return JSONResponse(request.app.openapi(), media_type=OPENAPI)


@router.get("/collections", summary="Collections")
def collections(request: Request, catalogue: CatalogueDep) -> JSONResponse:
    """Every collection, with its extent computed from its items."""
    root = _root(request)
    docs = [_collection(root, cid, catalogue) for cid in COLLECTIONS]
    links = [
        {"rel": "self", "href": f"{root}/collections", "type": JSON},
        {"rel": "root", "href": root, "type": JSON},
        {"rel": "parent", "href": root, "type": JSON},
    ]
    return JSONResponse({"collections": docs, "links": links})


def _collection(root: str, cid: str, catalogue: Catalogue) -> dict[str, Any]:
    extent = catalogue.extent(cid)
    return collection_document(
        collection_info(cid),
        root,
        bbox=extent.bbox,
        interval=(extent.start, extent.end) if extent.count else None,
    )


@router.get("/collections/{collection_id}", summary="One collection")
def collection(request: Request, collection_id: str, catalogue: CatalogueDep) -> JSONResponse:
    """The collection ``collection_id``."""
    try:
        return JSONResponse(_collection(_root(request), collection_id, catalogue))
    except ItemNotFoundError as exc:
        return _not_found(exc)


@router.get("/collections/{collection_id}/items", summary="Items of a collection")
def collection_items(request: Request, collection_id: str, catalogue: CatalogueDep) -> JSONResponse:
    """Items of a collection, newest first, filtered by bbox, datetime and a CQL2
    filter, in pages of ``limit``."""
    try:
        collection_info(collection_id)
    except ItemNotFoundError as exc:
        return _not_found(exc)
    try:
        params = _check_params(request, _ITEMS_PARAMS)
        query = _query_from_get(params, collection_id)
        page = catalogue.search(query)
    except QueryError as exc:
        return _bad(exc)
    root = _root(request)
    coll = f"{root}/collections/{collection_id}"
    links: list[dict[str, Any]] = [
        {"rel": "self", "href": str(request.url), "type": GEOJSON},
        {"rel": "root", "href": root, "type": JSON},
        {"rel": "collection", "href": coll, "type": JSON},
        {"rel": "parent", "href": coll, "type": JSON},
    ]
    if page.next_token:
        links.append(_get_next_link(request, params, page.next_token))
    return JSONResponse(_feature_collection(page, root, links), media_type=GEOJSON)


@router.get("/collections/{collection_id}/items/{item_id}", summary="One item")
def item(
    request: Request, collection_id: str, item_id: str, catalogue: CatalogueDep
) -> JSONResponse:
    """The item ``item_id`` of collection ``collection_id``."""
    try:
        found = catalogue.get(item_id, collection_id)
    except ItemNotFoundError as exc:
        return _not_found(exc)
    return JSONResponse(link_item(found, _root(request)), media_type=GEOJSON)


@router.get("/search", summary="Item search (GET)")
def search_get(request: Request, catalogue: CatalogueDep) -> JSONResponse:
    """Item search with query parameters (``filter`` as CQL2-text, or CQL2-JSON with
    ``filter-lang=cql2-json``; ``intersects`` as GeoJSON text; lists comma-separated)."""
    try:
        params = _check_params(request, _SEARCH_PARAMS)
        page = catalogue.search(_query_from_get(params))
    except QueryError as exc:
        return _bad(exc)
    root = _root(request)
    links: list[dict[str, Any]] = [
        {"rel": "self", "href": str(request.url), "type": GEOJSON},
        {"rel": "root", "href": root, "type": JSON},
    ]
    if page.next_token:
        links.append(_get_next_link(request, params, page.next_token))
    return JSONResponse(_feature_collection(page, root, links), media_type=GEOJSON)


@router.post("/search", summary="Item search (POST)")
async def search_post(request: Request, catalogue: CatalogueDep) -> JSONResponse:
    """Item search with a JSON body (``filter`` as CQL2-JSON by default)."""
    try:
        body = await _read_json_body(request)
        if not isinstance(body, dict):
            raise QueryError("request body must be a JSON object")
        unknown = set(body) - _SEARCH_PARAMS - {"filter_lang"}
        if unknown:
            raise QueryError(
                f"unsupported search field(s) {', '.join(sorted(unknown))}; supported: "
                f"{', '.join(sorted(_SEARCH_PARAMS))}"
            )
        crs = body.get("filter-crs")
        if crs is not None and crs != CRS84:
            raise QueryError(f"filter-crs must be {CRS84}")
        query = build_query(
            ids=body.get("ids"),
            collections=body.get("collections"),
            bbox=body.get("bbox"),
            intersects=body.get("intersects"),
            datetime=body.get("datetime"),
            filter=body.get("filter"),
            filter_lang=body.get("filter-lang", body.get("filter_lang")),
            sortby=body.get("sortby"),
            limit=body.get("limit"),
            token=body.get("token"),
        )
        page = await run_in_threadpool(catalogue.search, query)
    except _BodyTooLargeError:
        return _problem(413, "PayloadTooLarge", f"request body over {MAX_BODY_BYTES} bytes")
    except QueryError as exc:
        return _bad(exc)
    root = _root(request)
    links: list[dict[str, Any]] = [{"rel": "root", "href": root, "type": JSON}]
    if page.next_token:
        links.append(
            {"rel": "next", "href": f"{root}/search", "type": GEOJSON, "method": "POST",
             "body": {**body, "token": page.next_token}, "merge": False}
        )  # fmt: skip
    return JSONResponse(_feature_collection(page, root, links), media_type=GEOJSON)


@router.get("/queryables", summary="Queryables of every collection")
def queryables(request: Request) -> JSONResponse:
    """The properties filters and sorts may name (JSON Schema)."""
    body = queryables_schema(f"{_root(request)}/queryables")
    return JSONResponse(body, media_type="application/schema+json")


@router.get("/collections/{collection_id}/queryables", summary="Queryables of a collection")
def collection_queryables(request: Request, collection_id: str) -> JSONResponse:
    """The queryables of one collection (the same for every collection)."""
    try:
        collection_info(collection_id)
    except ItemNotFoundError as exc:
        return _not_found(exc)
    url = f"{_root(request)}/collections/{collection_id}/queryables"
    return JSONResponse(queryables_schema(url, collection_id), media_type="application/schema+json")


@router.get(f"/{EOPORT_EXTENSION_PATH}", summary="Schema of the eoport: item fields")
def eoport_extension(request: Request) -> JSONResponse:
    """JSON Schema of the ``eoport:`` fields; its ``$id`` is this URL."""
    return JSONResponse(eoport_schema(f"{_root(request)}/{EOPORT_EXTENSION_PATH}"))
