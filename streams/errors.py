"""Transitional alias of :mod:`streams._infra.errors` (removed when the session ends)."""

import sys

import streams._infra.errors as _moved

sys.modules[__name__] = _moved
