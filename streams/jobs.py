"""Transitional alias of :mod:`streams.messages.jobs` (removed when the session ends)."""

from streams.messages.jobs import *  # noqa: F403
from streams.messages.events import EventRecord  # noqa: F401
