"""Transitional alias of :mod:`streams.deliver.ledger` (removed when the session ends)."""

import sys

import streams.deliver.ledger as _moved

sys.modules[__name__] = _moved
