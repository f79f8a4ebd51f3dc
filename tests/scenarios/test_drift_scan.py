"""The drift scan through the real Kubernetes client against the cluster emulators, and
`shiptrace drift`. staging runs Argo CD, prod runs Flux (tests/scenarios/fleet.py)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import parse_service_map
from bot.drift.scan import scan
from bot.engine import CLUSTER_KINDS
from bot.sandbox.kube import DEFAULT_CRDS, KubeEmulator, write_kubeconfig
from bot.sources.cluster import Clusters, NotFound
from tests.scenarios import kubeobjs as k
from tests.scenarios.command import Cli
from tests.scenarios.fleet import (
    TWO_ENVS,
    KubeEmulators,
    fleet_config,
    flux_prod,
    live_staging,
    seed,
    seed_fleet,
    tag,
)

A = "a" * 40
HEALTHY = {"status": "Healthy"}
SERVICES = parse_service_map(TWO_ENVS)


def drifting_staging(emu: KubeEmulator) -> None:
    """Argo CD reports the app OutOfSync: someone edited the Deployment by hand."""
    live_staging(emu, A, sync="OutOfSync")
    emu.patch(
        "argoproj.io/v1alpha1",
        "Application",
        "argocd",
        "shop-staging",
        {
            "status": {
                "resources": [
                    k.argo_resource(
                        "Deployment", "shop", "OutOfSync", group="apps", health=HEALTHY
                    ),
                    k.argo_resource("Service", "shop", "Synced", health=HEALTHY),
                ]
            }
        },
    )


def crashing_prod(emu: KubeEmulator) -> None:
    """Flux applied the commit; two of the Deployment's three pods crash-loop."""
    flux_prod(emu, f"main@sha1:{A}")
    d = k.deployment("shop", "shop", tag(A), available=1)
    rs = k.replicaset(d, "7d9f", tag(A), revision=2, replicas=3)
    seed(
        emu,
        d,
        rs,
        k.pod(rs, 0),
        *(k.pod(rs, i, waiting="CrashLoopBackOff", restarts=9) for i in (1, 2)),
    )


def healthy(clusters: dict[str, KubeEmulator]) -> None:
    live_staging(clusters["staging"], A)
    flux_prod(clusters["prod"], f"main@sha1:{A}")
    seed(clusters["prod"], *k.rolled_out("shop", "shop", tag(A)))


async def run_scan(services: Any = SERVICES) -> tuple[list[Any], list[Any]]:
    clusters = Clusters(
        kinds=CLUSTER_KINDS
    )  # KUBECONFIG from the fixture; a fresh client as each run would have
    try:
        return await scan(clusters, services)
    finally:
        clusters.close()


async def test_a_scan_finds_an_out_of_sync_app_and_a_crash_looping_deployment(
    clusters: dict[str, KubeEmulator],
) -> None:
    drifting_staging(clusters["staging"])
    crashing_prod(clusters["prod"])

    findings, unchecked = await run_scan()

    assert unchecked == []
    assert [(f.key, f.stage, f.kind, f.subject, f.summary, f.resources) for f in findings] == [
        (
            "shop/staging",
            "sync",
            "out-of-sync",
            "Argo CD app argocd/shop-staging",
            "OutOfSync: 1 resource differs from Git",
            ("Deployment shop/shop",),
        ),
        (
            "shop/production",
            "rollout",
            "unavailable",
            "Deployment shop/shop",
            "1 of 3 replicas available",
            (),
        ),
        (
            "shop/production",
            "rollout",
            "crash-loop",
            "Deployment shop/shop",
            "2 pods in CrashLoopBackOff",
            ("shop-7d9f-1", "shop-7d9f-2"),
        ),
    ]
    assert findings[0].links == (("acme/shop", "https://github.com/acme/shop"),)
    assert findings[2].actual == "CrashLoopBackOff, 18 restarts"


async def test_a_healthy_fleet_has_no_findings(clusters: dict[str, KubeEmulator]) -> None:
    healthy(clusters)
    assert await run_scan() == ([], [])


async def test_a_scan_costs_the_same_requests_for_1_and_for_50_services(
    clusters: dict[str, KubeEmulator],
) -> None:
    seed_fleet(clusters, 50)

    async def requests(n: int) -> dict[str, list[str]]:
        for emu in clusters.values():
            emu.clear_log()
        findings, unchecked = await run_scan(parse_service_map(fleet_config(n)))
        assert (findings, unchecked) == ([], [])
        return {name: sorted(r.path for r in emu.requests) for name, emu in clusters.items()}

    one, fifty = await requests(1), await requests(50)

    assert fifty == one
    # Bounded: API discovery once per cluster, then one list per kind, all namespaces.
    assert one == {
        "staging": sorted(
            [
                "/apis",
                "/apis/argoproj.io/v1alpha1/applications",
                "/apis/apps/v1/deployments",
                "/apis/apps/v1/replicasets",
                "/api/v1/pods",
            ]
        ),
        "prod": sorted(
            [
                "/apis",
                "/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations",
                "/apis/source.toolkit.fluxcd.io/v1/gitrepositories",
                "/apis/source.toolkit.fluxcd.io/v1/ocirepositories",
                "/apis/source.toolkit.fluxcd.io/v1/buckets",  # not served here: 404, no objects
                "/apis/apps/v1/deployments",
                "/apis/apps/v1/replicasets",
                "/api/v1/pods",
            ]
        ),
    }


