"""More of `shiptrace where` into the clusters: Flux HelmRelease and OCI sources, Argo
Rollouts canaries, untagged images, first-seen times and clusters that fail in part or whole.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.sandbox.github import GitHubEmulator
from bot.store import Store
from tests.scenarios import kubeobjs as k
from tests.scenarios import shop
from tests.scenarios.clusters import (
    config_app,
    config_repo,
    prod_apply_failed,
    staging_app,
    where_json,
)
from tests.scenarios.command import Cli
from tests.scenarios.fleet import (
    APP_URL,
    TWO_ENVS,
    KubeEmulators,
    env_stages,
    flux_prod,
    live_prod,
    live_staging,
    seed,
    tag,
)

DIGEST = "sha256:" + "cd" * 32


FLUX_READY_AT = "2026-11-26T09:09:30Z"


def use_prod_flux(workdir: Path, kind: str, name: str, namespace: str) -> None:
    """TWO_ENVS with production's Flux object swapped for another."""
    old = "flux: {kind: Kustomization, name: shop, namespace: flux-system}"
    new = f"flux: {{kind: {kind}, name: {name}, namespace: {namespace}}}"
    (workdir / "shiptrace.yaml").write_text(TWO_ENVS.replace(old, new))


def ready(message: str, at: str = FLUX_READY_AT) -> list[dict[str, Any]]:
    return [
        {
            "type": "Ready",
            "status": "True",
            "reason": "ReconciliationSucceeded",
            "message": message,
            "lastTransitionTime": at,
            "observedGeneration": 1,
        }
    ]


def helm_release_from_git(name: str, ns: str, source: str, chart_version: str) -> dict[str, Any]:
    """A helm.toolkit.fluxcd.io/v2 HelmRelease whose chart is built from a GitRepository."""
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": ns, "generation": 1},
        "spec": {
            "interval": "5m",
            "chart": {
                "spec": {
                    "chart": "./charts/shop",
                    "reconcileStrategy": "Revision",
                    "sourceRef": {
                        "kind": "GitRepository",
                        "name": source,
                        "namespace": "flux-system",
                    },
                }
            },
        },
        "status": {
            "observedGeneration": 1,
            "helmChart": f"flux-system/{ns}-{name}",
            "lastAttemptedRevision": chart_version,
            "lastAttemptedConfigDigest": DIGEST,
            "history": [
                {
                    "name": name,
                    "namespace": ns,
                    "version": 2,
                    "status": "deployed",
                    "chartName": "shop",
                    "chartVersion": chart_version,
                    "appVersion": "1.0.0",
                    "configDigest": DIGEST,
                    "digest": DIGEST,
                    "firstDeployed": "2026-11-25T09:00:00Z",
                    "lastDeployed": "2026-11-26T09:09:00Z",
                }
            ],
            "conditions": [
                *ready(f"Helm upgrade succeeded for release {ns}/{name}.v2 with chart"),
                {
                    "type": "Released",
                    "status": "True",
                    "reason": "UpgradeSucceeded",
                    "message": f"Helm upgrade succeeded for release {ns}/{name}.v2",
                    "lastTransitionTime": "2026-11-26T09:09:00Z",
                    "observedGeneration": 1,
                },
            ],
        },
    }


def oci_repository(name: str, artifact_revision: str, origin: str) -> dict[str, Any]:
    """An OCIRepository whose artifact records the Git repo and commit it was built from."""
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "OCIRepository",
        "metadata": {"name": name, "namespace": "flux-system", "generation": 1},
        "spec": {
            "interval": "1m0s",
            "url": "oci://ghcr.io/acme/shop-manifests",
            "ref": {"tag": "latest"},
        },
        "status": {
            "observedGeneration": 1,
            "url": "http://source-controller.flux-system.svc/ocirepository/x.tar.gz",
            "artifact": {
                "revision": artifact_revision,
                "digest": "sha256:" + "ef" * 32,
                "lastUpdateTime": "2026-11-26T09:20:00Z",
                "path": "ocirepository/flux-system/shop/x.tar.gz",
                "url": "http://source-controller.flux-system.svc/ocirepository/x.tar.gz",
                "metadata": {
                    "org.opencontainers.image.source": "https://github.com/acme/shop",
                    "org.opencontainers.image.revision": origin,
                },
            },
            "conditions": ready(f"stored artifact for digest '{artifact_revision}'"),
        },
    }


