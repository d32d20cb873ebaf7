"""Transitional alias of :mod:`streams._infra.metrics` (removed when the session ends)."""

import sys

import streams._infra.metrics as _moved

sys.modules[__name__] = _moved
