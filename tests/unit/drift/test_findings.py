"""Drift detection over listed objects (bot.drift.findings / bot.drift.rules), table-driven.

Objects are built like tests/scenarios/kubeobjs.py (the shapes the emulator validates).
staging runs Argo CD, production Flux; both run Deployment shop/shop.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from bot.config import parse_service_map
from bot.drift.findings import Finding, Snapshot, Unchecked, find_drift, kinds_needed
from bot.sandbox import REFERENCE
from tests.scenarios import kubeobjs as k
from tests.scenarios.fleet import APP_URL, TWO_ENVS

Obj = dict[str, Any]
A = "a" * 40
B = "b" * 40
IMAGE = f"ghcr.io/acme/shop:sha-{A[:7]}"
OTHER = f"ghcr.io/acme/shop:sha-{B[:7]}"
EXAMPLES = REFERENCE / "examples"
SERVICES = parse_service_map(TWO_ENVS)


def t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def snapshot(*objs: Obj, context: str | None = "prod", **kw: Any) -> Snapshot:
    """A snapshot holding ``objs``, with an empty list for every other kind a scan lists."""
    objects: dict[str, list[Obj]] = {kind: [] for kind in kinds_needed(SERVICES)[context]}
    for obj in objs:
        objects.setdefault(obj["kind"], []).append(obj)
    return Snapshot(objects=objects, **kw)


def healthy_staging() -> list[Obj]:
    return [
        k.argo_app("shop-staging", repo_url=APP_URL, revision=A, history=[A], images=[IMAGE]),
        *k.rolled_out("shop", "shop", IMAGE),
    ]


def healthy_prod() -> list[Obj]:
    return [
        k.git_repository("shop", APP_URL, f"main@sha1:{A}"),
        k.kustomization("shop", source="shop", applied=f"main@sha1:{A}"),
        *k.rolled_out("shop", "shop", IMAGE),
    ]


def scan(staging: list[Obj], prod: list[Obj]) -> tuple[list[Finding], list[Unchecked]]:
    return find_drift(
        SERVICES,
        {"staging": snapshot(*staging, context="staging"), "prod": snapshot(*prod)},
    )


def edit(
    objs: list[Obj], kind: str, change: Callable[[Obj], None], name: str | None = None
) -> list[Obj]:
    """A copy of ``objs`` with ``change`` applied to the (named) objects of ``kind``."""
    out = copy.deepcopy(objs)
    for obj in out:
        if obj["kind"] == kind and name in (None, obj["metadata"]["name"]):
            change(obj)
    return out


def condition(obj: Obj, type_: str, status: str, reason: str, at: str, message: str = "") -> None:
    conds = [c for c in obj["status"].get("conditions", []) if c["type"] != type_]
    conds.append(
        {
            "type": type_,
            "status": status,
            "reason": reason,
            "message": message,
            "lastTransitionTime": at,
        }
    )
    obj["status"]["conditions"] = conds


def out_of_sync(app: Obj) -> None:
    app["status"]["sync"]["status"] = "OutOfSync"
    healthy = {"status": "Healthy"}
    app["status"]["resources"] = [
        k.argo_resource("Deployment", "shop", "OutOfSync", group="apps", health=healthy),
        k.argo_resource("Service", "shop", "Synced", health=healthy),
        k.argo_resource("ConfigMap", "shop-env", "OutOfSync"),
        k.argo_resource(
            "ClusterRole",
            "shop-reader",
            "OutOfSync",
            group="rbac.authorization.k8s.io",
            namespace=None,
        ),
    ]


def failed_sync(app: Obj) -> None:
    out_of_sync(app)
    app["status"]["operationState"]["phase"] = "Failed"
    app["status"]["operationState"]["message"] = (
        "one or more objects failed to apply: ConfigMap shop-env is invalid"
    )


def health(status: str, resource_health: str) -> Callable[[Obj], None]:
    def change(app: Obj) -> None:
        app["status"]["health"] = {"status": status, "lastTransitionTime": "2026-11-26T09:20:00Z"}
        app["status"]["resources"] = [
            {
                "version": "v1",
                "kind": "Service",
                "namespace": "shop",
                "name": "shop",
                "status": "Synced",
                "health": {"status": "Healthy"},
            },
            {
                "group": "apps",
                "version": "v1",
                "kind": "Deployment",
                "namespace": "shop",
                "name": "shop",
                "status": "Synced",
                "health": {"status": resource_health},
            },
        ]

    return change


def ready_false(
    reason: str, message: str = "kustomize build failed: accumulating resources"
) -> Callable[[Obj], None]:
    return lambda obj: condition(obj, "Ready", "False", reason, "2026-11-26T09:30:00Z", message)


def stalled(obj: Obj) -> None:
    ready_false("BuildFailed")(obj)
    condition(
        obj,
        "Stalled",
        "True",
        "BuildFailed",
        "2026-11-26T09:31:00Z",
        "kustomization path not found",
    )


def reconciling(reason: str) -> Callable[[Obj], None]:
    def change(obj: Obj) -> None:
        ready_false("ReconciliationFailed")(obj)
        condition(
            obj, "Reconciling", "True", reason, "2026-11-26T09:32:00Z", "Running reconciliation"
        )

    return change


def source_at(revision: str) -> Callable[[Obj], None]:
    def change(repo: Obj) -> None:
        repo["status"]["artifact"]["revision"] = revision

    return change


def suspend(obj: Obj) -> None:
    obj["spec"]["suspend"] = True


def unavailable(d: Obj) -> None:
    d["status"]["availableReplicas"] = 1
    d["status"]["readyReplicas"] = 1
    condition(d, "Available", "False", "MinimumReplicasUnavailable", "2026-11-26T09:40:00Z")


def waiting(reason: str, *indexes: int, since: str | None = None) -> Callable[[Obj], None]:
    def change(p: Obj) -> None:
        if int(p["metadata"]["name"].rsplit("-", 1)[-1]) not in indexes:
            return
        cs = p["status"]["containerStatuses"][0]
        cs["state"] = {"waiting": {"reason": reason, "message": "back-off"}}
        cs["ready"] = False
        cs["restartCount"] = 7
        if since:
            p["status"]["conditions"] = [
                {"type": "Ready", "status": "False", "lastTransitionTime": since}
            ]

    return change


def pod_image(image: str, container: str = "app", *indexes: int) -> Callable[[Obj], None]:
    def change(p: Obj) -> None:
        if int(p["metadata"]["name"].rsplit("-", 1)[-1]) in (indexes or (0,)):
            for c in p["spec"]["containers"]:
                if c["name"] == container:
                    c["image"] = image

    return change


def evicted(p: Obj) -> None:
    if p["metadata"]["name"].endswith("-0"):
        p["status"] = {
            "phase": "Failed",
            "reason": "Evicted",
            "message": "The node was low on resource: memory.",
        }


def template_container(d: Obj) -> None:
    # kubeobjs names the template container after the Deployment and the pod's "app": align.
    d["spec"]["template"]["spec"]["containers"][0]["name"] = "app"


def sidecar(p: Obj) -> None:
    p["spec"]["containers"].append(
        {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.22.0"}
    )


def without(kind: str, objs: list[Obj]) -> list[Obj]:
    return [o for o in objs if o["kind"] != kind]


STAGING = healthy_staging()
PROD = healthy_prod()
POD = "shop-7d9f"  # pod names: shop-7d9f-0 .. -2
ALIGNED_PROD = edit(PROD, "Deployment", template_container)

# (id, staging objects, prod objects, expected (env, kind, stage, subject, summary,
#  desired, actual, resources, since) per finding, in order)
CASES: list[tuple[str, list[Obj], list[Obj], list[tuple[Any, ...]]]] = [
    ("healthy", STAGING, PROD, []),
    (
        "argo-out-of-sync",
        edit(STAGING, "Application", out_of_sync),
        PROD,
        [
            (
                "staging",
                "out-of-sync",
                "sync",
                "Argo CD app argocd/shop-staging",
                "OutOfSync: 3 resources differ from Git",
                A[:7],
                "live state differs",
                ("ClusterRole shop-reader", "ConfigMap shop/shop-env", "Deployment shop/shop"),
                None,
            ),
        ],
    ),
    (
        "argo-out-of-sync-last-sync-failed",
        edit(STAGING, "Application", failed_sync),
        PROD,
        [
            (
                "staging",
                "out-of-sync",
                "sync",
                "Argo CD app argocd/shop-staging",
                "OutOfSync: 3 resources differ from Git; the last sync failed",
                A[:7],
                "live state differs; sync failed: one or more objects failed to apply: ConfigMap shop-env is invalid",
                ("ClusterRole shop-reader", "ConfigMap shop/shop-env", "Deployment shop/shop"),
                t("2026-11-26T09:08:00Z"),
            ),
        ],
    ),
    (
        "argo-out-of-sync-on-an-older-revision",
        [
            k.argo_app(
                "shop-staging",
                repo_url=APP_URL,
                revision=A,
                op_revision=B,
                history=[B],
                images=[IMAGE],
                sync="OutOfSync",
            ),
            *k.rolled_out("shop", "shop", IMAGE),
        ],
        PROD,
        [
            (
                "staging",
                "out-of-sync",
                "sync",
                "Argo CD app argocd/shop-staging",
                "OutOfSync with Git",
                A[:7],
                f"synced {B[:7]}",
                (),
                None,
            ),
        ],
    ),
    (
        "argo-degraded",
        edit(STAGING, "Application", health("Degraded", "Degraded")),
        PROD,
        [
            (
                "staging",
                "degraded",
                "rollout",
                "Argo CD app argocd/shop-staging",
                "health Degraded: 1 resource degraded",
                "Healthy",
                "Degraded",
                ("Deployment shop/shop",),
                t("2026-11-26T09:20:00Z"),
            ),
        ],
    ),
    (
        "argo-health-missing",
        edit(STAGING, "Application", health("Missing", "Missing")),
        PROD,
        [
            (
                "staging",
                "missing",
                "rollout",
                "Argo CD app argocd/shop-staging",
                "health Missing: 1 resource not in the cluster",
                "Healthy",
                "Missing",
                ("Deployment shop/shop",),
                t("2026-11-26T09:20:00Z"),
            ),
        ],
    ),
    (
        "argo-progressing-is-not-drift",
        edit(STAGING, "Application", lambda a: a["status"]["health"].update(status="Progressing")),
        PROD,
        [],
    ),
    (
        "flux-ready-false",
        STAGING,
        edit(PROD, "Kustomization", ready_false("BuildFailed")),
        [
            (
                "production",
                "not-ready",
                "sync",
                "Flux Kustomization flux-system/shop",
                "Ready=False: BuildFailed",
                "Ready",
                "kustomize build failed: accumulating resources",
                (),
                t("2026-11-26T09:30:00Z"),
            ),
        ],
    ),
    (
        "flux-health-check-failed-is-the-rollout's",
        STAGING,
        edit(
            PROD,
            "Kustomization",
            ready_false(
                "HealthCheckFailed",
                "timeout waiting for: [Deployment/shop/shop status: 'InProgress']",
            ),
        ),
        [
            (
                "production",
                "not-ready",
                "rollout",
                "Flux Kustomization flux-system/shop",
                "Ready=False: HealthCheckFailed",
                "Ready",
                "timeout waiting for: [Deployment/shop/shop status: 'InProgress']",
                (),
                t("2026-11-26T09:30:00Z"),
            ),
        ],
    ),
    (
        "flux-failure-being-retried",
        STAGING,
        edit(PROD, "Kustomization", reconciling("ProgressingWithRetry")),
        [
            (
                "production",
                "not-ready",
                "sync",
                "Flux Kustomization flux-system/shop",
                "Ready=False: ReconciliationFailed",
                "Ready",
                "kustomize build failed: accumulating resources",
                (),
                t("2026-11-26T09:30:00Z"),
            ),
        ],
    ),
    (
        "flux-reconciling-afresh-is-not-drift",
        STAGING,
        edit(PROD, "Kustomization", reconciling("Progressing")),
        [],
    ),
    (
        "flux-stalled",
        STAGING,
        edit(PROD, "Kustomization", stalled),
        [
            (
                "production",
                "stalled",
                "sync",
                "Flux Kustomization flux-system/shop",
                "Stalled: BuildFailed",
                "Ready",
                "kustomization path not found",
                (),
                t("2026-11-26T09:31:00Z"),
            ),
        ],
    ),
    (
        "flux-source-cannot-fetch",
        STAGING,
        edit(
            PROD,
            "GitRepository",
            ready_false("GitOperationFailed", "failed to checkout and determine revision"),
        ),
        [
            (
                "production",
                "not-ready",
                "sync",
                "Flux GitRepository flux-system/shop",
                "Ready=False: GitOperationFailed",
                "Ready",
                "failed to checkout and determine revision",
                (),
                t("2026-11-26T09:30:00Z"),
            ),
        ],
    ),
    (
        "a-suspended-source-is-not-drift",
        STAGING,
        edit(
            edit(PROD, "GitRepository", ready_false("GitOperationFailed")), "GitRepository", suspend
        ),
        [],
    ),
    (
        "flux-revision-lag",
        STAGING,
        edit(PROD, "GitRepository", source_at(f"main@sha1:{B}")),
        [
            (
                "production",
                "revision-lag",
                "sync",
                "Flux Kustomization flux-system/shop",
                "applied revision is not the source's latest",
                B[:7],
                A[:7],
                (),
                t("2026-11-26T09:05:00Z"),
            ),
        ],
    ),
    (
        "flux-old-and-new-revision-formats-agree",
        STAGING,
        edit(PROD, "GitRepository", source_at(f"main/{A}")),
        [],
    ),
    (
        "flux-suspended-is-not-drift",
        STAGING,
        edit(
            edit(edit(PROD, "Kustomization", stalled), "Kustomization", suspend),
            "GitRepository",
            source_at(f"main@sha1:{B}"),
        ),
        [],
    ),
    (
        "unavailable",
        STAGING,
        edit(PROD, "Deployment", unavailable),
        [
            (
                "production",
                "unavailable",
                "rollout",
                "Deployment shop/shop",
                "1 of 3 replicas available",
                "3 available",
                "1 available",
                (),
                t("2026-11-26T09:40:00Z"),
            ),
        ],
    ),
    (
        "crash-loop",
        STAGING,
        edit(PROD, "Pod", waiting("CrashLoopBackOff", 0, 2, since="2026-11-26T09:41:00Z")),
        [
            (
                "production",
                "crash-loop",
                "rollout",
                "Deployment shop/shop",
                "2 pods in CrashLoopBackOff",
                "running",
                "CrashLoopBackOff, 14 restarts",
                (f"{POD}-0", f"{POD}-2"),
                t("2026-11-26T09:41:00Z"),
            ),
        ],
    ),
    (
        "image-pull",
        edit(
            edit(STAGING, "Pod", waiting("ErrImagePull", 1)), "Pod", waiting("ImagePullBackOff", 2)
        ),
        PROD,
        [
            (
                "staging",
                "image-pull",
                "rollout",
                "Deployment shop/shop",
                "2 pods cannot pull their image",
                IMAGE,
                "ErrImagePull, ImagePullBackOff",
                (f"{POD}-1", f"{POD}-2"),
                None,
            ),
        ],
    ),
    (
        "pod-runs-another-image",
        STAGING,
        edit(ALIGNED_PROD, "Pod", pod_image(OTHER)),
        [
            (
                "production",
                "image-mismatch",
                "rollout",
                "Deployment shop/shop",
                "1 pod runs an image not in the pod template",
                IMAGE,
                OTHER,
                (f"{POD}-0",),
                None,
            ),
        ],
    ),
    (
        "a-paused-rollout-keeps-old-pods-on-purpose",
        STAGING,
        edit(
            edit(ALIGNED_PROD, "Pod", pod_image(OTHER)),
            "Deployment",
            lambda d: d["spec"].update(paused=True),
        ),
        [],
    ),
    (
        "evicted-pods-are-not-judged",
        STAGING,
        edit(edit(ALIGNED_PROD, "Pod", pod_image(OTHER)), "Pod", evicted),
        [],
    ),
    ("injected-sidecars-are-not-compared", STAGING, edit(ALIGNED_PROD, "Pod", sidecar), []),
    (
        "docker-hub-prefixes-and-pinned-digests-are-the-same-image",
        STAGING,
        edit(ALIGNED_PROD, "Pod", pod_image(f"{IMAGE}@sha256:{'e' * 64}")),
        [],
    ),
    (
        "argo-app-does-not-list-the-image",
        edit(
            STAGING,
            "Application",
            lambda a: a["status"]["summary"].update(images=[OTHER, "redis:7"]),
        ),
        PROD,
        [
            (
                "staging",
                "image-mismatch",
                "rollout",
                "Deployment shop/shop",
                "runs an image the Argo CD app does not list",
                OTHER,
                IMAGE,
                (),
                None,
            ),
        ],
    ),
    (
        "missing-objects",
        without("Application", STAGING),
        without("Deployment", without("Kustomization", PROD)),
        [
            (
                "staging",
                "missing",
                "sync",
                "Argo CD app argocd/shop-staging",
                "not found",
                None,
                None,
                (),
                None,
            ),
            (
                "production",
                "missing",
                "sync",
                "Flux Kustomization flux-system/shop",
                "not found",
                None,
                None,
                (),
                None,
            ),
            (
                "production",
                "missing",
                "rollout",
                "Deployment shop/shop",
                "not found",
                None,
                None,
                (),
                None,
            ),
        ],
    ),
    (
        "one-environment-with-several-findings-in-order",
        edit(edit(STAGING, "Application", out_of_sync), "Deployment", unavailable),
        PROD,
        [
            (
                "staging",
                "out-of-sync",
                "sync",
                "Argo CD app argocd/shop-staging",
                "OutOfSync: 3 resources differ from Git",
                A[:7],
                "live state differs",
                ("ClusterRole shop-reader", "ConfigMap shop/shop-env", "Deployment shop/shop"),
                None,
            ),
            (
                "staging",
                "unavailable",
                "rollout",
                "Deployment shop/shop",
                "1 of 3 replicas available",
                "3 available",
                "1 available",
                (),
                t("2026-11-26T09:40:00Z"),
            ),
        ],
    ),
]


@pytest.mark.parametrize(
    ("staging", "prod", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_findings(staging: list[Obj], prod: list[Obj], expected: list[tuple[Any, ...]]) -> None:
    findings, unchecked = scan(staging, prod)
    assert unchecked == []
    got = [
        (
            f.environment,
            f.kind,
            f.stage,
            f.subject,
            f.summary,
            f.desired,
            f.actual,
            f.resources,
            f.since,
        )
        for f in findings
    ]
    assert got == expected
    assert all(f.service == "shop" and f.key == f"shop/{f.environment}" for f in findings)


def test_pods_of_another_workload_with_the_same_labels_are_not_counted() -> None:
    # A second Deployment "shop-canary" whose pods carry app=shop too: only ownership tells.
    canary = k.deployment("shop-canary", "shop", OTHER)
    rs = k.replicaset(canary, "c4n4", OTHER, revision=1, replicas=1)
    crashing = k.pod(rs, 0, waiting="CrashLoopBackOff")
    rs["metadata"]["labels"]["app"] = crashing["metadata"]["labels"]["app"] = "shop"
    findings, _ = scan(STAGING, [*PROD, canary, rs, crashing])
    assert findings == []


def test_pods_of_another_namespace_are_not_counted() -> None:
    other = edit(k.rolled_out("shop", "shop-2", OTHER), "Pod", waiting("CrashLoopBackOff", 0))
    findings, _ = scan(STAGING, [*PROD, *other])
    assert findings == []


def test_a_statefulset_is_judged_by_its_own_pods() -> None:
    services = parse_service_map(
        """