def oci_kustomization(name: str, source: str, applied: str, origin: str) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": "flux-system", "generation": 1},
        "spec": {
            "interval": "5m",
            "path": "./",
            "prune": True,
            "sourceRef": {"kind": "OCIRepository", "name": source},
        },
        "status": {
            "observedGeneration": 1,
            "lastAppliedRevision": applied,
            "lastAttemptedRevision": applied,
            "lastAppliedOriginRevision": origin,
            "conditions": ready(f"Applied revision: {applied}"),
        },
    }


def canary_rollout(
    name: str, ns: str, new_image: str, old_image: str, *, step_index: int
) -> list[dict[str, Any]]:
    """An Argo Rollouts canary (5 steps) paused at ``step_index`` (0-based), with its two
    ReplicaSets: the stable one on ``old_image``, the canary on ``new_image``."""
    labels = {"app": name}
    rollout = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name, "namespace": ns, "generation": 2, "uid": f"uid-{name}"},
        "spec": {
            "replicas": 5,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": name, "image": new_image}]},
            },
            "strategy": {
                "canary": {
                    "steps": [
                        {"setWeight": 20},
                        {"pause": {}},
                        {"setWeight": 60},
                        {"pause": {"duration": "10m"}},
                        {"setWeight": 100},
                    ]
                }
            },
        },
        "status": {
            "observedGeneration": "2",
            "phase": "Paused",
            "message": "CanaryPauseStep",
            "replicas": 5,
            "updatedReplicas": 1,
            "readyReplicas": 5,
            "availableReplicas": 5,
            "currentPodHash": "canary1",
            "stableRS": "stable1",
            "currentStepIndex": step_index,
            "controllerPause": True,
            "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-11-26T09:12:00Z"}],
            "conditions": [
                {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "RolloutPaused",
                    "message": "Rollout is paused",
                    "lastUpdateTime": "2026-11-26T09:12:00Z",
                    "lastTransitionTime": "2026-11-26T09:12:00Z",
                }
            ],
        },
    }

    def replicaset(pod_hash: str, image: str, replicas: int, created: str) -> dict[str, Any]:
        rs_labels = {**labels, "rollouts-pod-template-hash": pod_hash}
        return {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{name}-{pod_hash}",
                "namespace": ns,
                "creationTimestamp": created,
                "labels": rs_labels,
                "ownerReferences": [
                    {
                        "apiVersion": "argoproj.io/v1alpha1",
                        "kind": "Rollout",
                        "name": name,
                        "uid": f"uid-{name}",
                        "controller": True,
                    }
                ],
            },
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": rs_labels},
                "template": {
                    "metadata": {"labels": rs_labels},
                    "spec": {"containers": [{"name": name, "image": image}]},
                },
            },
            "status": {"replicas": replicas, "readyReplicas": replicas},
        }

    stable = replicaset("stable1", old_image, 4, "2026-11-25T09:00:00Z")
    canary = replicaset("canary1", new_image, 1, "2026-11-26T09:11:00Z")
    return [rollout, stable, canary, k.pod(canary, 0), *(k.pod(stable, i) for i in range(4))]


# --- Flux sources ---------------------------------------------------------------------------


def test_flux_helmrelease_with_a_chart_from_the_app_repo(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators, workdir: Path
) -> None:
    s = shop.build(github)
    use_prod_flux(workdir, "HelmRelease", "shop", "shop")
    live_staging(clusters["staging"], s.merged)
    seed(
        clusters["prod"],
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        k.git_repository("shop", APP_URL, f"main@sha1:{s.merged}"),
        # Flux builds the chart version from the first 12 hex of the Git commit.
        helm_release_from_git("shop", "shop", "shop", f"0.1.0+{s.merged[:12]}"),
        *k.rolled_out("shop", "shop", tag(s.merged)),
    )

    result = cli("where", "acme/shop#12", "--json")

    assert result.code == 0
    data = result.json
    prod = env_stages(data, "production")
    assert list(prod) == ["sync", "rollout"]  # the chart lives in the app repo: no promote
    assert prod["sync"]["status"] == "succeeded", prod["sync"]
    assert "Flux HelmRelease shop/shop" in prod["sync"]["detail"]
    assert s.merged[:7] in prod["sync"]["detail"]
    assert prod["sync"]["finished_at"] == "2026-11-26T09:09:00Z"  # the release's lastDeployed
    assert prod["rollout"]["status"] == "succeeded"
    assert data["errors"] == []


