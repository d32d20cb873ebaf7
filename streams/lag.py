"""Transitional alias of :mod:`streams._infra.lag` (removed when the session ends)."""

import sys

import streams._infra.lag as _moved

sys.modules[__name__] = _moved
