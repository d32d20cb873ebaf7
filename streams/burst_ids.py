"""Transitional alias of :mod:`streams.assemble.burst_ids` (removed when the session ends)."""

import sys

import streams.assemble.burst_ids as _moved

sys.modules[__name__] = _moved
