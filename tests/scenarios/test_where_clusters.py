"""`shiptrace where` into the clusters: promote, sync and rollout across environments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.github import GitHubEmulator
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
    TWO_ENVS,
    KubeEmulators,
    env_stages,
    flux_prod,
    live_prod,
    live_staging,
    seed,
    tag,
)


def test_live_in_staging_pending_in_production(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators
) -> None:
    s = shop.build(github)
    shop.green_ci(github, s.merged)
    live_staging(clusters["staging"], s.merged)
    live_prod(clusters["prod"], s.base)

    data = where_json(cli)

    staging, prod = env_stages(data, "staging"), env_stages(data, "production")
    assert list(staging) == ["sync", "rollout"]  # manifests in the app repo: no promote
    assert staging["sync"]["kind"] == "continuous"
    assert staging["sync"]["status"] == "succeeded"
    assert s.merged[:7] in staging["sync"]["detail"]
    assert staging["rollout"]["status"] == "succeeded"
    assert staging["rollout"]["items"][0]["name"].startswith("Deployment")
    assert prod["sync"]["status"] == "pending"
    assert prod["rollout"]["status"] == "pending"
    assert data["where"].startswith("Live in staging; production")
    assert data["errors"] == []


def test_superseded_by_a_newer_release_is_live(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators
) -> None:
    s = shop.build(github)
    shop.green_ci(github, s.merged)
    newer = github.add_commit("acme/shop", "Later release", parents=[s.orphan], branch="main")
    live_staging(clusters["staging"], newer)
    flux_prod(clusters["prod"], f"main/{newer}")  # the old Flux revision format
    seed(clusters["prod"], *k.rolled_out("shop", "shop", tag(newer)))

    data = where_json(cli)

    for env in ("staging", "production"):
        stages = env_stages(data, env)
        assert stages["sync"]["status"] == "succeeded", stages["sync"]
        assert stages["rollout"]["status"] == "succeeded", stages["rollout"]
    assert data["where"] == "Live in staging, production"


def test_an_older_release_does_not_contain_the_change(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators
) -> None:
    s = shop.build(github)
    live_staging(clusters["staging"], s.base)
    live_prod(clusters["prod"], s.base)
    data = where_json(cli)
    assert env_stages(data, "staging")["sync"]["status"] == "pending"
    assert env_stages(data, "staging")["rollout"]["status"] == "pending"


@pytest.mark.parametrize(
    ("app", "status", "words"),
    [
        ({"phase": "Running", "sync": "OutOfSync"}, "running", "sync"),
        (
            {
                "phase": "Failed",
                "sync": "OutOfSync",
                "message": 'one or more objects failed to apply: Deployment.apps "shop" is invalid',
            },
            "failed",
            "is invalid",
        ),
    ],
    ids=["sync-running", "sync-failed"],
)
def test_argo_sync_running_and_failed(
    cli: Cli,
    github: GitHubEmulator,
    clusters: KubeEmulators,
    app: dict[str, Any],
    status: str,
    words: str,
) -> None:
    s = shop.build(github)
    seed(
        clusters["staging"],
        staging_app(s.merged, op_revision=s.merged, history=[s.base], images=[tag(s.base)], **app),
        *k.rolled_out("shop", "shop", tag(s.base)),
    )
    flux_prod(clusters["prod"], f"main@sha1:{s.base}")
    data = where_json(cli)
    sync = env_stages(data, "staging")["sync"]
    assert sync["status"] == status, sync
    assert words in sync["detail"]


def test_flux_apply_failed_names_the_error(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators
) -> None:
    s = shop.build(github)
    live_staging(clusters["staging"], s.merged)
    prod_apply_failed(clusters["prod"], s)
    data = where_json(cli)
    sync = env_stages(data, "production")["sync"]
    assert sync["status"] == "failed"
    assert "kustomize build failed" in sync["detail"]


def test_rollout_in_progress_and_stuck_at_its_deadline(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators
) -> None:
    s = shop.build(github)
    seed(clusters["staging"], staging_app(s.merged, health="Progressing"))
    d = k.deployment(
        "shop",
        "shop",
        tag(s.merged),
        replicas=3,
        updated=2,
        ready=2,
        available=2,
        progressing=("True", "ReplicaSetUpdated"),
    )
    new = k.replicaset(
        d, "new1", tag(s.merged), revision=2, replicas=2, created="2026-11-26T09:10:00Z"
    )
    old = k.replicaset(
        d, "old1", tag(s.base), revision=1, replicas=1, created="2026-11-25T09:00:00Z"
    )
    seed(clusters["staging"], d, new, old, k.pod(new, 0), k.pod(new, 1), k.pod(old, 0))
    stuck = k.deployment(
        "shop",
        "shop",
        tag(s.merged),
        replicas=3,
        updated=1,
        ready=0,
        available=0,
        progressing=("False", "ProgressDeadlineExceeded"),
        message='ReplicaSet "shop-new2" has timed out progressing.',
    )
    new2 = k.replicaset(stuck, "new2", tag(s.merged), revision=2, replicas=1)
    flux_prod(clusters["prod"], f"main@sha1:{s.merged}")
    seed(clusters["prod"], stuck, new2, k.pod(new2, 0, waiting="CrashLoopBackOff", restarts=5))

    data = where_json(cli)

    staging = env_stages(data, "staging")["rollout"]
    assert staging["status"] == "running"
    assert "2/3 pods on sha-" in staging["detail"]
    assert staging["started_at"] == "2026-11-26T09:10:00Z"  # the new ReplicaSet's creation
    prod = env_stages(data, "production")["rollout"]
    assert prod["status"] == "failed"
    assert "CrashLoopBackOff" in prod["detail"] or "ProgressDeadlineExceeded" in prod["detail"]
    assert "staging rolling out (2/3 pods)" in data["where"]


def test_separate_config_repo_with_promote(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators, workdir: Path
) -> None:
    s = shop.build(github)
    _, c1 = config_repo(
        github,
        (f"shop: sha-{s.base[:7]}", "2026-11-26T08:00:00Z"),
        (f"chore: update ghcr.io/acme/shop:sha-{s.merged[:7]}", "2026-11-26T09:20:00Z"),
    )
    seed(
        clusters["staging"],
        config_app(c1, repo_url="git@github.com:acme/shop-config.git", images=[tag(s.merged)]),
        *k.rolled_out("shop", "shop", tag(s.merged)),
    )
    flux_prod(clusters["prod"], f"main@sha1:{s.base}")

    data = where_json(cli)

    staging = env_stages(data, "staging")
    assert list(staging) == ["promote", "sync", "rollout"]
    assert staging["promote"]["kind"] == "one-shot"
    assert staging["promote"]["status"] == "succeeded"
    assert c1[:7] in staging["promote"]["detail"]
    assert staging["promote"]["finished_at"] == "2026-11-26T09:20:00Z"
    assert staging["sync"]["status"] == "succeeded"
    assert staging["rollout"]["status"] == "succeeded"


def test_multi_source_argo_app(cli: Cli, github: GitHubEmulator, clusters: KubeEmulators) -> None:
    s = shop.build(github)
    sources = [
        {"repoURL": "https://charts.example.com", "chart": "shop", "targetRevision": "1.2.3"},
        {"repoURL": "https://github.com/acme/shop", "path": "deploy", "targetRevision": "main"},
    ]
    seed(
        clusters["staging"],
        k.argo_app(
            "shop-staging",
            repo_url="",
            revision="",
            sources=sources,
            revisions=["1.2.3", s.merged],
            history=[s.merged],
        ),
        *k.rolled_out("shop", "shop", tag(s.merged)),
    )
    flux_prod(clusters["prod"], f"main@sha1:{s.base}")
    data = where_json(cli)
    assert env_stages(data, "staging")["sync"]["status"] == "succeeded"


def test_environment_without_gitops_object_and_unreachable_cluster(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators, workdir: Path
) -> None:
    s = shop.build(github)
    (workdir / "shiptrace.yaml").write_text(
        TWO_ENVS
        + """
      - name: edge
        cluster: staging
        workloads: [{kind: Deployment, namespace: edge, name: shop-edge}]
      - name: moon
        cluster: moon
        workloads: [{kind: Deployment, namespace: shop, name: shop}]
