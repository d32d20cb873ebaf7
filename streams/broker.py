"""Transitional alias of :mod:`streams._infra.broker` (removed when the session ends)."""

from streams._infra.broker import *  # noqa: F403
from streams._infra.ports import find_free_port  # noqa: F401
