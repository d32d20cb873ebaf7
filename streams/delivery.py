"""Transitional alias of :mod:`streams.deliver.service` (removed when the session ends)."""

import sys

import streams.deliver.service as _moved

sys.modules[__name__] = _moved
