"""Transitional alias of :mod:`streams._infra.consumer` (removed when the session ends)."""

import sys

import streams._infra.consumer as _moved

sys.modules[__name__] = _moved
