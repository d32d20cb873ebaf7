"""Transitional alias of :mod:`streams.deliver.models` (removed when the session ends)."""

import sys

import streams.deliver.models as _moved

sys.modules[__name__] = _moved
