"""Transitional alias of :mod:`streams._infra.s3server` (removed when the session ends)."""

import sys

import streams._infra.s3server as _moved

sys.modules[__name__] = _moved