def test_flux_kustomization_from_an_oci_artifact_uses_the_origin_revision(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators, workdir: Path
) -> None:
    s = shop.build(github)
    live_staging(clusters["staging"], s.merged)
    applied = f"latest@{DIGEST}"
    # The source has since moved on to a newer artifact (built from a later commit that
    # does not matter here): only lastAppliedOriginRevision says what was applied.
    seed(
        clusters["prod"],
        oci_repository("shop", "latest@sha256:" + "01" * 32, f"main@sha1:{s.orphan}"),
        oci_kustomization("shop", "shop", applied, f"main@sha1:{s.merged}"),
        *k.rolled_out("shop", "shop", tag(s.merged)),
    )

    data = where_json(cli)

    prod = env_stages(data, "production")
    assert list(prod) == ["sync", "rollout"]  # the artifact is built from the app repo
    assert prod["sync"]["status"] == "succeeded", prod["sync"]
    assert s.merged[:7] in prod["sync"]["detail"]
    assert data["errors"] == []

    # An older applied origin does not contain the change, whatever the artifact tag says.
    clusters["prod"].add(oci_kustomization("shop", "shop", applied, f"main@sha1:{s.base}"))
    data = where_json(cli)
    assert env_stages(data, "production")["sync"]["status"] == "pending"


# --- rollouts -------------------------------------------------------------------------------


def test_argo_rollout_paused_at_a_canary_step(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators, workdir: Path
) -> None:
    s = shop.build(github)
    (workdir / "shiptrace.yaml").write_text(
        TWO_ENVS.replace(
            "workloads: [{kind: Deployment, namespace: shop, name: shop}]",
            "workloads: [{kind: Rollout, namespace: shop, name: shop}]",
            1,
        )
    )
    seed(
        clusters["staging"],
        staging_app(s.merged, health="Suspended"),
        *canary_rollout("shop", "shop", tag(s.merged), tag(s.base), step_index=1),
    )
    live_prod(clusters["prod"], s.base)

    data = where_json(cli)

    rollout = env_stages(data, "staging")["rollout"]
    assert rollout["status"] == "running", rollout
    assert "paused at step 2/5" in rollout["detail"]
    assert rollout["items"][0]["name"].startswith("Rollout")
    assert rollout["items"][0]["status"] == "running"
    assert rollout["started_at"] == "2026-11-26T09:11:00Z"  # the canary ReplicaSet's creation
    assert env_stages(data, "staging")["sync"]["status"] == "succeeded"


def test_image_tag_latest_follows_the_synced_revision(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators
) -> None:
    s = shop.build(github)
    latest = "ghcr.io/acme/shop:latest"
    seed(
        clusters["staging"],
        staging_app(s.merged),
        *k.rolled_out("shop", "shop", latest),
    )
    flux_prod(clusters["prod"], f"main@sha1:{s.base}")
    seed(clusters["prod"], *k.rolled_out("shop", "shop", latest))

    data = where_json(cli)

    staging = env_stages(data, "staging")["rollout"]
    assert staging["status"] == "succeeded", staging
    assert f"following the synced revision {s.merged[:7]}" in staging["detail"]
    assert "'latest'" in staging["detail"]
    prod = env_stages(data, "production")["rollout"]
    assert prod["status"] == "pending", prod  # the synced revision there is older
    assert f"following the synced revision {s.base[:7]}" in prod["detail"]
    assert data["errors"] == []


# --- first seen -----------------------------------------------------------------------------


def test_started_at_without_an_api_time_is_first_seen_and_stays(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators, workdir: Path
) -> None:
    s = shop.build(github)
    live_staging(clusters["staging"], s.merged)
    # A finished Flux apply reports no start time: the sync's start is when we first saw it.
    live_prod(clusters["prod"], s.merged)

    first = env_stages(where_json(cli), "production")["sync"]
    assert first["status"] == "succeeded"
    assert first["started_at"] is not None
    again = env_stages(where_json(cli), "production")["sync"]
    assert again["started_at"] == first["started_at"]

    # What the store recorded first wins over the time of this look.
    seen = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    store = Store.open(workdir / "other.db")
    try:
        store.first_seen("acme/shop", s.merged, "production", "sync", "succeeded", seen)
    finally:
        store.close()
    (workdir / "shiptrace.db").unlink()
    (workdir / "other.db").rename(workdir / "shiptrace.db")
    for _ in range(2):
        data = where_json(cli)
        assert env_stages(data, "production")["sync"]["started_at"] == "2026-11-26T09:30:00Z"


# --- clusters that fail ---------------------------------------------------------------------