services:
  - name: db
    repo: acme/db
    environments:
      - name: production
        cluster: prod
        workloads: [{kind: StatefulSet, namespace: db, name: pg}]
"""
    )
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "pg", "namespace": "db", "uid": "uid-pg", "generation": 1},
        "spec": {
            "replicas": 2,
            "selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["pg"]}]},
            "template": {"spec": {"containers": [{"name": "pg", "image": "postgres:16"}]}},
        },
        "status": {
            "observedGeneration": 1,
            "replicas": 2,
            "readyReplicas": 1,
            "availableReplicas": 1,
        },
    }
    pods = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"pg-{i}",
                "namespace": "db",
                "labels": {"app": "pg"},
                "ownerReferences": [{"kind": "StatefulSet", "name": "pg", "uid": "uid-pg"}],
            },
            "spec": {"containers": [{"name": "pg", "image": "postgres:16"}]},
            "status": {
                "phase": "Running",
                "containerStatuses": [
                    {
                        "name": "pg",
                        "image": "postgres:16",
                        "restartCount": 0,
                        "state": {"running": {}},
                    }
                ],
            },
        }
        for i in range(2)
    ]
    waiting("CrashLoopBackOff", 1)(pods[1])
    snap = Snapshot(objects={"StatefulSet": [sts], "Pod": pods})
    findings, unchecked = find_drift(services, {"prod": snap})
    assert unchecked == []
    assert [(f.kind, f.subject, f.resources) for f in findings] == [
        ("unavailable", "StatefulSet db/pg", ()),
        ("crash-loop", "StatefulSet db/pg", ("pg-1",)),
    ]


def test_a_real_flux_kustomization_and_its_failing_source() -> None:
    """bot/sandbox/reference/examples: the podinfo Kustomization, its source unable to fetch."""
    docs = [
        d
        for f in ("flux-kustomization-ready.yaml", "flux-gitrepository-ready-failed-unknown.yaml")
        for d in yaml.safe_load_all((EXAMPLES / f).read_text())
        if d
    ]
    ks = next(d for d in docs if d["kind"] == "Kustomization")
    repo = next(
        d for d in docs if d["kind"] == "GitRepository" and d["metadata"]["name"] == "gr-failed"
    )
    repo["metadata"]["name"] = "podinfo"
    services = parse_service_map(
        """