async def test_list_kind_pages_through_every_namespace(clusters: dict[str, KubeEmulator]) -> None:
    emu = clusters["prod"]
    seed_fleet(clusters, 3)  # 9 pods in 3 namespaces
    emu.clear_log()
    c = Clusters(kinds=CLUSTER_KINDS)
    try:
        pods = await c.client("prod").list_kind("Pod", page_size=4)
        with pytest.raises(NotFound):
            await c.client("prod").list_kind("HelmChart")  # no CRD for it in this cluster
    finally:
        c.close()

    assert (
        len(pods) == 9
        and len({(p["metadata"]["namespace"], p["metadata"]["name"]) for p in pods}) == 9
    )
    assert {(p["apiVersion"], p["kind"]) for p in pods} == {("v1", "Pod")}  # stamped on items
    pages = [r for r in emu.requests if r.path == "/api/v1/pods"]
    assert [r.query.get("limit") for r in pages] == ["4", "4", "4"]
    assert ["continue" in r.query for r in pages] == [False, True, True]


def oci_at_v1beta2() -> dict[str, Any]:
    """The OCIRepository CRD served only at v1beta2, as in Flux 2.0-2.5 (GitRepository at v1)."""
    path = next(p for p in DEFAULT_CRDS if "ocirepositories" in p.name)
    crd = copy.deepcopy(next(d for d in yaml.safe_load_all(path.read_text()) if d))
    crd["spec"]["versions"][0]["name"] = "v1beta2"
    return dict(crd)


async def test_a_flux_kind_is_listed_at_the_newest_version_that_serves_it(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with KubeEmulator("mixed", crds=[*DEFAULT_CRDS, oci_at_v1beta2()]) as emu:
        write_kubeconfig(workdir / "kubeconfig", {"mixed": emu})
        monkeypatch.setenv("KUBECONFIG", str(workdir / "kubeconfig"))
        emu.add(
            {
                "apiVersion": "source.toolkit.fluxcd.io/v1beta2",
                "kind": "OCIRepository",
                "metadata": {"name": "shop", "namespace": "flux-system"},
                "spec": {"url": "oci://ghcr.io/acme/manifests/shop", "interval": "1m"},
            }
        )
        c = Clusters(kinds=CLUSTER_KINDS)
        try:
            repos = await c.client("mixed").list_kind("OCIRepository")
        finally:
            c.close()
    assert [(r["apiVersion"], r["metadata"]["name"]) for r in repos] == [
        ("source.toolkit.fluxcd.io/v1beta2", "shop")
    ]


async def test_an_app_on_a_cluster_without_argo_cd_is_missing(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_argo = [p for p in DEFAULT_CRDS if "argocd" not in p.name]
    with KubeEmulator("staging", crds=no_argo) as emu:
        write_kubeconfig(workdir / "kubeconfig", {"staging": emu})
        monkeypatch.setenv("KUBECONFIG", str(workdir / "kubeconfig"))
        seed(emu, *k.rolled_out("shop", "shop", tag(A)))
        only_staging = parse_service_map(TWO_ENVS.split("      - name: production")[0])
        findings, unchecked = await run_scan(only_staging)
    assert unchecked == []
    assert [(f.kind, f.subject, f.summary) for f in findings] == [
        (
            "missing",
            "Argo CD app argocd/shop-staging",
            "not found: the cluster does not serve Application",
        )
    ]


async def test_an_unreachable_cluster_leaves_its_environments_unchecked(
    clusters: dict[str, KubeEmulator],
) -> None:
    drifting_staging(clusters["staging"])
    clusters["prod"].stop()

    findings, unchecked = await run_scan()

    assert [f.key for f in findings] == ["shop/staging"]
    assert [(u.service, u.environment) for u in unchecked] == [("shop", "production")]
    assert "cluster 'prod'" in unchecked[0].message and "unreachable" in unchecked[0].message


async def test_a_forbidden_kind_leaves_only_the_environments_needing_it_unchecked(
    clusters: dict[str, KubeEmulator],
) -> None:
    healthy(clusters)
    clusters["prod"].fail(r"^/apis/source\.toolkit\.fluxcd\.io/v1/gitrepositories$", 403)
    config = (
        TWO_ENVS
        + """
  - name: edge
    repo: acme/edge
    environments:
      - name: production
        cluster: prod
        workloads: [{kind: Deployment, namespace: shop, name: shop}]
"""
    )
    findings, unchecked = await run_scan(parse_service_map(config))

    assert findings == []
    assert [(u.service, u.environment) for u in unchecked] == [("shop", "production")]
    assert "forbids reading GitRepository objects (403)" in unchecked[0].message


# --- shiptrace drift ---------------------------------------------------------------------------


def test_the_drift_command_prints_one_line_per_finding_and_exits_1(
    cli: Cli, clusters: KubeEmulators
) -> None:
    drifting_staging(clusters["staging"])
    crashing_prod(clusters["prod"])

    result = cli("drift")

    assert result.code == 1, result.err
    assert result.out.splitlines() == [
        "shop/staging: Argo CD app argocd/shop-staging: OutOfSync: 1 resource differs from Git"
        " — since unknown",
        "shop/production: Deployment shop/shop: 1 of 3 replicas available — since unknown",
        "shop/production: Deployment shop/shop: 2 pods in CrashLoopBackOff — since unknown",
    ]
    assert result.err == ""


def test_the_drift_command_says_since_when_the_objects_say(
    cli: Cli, clusters: KubeEmulators
) -> None:
    healthy(clusters)
    clusters["prod"].patch(
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        "flux-system",
        "shop",
        {
            "status": {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "False",
                        "reason": "BuildFailed",
                        "message": "kustomize build failed",
                        "lastTransitionTime": "2026-11-26T09:30:00Z",
                        "observedGeneration": 1,
                    }
                ]
            }
        },
    )

    result = cli("drift", "--json")

    assert result.code == 1
    assert result.json == [
        {
            "service": "shop",
            "environment": "production",
            "stage": "sync",
            "kind": "not-ready",
            "subject": "Flux Kustomization flux-system/shop",
            "summary": "Ready=False: BuildFailed",
            "desired": "Ready",
            "actual": "kustomize build failed",
            "resources": [],
            "since": "2026-11-26T09:30:00Z",
            "links": [{"label": "acme/shop", "url": "https://github.com/acme/shop"}],
        }
    ]


