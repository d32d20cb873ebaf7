"""RBAC helpers of the operator tests: the permissions a Role grants and those a
sequence of recorded API requests needed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import kmock
import yaml

Permission = tuple[str, str, str]
"""``(apiGroup, resource[/subresource], verb)``."""

RBAC_FILE = Path(__file__).parents[2] / "operators" / "manifests" / "rbac.yaml"

_VERBS = {
    kmock.action.LIST: "list",
    kmock.action.WATCH: "watch",
    kmock.action.FETCH: "get",
    kmock.action.CREATE: "create",
    kmock.action.DELETE: "delete",
}


def role_permissions(path: Path = RBAC_FILE) -> set[Permission]:
    """Everything the ``Role`` in ``path`` allows (no wildcards expected)."""
    allowed: set[Permission] = set()
    for doc in yaml.safe_load_all(path.read_text()):
        if not doc or doc.get("kind") != "Role":
            continue
        for rule in doc["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    for verb in rule["verbs"]:
                        allowed.add((group, resource, verb))
    return allowed


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return ""


def needed_permissions(requests: Iterable[Any], skip_agent: str) -> set[Permission]:
    """Permissions the requests needed (discovery and ``skip_agent``'s calls left out)."""
    needed: set[Permission] = set()
    for r in requests:
        if _header(r.headers, "User-Agent").startswith(skip_agent):
            continue
        if r.resource is None or not isinstance(r.resource.plural, str) or r.action is None:
            continue  # non-resource URLs: discovery, /version (system:discovery)
        resource = r.resource.plural + (f"/{r.subresource}" if r.subresource else "")
        if r.action == kmock.action.UPDATE:
            verb = "patch" if str(r.method).upper().endswith("PATCH") else "update"
        else:
            verb = _VERBS[r.action]
        needed.add((r.resource.group or "", resource, verb))
    return needed