services:
  - name: podinfo
    repo: stefanprodan/podinfo
    environments:
      - name: production
        flux: {kind: Kustomization, name: podinfo}
"""
    )
    snap = Snapshot(
        objects={"Kustomization": [ks], "GitRepository": [repo], "OCIRepository": [], "Bucket": []}
    )
    findings, _ = find_drift(services, {None: snap})
    assert [(f.kind, f.subject, f.summary, f.links) for f in findings] == [
        (
            "not-ready",
            "Flux GitRepository flux-system/podinfo",
            "Ready=False: GitOperationFailed",
            (("example/repo", "https://github.com/example/repo"),),
        ),
        # The failed source has no artifact: the lag cannot be judged, so it is not claimed.
    ]


def test_a_real_helmrelease_chain() -> None:
    """bot/sandbox/reference/examples: a Ready HelmRelease from a HelmRepository; its Deployment has
    no status yet (the controller has not observed it: not drift). A HelmRelease is not
    compared with its source's artifact (a chart index)."""
    docs = yaml.safe_load_all((EXAMPLES / "flux-helmrelease-chain-ready.yaml").read_text())
    objects: dict[str, list[Obj]] = {kind: [] for kind in kinds_needed(HELM)[None]}
    for doc in docs:
        if doc and doc["kind"] in objects:
            objects[doc["kind"]].append(doc)
    objects["HelmRepository"][0]["status"]["artifact"]["revision"] = "sha256:" + "9" * 64
    findings, unchecked = find_drift(HELM, {None: Snapshot(objects=objects)})
    assert unchecked == []
    assert findings == []


