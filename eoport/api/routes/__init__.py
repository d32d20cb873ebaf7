"""Routers of the eoport HTTP API, one module per area (``stac``: the STAC API)."""
