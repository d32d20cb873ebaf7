"""Transitional alias of :mod:`streams._infra.topics` (removed when the session ends)."""

import sys

import streams._infra.topics as _moved

sys.modules[__name__] = _moved
