"""How `/where` asks GitHub: each look-up as soon as its input is known, none twice.

Order is observed, not timed: the emulator holds one response until another request
arrives (``hold_until``), which happens only when shiptrace did not wait for the first."""

from __future__ import annotations

from bot.sandbox.github import GitHubEmulator
from tests.scenarios import kubeobjs as k
from tests.scenarios import shop
from tests.scenarios.fleet import env_stages, live_prod, live_staging, seed, tag


def _paths(github: GitHubEmulator) -> list[str]:
    return [r.path for r in github.requests]


def test_a_newer_commit_in_both_environments_costs_one_compare_and_no_tag_look_up(
    cli, github: GitHubEmulator, clusters
) -> None:  # type: ignore[no-untyped-def]
    s = shop.build(github)
    shop.green_ci(github, s.merged)
    live_staging(clusters["staging"], s.orphan)
    live_prod(clusters["prod"], s.orphan)
    github.clear_log()

    data = cli("where", "acme/shop#12", "--json").json

    assert data["where"] == "Live in staging, production"
    compares = [p for p in _paths(github) if "/compare/" in p]
    assert compares == [f"/repos/acme/shop/compare/{s.merged}...{s.orphan}"]
    # The image tag names a commit both GitOps objects synced in full: no commit look-up.
    assert not any(p.endswith(f"/commits/{s.orphan[:7]}") for p in _paths(github))
    assert len(github.requests) == 5  # the PR, CI (3), one compare


def test_a_sha_asks_for_its_commit_and_its_pull_requests_at_once(
    cli, github: GitHubEmulator
) -> None:
    s = shop.build(github)
    hold = github.hold_until(rf"/commits/{s.merged[:7]}$", arrives=r"/pulls$")

    data = cli("where", f"acme/shop@{s.merged[:7]}", "--json").json

    assert data["change"]["pr"] == 12
    assert hold.met, "the pull requests were asked only once the commit was answered"


def test_the_clusters_are_read_while_the_change_is_looked_up(
    cli, github: GitHubEmulator, clusters
) -> None:  # type: ignore[no-untyped-def]
    s = shop.build(github)
    live_staging(clusters["staging"], s.merged)
    live_prod(clusters["prod"], s.merged)
    hold = github.hold_until(
        r"/pulls/12$", until=lambda: all(len(e.requests) >= 4 for e in clusters.values())
    )

    assert "live in staging, production" in cli("where", "acme/shop#12", "--json").json["where"]

    assert hold.met, "the clusters were read only once the PR was answered"


def test_the_rollout_does_not_wait_for_the_promote(cli, github: GitHubEmulator, clusters) -> None:  # type: ignore[no-untyped-def]
    s = shop.build(github)
    github.add_repo("acme/shop-config")
    files = ["envs/staging/shop.yaml"]
    c0 = github.add_commit(
        "acme/shop-config", f"shop: sha-{s.base[:7]}", parents=[], branch="main",
        date="2026-11-26T08:00:00Z", files=files,
    )  # fmt: skip
    c1 = github.add_commit(
        "acme/shop-config", f"shop: sha-{s.merged[:7]}", parents=[c0], branch="main",
        date="2026-11-26T09:20:00Z", files=files,
    )  # fmt: skip
    c2 = github.add_commit(
        "acme/shop-config", f"shop: sha-{s.orphan[:7]}", parents=[c1], branch="main",
        date="2026-11-26T09:40:00Z", files=files,
    )  # fmt: skip
    seed(
        clusters["staging"],
        k.argo_app(
            "shop-staging",
            repo_url="https://github.com/acme/shop-config",
            path="envs/staging",
            revision=c2,
            history=[c1, c2],
            images=[tag(s.orphan)],
        ),
        *k.rolled_out("shop", "shop", tag(s.orphan)),
    )
    live_prod(clusters["prod"], s.merged)
    # The commit list of the config repo is held until the running tag is looked up.
    hold = github.hold_until(r"/acme/shop-config/commits$", arrives=rf"/commits/{s.orphan[:7]}$")

    data = cli("where", "acme/shop#12", "--json").json

    staging = env_stages(data, "staging")
    assert [staging[i]["status"] for i in ("promote", "sync", "rollout")] == ["succeeded"] * 3
    assert hold.met, "the running image's tag was looked up only after the promote"


def test_a_repeat_revalidates_everything_at_once(cli, github: GitHubEmulator) -> None:
    s = shop.build(github)
    shop.green_ci(github, s.merged)
    assert cli("where", "acme/shop#12", "--json").code == 0
    github.clear_log()
    # The PR's revalidation is held until CI's arrives: CI did not wait for the PR's 304.
    hold = github.hold_until(r"/pulls/12$", arrives=r"/check-runs$")

    again = cli("where", "acme/shop#12", "--json").json

    assert again["change"]["sha"] == s.merged
    assert hold.met, "CI was revalidated only after the PR's 304"
    assert github.requests and all(r.status == 304 for r in github.requests)


def test_a_repeat_after_a_change_answers_what_github_says_now(cli, github: GitHubEmulator) -> None:
    s = shop.build(github)
    github.add_check_run("acme/shop", s.head13, name="test", status="in_progress", conclusion=None)
    first = cli("where", "acme/shop#13", "--json").json
    assert first["change"]["state"] == "open"
    github.add_check_run("acme/shop", s.head13, name="test", conclusion="failure")
    github.clear_log()

    again = cli("where", "acme/shop#13", "--json").json

    ci = {st["id"]: st for st in again["stages"] if st["environment"] is None}["ci"]
    assert ci["status"] == "failed"
    paths = _paths(github)
    assert len(paths) == len(set(paths)), "a page was asked twice in one answer"
