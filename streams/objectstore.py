"""Transitional alias of :mod:`streams._infra.objectstore` (removed when the session ends)."""

import sys

import streams._infra.objectstore as _moved

sys.modules[__name__] = _moved
