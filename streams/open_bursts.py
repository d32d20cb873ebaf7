"""Transitional alias of :mod:`streams.assemble.open_bursts` (removed when the session ends)."""

import sys

import streams.assemble.open_bursts as _moved

sys.modules[__name__] = _moved
