"""Contract tests: the official ``kubernetes`` client against ``KubeEmulator``.

Each test pins one behaviour of a real API server that the bot relies on (or that a
ready-made emulator got wrong), so a regression in the emulator fails here first.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time
from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException
from kubernetes.leaderelection import electionconfig, leaderelection
from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock

from bot.sandbox import REFERENCE
from bot.sandbox.kube import (
    DEFAULT_CRDS,
    LEGACY_HELMRELEASE_CRD,
    KubeEmulator,
    KubeFieldWarning,
    LoggedRequest,
    write_kubeconfig,
)

EXAMPLES = REFERENCE / "examples"
HR = "helmreleases.helm.toolkit.fluxcd.io"


def api_client(emu: KubeEmulator, token: str | None = None) -> client.ApiClient:
    cfg = client.Configuration(host=emu.url)
    if token is not None:
        cfg.api_key = {"authorization": token}
        cfg.api_key_prefix = {"authorization": "Bearer"}
    return client.ApiClient(cfg)


def deployment(
    name: str, ns: str = "prod", labels: dict[str, str] | None = None, image: str = "nginx:1.27"
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels or {"app": name}},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
        },
    }


def pod(name: str, phase: str, ns: str = "prod") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "main", "image": "nginx"}]},
        "status": {"phase": phase},
    }


def kustomization(name: str, ns: str = "flux-system") -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "interval": "5m",
            "path": "./apps",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
        },
    }


def status_body(exc: ApiException) -> dict[str, Any]:
    body = json.loads(exc.body)
    assert body["kind"] == "Status" and body["apiVersion"] == "v1"
    assert body["code"] == exc.status and body["status"] == "Failure"
    return body


# One second of a watch's timeoutSeconds, for the watches below that end by their timeout.
FAST_WATCH = 0.02


@pytest.fixture
def emu() -> Iterator[KubeEmulator]:
    with KubeEmulator(name="staging") as e:
        yield e


@pytest.fixture
def api(emu: KubeEmulator) -> Iterator[client.ApiClient]:
    with api_client(emu) as c:
        yield c


# --- discovery -------------------------------------------------------------------------------


def test_discovery_with_the_typed_client(emu: KubeEmulator, api: client.ApiClient) -> None:
    assert client.VersionApi(api).get_code().git_version == "v1.31.0"
    core = client.CoreApi(api).get_api_versions()
    assert core.versions == ["v1"] and core.server_address_by_client_cidrs
    v1 = client.CoreV1Api(api).get_api_resources()
    assert v1.group_version == "v1"
    by_name = {r.name: r for r in v1.resources}
    assert by_name["namespaces"].namespaced is False and by_name["pods"].namespaced is True
    assert "pods/status" in by_name and "configmaps/status" not in by_name

    apps = {r.name: r for r in client.AppsV1Api(api).get_api_resources().resources}
    assert apps["deployments"].kind == "Deployment" and apps["deployments"].singular_name
    assert "watch" in apps["deployments"].verbs and "deployments/status" in apps

    groups = {g.name: g for g in client.ApisApi(api).get_api_versions().groups}
    assert groups["helm.toolkit.fluxcd.io"].preferred_version.version == "v2"
    assert groups["argoproj.io"].preferred_version.group_version == "argoproj.io/v1alpha1"
    assert "apps" in groups and "coordination.k8s.io" in groups

    argo = client.CustomObjectsApi(api).get_api_resources("argoproj.io", "v1alpha1")
    names = {r.name for r in argo.resources}
    # Argo CD's CRD declares no status subresource; Argo Rollouts' does.
    assert {"applications", "rollouts", "rollouts/status"} <= names
    assert "applications/status" not in names
    # The typed client asks with trailing slashes; those must not 404.
    paths = {r.path for r in emu.requests}
    assert {"/version/", "/api/", "/apis/"} <= paths
    assert all(r.status == 200 for r in emu.requests)


def test_discovery_without_trailing_slash_and_unknown_group(emu: KubeEmulator) -> None:
    def get(path: str) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(emu.url + path) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    assert get("/version")[1]["gitVersion"] == "v1.31.0"
    assert get("/api")[1]["serverAddressByClientCIDRs"]
    assert get("/api/v1")[1]["groupVersion"] == "v1"
    assert get("/apis/kustomize.toolkit.fluxcd.io")[1]["preferredVersion"]["version"] == "v1"
    code, body = get("/apis/example.com/v1")
    assert code == 404 and body["reason"] == "NotFound"


def test_dynamic_client_uses_discovery_and_list_kinds(
    emu: KubeEmulator, api: client.ApiClient
) -> None:
    emu.add(deployment("web"))
    emu.add(kustomization("apps"))
    dyn = dynamic.DynamicClient(api)
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    listed = deployments.get(namespace="prod")
    assert listed.kind == "DeploymentList" and [i.metadata.name for i in listed.items] == ["web"]
    ks = dyn.resources.get(api_version="kustomize.toolkit.fluxcd.io/v1", kind="Kustomization")
    assert ks.get(namespace="flux-system", name="apps").spec.path == "./apps"


def test_older_cluster_serving_only_helmrelease_v2beta2(tmp_path: Path) -> None:
    crds = [*DEFAULT_CRDS, LEGACY_HELMRELEASE_CRD]  # the later file replaces the current CRD
    with (
        KubeEmulator(name="old", crds=crds, served={HR: ["v2beta2"]}) as emu,
        api_client(emu) as api,
    ):
        groups = {g.name: g for g in client.ApisApi(api).get_api_versions().groups}
        helm = groups["helm.toolkit.fluxcd.io"]
        assert [v.version for v in helm.versions] == ["v2beta2"]
        assert helm.preferred_version.version == "v2beta2"
        custom = client.CustomObjectsApi(api)
        with pytest.raises(ApiException) as err:
            custom.list_namespaced_custom_object(
                "helm.toolkit.fluxcd.io", "v2", "apps", "helmreleases"
            )
        assert err.value.status == 404
        emu.add(
            {
                "apiVersion": "helm.toolkit.fluxcd.io/v2beta2",
                "kind": "HelmRelease",
                "metadata": {"name": "podinfo", "namespace": "apps"},
                "spec": {
                    "interval": "5m",
                    "chart": {
                        "spec": {
                            "chart": "podinfo",
                            "sourceRef": {"kind": "HelmRepository", "name": "podinfo"},
                        }
                    },
                },
                "status": {"lastAppliedRevision": "6.3.5"},
            }
        )
        got = custom.list_namespaced_custom_object(
            "helm.toolkit.fluxcd.io", "v2beta2", "apps", "helmreleases"
        )
        assert got["items"][0]["status"]["lastAppliedRevision"] == "6.3.5"
        with pytest.raises(ValueError, match="not served"):
            emu.add(
                {
                    "apiVersion": "helm.toolkit.fluxcd.io/v2",
                    "kind": "HelmRelease",
                    "metadata": {"name": "x", "namespace": "apps"},
                }
            )


def test_legacy_helmrelease_serves_three_versions_and_prunes_per_version() -> None:
    with KubeEmulator(crds=[LEGACY_HELMRELEASE_CRD]) as emu, api_client(emu) as api:
        helm = {g.name: g for g in client.ApisApi(api).get_api_versions().groups}[
            "helm.toolkit.fluxcd.io"
        ]
        assert [v.version for v in helm.versions] == ["v2", "v2beta2", "v2beta1"]
        assert helm.preferred_version.version == "v2"  # newest served wins
        emu.add(
            {
                "apiVersion": "helm.toolkit.fluxcd.io/v2beta2",
                "kind": "HelmRelease",
                "metadata": {"name": "podinfo", "namespace": "apps"},
                "spec": {
                    "interval": "5m",
                    "chart": {
                        "spec": {
                            "chart": "podinfo",
                            "sourceRef": {"kind": "HelmRepository", "name": "podinfo"},
                        }
                    },
                },
                "status": {"lastAppliedRevision": "6.3.5", "lastAttemptedRevision": "6.3.5"},
            }
        )
        custom = client.CustomObjectsApi(api)
        old = custom.get_namespaced_custom_object(
            "helm.toolkit.fluxcd.io", "v2beta2", "apps", "helmreleases", "podinfo"
        )
        new = custom.get_namespaced_custom_object(
            "helm.toolkit.fluxcd.io", "v2", "apps", "helmreleases", "podinfo"
        )
        assert old["status"]["lastAppliedRevision"] == "6.3.5"
        assert new["apiVersion"] == "helm.toolkit.fluxcd.io/v2"
        assert "lastAppliedRevision" not in new["status"]  # v2's schema has no such field
        assert new["status"]["lastAttemptedRevision"] == "6.3.5"


# --- lists and selectors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", ["api", "db", "web", "worker"]),
        ("tier=frontend", ["web"]),
        ("tier==backend", ["api", "worker"]),
        ("tier!=backend", ["db", "web"]),  # db has no tier label: != matches it
        ("tier in (frontend,backend)", ["api", "web", "worker"]),
        ("tier notin (backend)", ["db", "web"]),
        ("canary", ["worker"]),
        ("!canary", ["api", "db", "web"]),
        ("tier=backend,!canary", ["api"]),
        ("team in (a, b),tier", ["api", "web"]),
    ],
)
def test_label_selectors(
    emu: KubeEmulator, api: client.ApiClient, selector: str, expected: list[str]
) -> None:
    emu.add(deployment("web", labels={"tier": "frontend", "team": "a"}))
    emu.add(deployment("api", labels={"tier": "backend", "team": "b"}))
    emu.add(deployment("worker", labels={"tier": "backend", "canary": "true"}))
    emu.add(deployment("db", labels={"app": "db"}))
    emu.add(deployment("elsewhere", ns="other", labels={"tier": "frontend"}))
    got = client.AppsV1Api(api).list_namespaced_deployment("prod", label_selector=selector)
    assert [d.metadata.name for d in got.items] == expected


def test_bad_label_selector_is_400(emu: KubeEmulator, api: client.ApiClient) -> None:
    with pytest.raises(ApiException) as err:
        client.AppsV1Api(api).list_namespaced_deployment("prod", label_selector="a in b")
    assert err.value.status == 400 and status_body(err.value)["reason"] == "BadRequest"


def test_field_selectors(emu: KubeEmulator, api: client.ApiClient) -> None:
    for name, phase in [("a", "Running"), ("b", "Pending"), ("c", "Running")]:
        emu.add(pod(name, phase))
    emu.add(pod("d", "Running", ns="other"))
    core = client.CoreV1Api(api)
    running = core.list_namespaced_pod("prod", field_selector="status.phase=Running")
    assert [p.metadata.name for p in running.items] == ["a", "c"]
    not_running = core.list_pod_for_all_namespaces(field_selector="status.phase!=Running")
    assert [p.metadata.name for p in not_running.items] == ["b"]
    both = core.list_pod_for_all_namespaces(
        field_selector="metadata.namespace==other,metadata.name=d"
    )
    assert [(p.metadata.namespace, p.metadata.name) for p in both.items] == [("other", "d")]
    with pytest.raises(ApiException) as err:
        client.AppsV1Api(api).list_namespaced_deployment("prod", field_selector="status.phase=x")
    assert err.value.status == 400


def test_namespace_paths_and_cluster_wide_lists(emu: KubeEmulator, api: client.ApiClient) -> None:
    emu.add(deployment("web", ns="prod"))
    emu.add(deployment("web", ns="staging"))
    emu.add(kustomization("apps", ns="flux-system"))
    emu.add(kustomization("infra", ns="clusters"))
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    names = [n.metadata.name for n in core.list_namespace().items]
    # system namespaces exist as on a real cluster; add() created the ones objects live in
    assert names == sorted(names)
    assert {"default", "kube-system", "prod", "staging", "flux-system"} <= set(names)
    assert core.read_namespace("prod").status.phase == "Active"
    every = apps.list_deployment_for_all_namespaces()
    assert [(d.metadata.namespace, d.metadata.name) for d in every.items] == [
        ("prod", "web"),
        ("staging", "web"),
    ]
    custom = client.CustomObjectsApi(api)
    allks = custom.list_cluster_custom_object("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
    assert allks["kind"] == "KustomizationList"
    assert [i["metadata"]["name"] for i in allks["items"]] == ["infra", "apps"]
    assert allks["items"][0]["apiVersion"] == "kustomize.toolkit.fluxcd.io/v1"


def test_list_envelope(emu: KubeEmulator, api: client.ApiClient) -> None:
    emu.add(deployment("web"))
    resp = client.AppsV1Api(api).list_namespaced_deployment("prod", _preload_content=False)
    body = json.loads(resp.data)
    assert body["kind"] == "DeploymentList" and body["apiVersion"] == "apps/v1"
    assert body["metadata"]["resourceVersion"] == emu.resource_version
    assert "kind" not in body["items"][0]  # a real server omits them on typed list items
    item = body["items"][0]["metadata"]
    assert item["uid"] and item["generation"] == 1 and item["creationTimestamp"] == emu.now


def test_limit_and_continue(emu: KubeEmulator, api: client.ApiClient) -> None:
    for i in range(25):
        emu.add(deployment(f"d{i:02d}", labels={"app": f"d{i:02d}", "even": str(i % 2 == 0)}))
    apps = client.AppsV1Api(api)
    first = apps.list_namespaced_deployment("prod", limit=10)
    assert [d.metadata.name for d in first.items] == [f"d{i:02d}" for i in range(10)]
    assert first.metadata.remaining_item_count == 15 and first.metadata._continue
    emu.add(deployment("d00a"))  # lands inside the remaining range, after the snapshot
    second = apps.list_namespaced_deployment("prod", limit=10, _continue=first.metadata._continue)
    assert [d.metadata.name for d in second.items] == [f"d{i:02d}" for i in range(10, 20)]
    assert second.metadata.resource_version == first.metadata.resource_version
    last = apps.list_namespaced_deployment("prod", limit=10, _continue=second.metadata._continue)
    assert [d.metadata.name for d in last.items] == [f"d{i:02d}" for i in range(20, 25)]
    assert not last.metadata._continue and last.metadata.remaining_item_count is None

    even = apps.list_namespaced_deployment("prod", limit=5, label_selector="even=True")
    assert len(even.items) == 5 and even.metadata._continue
    assert even.metadata.remaining_item_count is None  # unknown with selectors, as on a server
    with pytest.raises(ApiException) as err:
        apps.list_namespaced_deployment("prod", limit=5, _continue="not-a-token")
    assert err.value.status == 400


# --- writes ----------------------------------------------------------------------------------


def test_create_get_and_already_exists(emu: KubeEmulator, api: client.ApiClient) -> None:
    emu.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}})
    apps = client.AppsV1Api(api)
    created = apps.create_namespaced_deployment("prod", deployment("web"))
    assert created.metadata.generation == 1 and created.metadata.uid
    assert created.spec.replicas == 1  # server-side default
    assert apps.read_namespaced_deployment("web", "prod").metadata.uid == created.metadata.uid
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment("prod", deployment("web"))
    body = status_body(err.value)
    assert err.value.status == 409 and body["reason"] == "AlreadyExists"
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("nope", "prod")
    assert status_body(err.value)["reason"] == "NotFound"
    with pytest.raises(ApiException) as err:  # the namespace must exist for a POST
        apps.create_namespaced_deployment("missing", deployment("web", ns="missing"))
    assert err.value.status == 404


def test_put_with_stale_resource_version_conflicts(
    emu: KubeEmulator, api: client.ApiClient
) -> None:
    emu.add(deployment("web"))
    apps = client.AppsV1Api(api)
    stale = apps.read_namespaced_deployment("web", "prod")
    emu.patch("apps/v1", "Deployment", "prod", "web", {"metadata": {"labels": {"x": "1"}}})
    stale.spec.replicas = 3
    with pytest.raises(ApiException) as err:
        apps.replace_namespaced_deployment("web", "prod", stale)
    assert err.value.status == 409 and status_body(err.value)["reason"] == "Conflict"
    fresh = apps.read_namespaced_deployment("web", "prod")
    fresh.spec.replicas = 3
    replaced = apps.replace_namespaced_deployment("web", "prod", fresh)
    assert replaced.spec.replicas == 3 and replaced.metadata.generation == 2
    assert int(replaced.metadata.resource_version) > int(fresh.metadata.resource_version)
    same = apps.replace_namespaced_deployment("web", "prod", replaced)  # nothing changed:
    assert same.metadata.resource_version == replaced.metadata.resource_version  # no write


def test_history_keeps_each_version(emu: KubeEmulator, api: client.ApiClient) -> None:
    emu.watch_timeout_scale = FAST_WATCH
    before = emu.resource_version
    emu.add(deployment("web"))
    apps = client.AppsV1Api(api)
    apps.patch_namespaced_deployment("web", "prod", {"spec": {"replicas": 3}})
    events = list(
        watch.Watch().stream(
            apps.list_namespaced_deployment,
            "prod",
            resource_version=before,
            timeout_seconds=1,
            _request_timeout=5,
        )
    )
    got = [(e["type"], e["object"].metadata.generation, e["object"].spec.replicas) for e in events]
    assert got == [("ADDED", 1, 1), ("MODIFIED", 2, 3)]


def test_status_subresource_for_deployments(emu: KubeEmulator, api: client.ApiClient) -> None:
    emu.add(deployment("web"))
    apps = client.AppsV1Api(api)
    patched = apps.patch_namespaced_deployment_status(
        "web", "prod", {"spec": {"replicas": 9}, "status": {"readyReplicas": 1, "replicas": 1}}
    )
    assert patched.status.ready_replicas == 1
    assert patched.spec.replicas == 1 and patched.metadata.generation == 1  # spec untouched
    current = apps.read_namespaced_deployment("web", "prod")
    current.spec.template.spec.containers[0].image = "nginx:1.28"
    current.status.ready_replicas = 0
    replaced = apps.replace_namespaced_deployment("web", "prod", current)
    assert replaced.status.ready_replicas == 1  # the main resource ignores status
    assert replaced.metadata.generation == 2


def test_status_subresource_for_custom_resources(emu: KubeEmulator, api: client.ApiClient) -> None:
    emu.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}})
    custom = client.CustomObjectsApi(api)
    group, version, plural = "kustomize.toolkit.fluxcd.io", "v1", "kustomizations"
    body = {**kustomization("apps"), "status": {"lastAppliedRevision": "main@sha1:abc"}}
    created = custom.create_namespaced_custom_object(group, version, "flux-system", plural, body)
    assert created["status"] == {"observedGeneration": -1}  # create drops status; CRD default
    ready = {
        "type": "Ready",
        "status": "True",
        "reason": "ReconciliationSucceeded",
        "message": "Applied revision: main@sha1:abc",
        "lastTransitionTime": emu.now,
    }
    after = custom.patch_namespaced_custom_object_status(
        group,
        version,
        "flux-system",
        plural,
        "apps",
        {"spec": {"path": "./other"}, "status": {"conditions": [ready], "observedGeneration": 1}},
    )
    assert after["status"]["conditions"][0]["status"] == "True"
    assert after["spec"]["path"] == "./apps" and after["metadata"]["generation"] == 1
    spec = custom.patch_namespaced_custom_object(
        group,
        version,
        "flux-system",
        plural,
        "apps",
        {"spec": {"path": "./other"}, "status": {"observedGeneration": 7}},
    )
    assert spec["spec"]["path"] == "./other" and spec["metadata"]["generation"] == 2
    assert spec["status"]["observedGeneration"] == 1

    # Argo CD Applications have no status subresource: status is written on the object itself.
    emu.add(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "web", "namespace": "argocd"},
            "spec": {
                "project": "default",
                "destination": {"namespace": "prod"},
                "source": {"repoURL": "https://git.example/app", "path": "."},
            },
        }
    )
    app = custom.patch_namespaced_custom_object(
        "argoproj.io",
        "v1alpha1",
        "argocd",
        "applications",
        "web",
        {"status": {"sync": {"status": "Synced", "revision": "abc"}}},
    )
    assert app["status"]["sync"]["revision"] == "abc"
    assert app["metadata"]["generation"] == 2  # without the subresource, status bumps it too
    with pytest.raises(ApiException) as err:
        custom.get_namespaced_custom_object_status(
            "argoproj.io", "v1alpha1", "argocd", "applications", "web"
        )
    assert err.value.status == 404


def test_patch_content_types(emu: KubeEmulator, api: client.ApiClient) -> None:
    emu.add(deployment("web"))
    emu.add(kustomization("apps"))
    apps = client.AppsV1Api(api)
    smp = apps.patch_namespaced_deployment("web", "prod", {"metadata": {"labels": {"a": "b"}}})
    assert smp.metadata.labels == {"app": "web", "a": "b"}
    jp = apps.patch_namespaced_deployment(
        "web", "prod", [{"op": "replace", "path": "/spec/replicas", "value": 4}]
    )
    assert jp.spec.replicas == 4
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment(
            "web", "prod", [{"op": "test", "path": "/spec/replicas", "value": 1}]
        )
    assert err.value.status == 422
    kinds = [r for r in emu.requests if r.method == "PATCH"]
    assert kinds[0].body == {"metadata": {"labels": {"a": "b"}}}
    custom = client.CustomObjectsApi(api)
    merged = custom.patch_namespaced_custom_object(
        "kustomize.toolkit.fluxcd.io",
        "v1",
        "flux-system",
        "kustomizations",
        "apps",
        {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "now"}}},
    )
    assert merged["metadata"]["annotations"] == {"reconcile.fluxcd.io/requestedAt": "now"}
    assert merged["metadata"]["generation"] == 1  # metadata changes do not bump it
    with pytest.raises(ApiException) as err:  # as on a real server: no SMP for CRs
        custom.patch_namespaced_custom_object(
            "kustomize.toolkit.fluxcd.io",
            "v1",
            "flux-system",
            "kustomizations",
            "apps",
            {"spec": {"suspend": True}},
            _content_type="application/strategic-merge-patch+json",
        )
    assert err.value.status == 415


def test_delete_and_finalizers(emu: KubeEmulator, api: client.ApiClient) -> None:
    emu.add(deployment("web"))
    apps = client.AppsV1Api(api)
    result = apps.delete_namespaced_deployment("web", "prod")  # the client returns a dict
    assert result["kind"] == "Status" and result["status"] == "Success"
    assert emu.get("apps/v1", "Deployment", "prod", "web") is None
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": "web",
            "namespace": "argocd",
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {"project": "default", "destination": {"namespace": "prod"}},
    }
    emu.add(app)
    custom = client.CustomObjectsApi(api)
    args = ("argoproj.io", "v1alpha1", "argocd", "applications", "web")
    marked = custom.delete_namespaced_custom_object(*args)
    assert marked["metadata"]["deletionTimestamp"] == emu.now
    assert custom.get_namespaced_custom_object(*args)["metadata"]["deletionTimestamp"]
    custom.patch_namespaced_custom_object(*args, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as err:
        custom.get_namespaced_custom_object(*args)
    assert err.value.status == 404


# --- leases ----------------------------------------------------------------------------------


def test_lease_lock_leader_election_renews(emu: KubeEmulator, api: client.ApiClient) -> None:
    emu.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shiptrace"}})

    def candidate(identity: str) -> leaderelection.LeaderElection:
        lock = LeaseLock("shiptrace-leader", "shiptrace", identity)
        lock.api_instance = client.CoordinationV1Api(api)
        cfg = electionconfig.Config(
            lock,
            lease_duration=15,
            renew_deadline=10,
            retry_period=2,
            onstarted_leading=lambda: None,
            onstopped_leading=None,
        )
        return leaderelection.LeaderElection(cfg)

    leases = client.CoordinationV1Api(api)
    leader = candidate("bot-a")
    # The election library reads the wall clock: it is moved, not waited for.
    with freeze_time(
        "2026-11-26 10:00:00", ignore=["kubernetes.client"], real_asyncio=True
    ) as clock:
        assert leader.try_acquire_or_renew()  # creates the lease
        first = leases.read_namespaced_lease("shiptrace-leader", "shiptrace")
        clock.tick(2)
        assert leader.try_acquire_or_renew()  # renews with replace_namespaced_lease
        assert leader.try_acquire_or_renew()
        renewed = leases.read_namespaced_lease("shiptrace-leader", "shiptrace")
        assert renewed.spec.holder_identity == "bot-a"
        assert renewed.spec.renew_time > first.spec.renew_time
        assert renewed.spec.renew_time - first.spec.renew_time == timedelta(seconds=2)
        assert renewed.spec.acquire_time == first.spec.acquire_time
        puts = [r for r in emu.requests if r.method == "PUT"]
        assert len(puts) == 2 and all(r.status == 200 for r in puts)
        assert not candidate("bot-b").try_acquire_or_renew()  # held and not expired

    stale = first
    stale.spec.holder_identity = "bot-b"
    with pytest.raises(ApiException) as err:
        client.CoordinationV1Api(api).replace_namespaced_lease(
            "shiptrace-leader", "shiptrace", stale
        )
    assert err.value.status == 409


# --- watch -----------------------------------------------------------------------------------


def test_watch_from_resource_version_replays_only_later_events(
    emu: KubeEmulator, api: client.ApiClient
) -> None:
    emu.watch_timeout_scale = FAST_WATCH
    emu.add(deployment("before"))
    apps = client.AppsV1Api(api)
    rv = apps.list_namespaced_deployment("prod").metadata.resource_version
    emu.add(deployment("web"))
    emu.update_status("apps/v1", "Deployment", "prod", "web", {"readyReplicas": 1})
    emu.delete("apps/v1", "Deployment", "prod", "web")
    emu.add(deployment("other-ns", ns="dev"))
    events = list(
        watch.Watch().stream(
            apps.list_namespaced_deployment,
            "prod",
            resource_version=rv,
            timeout_seconds=1,
            _request_timeout=5,
        )
    )
    assert [(e["type"], e["object"].metadata.name) for e in events] == [
        ("ADDED", "web"),
        ("MODIFIED", "web"),
        ("DELETED", "web"),
    ]
    assert events[1]["object"].status.ready_replicas == 1
    rvs = [int(e["object"].metadata.resource_version) for e in events]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)


def test_watch_without_resource_version_starts_with_current_state(
    emu: KubeEmulator, api: client.ApiClient
) -> None:
    emu.watch_timeout_scale = FAST_WATCH
    emu.add(deployment("a"))
    emu.add(deployment("b"))
    started = time.monotonic()
    events = list(
        watch.Watch().stream(
            client.AppsV1Api(api).list_namespaced_deployment,
            "prod",
            timeout_seconds=1,
            _request_timeout=5,
        )
    )
    assert [(e["type"], e["object"].metadata.name) for e in events] == [
        ("ADDED", "a"),
        ("ADDED", "b"),
    ]
    # timeoutSeconds ends the stream, after that many of the emulator's (short) seconds
    assert 0.9 * FAST_WATCH < time.monotonic() - started < 0.9


def test_live_watch_of_custom_resources_with_a_label_selector(
    emu: KubeEmulator, api: client.ApiClient
) -> None:
    custom = client.CustomObjectsApi(api)
    w = watch.Watch()
    seen: list[tuple[str, str, str]] = []

    def consume() -> None:
        for e in w.stream(
            custom.list_namespaced_custom_object,
            "kustomize.toolkit.fluxcd.io",
            "v1",
            "flux-system",
            "kustomizations",
            label_selector="team=a",
            resource_version=emu.resource_version,
            timeout_seconds=5,
            _request_timeout=10,
        ):
            obj = e["object"]
            ready = (obj.get("status") or {}).get("observedGeneration")
            seen.append((e["type"], obj["metadata"]["name"], str(ready)))
            if len(seen) == 4:
                w.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    deadline = time.monotonic() + 5
    while not emu.cluster.watchers and time.monotonic() < deadline:
        time.sleep(0.01)
    ks = kustomization("apps")
    emu.add({**ks, "metadata": {**ks["metadata"], "labels": {"team": "a"}}})
    emu.add(kustomization("ignored"))  # no label: never seen
    emu.update_status(
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        "flux-system",
        "apps",
        {"observedGeneration": 1},
    )
    emu.patch(
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        "flux-system",
        "ignored",
        {"metadata": {"labels": {"team": "a"}}},
    )  # moves into the selector: ADDED
    emu.patch(
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        "flux-system",
        "apps",
        {"metadata": {"labels": {"team": "b"}}},
    )  # moves out: DELETED
    thread.join(10)
    assert not thread.is_alive()
    assert seen == [
        ("ADDED", "apps", "-1"),
        ("MODIFIED", "apps", "1"),
        ("ADDED", "ignored", "-1"),
        ("DELETED", "apps", "1"),
    ]


def test_watch_from_a_compacted_resource_version_is_410() -> None:
    with (
        KubeEmulator(watch_history=5, watch_timeout_scale=FAST_WATCH) as emu,
        api_client(emu) as api,
    ):
        apps = client.AppsV1Api(api)
        emu.add(deployment("web"))
        rv = emu.resource_version
        for i in range(10):
            emu.patch(
                "apps/v1", "Deployment", "prod", "web", {"metadata": {"labels": {"n": str(i)}}}
            )
        with pytest.raises(ApiException) as err:
            list(
                watch.Watch().stream(
                    apps.list_namespaced_deployment,
                    "prod",
                    resource_version=rv,
                    timeout_seconds=1,
                    _request_timeout=5,
                )
            )
        assert err.value.status == 410
        recent = str(int(emu.resource_version) - 2)
        events = list(
            watch.Watch().stream(
                apps.list_namespaced_deployment,
                "prod",
                resource_version=recent,
                timeout_seconds=1,
                _request_timeout=5,
            )
        )
        assert [e["type"] for e in events] == ["MODIFIED", "MODIFIED"]


def test_stop_ends_open_watches_quickly(api: client.ApiClient) -> None:
    emu = KubeEmulator().start()
    with api_client(emu) as local:
        resp = client.AppsV1Api(local).list_deployment_for_all_namespaces(
            watch=True, _preload_content=False
        )
        deadline = time.monotonic() + 5
        while not emu.cluster.watchers and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        emu.stop()
        assert time.monotonic() - started < 3
        resp.release_conn()


# --- schema validation -----------------------------------------------------------------------


def test_crd_schema_rejects_a_bad_fixture(emu: KubeEmulator) -> None:
    bad = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "repo", "namespace": "flux-system"},
        "spec": {"url": "https://git.example/repo", "interval": "5m"},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "Yes",
                    "reason": "Succeeded",
                    "message": "",
                    "lastTransitionTime": "2026-11-26T09:00:00Z",
                }
            ]
        },
    }
    with pytest.raises(ValueError, match=r"flux-system/repo.*status\.conditions\[0\]\.status"):
        emu.add(bad)
    rollout = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web", "namespace": "prod"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}},
        "status": {"observedGeneration": 3},  # a string in this CRD
    }
    with pytest.raises(ValueError, match=r"status\.observedGeneration.*must be of type string"):
        emu.add(rollout)
    with pytest.raises(ValueError, match="either chart or chartRef must be set"):  # a CEL rule
        emu.add(
            {
                "apiVersion": "helm.toolkit.fluxcd.io/v2",
                "kind": "HelmRelease",
                "metadata": {"name": "x", "namespace": "apps"},
                "spec": {"interval": "5m"},
            }
        )
    with pytest.raises(ValueError, match=r"spec\.template\.spec\.containers\[0\]\.image"):
        broken = deployment("web")
        del broken["spec"]["template"]["spec"]["containers"][0]["image"]
        emu.add(broken)
    assert emu.get("source.toolkit.fluxcd.io/v1", "GitRepository", "flux-system", "repo") is None


def test_invalid_create_over_http_is_422_with_causes(
    emu: KubeEmulator, api: client.ApiClient
) -> None:
    emu.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}})
    body = kustomization("apps")
    body["spec"]["interval"] = "five minutes"
    with pytest.raises(ApiException) as err:
        client.CustomObjectsApi(api).create_namespaced_custom_object(
            "kustomize.toolkit.fluxcd.io", "v1", "flux-system", "kustomizations", body
        )
    status = status_body(err.value)
    assert err.value.status == 422 and status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "spec.interval"


def test_unknown_fields_are_pruned_with_a_warning_or_rejected_when_strict(
    emu: KubeEmulator,
) -> None:
    ks = {**kustomization("apps"), "status": {"lastAppliedRevison": "typo"}}
    with pytest.warns(KubeFieldWarning, match=r'"status\.lastAppliedRevison"'):
        stored = emu.add(ks)
    assert stored["status"] == {}
    with KubeEmulator(strict=True) as strict, pytest.raises(ValueError, match="lastAppliedRevison"):
        strict.add(ks)


def test_reference_examples_load(emu: KubeEmulator) -> None:
    emu.add_yaml(EXAMPLES / "flux-kustomization-ready.yaml")
    emu.add_yaml(EXAMPLES / "flux-gitrepository-ready-failed-unknown.yaml")
    emu.add_yaml(EXAMPLES / "deployment-rollout-in-progress.yaml")
    with pytest.raises(ValueError, match="HelmChart"):  # no HelmChart CRD is vendored
        emu.add_yaml(EXAMPLES / "flux-helmrelease-chain-ready.yaml")
    with pytest.warns(KubeFieldWarning, match="checksum"):
        emu.add_yaml(EXAMPLES / "flux-helmrelease-chain-ready.yaml", skip_unknown=True)
    dep = emu.get("apps/v1", "Deployment", "default", "guestbook-ui")
    assert dep is not None and dep["metadata"]["resourceVersion"] == "12819"  # kept as given
    assert dep["metadata"]["creationTimestamp"] == "2018-07-18T04:40:44Z"  # not a datetime
    hr = emu.get("helm.toolkit.fluxcd.io/v2", "HelmRelease", "podinfo", "podinfo")
    assert hr is not None and hr["status"]["lastAttemptedRevision"] == "6.3.5"


def test_unserved_kind_lists_404(api: client.ApiClient) -> None:
    with KubeEmulator(crds=[]) as bare, api_client(bare) as c:
        with pytest.raises(ApiException) as err:
            client.CustomObjectsApi(c).list_namespaced_custom_object(
                "argoproj.io", "v1alpha1", "argocd", "applications"
            )
        assert err.value.status == 404 and status_body(err.value)["reason"] == "NotFound"
        with pytest.raises(ValueError, match="not served"):
            bare.add(
                {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "Application",
                    "metadata": {"name": "x", "namespace": "argocd"},
                }
            )


# --- direct store API ------------------------------------------------------------------------


def test_add_fills_server_fields_and_keeps_given_ones(emu: KubeEmulator) -> None:
    emu.now = "2026-12-01T10:00:00Z"
    added = emu.add(deployment("web"))
    meta = added["metadata"]
    assert meta["creationTimestamp"] == "2026-12-01T10:00:00Z" and meta["generation"] == 1
    added["spec"]["replicas"] = 99  # callers get copies: the store is not touched
    fetched = emu.get("apps/v1", "Deployment", "prod", "web")
    assert fetched is not None and fetched["spec"]["replicas"] == 1
    fetched["metadata"]["labels"]["x"] = "y"
    assert "x" not in emu.get("apps/v1", "Deployment", "prod", "web")["metadata"]["labels"]
    assert meta["uid"] and meta["resourceVersion"] == emu.resource_version
    given = deployment("api")
    given["metadata"].update(uid="u-1", generation=7, creationTimestamp="2020-01-01T00:00:00Z")
    kept = emu.add(given)["metadata"]
    assert (kept["uid"], kept["generation"], kept["creationTimestamp"]) == (
        "u-1",
        7,
        "2020-01-01T00:00:00Z",
    )
    before = emu.resource_version
    status = emu.update_status("apps/v1", "Deployment", "prod", "web", {"replicas": 1})
    assert int(status["metadata"]["resourceVersion"]) > int(before)
    assert status["metadata"]["generation"] == 1
    patched = emu.patch("apps/v1", "Deployment", "prod", "web", {"spec": {"replicas": 2}})
    assert patched["metadata"]["generation"] == 2 and patched["status"] == {"replicas": 1}
    emu.delete("apps/v1", "Deployment", "prod", "web")
    assert emu.get("apps/v1", "Deployment", "prod", "web") is None
    with pytest.raises(LookupError):
        emu.delete("apps/v1", "Deployment", "prod", "web")


def test_request_log_and_faults(emu: KubeEmulator, api: client.ApiClient) -> None:
    emu.add(deployment("web"))
    apps = client.AppsV1Api(api)
    emu.fail(r"/namespaces/prod/deployments$", status=403, times=1)
    with pytest.raises(ApiException) as err:
        apps.list_namespaced_deployment("prod", label_selector="app=web")
    body = status_body(err.value)
    assert body["reason"] == "Forbidden" and 'cannot list resource "deployments"' in body["message"]
    assert len(apps.list_namespaced_deployment("prod").items) == 1  # times=1 is spent
    emu.fail("/apis/apps/v1/namespaces/prod/deployments/web", status=500)
    for _ in range(2):
        with pytest.raises(ApiException) as err:
            apps.read_namespaced_deployment("web", "prod")
        assert status_body(err.value)["reason"] == "InternalError"
    emu.fail("/api/v1/namespaces", status=401, method="GET")
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(api).list_namespace()
    assert err.value.status == 401 and status_body(err.value)["reason"] == "Unauthorized"
    emu.clear_faults()
    assert apps.read_namespaced_deployment("web", "prod").metadata.name == "web"
    assert emu.requests[0] == LoggedRequest(
        "GET", "/apis/apps/v1/namespaces/prod/deployments", {"labelSelector": "app=web"}, 403
    )
    assert [r.status for r in emu.requests] == [403, 200, 500, 500, 401, 200]
    emu.clear_log()
    assert emu.requests == []


def test_token_is_checked(tmp_path: Path) -> None:
    with KubeEmulator(token="s3cret") as emu:
        emu.add(deployment("web"))
        with api_client(emu, token="wrong") as bad, pytest.raises(ApiException) as err:
            client.AppsV1Api(bad).list_namespaced_deployment("prod")
        assert err.value.status == 401 and status_body(err.value)["reason"] == "Unauthorized"
        with api_client(emu) as anonymous, pytest.raises(ApiException) as err:
            client.AppsV1Api(anonymous).list_namespaced_deployment("prod")
        assert err.value.status == 401
        with api_client(emu, token="s3cret") as good:
            assert len(client.AppsV1Api(good).list_namespaced_deployment("prod").items) == 1


def test_kubeconfig_with_two_clusters(tmp_path: Path) -> None:
    with (
        KubeEmulator(name="staging", token="test-token") as staging,
        KubeEmulator(name="prod", token="test-token") as prod,
    ):
        staging.add(deployment("web", ns="apps", image="web:1.1"))
        prod.add(deployment("web", ns="apps", image="web:1.0"))
        path = write_kubeconfig(
            tmp_path / "kubeconfig",
            {"staging": staging, "prod": prod},
            current="staging",
            token="test-token",
        )
        contexts, active = config.list_kube_config_contexts(str(path))
        assert {c["name"] for c in contexts} == {"staging", "prod"}
        assert active["name"] == "staging"

        def image(context: str | None) -> str:
            with config.new_client_from_config(config_file=str(path), context=context) as c:
                dep = client.AppsV1Api(c).read_namespaced_deployment("web", "apps")
                return str(dep.spec.template.spec.containers[0].image)

        assert image(None) == "web:1.1"  # current-context
        assert image("prod") == "web:1.0"
        assert [r.path for r in prod.requests] == ["/apis/apps/v1/namespaces/apps/deployments/web"]


# --- size ----------------------------------------------------------------------------------------


def test_seeding_and_listing_a_thousand_objects(emu: KubeEmulator, api: client.ApiClient) -> None:
    # How fast is measured by bench/scan.py (a benchmark, not a timed test).
    for i in range(1000):
        emu.add(deployment(f"d{i:04d}"))
    apps = client.AppsV1Api(api)
    for _ in range(200):  # a long request log must not change what a list returns
        apps.read_namespaced_deployment("d0001", "prod")
    raw = apps.list_namespaced_deployment("prod", _preload_content=False)
    assert len(json.loads(raw.data)["items"]) == 1000
    assert len(apps.list_namespaced_deployment("prod").items) == 1000


# --- access reviews ----------------------------------------------------------------------------


def review(api: client.ApiClient, verb: str, group: str, resource: str, namespace: str = "") -> Any:
    body = client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(
                verb=verb, group=group, resource=resource, namespace=namespace or None
            )
        )
    )
    return client.AuthorizationV1Api(api).create_self_subject_access_review(body)


def test_self_subject_access_review_allows_by_default(
    emu: KubeEmulator, api: client.ApiClient
) -> None:
    answer = review(api, "list", "apps", "deployments")
    assert answer.kind == "SelfSubjectAccessReview" and answer.status.allowed is True
    assert answer.spec.resource_attributes.resource == "deployments"
    request = emu.requests[-1]
    assert (request.method, request.path, request.status) == (
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        201,
    )


def test_denied_access_is_reviewed_and_enforced(emu: KubeEmulator, api: client.ApiClient) -> None:
    emu.add(deployment("web"))
    emu.deny("list", "deployments", group="apps")
    denied = review(api, "list", "apps", "deployments")
    assert denied.status.allowed is False and denied.status.denied is not True
    assert review(api, "get", "apps", "deployments").status.allowed is True
    assert review(api, "list", "apps", "deployments", namespace="prod").status.allowed is False
    apps = client.AppsV1Api(api)
    with pytest.raises(ApiException) as err:
        apps.list_namespaced_deployment("prod")
    body = status_body(err.value)
    assert err.value.status == 403
    assert 'cannot list resource "deployments" in API group "apps"' in body["message"]
    assert apps.read_namespaced_deployment("web", "prod").metadata.name == "web"
    emu.deny("*", "pods")
    assert review(api, "get", "", "pods").status.allowed is False
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(api).list_pod_for_all_namespaces()
    assert err.value.status == 403


def test_access_review_needs_attributes(emu: KubeEmulator) -> None:
    request = urllib.request.Request(
        emu.url + "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        data=json.dumps(
            {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": {}}
        ).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request)
    assert err.value.code == 422 and json.load(err.value)["reason"] == "Invalid"
