"""Transitional alias of :mod:`streams.ingest.replay` (removed when the session ends)."""

import sys

import streams.ingest.replay as _moved

sys.modules[__name__] = _moved
