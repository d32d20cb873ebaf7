"""The Kubernetes API emulator of the operator tests: kmock's, with two fixes of its
0.8 behaviour that a real API server does not share."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp.web
import kmock

RESOURCE_INFO: dict[str, kmock.ResourceInfo] = {
    "eoport.dev/v1alpha1/focusingpools": kmock.ResourceInfo(
        kind="FocusingPool", singular="focusingpool", namespaced=True,
        verbs={"get", "list", "watch", "patch", "create", "delete", "update"},
        subresources={"status"}, shortnames={"fpool"},
    ),
    "apps/v1/deployments": kmock.ResourceInfo(
        kind="Deployment", singular="deployment", namespaced=True, subresources={"status", "scale"},
        verbs={"get", "list", "watch", "patch", "create", "delete", "update"},
    ),
    "v1/pods": kmock.ResourceInfo(kind="Pod", singular="pod", namespaced=True,
                                  verbs={"get", "list", "watch", "create", "patch", "delete"}),
    "v1/configmaps": kmock.ResourceInfo(kind="ConfigMap", singular="configmap", namespaced=True,
                                        verbs={"get", "list", "watch", "create", "patch"}),
    "v1/events": kmock.ResourceInfo(kind="Event", singular="event", namespaced=True,
                                    verbs={"create", "get", "list"}),
    "v1/namespaces": kmock.ResourceInfo(kind="Namespace", singular="namespace", namespaced=False,
                                        verbs={"get", "list", "watch", "create"}),
    "v1/serviceaccounts": kmock.ResourceInfo(kind="ServiceAccount", singular="serviceaccount",
                                             namespaced=True, verbs={"get", "create", "patch"}),
    "v1/services": kmock.ResourceInfo(kind="Service", singular="service", namespaced=True,
                                      verbs={"get", "create", "patch"}),
    "rbac.authorization.k8s.io/v1/roles": kmock.ResourceInfo(
        kind="Role", singular="role", namespaced=True, verbs={"get", "create", "patch"}),
    "rbac.authorization.k8s.io/v1/rolebindings": kmock.ResourceInfo(
        kind="RoleBinding", singular="rolebinding", namespaced=True,
        verbs={"get", "create", "patch"}),
    "apiextensions.k8s.io/v1/customresourcedefinitions": kmock.ResourceInfo(
        kind="CustomResourceDefinition", singular="customresourcedefinition", namespaced=False,
        verbs={"get", "list", "watch", "create", "patch"},
    ),
}  # fmt: skip
"""Every resource kopf, the handlers, or the manifests touch (kopf waits silently for
a resource the server does not list)."""


class Emulator(kmock.KubernetesEmulator):
    """kmock's Kubernetes emulator with:

    - ``metadata.generateName`` honoured on creation (kopf names its Events that way;
      kmock 0.8 stores them all under the name ``None`` and answers 409 from the second);
    - core-group discovery answering ``groupVersion: v1`` (kmock 0.8 says ``/v1``, which
      kubectl cannot map: "no matches for kind ConfigMap in version v1").
    """

    def declare(self) -> None:
        """Declare :data:`RESOURCE_INFO`."""
        for name, info in RESOURCE_INFO.items():
            self.resources[name] = info

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        if request.action == kmock.action.CREATE and isinstance(request.data, dict):
            meta = request.data.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = f"{meta['generateName']}{uuid.uuid4().hex[:8]}"
        return await super()._handle(request)

    async def _serve_version(self, request: kmock.Request) -> Any:
        payload = await super()._serve_version(request)
        if isinstance(payload, dict) and str(payload.get("groupVersion", "")).startswith("/"):
            payload["groupVersion"] = payload["groupVersion"][1:]
        return payload
