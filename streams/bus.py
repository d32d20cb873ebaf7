"""Transitional alias of :mod:`streams._infra.bus` (removed when the session ends)."""

import sys

import streams._infra.bus as _moved

sys.modules[__name__] = _moved
