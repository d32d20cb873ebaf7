"""``POST /bursts/{key}/focus``: focus a burst that early selection left raw.

Early data selection (:mod:`streams.assemble.selection`) keeps every burst's raw packets
and its job in the object store; bursts no subscription wanted are not focused. This
route publishes the stored job on ``focus-jobs`` again: the focus stage makes the
product the stream would have made (same job, same key, same product id), and
delivers it to whoever subscribes by then. Any authenticated caller may ask (the
product is public data; asking twice makes the same product once).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status

from eoport.api.auth import UserDep
from eoport.config import ApiSettings
from streams import ObjectStore
from streams.assemble.selection import JobNotFoundError, request_focus

router = APIRouter(prefix="/bursts", tags=["bursts"])


@dataclass
class Refocus:
    """Where stored bursts are and where their jobs go.

    Attributes
    ----------
    store
        The object store holding ``raw/{key}.dat`` and ``raw/{key}.job.json``.
    producer
        A Kafka producer (``send(topic, key, value)``, ``flush()``).
    topic
        ``focus-jobs``.
    """

    store: ObjectStore
    producer: Any
    topic: str


_LOCK = threading.Lock()


def install_refocus(app: Any, settings: Any) -> Refocus:
    """Put a :class:`Refocus` for ``settings`` (object store, broker, topics) on the app."""
    refocus = Refocus(
        settings.make_object_store(), settings.make_bus().producer(), settings.topics.focus_jobs
    )
    app.state.refocus = refocus
    return refocus


def get_refocus(request: Request) -> Refocus:
    """The app's :class:`Refocus` (built from ``ApiSettings()`` when none was installed)."""
    found = getattr(request.app.state, "refocus", None)
    if isinstance(found, Refocus):
        return found
    with _LOCK:
        found = getattr(request.app.state, "refocus", None)
        if not isinstance(found, Refocus):
            found = install_refocus(request.app, ApiSettings())
    return found


RefocusDep = Annotated[Refocus, Depends(get_refocus)]


@router.post("/{key:path}/focus", status_code=status.HTTP_202_ACCEPTED)
def focus(
    user: UserDep,
    refocus: RefocusDep,
    key: Annotated[str, Path(max_length=200, description="burst key datatake/swath/pol/id")],
) -> dict[str, Any]:
    """Publish the stored job of burst ``key`` (404 when no burst is stored under it)."""
    try:
        job = request_focus(refocus.store, refocus.producer, key, refocus.topic)
    except JobNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return {
        "burst_key": job.burst_key,
        "status": "queued",
        "raw_url": job.raw_url,
        "footprint": job.footprint,
        "requested_by": user.subject,
    }
