"""`shiptrace where` for the states people ask about first: a stage waiting on an earlier one,
images pinned by digest, rollbacks, suspended Flux objects and workloads scaled to 0."""

from __future__ import annotations

import pytest

from bot.sandbox.github import GitHubEmulator
from tests.scenarios import kubeobjs as k
from tests.scenarios import shop
from tests.scenarios.clusters import config_app, config_repo, staging_app, where_json
from tests.scenarios.command import Cli
from tests.scenarios.fleet import KubeEmulators, env_stages, flux_prod, live_prod, seed, tag

PINNED = "sha256:" + "4e" * 32


# --- a pending stage says what it waits on --------------------------------------------------


def test_stages_behind_failed_ci_wait_for_ci(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators
) -> None:
    s = shop.build(github)
    shop.failed_ci(github, s.merged)
    seed(clusters["staging"], staging_app(s.base), *k.rolled_out("shop", "shop", tag(s.base)))
    live_prod(clusters["prod"], s.base)

    data = where_json(cli)

    for env in ("staging", "production"):
        for stage in env_stages(data, env).values():
            assert stage["status"] == "pending", stage
            assert stage["detail"].startswith("waiting for CI (failed: test); "), stage
    staging = env_stages(data, "staging")
    assert f"synced {s.base[:7]}, which does not contain" in staging["sync"]["detail"]
    assert data["errors"] == []


def test_stages_behind_running_ci_wait_for_ci(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators
) -> None:
    s = shop.build(github)
    github.add_check_run(
        "acme/shop", s.merged, name="test", status="in_progress", started_at="2026-11-26T09:02:00Z"
    )
    seed(clusters["staging"], staging_app(s.base), *k.rolled_out("shop", "shop", tag(s.base)))
    live_prod(clusters["prod"], s.base)

    data = where_json(cli)

    rollout = env_stages(data, "production")["rollout"]
    assert rollout["detail"].startswith("waiting for CI; Deployment shop/shop runs"), rollout


@pytest.mark.parametrize(
    ("phase", "message"),
    [
        ("Error", "ComparisonError: failed to load target state: kustomize build failed"),
        ("Failed", 'one or more objects failed to apply: Deployment.apps "shop" is invalid'),
        ("Terminating", "Operation terminated"),
    ],
    ids=["error", "failed", "terminated"],
)
def test_rollout_behind_a_failed_argo_sync_waits_for_the_sync(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators, phase: str, message: str
) -> None:
    s = shop.build(github)
    shop.green_ci(github, s.merged)
    seed(
        clusters["staging"],
        staging_app(
            s.merged,
            op_revision=s.merged,
            history=[s.base],
            sync="OutOfSync",
            phase=phase,
            message=message,
            images=[tag(s.base)],
        ),
        *k.rolled_out("shop", "shop", tag(s.base)),
    )
    live_prod(clusters["prod"], s.base)

    data = where_json(cli)

    staging = env_stages(data, "staging")
    assert staging["sync"]["status"] == "failed", staging["sync"]
    assert message in staging["sync"]["detail"]
    rollout = staging["rollout"]
    assert rollout["status"] == "pending"
    assert rollout["detail"] == (
        f"waiting for the sync (failed: {message}); "
        f"Deployment shop/shop runs sha-{s.base[:7]}, which does not contain it"
    )
    assert data["where"] == "Staging sync failed; production pending"


def test_rollout_behind_a_running_sync_waits_for_the_sync(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators
) -> None:
    s = shop.build(github)
    shop.green_ci(github, s.merged)
    seed(
        clusters["staging"],
        staging_app(s.merged, history=[s.base], sync="OutOfSync", phase="Running"),
        *k.rolled_out("shop", "shop", tag(s.base)),
    )
    live_prod(clusters["prod"], s.base)

    data = where_json(cli)

    staging = env_stages(data, "staging")
    assert staging["sync"]["status"] == "running"
    assert staging["rollout"]["detail"].startswith("waiting for the sync; Deployment shop/shop")
    # Production's Flux has applied an older revision: its rollout waits for that sync.
    prod = env_stages(data, "production")
    assert prod["sync"]["status"] == "pending"
    assert not prod["sync"]["detail"].startswith("waiting")  # CI passed: nothing before it
    assert prod["rollout"]["detail"].startswith("waiting for the sync; ")


def test_sync_waits_for_promote(cli: Cli, github: GitHubEmulator, clusters: KubeEmulators) -> None:
    s = shop.build(github)
    shop.green_ci(github, s.merged)
    [c0] = config_repo(github, (f"shop: sha-{s.base[:7]}", "2026-11-26T08:00:00Z"))
    seed(
        clusters["staging"],
        config_app(c0, images=[tag(s.base)]),
        *k.rolled_out("shop", "shop", tag(s.base)),
    )
    live_prod(clusters["prod"], s.base)

    data = where_json(cli)

    staging = env_stages(data, "staging")
    assert staging["promote"]["status"] == "pending"
    assert staging["promote"]["detail"].startswith("no commit to acme/shop-config")
    assert staging["sync"]["detail"].startswith("waiting for promote; Argo CD app shop-staging")
    assert staging["rollout"]["detail"].startswith("waiting for promote; ")


# --- images pinned by digest ------------------------------------------------------------------


