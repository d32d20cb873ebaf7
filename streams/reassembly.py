"""Transitional alias of :mod:`streams.assemble.reassembly` (removed when the session ends)."""

import sys

import streams.assemble.reassembly as _moved

sys.modules[__name__] = _moved
