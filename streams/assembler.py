"""Transitional alias of :mod:`streams.assemble.stage` (removed when the session ends)."""

import sys

import streams.assemble.stage as _moved

sys.modules[__name__] = _moved
