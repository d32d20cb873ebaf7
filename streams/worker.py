"""Transitional alias of :mod:`streams.focus.stage` (removed when the session ends)."""

import sys

import streams.focus.stage as _moved

sys.modules[__name__] = _moved
