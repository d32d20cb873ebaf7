"""Transitional alias of :mod:`streams.messages.geometry` (removed when the session ends)."""

import sys

import streams.messages.geometry as _moved

sys.modules[__name__] = _moved