HELM = parse_service_map(
    """
services:
  - name: podinfo
    repo: stefanprodan/podinfo
    environments:
      - name: production
        flux: {kind: HelmRelease, name: podinfo, namespace: podinfo}
        workloads: [{kind: Deployment, namespace: podinfo, name: podinfo}]
"""
)


def test_findings_link_the_gitops_source_repo_in_https_form() -> None:
    ssh = edit(
        PROD,
        "GitRepository",
        lambda r: r["spec"].update(url="ssh://git@github.com/acme/shop-config"),
    )
    findings, _ = scan(
        edit(STAGING, "Application", out_of_sync), edit(ssh, "Deployment", unavailable)
    )
    assert [f.links for f in findings] == [
        (("acme/shop", "https://github.com/acme/shop"),),
        (("acme/shop-config", "https://github.com/acme/shop-config"),),
    ]


def test_a_kind_the_cluster_does_not_serve_has_no_objects() -> None:
    staging = snapshot(
        *without("Application", STAGING), context="staging", unserved=frozenset({"Application"})
    )
    findings, unchecked = find_drift(SERVICES, {"staging": staging, "prod": snapshot(*PROD)})
    assert unchecked == []
    assert [(f.environment, f.kind, f.summary) for f in findings] == [
        ("staging", "missing", "not found: the cluster does not serve Application")
    ]


