"""``eoport apikey``: API keys of the embedded deployment (create, revoke).

Keys are stored hashed in the subscription store under ``EOPORT_STATE_DIR``
(:mod:`streams.deliver.apikeys`); the key text is printed once, at creation. Deployments
with an identity provider use OpenID Connect tokens instead (:mod:`eoport.api.auth`).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from eoport.errors import InvalidArgumentError

if TYPE_CHECKING:
    from streams.deliver.apikeys import ApiKeyStore


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``eoport apikey create|revoke`` to the command line."""
    p = sub.add_parser("apikey", help="create or revoke API keys of the embedded API")
    ksub = p.add_subparsers(dest="apikey_command", required=True, metavar="ACTION")
    c = ksub.add_parser("create", help="create a key (printed once; stored hashed)")
    c.add_argument("owner", help="who the key stands for: owns what it creates")
    c.add_argument("--admin", action="store_true", help="give the key the admin role")
    c.add_argument("--name", default=None, help="a note to recognise the key by")
    c.add_argument("--json", action="store_true", help="print a JSON object")
    c.set_defaults(handler=cmd_create)
    r = ksub.add_parser("revoke", help="revoke a key by its id (the 12 hex digits)")
    r.add_argument("key_id")
    r.set_defaults(handler=cmd_revoke)


def _store() -> ApiKeyStore:
    from eoport.config import ApiSettings
    from streams import load
    from streams.deliver import SUBSCRIPTIONS_FILE
    from streams.deliver.apikeys import ApiKeyStore

    settings = load(ApiSettings)
    return ApiKeyStore(settings.state_dir / SUBSCRIPTIONS_FILE)


def cmd_create(args: argparse.Namespace) -> int:
    """Create a key and print it (the only time it is shown)."""
    from eoport.config import ApiSettings
    from streams import load

    store = _store()
    roles = [load(ApiSettings).admin_role] if args.admin else []
    try:
        key = store.create(args.owner, roles, args.name)
    except ValueError as exc:
        raise InvalidArgumentError(str(exc)) from exc
    if args.json:
        print(json.dumps({"owner": args.owner, "roles": roles, "api_key": key}))
    else:
        print(key)
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    """Revoke a key: it stops working at once."""
    if not _store().revoke(args.key_id):
        raise InvalidArgumentError(f"no API key {args.key_id!r}")
    print(f"revoked {args.key_id}")
    return 0
