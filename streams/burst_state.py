"""Transitional alias of :mod:`streams.assemble.channel` (removed when the session ends)."""

import sys

import streams.assemble.channel as _moved

sys.modules[__name__] = _moved