@pytest.mark.parametrize(
    ("prod", "expected"),
    [
        (None, "cluster 'prod' was not scanned"),
        (
            Snapshot(error="cluster 'prod' at https://x is unreachable (connection refused)"),
            "cluster 'prod' at https://x is unreachable (connection refused)",
        ),
        (
            snapshot(*PROD, failed={"Pod": "cluster 'prod' forbids reading Pod objects (403)"}),
            "cluster 'prod' forbids reading Pod objects (403)",
        ),
        (
            snapshot(
                *PROD,
                failed={"GitRepository": "cluster 'prod' answered 500 for GitRepository objects"},
            ),
            "cluster 'prod' answered 500 for GitRepository objects",
        ),
        (Snapshot(objects={"Kustomization": []}), "Deployment objects were not listed"),
    ],
    ids=[
        "no-snapshot",
        "cluster-unreachable",
        "pods-forbidden",
        "the-source-kind-failed",
        "kind-not-listed",
    ],
)
def test_an_environment_that_cannot_be_read_is_unchecked_not_a_finding(
    prod: Snapshot | None, expected: str
) -> None:
    snaps = {"staging": snapshot(*edit(STAGING, "Application", out_of_sync), context="staging")}
    if prod is not None:
        snaps["prod"] = prod
    findings, unchecked = find_drift(SERVICES, snaps)
    assert unchecked == [Unchecked("shop", "production", expected)]
    assert [f.environment for f in findings] == ["staging"]


