"""The eoport application: configuration, CLI, HTTP API, metrics."""

from sar import __version__

__all__ = ["__version__"]
