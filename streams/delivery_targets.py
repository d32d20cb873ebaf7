"""Transitional alias of :mod:`streams.deliver.targets` (removed when the session ends)."""

import sys

import streams.deliver.targets as _moved

sys.modules[__name__] = _moved