def test_stopped_cluster_makes_only_its_environment_unknown(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators
) -> None:
    s = shop.build(github)
    live_staging(clusters["staging"], s.merged)
    clusters["prod"].stop()  # the kubeconfig still points at it: connection refused

    result = cli("where", "acme/shop#12", "--json")

    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    data = result.json
    prod = env_stages(data, "production")
    assert list(prod) == ["sync", "rollout"]
    assert {st["status"] for st in prod.values()} == {"unknown"}
    assert all(st["detail"] for st in prod.values())
    errors = [e for e in data["errors"] if e["environment"] == "production"]
    assert len(errors) == 1 and errors[0]["source"] == "kubernetes"
    assert "unreachable" in errors[0]["message"]
    assert all(e["environment"] == "production" for e in data["errors"])
    staging = env_stages(data, "staging")
    assert staging["sync"]["status"] == "succeeded"
    assert staging["rollout"]["status"] == "succeeded"


def test_unreadable_pods_make_only_that_workload_unknown(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators
) -> None:
    s = shop.build(github)
    live_staging(clusters["staging"], s.merged)
    live_prod(clusters["prod"], s.merged)
    clusters["prod"].fail(r"/api/v1/namespaces/shop/pods", status=403)

    result = cli("where", "acme/shop#12", "--json")

    assert result.code == 0, result.err
    data = result.json
    prod = env_stages(data, "production")
    assert prod["sync"]["status"] == "succeeded"  # the Kustomization was readable
    assert prod["rollout"]["status"] == "unknown"
    assert "403" in prod["rollout"]["items"][0]["conclusion"]
    errors = [e for e in data["errors"] if e["environment"] == "production"]
    assert len(errors) == 1 and "403" in errors[0]["message"]


def test_missing_flux_source_claims_nothing(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators
) -> None:
    s = shop.build(github)
    live_staging(clusters["staging"], s.merged)
    # The Kustomization names a GitRepository that is not there: which repo it applied
    # from is not known, so neither is whether the change is in it.
    seed(
        clusters["prod"],
        k.kustomization("shop", source="gone", applied=f"main@sha1:{s.merged}"),
        *k.rolled_out("shop", "shop", tag(s.merged)),
    )
    data = where_json(cli)
    sync = env_stages(data, "production")["sync"]
    assert sync["status"] == "unknown", sync
    assert sync["detail"]


def test_unreadable_config_repo_leaves_sync_unknown_not_pending(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators
) -> None:
    s = shop.build(github)
    [c1] = config_repo(github, (f"shop: sha-{s.merged[:7]}", "2026-11-26T09:20:00Z"))
    seed(
        clusters["staging"],
        # No summary.images: only the config repo could say what the applied commit carries.
        config_app(c1),
        *k.rolled_out("shop", "shop", tag(s.merged)),
    )
    flux_prod(clusters["prod"], f"main@sha1:{s.base}")
    github.fail(r"/repos/acme/shop-config/commits")

    result = cli("where", "acme/shop#12", "--json")

    assert result.code == 0
    staging = env_stages(result.json, "staging")
    assert staging["promote"]["status"] == "unknown"
    assert staging["sync"]["status"] == "unknown", staging["sync"]
    assert any(
        e["source"] == "github" and e["environment"] == "staging" for e in result.json["errors"]
    )


def test_unreadable_flux_source_is_an_error_of_its_environment(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators
) -> None:
    s = shop.build(github)
    live_staging(clusters["staging"], s.merged)
    live_prod(clusters["prod"], s.merged)
    clusters["prod"].fail(r"/gitrepositories/", status=403)

    result = cli("where", "acme/shop#12", "--json")

    assert result.code == 0, result.err
    prod = env_stages(result.json, "production")
    assert prod["sync"]["status"] == "unknown", prod["sync"]
    assert prod["rollout"]["status"] == "succeeded"  # the workloads were readable
    errors = [e for e in result.json["errors"] if e["environment"] == "production"]
    assert len(errors) == 1 and errors[0]["source"] == "kubernetes"
    assert "403" in errors[0]["message"] and "GitRepository" in errors[0]["message"]


def test_failed_flux_apply_has_a_first_seen_start(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators
) -> None:
    s = shop.build(github)
    live_staging(clusters["staging"], s.merged)
    prod_apply_failed(clusters["prod"], s)

    first = env_stages(where_json(cli), "production")["sync"]
    again = env_stages(where_json(cli), "production")["sync"]

    assert first["status"] == "failed"
    assert first["started_at"] is not None  # Flux gives no start: when we first saw it
    assert first["finished_at"] == "2026-11-26T09:09:30Z"  # the Ready=False transition
    assert again["started_at"] == first["started_at"]
