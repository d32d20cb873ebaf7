"""The operator's minimal Kubernetes client, against the API emulator."""

from __future__ import annotations

import asyncio
from pathlib import Path

import kmock
import pytest

from operators.__main__ import main
from operators._kube import KubeClient, KubeConnection
from operators.errors import KubernetesApiError
from streams import find_free_port
from tests.operators.emulator import Emulator

CM = "/api/v1/namespaces/ns/configmaps"


def test_in_cluster_connection_reads_the_service_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(KubernetesApiError, match="not in a cluster"):
        KubeConnection.in_cluster(tmp_path)
    (tmp_path / "token").write_text("t-1\n")
    (tmp_path / "namespace").write_text("eoport")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "6443")
    conn = KubeConnection.in_cluster(tmp_path)
    assert conn.server == "https://[fd00::1]:6443" and conn.namespace == "eoport"
    assert conn.token() == "t-1" and conn.ca_path is None
    (tmp_path / "token").write_text("t-2")  # rotated: read again on the next request
    assert conn.token() == "t-2"


def test_client_calls_errors_and_recorded_permissions() -> None:
    asyncio.run(_client_calls())


async def _client_calls() -> None:
    async with Emulator() as server, kmock.Server(server):
        server.declare()
        conn = KubeConnection(str(server.url).rstrip("/"), insecure=True)
        async with KubeClient(conn) as kube:
            assert await kube.get(f"{CM}/plan", resource="configmaps") is None
            body = {"metadata": {"name": "plan", "namespace": "ns"}, "data": {"a": "1"}}
            await kube.create(CM, body, resource="configmaps")
            with pytest.raises(KubernetesApiError) as conflict:
                await kube.create(CM, body, resource="configmaps")
            assert conflict.value.status == 409
            await kube.patch(f"{CM}/plan", {"data": {"b": "2"}}, resource="configmaps")
            got = await kube.get(f"{CM}/plan", resource="configmaps")
            assert got is not None and got["data"] == {"a": "1", "b": "2"}
            assert [i["metadata"]["name"] for i in await kube.list(CM, resource="configmaps")] == [
                "plan"
            ]
            assert kube.calls == {("get", "configmaps"), ("create", "configmaps"),
                                  ("patch", "configmaps"), ("list", "configmaps")}  # fmt: skip
        with pytest.raises(KubernetesApiError, match="client closed"):
            await kube.get(f"{CM}/plan", resource="configmaps")
    dead = KubeClient(KubeConnection(f"http://127.0.0.1:{find_free_port()}"), timeout_s=2)
    with pytest.raises(KubernetesApiError) as down:
        await dead.get(f"{CM}/plan", resource="configmaps")
    assert down.value.status == 0
    await dead.close()


def test_main_needs_a_namespace_outside_a_pod(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--server", "http://127.0.0.1:1", "--namespace", ""]) == 2
    assert "--namespace is required" in capsys.readouterr().err
