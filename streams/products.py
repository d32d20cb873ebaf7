"""Transitional alias of :mod:`streams.messages.products` (removed when the session ends)."""

import sys

import streams.messages.products as _moved

sys.modules[__name__] = _moved
