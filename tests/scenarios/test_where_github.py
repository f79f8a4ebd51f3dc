"""`shiptrace where` against the GitHub emulator: the change and its CI (merge + ci stages)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.github import GitHubEmulator
from tests.scenarios import shop
from tests.scenarios.command import Cli

STAGE_KEYS = {
    "id",
    "kind",
    "environment",
    "status",
    "started_at",
    "finished_at",
    "url",
    "detail",
    "items",
}


# What a CI case adds to the merge commit before the look-up.
Setup = Callable[[GitHubEmulator, str], None]


def stages(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in data["stages"] if s["environment"] is None}


def test_merged_pr_with_failed_ci_prints_the_contract_json(
    cli: Cli, github: GitHubEmulator
) -> None:
    s = shop.build(github)
    shop.failed_ci(github, s.merged)
    github.clear_log()

    result = cli("where", "acme/shop#12", "--json")

    assert result.code == 0, result.err
    data = result.json
    assert data["change"] == {
        "repo": "acme/shop",
        "pr": 12,
        "sha": s.merged,
        "head_sha": s.head12,
        "requested": "acme/shop#12",
        "title": "Add cart",
        "author": "alice",
        "url": "https://github.com/acme/shop/pull/12",
        "state": "merged",
        "merged_at": "2026-11-26T09:01:02Z",
    }
    assert data["service"] == "shop"
    assert data["errors"] == []
    by_id = stages(data)
    assert by_id["merge"]["status"] == "succeeded" and by_id["merge"]["kind"] == "one-shot"
    ci = by_id["ci"]
    assert set(ci) == STAGE_KEYS
    assert (ci["status"], ci["kind"]) == ("failed", "one-shot")
    assert ci["detail"] == "1 of 2 checks failed: test (test failed at step 'pytest')"
    assert [i["name"] for i in ci["items"]] == ["test", "lint"]
    assert ci["items"][0]["status"] == "failed" and ci["items"][0]["conclusion"] == "failure"
    assert ci["started_at"] == "2026-11-26T09:02:00Z"
    assert ci["finished_at"] == "2026-11-26T09:07:00Z"
    assert data["where"] == "CI failed; edge rollout unknown"
    # A merged PR with CI costs at most 6 requests cold, each with the pinned API version.
    assert len(github.requests) <= 6
    assert all(r.headers.get("X-GitHub-Api-Version") == "2022-11-28" for r in github.requests)


def test_a_repeat_revalidates_mutable_data_and_never_refetches_sha_facts(
    cli: Cli, github: GitHubEmulator
) -> None:
    s = shop.build(github)
    shop.green_ci(github, s.orphan)
    assert cli("where", f"acme/shop@{s.orphan[:7]}", "--json").code == 0
    github.clear_log()

    again = cli("where", f"acme/shop@{s.orphan[:7]}", "--json")

    assert again.code == 0
    assert again.json["stages"][0]["status"] == "succeeded"
    paths = [r.path for r in github.requests]
    assert not any("/commits/" in p and p.endswith(s.orphan[:7]) for p in paths), (
        "commit is a SHA fact"
    )
    assert not any("/compare/" in p and s.orphan in p and "main" not in p for p in paths)
    assert github.requests, "mutable data must still be revalidated"
    for r in github.requests:
        assert r.headers.get("If-None-Match"), f"{r.path} was not a conditional request"
        assert r.status == 304


@pytest.mark.parametrize(
    ("ref", "state", "merge", "ci_sha_attr"),
    [
        ("#13", "open", "pending", "head13"),
        ("13", "open", "pending", "head13"),
        # GitHub's own link: the web host is learned from the html_url GitHub returns.
        ("https://github.com/acme/shop/pull/14", "closed", "skipped", "head14"),
    ],
)
def test_open_and_closed_prs(
    cli: Cli, github: GitHubEmulator, ref: str, state: str, merge: str, ci_sha_attr: str
) -> None:
    s = shop.build(github)
    sha = getattr(s, ci_sha_attr)
    github.add_check_run("acme/shop", sha, name="test", status="in_progress", conclusion=None)

    data = cli("where", ref, "--json").json

    assert data["change"]["state"] == state
    assert data["change"]["sha"] == sha  # CI is read on the head commit
    by_id = stages(data)
    assert by_id["merge"]["status"] == merge
    assert by_id["ci"]["status"] == "running"
    assert any(sha in r.path for r in github.requests if "check-runs" in r.path)


@pytest.mark.parametrize(
    ("setup", "status", "detail"),
    [
        (lambda gh, sha: None, "pending", "no CI reported yet for"),
        (shop.green_ci, "succeeded", "all 2 checks passed"),
        (
            lambda gh, sha: gh.add_status("acme/shop", sha, context="ci/jenkins", state="pending"),
            "running",
            "1 of 1 check running",
        ),
        (shop.failed_ci, "failed", "1 of 2 checks failed"),
    ],
    ids=["none-yet", "all-green", "running", "failed"],
)
def test_ci_outcomes(
    cli: Cli, github: GitHubEmulator, setup: Setup, status: str, detail: str
) -> None:
    s = shop.build(github)
    setup(github, s.merged)
    ci = stages(cli("where", "acme/shop#12", "--json").json)["ci"]
    assert ci["status"] == status
    assert ci["detail"].startswith(detail)


def test_a_sha_of_a_merged_pr_is_answered_as_that_pr(cli: Cli, github: GitHubEmulator) -> None:
    s = shop.build(github)
    data = cli("where", s.head12[:10], "--json").json
    assert data["change"]["pr"] == 12
    assert data["change"]["sha"] == s.merged
    assert data["change"]["requested"] == s.head12[:10]


def test_a_sha_with_no_pr_on_main_and_off_main(cli: Cli, github: GitHubEmulator) -> None:
    s = shop.build(github)
    on_main = cli("where", s.orphan, "--json").json
    assert on_main["change"]["state"] == "commit" and on_main["change"]["pr"] is None
    assert stages(on_main)["merge"] == {
        **stages(on_main)["merge"],
        "status": "succeeded",
        "detail": f"{s.orphan[:7]} is on main",
    }
    off_main = cli("where", f"https://github.com/acme/shop/commit/{s.side}", "--json").json
    assert stages(off_main)["merge"]["status"] == "pending"


def test_text_output_shows_stages_with_kind(cli: Cli, github: GitHubEmulator) -> None:
    s = shop.build(github)
    shop.failed_ci(github, s.merged)
    result = cli("where", "acme/shop#12")
    assert result.code == 0
    assert "acme/shop#12  Add cart (alice) — merged" in result.out
    assert "ci       one-shot   failed" in result.out
    assert "Where: CI failed" in result.out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["where", "not a ref"], 2, "'not a ref' is not a PR or commit reference"),
        (["where", "other/repo#1"], 2, "other/repo is not a configured service's repo"),
        (["where", "acme/shop#99"], 3, "acme/shop has no pull request #99"),
        (["where", "acme/shop@abcdef1234"], 3, "acme/shop has no commit abcdef1234"),
        (["where", "abcdef1234"], 3, "no commit abcdef1234 in acme/shop, acme/billing"),
        (["where", "#12", "--config", "/nonexistent/shiptrace.yaml"], 2, "no such file"),
    ],
)
def test_bad_input_and_missing_changes(
    cli: Cli, github: GitHubEmulator, args: list[str], code: int, message: str
) -> None:
    shop.build(github)
    result = cli(*args)
    assert result.code == code
    assert message in result.err
    assert "Traceback" not in result.err and result.out == ""


def test_a_short_sha_in_two_repos_is_ambiguous(cli: Cli, github: GitHubEmulator) -> None:
    shop.build(github)
    sha = "abc1234" + "0" * 33
    github.add_commit("acme/shop", "one", sha=sha, branch="main")
    github.add_commit("acme/billing", "two", sha="abc1234" + "1" * 33, branch="main")
    result = cli("where", "abc1234")
    assert result.code == 2
    assert "abc1234 matches commits in acme/shop and acme/billing" in result.err


def test_no_default_repo_with_several_services(
    cli: Cli, github: GitHubEmulator, workdir: Path
) -> None:
    cfg = workdir / "shiptrace.yaml"
    cfg.write_text(cfg.read_text().replace("default_repo: acme/shop\n", ""))
    result = cli("where", "#12")
    assert result.code == 2
    assert "configured: acme/shop, acme/billing" in result.err


def test_github_500s_exit_4_after_retries(cli: Cli, github: GitHubEmulator) -> None:
    shop.build(github)
    github.fail(r"/pulls/12$", status=502)
    result = cli("where", "acme/shop#12")
    assert result.code == 4
    assert "GitHub answered 502" in result.err and "try again" in result.err
    assert sum(1 for r in github.requests if r.path.endswith("/pulls/12")) == 2  # one retry


def test_a_stalled_github_times_out_with_exit_4(
    cli: Cli, github: GitHubEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A timeout is real time and PyGithub's are whole seconds: one, without a retry.
    monkeypatch.setenv("SHIPTRACE_GITHUB_RETRIES", "0")
    shop.build(github)
    github.stall(r"/pulls/12$", seconds=30)
    result = cli("where", "acme/shop#12")
    assert result.code == 4
    assert "did not answer (timed out)" in result.err


def test_a_bad_token_exits_4_naming_the_variable(
    cli: Cli, github: GitHubEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.build(github)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_wrong")
    result = cli("where", "acme/shop#12")
    assert result.code == 4
    assert "GitHub refused the token (401 Bad credentials): check GITHUB_TOKEN" in result.err
    assert "ghp_wrong" not in result.err


def test_a_rate_limit_on_the_change_exits_4_without_a_long_wait(
    cli: Cli, github: GitHubEmulator
) -> None:
    shop.build(github)
    github.rate_limit(r"/pulls/12$", reset_in=3600)
    result = cli("where", "acme/shop#12")
    assert result.code == 4
    assert "rate limit exceeded" in result.err


def test_a_rate_limit_on_ci_makes_ci_unknown_and_exits_0(cli: Cli, github: GitHubEmulator) -> None:
    s = shop.build(github)
    github.rate_limit(r"/check-runs$", reset_in=3600)
    result = cli("where", "acme/shop#12", "--json")
    assert result.code == 0
    data = result.json
    ci = stages(data)["ci"]
    assert ci["status"] == "unknown" and "rate limit" in ci["detail"]
    assert data["errors"][0]["source"] == "github"
    assert data["errors"][0]["environment"] is None
    assert s.merged[:7] in data["errors"][0]["message"]


def test_ci_500_makes_ci_unknown(cli: Cli, github: GitHubEmulator) -> None:
    shop.build(github)
    github.fail(r"/actions/runs$", status=500)
    data = cli("where", "acme/shop#12", "--json").json
    assert stages(data)["ci"]["status"] == "unknown"
    assert "GitHub answered 500" in data["errors"][0]["message"]


def test_check_runs_are_read_across_pages(cli: Cli, github: GitHubEmulator) -> None:
    s = shop.build(github)
    for i in range(130):
        github.add_check_run("acme/shop", s.merged, name=f"check-{i:03}", conclusion="success")
    ci = stages(cli("where", "acme/shop#12", "--json").json)["ci"]
    assert len(ci["items"]) == 130
    assert ci["status"] == "succeeded"


def test_a_corrupt_database_is_named_not_a_crash(
    cli: Cli, github: GitHubEmulator, workdir: Path
) -> None:
    shop.build(github)
    (workdir / "shiptrace.db").write_bytes(b"this is not sqlite" * 100)
    result = cli("where", "acme/shop#12")
    assert result.code == 2
    assert f"{workdir / 'shiptrace.db'} is not a shiptrace database" in result.err
    assert "SHIPTRACE_DB" in result.err