def test_the_drift_command_exits_0_when_nothing_drifts(cli: Cli, clusters: KubeEmulators) -> None:
    healthy(clusters)
    result = cli("drift")
    assert (result.code, result.out, result.err) == (0, "", "")
    assert cli("drift", "--json").out.strip() == "[]"


def test_the_drift_command_names_what_it_could_not_check_on_stderr(
    cli: Cli, clusters: KubeEmulators, workdir: Path
) -> None:
    live_staging(clusters["staging"], A)
    config = (
        TWO_ENVS
        + """
  - name: moon
    repo: acme/moon
    environments:
      - name: base
        cluster: moon
        workloads: [{kind: Deployment, namespace: moon, name: moon}]
"""
    )
    (workdir / "shiptrace.yaml").write_text(config)
    clusters["prod"].stop()

    result = cli("drift")

    assert result.code == 4, "no drift seen, but not everything was checked"
    assert result.out == ""
    lines = result.err.splitlines()
    assert lines[0].startswith("shiptrace: could not check shop/production: cluster 'prod' at ")
    assert "unreachable" in lines[0]
    assert lines[1].startswith("shiptrace: could not check moon/base: cannot use context 'moon'")
    assert len(lines) == 2

    clusters["staging"].add(k.deployment("shop", "shop", tag(A), available=2))
    assert cli("drift").code == 1  # drift seen: that is what exit 1 says, whatever else


def test_the_drift_command_refuses_a_bad_config(cli: Cli, workdir: Path) -> None:
    (workdir / "bad.yaml").write_text("services: []\n")
    result = cli("drift", "--config", str(workdir / "bad.yaml"))
    assert result.code == 2
    assert result.err.startswith("shiptrace: ") and "Traceback" not in result.err


async def test_a_scan_lists_a_thousand_services_in_one_page_per_kind(
    clusters: dict[str, KubeEmulator],
) -> None:
    # 1,000 services have 3,000 pods per cluster: pages of 500 made a scan's requests grow
    # with the fleet (134 for 5,000 services against 30 for 1,000).
    seed_fleet(clusters, 1000)
    for emu in clusters.values():
        emu.clear_log()
    c = Clusters(kinds=CLUSTER_KINDS)
    try:
        findings, unchecked = await scan(c, parse_service_map(fleet_config(1000)))
    finally:
        c.close()
    assert (findings, unchecked) == ([], [])
    for emu in clusters.values():
        paths = [r.path for r in emu.requests]
        assert len(paths) == len(set(paths)), paths  # one request per kind
