"""The ``eoport:`` fields of eoport's STAC Items and their JSON Schema.

Fields (all in Item ``properties``, all optional):

======================  =========================  ===============================================
field                   type                       meaning
======================  =========================  ===============================================
eoport:swath            string                     sub-swath or beam (IW1..IW3, EW1..EW5, S1..S6)
eoport:burst_key        string                     ``datatake/swath/pol/burst`` key of the stream
eoport:burst_label      string                     ESA burst-map label, e.g. ``t117_249424_iw1``
eoport:data_take_id     integer >= 0               instrument data-take id
eoport:timeline         {stage: date-time}         UTC time each stage of the chain was reached
eoport:stage_latency    {stage: number}            seconds spent reaching each stage from the
                                                   previous one (stamps in time order,
                                                   ``sensing_stop`` first)
eoport:latency          number                     seconds from sensing stop to product written
eoport:quality          {name: number}             quality figures (packets, missing lines, ...)
eoport:missing_lines    [[date-time, date-time]]   sensing-time spans of raw lines lost on the
                                                   way and focused as zeros (absent: none)
======================  =========================  ===============================================

Stage names are snake_case identifiers (``sensing_stop``, ``station_receive``,
``kafka_append``, ``burst_complete``, ``aux_complete``, ``focus_start``, ``focus_end``,
``product_written``; see ``docs/architecture.md``, "Latency timeline"). The schema is served
by the STAC API under ``{stac root}/extensions/eoport/v1.0.0/schema.json`` and that URL is
what items list in ``stac_extensions`` when they are served.
"""

from __future__ import annotations

from typing import Any

EOPORT_EXTENSION_VERSION = "v1.0.0"
"""Version of the eoport STAC extension (fields above)."""

EOPORT_EXTENSION_PATH = f"extensions/eoport/{EOPORT_EXTENSION_VERSION}/schema.json"
"""Path of the schema below the STAC API root."""

EOPORT_FIELDS = (
    "eoport:swath",
    "eoport:burst_key",
    "eoport:burst_label",
    "eoport:data_take_id",
    "eoport:timeline",
    "eoport:stage_latency",
    "eoport:latency",
    "eoport:quality",
    "eoport:missing_lines",
)


def eoport_extension_url(stac_root: str) -> str:
    """URL of the eoport extension schema served by the STAC API at ``stac_root``."""
    return f"{stac_root.rstrip('/')}/{EOPORT_EXTENSION_PATH}"


def eoport_schema(schema_url: str) -> dict[str, Any]:
    """JSON Schema (draft 07, the STAC extensions' dialect) of the ``eoport:`` fields.

    Parameters
    ----------
    schema_url
        The schema's ``$id`` (:func:`eoport_extension_url`).
    """
    stage = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}
    fields: dict[str, Any] = {
        "type": "object",
        "properties": {
            "eoport:swath": {"type": "string", "minLength": 1},
            "eoport:burst_key": {"type": "string", "minLength": 1},
            "eoport:burst_label": {"type": "string", "pattern": "^t[0-9]{3}_[0-9]+_[a-z]+[0-9]$"},
            "eoport:data_take_id": {"type": "integer", "minimum": 0},
            "eoport:timeline": {
                "type": "object",
                "propertyNames": stage,
                "additionalProperties": {"type": "string", "format": "date-time"},
            },
            "eoport:stage_latency": {
                "type": "object",
                "propertyNames": stage,
                "additionalProperties": {"type": "number"},
            },
            "eoport:latency": {"type": "number"},
            "eoport:quality": {
                "type": "object",
                "additionalProperties": {"type": "number"},
            },
            "eoport:missing_lines": {
                "type": "array",
                "items": {
                    "type": "array",
                    "items": {"type": "string", "format": "date-time"},
                    "minItems": 2,
                    "maxItems": 2,
                },
            },
        },
        "patternProperties": {"^(?!eoport:)": {}},
        "additionalProperties": False,
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": schema_url,
        "title": "eoport Extension",
        "description": "eoport's near-real-time processing fields of STAC Items.",
        "type": "object",
        "required": ["stac_extensions", "type", "properties"],
        "properties": {
            "stac_extensions": {"type": "array", "contains": {"const": schema_url}},
            "type": {"const": "Feature"},
            "properties": {"$ref": "#/definitions/fields"},
        },
        "definitions": {"fields": fields},
    }
