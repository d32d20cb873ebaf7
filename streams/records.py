"""Transitional alias of :mod:`streams._infra.records` (removed when the session ends)."""

import sys

import streams._infra.records as _moved

sys.modules[__name__] = _moved