def test_image_pinned_by_digest_follows_the_synced_revision(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators
) -> None:
    s = shop.build(github)
    shop.green_ci(github, s.merged)
    pinned = f"ghcr.io/acme/shop@{PINNED}"
    seed(
        clusters["staging"],
        staging_app(s.merged, images=[pinned]),
        *k.rolled_out("shop", "shop", pinned),
    )
    flux_prod(clusters["prod"], f"main@sha1:{s.base}")
    seed(clusters["prod"], *k.rolled_out("shop", "shop", pinned))

    data = where_json(cli)

    staging = env_stages(data, "staging")["rollout"]
    assert staging["status"] == "succeeded", staging
    assert "no container runs" not in staging["detail"]
    assert "pinned by digest" in staging["detail"]
    assert f"following the synced revision {s.merged[:7]}" in staging["detail"]
    prod = env_stages(data, "production")["rollout"]
    assert prod["status"] == "pending", prod  # the synced revision there is older
    assert f"following the synced revision {s.base[:7]}" in prod["detail"]
    assert data["errors"] == []


def test_tag_and_digest_follows_the_tag(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators
) -> None:
    s = shop.build(github)
    shop.green_ci(github, s.merged)
    seed(
        clusters["staging"],
        staging_app(s.merged),
        *k.rolled_out("shop", "shop", f"{tag(s.merged)}@{PINNED}"),
    )
    flux_prod(clusters["prod"], f"main@sha1:{s.base}")
    seed(clusters["prod"], *k.rolled_out("shop", "shop", f"{tag(s.base)}@{PINNED}"))

    data = where_json(cli)

    staging = env_stages(data, "staging")["rollout"]
    assert staging["status"] == "succeeded", staging
    assert staging["detail"] == f"3/3 pods on sha-{s.merged[:7]}"
    prod = env_stages(data, "production")["rollout"]
    assert prod["status"] == "pending"
    assert f"runs sha-{s.base[:7]}, which does not contain it" in prod["detail"]
    assert data["errors"] == []


# --- rollbacks, suspensions, zero replicas ----------------------------------------------------


def test_argo_rollback_is_drift_not_waiting(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators
) -> None:
    s = shop.build(github)
    shop.green_ci(github, s.merged)
    # Synced the merge at 09:09, then rolled back to the base at 09:30: Argo CD leaves the
    # app OutOfSync against main, which still contains the change.
    seed(
        clusters["staging"],
        staging_app(
            s.merged,
            op_revision=s.base,
            sync="OutOfSync",
            history=[s.merged, s.base],
            history_at=["2026-11-26T09:09:00Z", "2026-11-26T09:30:00Z"],
            images=[tag(s.base)],
        ),
        *k.rolled_out("shop", "shop", tag(s.base)),
    )
    live_prod(clusters["prod"], s.base)

    data = where_json(cli)

    sync = env_stages(data, "staging")["sync"]
    assert sync["status"] == "drifted", sync
    assert sync["detail"].startswith(f"rolled back to {s.base[:7]} at 2026-11-26T09:30:00Z")
    assert "not synced yet" not in data["where"]
    assert data["where"] == f"Staging rolled back to {s.base[:7]}; production pending"
    assert data["errors"] == []


def test_older_history_without_the_change_is_not_a_rollback(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators
) -> None:
    s = shop.build(github)
    shop.green_ci(github, s.merged)
    older = github.add_commit("acme/shop", "Older release", parents=[s.base])
    seed(
        clusters["staging"],
        staging_app(
            s.base,
            history=[older, s.base],
            history_at=["2026-11-26T09:20:00Z", "2026-11-26T09:30:00Z"],
        ),
        *k.rolled_out("shop", "shop", tag(s.base)),
    )
    live_prod(clusters["prod"], s.base)

    data = where_json(cli)

    assert env_stages(data, "staging")["sync"]["status"] == "pending"


@pytest.mark.parametrize("applied", ["merged", "base"])
def test_suspended_flux_kustomization_says_so(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators, applied: str
) -> None:
    s = shop.build(github)
    shop.green_ci(github, s.merged)
    sha = getattr(s, applied)
    seed(clusters["staging"], staging_app(s.merged), *k.rolled_out("shop", "shop", tag(s.merged)))
    flux_prod(clusters["prod"], f"main@sha1:{sha}", artifact=f"main@sha1:{s.merged}", suspend=True)
    seed(clusters["prod"], *k.rolled_out("shop", "shop", tag(sha)))

    data = where_json(cli)

    sync = env_stages(data, "production")["sync"]
    assert sync["status"] == ("succeeded" if applied == "merged" else "pending"), sync
    assert "suspended" in sync["detail"]
    if applied == "base":
        assert "production sync suspended" in data["where"]


def test_workload_scaled_to_zero_is_named(
    cli: Cli, github: GitHubEmulator, clusters: KubeEmulators
) -> None:
    s = shop.build(github)
    shop.green_ci(github, s.merged)
    seed(
        clusters["staging"],
        staging_app(s.merged, images=[tag(s.merged)]),
        *k.rolled_out("shop", "shop", tag(s.merged), replicas=0),
    )
    live_prod(clusters["prod"], s.merged)

    data = where_json(cli)

    rollout = env_stages(data, "staging")["rollout"]
    assert rollout["status"] == "succeeded", rollout
    assert rollout["detail"].startswith("scaled to 0"), rollout
    assert rollout["items"][0]["conclusion"].startswith("scaled to 0")
    assert data["where"] == "Live in staging (scaled to 0), production"