def test_a_failed_kind_nothing_references_does_not_matter() -> None:
    prod = snapshot(*edit(PROD, "Deployment", unavailable), failed={"Bucket": "answered 500"})
    findings, unchecked = find_drift(
        SERVICES, {"staging": snapshot(*STAGING, context="staging"), "prod": prod}
    )
    assert unchecked == []
    assert [f.kind for f in findings] == ["unavailable"]


MIXED = """
services:
  - name: shop
    repo: acme/shop
    environments:
      - name: staging
        cluster: staging
        argocd: {application: shop-staging}
        workloads: [{kind: Rollout, namespace: shop, name: shop}]
      - name: production
        cluster: prod
        flux: {kind: HelmRelease, name: shop}
        workloads: [{kind: StatefulSet, namespace: shop, name: db}]
      - name: edge
        workloads: [{kind: DaemonSet, namespace: edge, name: shop-edge}]
      - name: nothing-configured
        cluster: lab
  - name: billing
    repo: acme/billing
    environments:
      - name: production
        cluster: prod
        flux: {kind: Kustomization, name: billing}
        workloads: [{kind: Deployment, namespace: billing, name: billing}]
"""


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            TWO_ENVS,
            {
                "staging": ["Application", "Deployment", "ReplicaSet", "Pod"],
                "prod": [
                    "Kustomization",
                    "GitRepository",
                    "OCIRepository",
                    "Bucket",
                    "Deployment",
                    "ReplicaSet",
                    "Pod",
                ],
            },
        ),
        (
            MIXED,
            {
                "staging": ["Application", "Rollout", "ReplicaSet", "Pod"],
                "prod": [
                    "Kustomization",
                    "HelmRelease",
                    "GitRepository",
                    "OCIRepository",
                    "HelmRepository",
                    "HelmChart",
                    "Bucket",
                    "Deployment",
                    "StatefulSet",
                    "ReplicaSet",
                    "Pod",
                ],
                None: ["DaemonSet", "Pod"],
            },
        ),
    ],
    ids=["argo-and-flux", "every-kind"],
)
def test_kinds_needed_lists_only_what_environments_use(
    config: str, expected: dict[str | None, list[str]]
) -> None:
    got = kinds_needed(parse_service_map(config))
    assert got == expected
    assert list(got) == list(expected)  # contexts in config order; "lab" has nothing to list


