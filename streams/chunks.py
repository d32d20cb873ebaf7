"""Transitional alias of :mod:`streams.messages.chunks` (removed when the session ends)."""

import sys

import streams.messages.chunks as _moved

sys.modules[__name__] = _moved
