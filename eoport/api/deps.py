"""What the routes depend on: the state the API serves, as an ``Annotated`` dependency.

Routers are module-level (:mod:`eoport.api.routes`) and reach the stores only through
:data:`StateDep`, which reads the :class:`ApiState` that :func:`eoport.api.main.create_app`
put on the application; no route module imports the app, so there are no import circles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from streams.catalogue.store import Catalogue
from streams.deliver import DeliveryStores, open_stores, stores_for
from streams.deliver.ledger import DeliveryLedger
from streams.deliver.models import Clock, utc_now
from streams.deliver.policy import DeliveryPolicySettings
from streams.deliver.subscriptions import SubscriptionStore
from streams.timeline.view import TimelineView


@dataclass
class ApiState:
    """What the routes read and write.

    Parameters
    ----------
    subscriptions
        Subscription store (shared with the ``deliver`` stage).
    ledger
        Delivery ledger and pull queues (shared with the ``deliver`` stage).
    clock
        Current aware UTC time (creation times, retry requests).
    """

    subscriptions: SubscriptionStore
    ledger: DeliveryLedger
    clock: Clock = utc_now

    @classmethod
    def of(cls, stores: DeliveryStores, clock: Clock = utc_now) -> ApiState:
        """The state serving ``stores``."""
        return cls(stores.subscriptions, stores.ledger, clock)


def open_state(settings: object, clock: Clock = utc_now) -> ApiState:
    """Open (creating if needed) the stores of ``settings`` (with their secret key and
    queue limits when the settings carry them, :func:`streams.deliver.stores_for`), or
    under a state directory given as a path: the ``deliver`` stage opens the same files."""
    if isinstance(settings, DeliveryPolicySettings):
        return ApiState.of(stores_for(settings), clock)
    state_dir = getattr(settings, "state_dir", settings)
    return ApiState.of(open_stores(str(state_dir)), clock)


def get_state(request: Request) -> ApiState:
    """The :class:`ApiState` of the application serving ``request``."""
    state: ApiState = request.app.state.eoport
    return state


StateDep = Annotated[ApiState, Depends(get_state)]
"""Route parameter type giving the application's :class:`ApiState`."""


def get_catalogue(request: Request) -> Catalogue:
    """The STAC catalogue the app serves (``app.state.catalogue``; 503 when unset)."""
    catalogue = getattr(request.app.state, "catalogue", None)
    if catalogue is None:
        raise HTTPException(503, "no STAC catalogue is configured")
    found: Catalogue = catalogue
    return found


CatalogueDep = Annotated[Catalogue, Depends(get_catalogue)]
"""Route parameter type giving the application's STAC catalogue."""


def get_timeline(request: Request) -> TimelineView:
    """The latency timeline the app serves (``app.state.timeline``; 503 when unset)."""
    view = getattr(request.app.state, "timeline", None)
    if not isinstance(view, TimelineView):
        raise HTTPException(status_code=503, detail="no timeline configured for this API")
    return view


TimelineDep = Annotated[TimelineView, Depends(get_timeline)]
"""Route parameter type giving the application's :class:`TimelineView`."""