def test_kinds_needed_does_not_grow_with_services() -> None:
    many = TWO_ENVS + "".join(
        f"""
  - name: svc{i}
    repo: acme/svc{i}
    environments:
      - name: production
        cluster: prod
        flux: {{kind: Kustomization, name: svc{i}}}
        workloads: [{{kind: Deployment, namespace: svc{i}, name: svc{i}}}]
"""
        for i in range(50)
    )
    assert kinds_needed(parse_service_map(many)) == kinds_needed(SERVICES)


def rolling_prod(deadline_exceeded: bool) -> list[Obj]:
    """Production mid-rollout from IMAGE to OTHER: 1 of 3 new pods, old pods still serving."""
    progressing = (
        ("False", "ProgressDeadlineExceeded")
        if deadline_exceeded
        else ("True", "ReplicaSetUpdated")
    )
    d = k.deployment(
        "shop",
        "shop",
        OTHER,
        replicas=3,
        updated=1,
        ready=3,
        available=2,
        progressing=progressing,
    )
    d["status"]["replicas"] = 4
    new = k.replicaset(d, "new1", OTHER, revision=3, replicas=1)
    old = k.replicaset(d, "old1", IMAGE, revision=2, replicas=3)
    pods = [k.pod(new, 0), *(k.pod(old, i) for i in range(3))]
    for pod in pods:  # the container as the pod template names it
        pod["spec"]["containers"][0]["name"] = "shop"
        pod["status"]["containerStatuses"][0]["name"] = "shop"
    return [
        k.git_repository("shop", APP_URL, f"main@sha1:{A}"),
        k.kustomization("shop", source="shop", applied=f"main@sha1:{A}"),
        d,
        new,
        old,
        *pods,
    ]


@pytest.mark.parametrize(
    ("deadline_exceeded", "kinds"),
    [
        (False, []),  # a rolling update in progress is not drift
        (True, ["unavailable", "image-mismatch"]),  # the controller gave up: it is
    ],
)
def test_a_rollout_in_progress_is_not_drift_until_it_gives_up(
    deadline_exceeded: bool, kinds: list[str]
) -> None:
    findings, _ = scan(healthy_staging(), rolling_prod(deadline_exceeded))
    assert [f.kind for f in findings] == kinds
