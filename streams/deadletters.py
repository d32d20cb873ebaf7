"""Transitional alias of :mod:`streams._infra.deadletters` (removed when the session ends)."""

import sys

import streams._infra.deadletters as _moved

sys.modules[__name__] = _moved
