"""The FastAPI application factory and the state it serves (stores, ledger, clock)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from eoport.config import CommonSettings
from streams.deliver.ledger import DeliveryLedger
from streams.deliver.subscriptions import Clock, SqliteSubscriptionStore, SubscriptionStore, utc_now

DEFAULT_STATE_DIR = "./var/state"
"""Where the subscription store and the delivery ledger live when settings name none."""

SUBSCRIPTIONS_FILE = "subscriptions.sqlite"
LEDGER_FILE = "deliveries.sqlite"


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


def state_dir(settings: CommonSettings | None) -> Path:
    """The directory of the embedded stores: ``settings.state_dir`` when the settings
    model has one, else :data:`DEFAULT_STATE_DIR`."""
    configured = getattr(settings, "state_dir", None)
    return Path(str(configured)) if configured else Path(DEFAULT_STATE_DIR)


def open_state(settings: CommonSettings | None = None, clock: Clock = utc_now) -> ApiState:
    """Open (creating if needed) the subscription store and the delivery ledger.

    The ``deliver`` stage opens the same two files, so subscriptions created through the
    API reach it and its ledger is visible here.
    """
    base = state_dir(settings)
    return ApiState(
        subscriptions=SqliteSubscriptionStore(base / SUBSCRIPTIONS_FILE),
        ledger=DeliveryLedger(base / LEDGER_FILE),
        clock=clock,
    )


def _one_line(exc: RequestValidationError) -> tuple[str, list[dict[str, object]]]:
    errors: list[dict[str, object]] = []
    parts: list[str] = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        where = ".".join(loc) or "body"
        parts.append(f"{where}: {msg}")
        errors.append({"loc": loc, "msg": msg, "type": err.get("type")})
    return "; ".join(parts), errors


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail, errors = _one_line(exc)
    return JSONResponse(status_code=422, content={"detail": detail, "errors": errors})


def create_app(
    settings: CommonSettings | None = None,
    *,
    state: ApiState | None = None,
) -> FastAPI:
    """Build the eoport HTTP API.

    Parameters
    ----------
    settings
        Process settings (:class:`eoport.config.ApiSettings`); locates the embedded
        stores (:func:`open_state`).
    state
        Stores to serve instead of the ones ``settings`` point at (tests, embedding).

    Returns
    -------
    FastAPI
        Routes: ``/subscriptions`` (create, list, get, delete), ``/subscriptions/{id}/
        deliveries`` (ledger, retry), ``/subscriptions/{id}/queue`` and ``/ack`` (pull
        queue, AckId semantics), ``/healthz``, ``/metrics``. Validation errors answer
        422 with ``detail``: one line naming every problem.
    """
    from eoport.api.health import make_health_router
    from eoport.api.subscriptions import make_subscriptions_router

    app_state = state if state is not None else open_state(settings)
    app = FastAPI(
        title="eoport",
        summary="Near-real-time Sentinel-1 products: AOI subscriptions and delivery",
        version="0.1.0",
    )
    app.state.eoport = app_state
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(make_subscriptions_router(app_state))
    app.include_router(make_health_router(app_state, app))
    return app
