"""Transitional alias of :mod:`streams.deliver.subscriptions` (removed when the session ends)."""

import sys

import streams.deliver.subscriptions as _moved

sys.modules[__name__] = _moved