"""
    )
    live_staging(clusters["staging"], s.merged)
    seed(clusters["staging"], *k.rolled_out("shop-edge", "edge", tag(s.merged)))
    clusters["prod"].fail(".*", status=403)

    result = cli("where", "acme/shop#12", "--json")

    assert result.code == 0
    data = result.json
    edge = env_stages(data, "edge")
    assert list(edge) == ["rollout"] and edge["rollout"]["status"] == "succeeded"
    prod = env_stages(data, "production")
    assert {s["status"] for s in prod.values()} == {"unknown"}
    moon = env_stages(data, "moon")
    assert moon["rollout"]["status"] == "unknown"
    errors = {e["environment"]: e for e in data["errors"]}
    assert (
        errors["production"]["source"] == "kubernetes" and "403" in errors["production"]["message"]
    )
    assert "moon" in errors["moon"]["message"]
    assert env_stages(data, "staging")["sync"]["status"] == "succeeded"


def test_kubernetes_requests_do_not_grow_with_services(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators, workdir: Path
) -> None:
    s = shop.build(github)
    live_staging(clusters["staging"], s.merged)
    live_prod(clusters["prod"], s.merged)

    def count() -> int:
        for emu in clusters.values():
            emu.clear_log()
        assert cli("where", "acme/shop#12", "--json").code == 0
        return sum(len(emu.requests) for emu in clusters.values())

    one = count()
    extra = "".join(
        f"""
  - name: svc{i}
    repo: acme/svc{i}
    environments:
      - name: staging
        cluster: staging
        argocd: {{application: svc{i}}}
"""
        for i in range(50)
    )
    (workdir / "shiptrace.yaml").write_text(TWO_ENVS + extra)
    assert count() == one
