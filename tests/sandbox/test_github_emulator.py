"""Contract tests of the GitHub REST emulator, driven by PyGithub and by plain HTTP.

The scenario below is a small but realistic history of ``acme/shop``:

    c1 ── c3 ─── m ── c4            main   (m merges PR #412; c4 bumps deploy/prod)
      \\         /       \\
       c2 ─────         f1          feature/cart (PR #412, merged), feature/search (PR #413)
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import github
import pytest
import requests
from freezegun import freeze_time
from github import Auth, Github, GithubException

from bot.sandbox.github import GitHubEmulator
from bot.sandbox.openapi import ResponseValidationError, to_json_schema, validate_response

TOKEN = "ghp_test"
AUTH = {"Authorization": f"token {TOKEN}"}


@dataclass
class Shop:
    c1: str
    c2: str
    c3: str
    m: str
    c4: str
    f1: str


@pytest.fixture
def emu() -> Iterator[GitHubEmulator]:
    with GitHubEmulator(token=TOKEN) as e:
        yield e
        # Every test must leave no surprise behind: an invalid body or an endpoint a client
        # needed but the emulator lacks would otherwise go unnoticed.
        assert e.validation_errors == []
        assert e.unhandled == []


@pytest.fixture
def gh(emu: GitHubEmulator) -> Iterator[Github]:
    # No retries and no throttling: the tests want to see each response as served.
    client = Github(
        base_url=emu.url, auth=Auth.Token(TOKEN), retry=None, seconds_between_requests=0
    )
    yield client
    client.close()


@pytest.fixture
def shop(emu: GitHubEmulator) -> Shop:
    emu.add_repo("acme/shop", default_branch="main")
    c1 = emu.add_commit(
        "acme/shop",
        message="Initial commit",
        files=["README.md"],
        branch="main",
        date="2026-11-20T09:00:00Z",
    )
    c2 = emu.add_commit(
        "acme/shop",
        message="Add cart",
        parents=[c1],
        files=["src/cart.py"],
        branch="feature/cart",
        author="alice",
        date="2026-11-21T09:00:00Z",
    )
    c3 = emu.add_commit(
        "acme/shop",
        message="Fix typo",
        parents=[c1],
        files=["docs/index.md"],
        branch="main",
        date="2026-11-22T09:00:00Z",
    )
    m = emu.add_commit(
        "acme/shop",
        message="Merge pull request #412 from acme/feature/cart",
        parents=[c3, c2],
        files=["src/cart.py"],
        branch="main",
        date="2026-11-23T09:00:00Z",
    )
    c4 = emu.add_commit(
        "acme/shop",
        message="Bump image to 1.4.2",
        files=["deploy/prod/values.yaml"],
        branch="main",
        author="deploy-bot[bot]",
        date="2026-11-24T09:00:00Z",
    )
    f1 = emu.add_commit(
        "acme/shop",
        message="Add search",
        parents=[c4],
        files=["src/search.py"],
        branch="feature/search",
        author="bob",
        date="2026-11-25T09:00:00Z",
    )
    emu.add_pull(
        "acme/shop",
        412,
        title="Add cart",
        head_sha=c2,
        head_ref="feature/cart",
        merged=True,
        merge_commit_sha=m,
        merged_at="2026-11-23T09:00:00Z",
        user="alice",
        created_at="2026-11-21T10:00:00Z",
        commits=[c2],
    )
    emu.add_pull(
        "acme/shop",
        413,
        title="Add search",
        head_sha=f1,
        head_ref="feature/search",
        user="bob",
        created_at="2026-11-25T10:00:00Z",
    )
    return Shop(c1, c2, c3, m, c4, f1)


def get(emu: GitHubEmulator, path: str, headers: dict[str, str] | None = None) -> Any:
    """GET with plain urllib; returns (status, headers, parsed body or None)."""
    req = urllib.request.Request(emu.url + path, headers={**AUTH, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return resp.status, resp.headers, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        raw = err.read()
        return err.code, err.headers, json.loads(raw) if raw else None


def links(header: str | None) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', header or "")}


# --- basics: lifecycle, auth, headers, logging -----------------------------------------------


def test_repo_via_pygithub_with_case_insensitive_name(
    emu: GitHubEmulator, gh: Github, shop: Shop
) -> None:
    repo = gh.get_repo("ACME/Shop")
    assert repo.full_name == "acme/shop"
    assert repo.default_branch == "main"
    assert repo.url == f"{emu.url}/repos/acme/shop"
    assert repo.html_url == "https://github.com/acme/shop"
    assert repo.pushed_at == datetime(2026, 11, 25, 9, tzinfo=UTC)


def test_an_enterprise_web_host_moves_every_html_url(emu: GitHubEmulator, shop: Shop) -> None:
    emu.web_url = "https://acme.ghe.com"
    _, _, repo = get(emu, "/repos/acme/shop")
    _, _, pull = get(emu, "/repos/acme/shop/pulls/412")
    assert repo["html_url"] == "https://acme.ghe.com/acme/shop"
    assert pull["html_url"] == "https://acme.ghe.com/acme/shop/pull/412"
    assert pull["user"]["html_url"] == "https://acme.ghe.com/alice"
    assert repo["url"] == f"{emu.url}/repos/acme/shop"  # the API stays where it is
    assert emu.validation_errors == []


def test_unknown_repo_and_object_are_404_with_basic_error(
    emu: GitHubEmulator, gh: Github, shop: Shop
) -> None:
    with pytest.raises(github.UnknownObjectException):
        gh.get_repo("acme/nope")
    status, _, body = get(emu, "/repos/acme/shop/pulls/999")
    assert status == 404
    assert body["message"] == "Not Found" and body["status"] == "404"
    assert body["documentation_url"].startswith("https://docs.github.com/")
    assert get(emu, "/repos/acme/shop/actions/runs/1")[0] == 404


def test_auth_is_required_and_checked(emu: GitHubEmulator, shop: Shop) -> None:
    url = f"{emu.url}/repos/acme/shop"
    assert requests.get(url, timeout=5).status_code == 401
    wrong = requests.get(url, headers={"Authorization": "token ghp_wrong"}, timeout=5)
    assert wrong.status_code == 401 and wrong.json()["message"] == "Bad credentials"
    bearer = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert bearer.status_code == 200
    bad = Github(base_url=emu.url, auth=Auth.Token("nope"), retry=None, seconds_between_requests=0)
    with pytest.raises(github.BadCredentialsException):
        bad.get_repo("acme/shop")


def test_token_none_accepts_any_request() -> None:
    with GitHubEmulator(token=None) as e:
        e.add_repo("acme/shop")
        assert requests.get(f"{e.url}/repos/acme/shop", timeout=5).status_code == 200


def test_common_headers_and_rate_limit_accounting(emu: GitHubEmulator, shop: Shop) -> None:
    first = requests.get(f"{emu.url}/repos/acme/shop", headers=AUTH, timeout=5)
    second = requests.get(f"{emu.url}/repos/acme/shop/nope", headers=AUTH, timeout=5)
    emu.unhandled.clear()
    for resp in (first, second):
        assert resp.headers["content-type"] == "application/json; charset=utf-8"
        assert resp.headers["x-github-request-id"]
        assert resp.headers["x-ratelimit-limit"] == "5000"
        reset = int(resp.headers["x-ratelimit-reset"])
        assert time.time() < reset <= time.time() + 3600
    used = [int(r.headers["x-ratelimit-used"]) for r in (first, second)]
    remaining = [int(r.headers["x-ratelimit-remaining"]) for r in (first, second)]
    assert used[1] == used[0] + 1 and remaining[1] == remaining[0] - 1
    assert first.headers["x-github-request-id"] != second.headers["x-github-request-id"]


def test_requests_are_logged_with_headers_query_and_status(emu: GitHubEmulator, shop: Shop) -> None:
    client = Github(
        base_url=emu.url,
        auth=Auth.Token(TOKEN),
        retry=None,
        seconds_between_requests=0,
        api_version="2022-11-28",
    )
    client.get_repo("acme/shop").get_pulls(state="all", base="main").get_page(0)
    repo_req, pulls_req = emu.requests
    assert (repo_req.method, repo_req.path, repo_req.status) == ("GET", "/repos/acme/shop", 200)
    assert pulls_req.path == "/repos/acme/shop/pulls"
    assert pulls_req.query == {"state": "all", "base": "main"}
    assert pulls_req.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert pulls_req.headers["authorization"] == f"token {TOKEN}"
    assert "If-None-Match" not in pulls_req.headers
    emu.clear_log()
    assert emu.requests == []


def test_unimplemented_endpoints_are_404_and_recorded(emu: GitHubEmulator, shop: Shop) -> None:
    assert get(emu, "/repos/acme/shop/branches")[0] == 404
    resp = requests.post(f"{emu.url}/repos/acme/shop/pulls", headers=AUTH, json={}, timeout=5)
    assert resp.status_code == 404
    assert emu.unhandled == ["GET /repos/acme/shop/branches", "POST /repos/acme/shop/pulls"]
    emu.unhandled.clear()


# --- pull requests ---------------------------------------------------------------------------


def test_get_pull_merged_and_open(gh: Github, shop: Shop) -> None:
    repo = gh.get_repo("acme/shop")
    merged = repo.get_pull(412)
    assert (merged.state, merged.merged, merged.merge_commit_sha) == ("closed", True, shop.m)
    assert merged.head.sha == shop.c2 and merged.head.ref == "feature/cart"
    assert merged.base.ref == "main" and merged.base.sha == shop.c4
    assert merged.user.login == "alice" and merged.merged_by.login == "alice"
    assert merged.merged_at == datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert merged.html_url == "https://github.com/acme/shop/pull/412"
    opened = repo.get_pull(413)
    assert (opened.state, opened.merged, opened.merged_at, opened.closed_at) == (
        "open",
        False,
        None,
        None,
    )
    assert opened.mergeable is True


def test_list_pulls_filters(gh: Github, shop: Shop) -> None:
    repo = gh.get_repo("acme/shop")
    assert [p.number for p in repo.get_pulls()] == [413]
    assert [p.number for p in repo.get_pulls(state="closed")] == [412]
    assert [p.number for p in repo.get_pulls(state="all")] == [413, 412]
    assert [p.number for p in repo.get_pulls(state="all", direction="asc")] == [412, 413]
    assert [p.number for p in repo.get_pulls(state="all", head="acme:feature/cart")] == [412]
    assert [p.number for p in repo.get_pulls(state="all", head="other:feature/cart")] == []
    # Like GitHub, a head without the "owner:" prefix is ignored rather than matched.
    assert [p.number for p in repo.get_pulls(state="all", head="feature/cart")] == [413, 412]
    assert [p.number for p in repo.get_pulls(state="all", base="develop")] == []


def test_list_pulls_rejects_bad_state(emu: GitHubEmulator, shop: Shop) -> None:
    status, _, body = get(emu, "/repos/acme/shop/pulls?state=merged")
    assert status == 422 and body["message"] == "Validation Failed"


# --- commits ---------------------------------------------------------------------------------


def test_get_commit_by_sha_short_sha_and_branch(gh: Github, shop: Shop) -> None:
    repo = gh.get_repo("acme/shop")
    full = repo.get_commit(shop.m)
    assert [p.sha for p in full.parents] == [shop.c3, shop.c2]
    assert [f.filename for f in full.files] == ["src/cart.py"]
    assert full.stats.total == 2
    assert full.commit.message.startswith("Merge pull request #412")
    assert full.commit.author.date == datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert repo.get_commit(shop.m[:7]).sha == shop.m
    assert repo.get_commit("main").sha == shop.c4
    assert repo.get_commit("feature/search").sha == shop.f1
    assert repo.get_commit(shop.c4).author.login == "deploy-bot[bot]"
    assert repo.get_commit(shop.c4).author.type == "Bot"


def test_get_commit_unknown_and_ambiguous_are_422(
    emu: GitHubEmulator, gh: Github, shop: Shop
) -> None:
    emu.add_commit("acme/shop", message="a", sha="abcdef1" + "0" * 33)
    emu.add_commit("acme/shop", message="b", sha="abcdef1" + "1" * 33)
    repo = gh.get_repo("acme/shop")
    with pytest.raises(GithubException) as unknown:
        repo.get_commit("0" * 40)
    assert unknown.value.status == 422
    assert unknown.value.data["message"] == "No commit found for SHA: " + "0" * 40
    with pytest.raises(GithubException) as ambiguous:
        repo.get_commit("abcdef1")
    assert ambiguous.value.status == 422
    assert repo.get_commit("abcdef10").sha == "abcdef1" + "0" * 33
    with pytest.raises(GithubException) as branch:
        repo.get_commit("no-such-branch")
    assert branch.value.status == 422


def test_empty_repo_commits_are_409(emu: GitHubEmulator) -> None:
    emu.add_repo("acme/empty")
    status, _, body = get(emu, "/repos/acme/empty/commits")
    assert status == 409 and body["message"] == "Git Repository is empty."


def test_list_commits_walks_history_newest_first(
    emu: GitHubEmulator, gh: Github, shop: Shop
) -> None:
    repo = gh.get_repo("acme/shop")
    assert [c.sha for c in repo.get_commits()] == [shop.c4, shop.m, shop.c3, shop.c2, shop.c1]
    assert [c.sha for c in repo.get_commits(sha="feature/cart")] == [shop.c2, shop.c1]
    assert [c.sha for c in repo.get_commits(sha=shop.m[:8])] == [shop.m, shop.c3, shop.c2, shop.c1]
    # Order is by date, not by the order commits were added: a late-added old commit merged now.
    old = emu.add_commit("acme/shop", message="old", parents=[shop.c1], date="2026-11-20T12:00:00Z")
    m2 = emu.add_commit("acme/shop", message="merge old", parents=[shop.c4, old], branch="main")
    order = [shop.c4, shop.m, shop.c3, shop.c2, old, shop.c1]
    assert [c.sha for c in repo.get_commits()] == [m2, *order]
    # List entries carry no files, like GitHub; the bot must fetch the single commit for them.
    _, _, listed = get(emu, "/repos/acme/shop/commits")
    assert (
        "files" not in listed[0] and "files" in get(emu, f"/repos/acme/shop/commits/{shop.c4}")[2]
    )


def test_list_commits_filters(gh: Github, shop: Shop) -> None:
    repo = gh.get_repo("acme/shop")
    since, until = datetime(2026, 11, 22, 9, tzinfo=UTC), datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert [c.sha for c in repo.get_commits(since=since)] == [shop.c4, shop.m, shop.c3]
    assert [c.sha for c in repo.get_commits(until=until)] == [shop.m, shop.c3, shop.c2, shop.c1]
    assert [c.sha for c in repo.get_commits(since=since, until=until)] == [shop.m, shop.c3]
    assert [c.sha for c in repo.get_commits(path="deploy/prod")] == [shop.c4]
    assert [c.sha for c in repo.get_commits(path="deploy/prod/values.yaml")] == [shop.c4]
    assert list(repo.get_commits(path="deploy/pro")) == []
    assert [c.sha for c in repo.get_commits(path="src")] == [shop.m, shop.c2]
    assert [c.sha for c in repo.get_commits(author="alice")] == [shop.c2]


def test_list_commits_unknown_sha_is_404(emu: GitHubEmulator, shop: Shop) -> None:
    assert get(emu, "/repos/acme/shop/commits?sha=nope")[0] == 404


def test_pagination_link_headers(emu: GitHubEmulator, shop: Shop) -> None:
    status, headers, body = get(emu, "/repos/acme/shop/commits?per_page=2")
    assert status == 200 and [c["sha"] for c in body] == [shop.c4, shop.m]
    first = links(headers["Link"])
    assert set(first) == {"next", "last"}
    assert first["next"] == f"{emu.url}/repos/acme/shop/commits?per_page=2&page=2"
    assert first["last"].endswith("page=3")
    _, headers, body = get(emu, first["next"].removeprefix(emu.url))
    assert [c["sha"] for c in body] == [shop.c3, shop.c2]
    assert set(links(headers["Link"])) == {"prev", "next", "last", "first"}
    _, headers, body = get(emu, first["last"].removeprefix(emu.url))
    assert [c["sha"] for c in body] == [shop.c1]
    assert set(links(headers["Link"])) == {"prev", "first"}
    _, headers, _ = get(emu, "/repos/acme/shop/commits")
    assert headers["Link"] is None  # a single page has no Link header
    _, _, body = get(emu, "/repos/acme/shop/commits?per_page=1000")
    assert len(body) == 5  # per_page is capped at 100, not rejected


def test_pygithub_follows_pagination(emu: GitHubEmulator, shop: Shop) -> None:
    for i in range(7):
        emu.add_commit("acme/shop", message=f"chore {i}", branch="main")
    small = Github(
        base_url=emu.url,
        auth=Auth.Token(TOKEN),
        retry=None,
        seconds_between_requests=0,
        per_page=3,
    )
    commits = small.get_repo("acme/shop").get_commits()
    shas = [c.sha for c in commits]
    assert len(shas) == 12 and len(set(shas)) == 12 and shas[-1] == shop.c1
    assert commits.totalCount == 12
    pages = [r.query.get("page") for r in emu.requests if r.path.endswith("/commits")]
    assert pages[:4] == [None, "2", "3", "4"]


def test_deterministic_shas() -> None:
    def build() -> list[str]:
        e = GitHubEmulator()
        e.add_repo("acme/shop")
        return [e.add_commit("acme/shop", message=m, branch="main") for m in ("a", "b", "a")]

    first, second = build(), build()
    assert first == second and len(set(first)) == 3
    assert all(re.fullmatch(r"[0-9a-f]{40}", s) for s in first)


def test_scenario_mistakes_fail_early(emu: GitHubEmulator, shop: Shop) -> None:
    with pytest.raises(ValueError, match="No commit found for SHA: " + "f" * 40):
        emu.add_commit("acme/shop", message="x", parents=["f" * 40])
    with pytest.raises(ValueError, match="merged=True"):
        emu.add_pull("acme/shop", 500, head_sha=shop.c4, merged_at="2026-11-26T09:00:00Z")
    with pytest.raises(ValueError, match="No commit found"):
        emu.add_check_run("acme/shop", "deadbeefdead")
    with pytest.raises(ValueError, match="conclusion"):
        emu.add_check_run("acme/shop", shop.c4, conclusion="exploded")
    with pytest.raises(ValueError, match="no conclusion yet"):
        emu.add_check_run("acme/shop", shop.c4, status="queued", conclusion="success")
    with pytest.raises(ValueError, match="state"):
        emu.add_status("acme/shop", shop.c4, state="green")
    with pytest.raises(KeyError, match="acme/other"):
        emu.add_commit("acme/other", message="x")


# --- commit → pull requests ------------------------------------------------------------------


def test_pulls_for_commit(emu: GitHubEmulator, gh: Github, shop: Shop) -> None:
    repo = gh.get_repo("acme/shop")
    assert [p.number for p in repo.get_commit(shop.m).get_pulls()] == [412]  # merge commit
    assert [p.number for p in repo.get_commit(shop.c2).get_pulls()] == [412]  # PR head
    assert [p.number for p in repo.get_commit(shop.f1).get_pulls()] == [413]
    assert list(repo.get_commit(shop.c4).get_pulls()) == []
    extra = emu.add_commit("acme/shop", message="wip", parents=[shop.c1])
    emu.add_pull("acme/shop", 414, head_sha=extra, commits=[shop.c2, extra])
    assert [p.number for p in repo.get_commit(shop.c2).get_pulls()] == [414, 412]
    _, _, body = get(emu, "/repos/acme/shop/commits/feature/search/pulls")
    assert [p["number"] for p in body] == [413]  # GitHub accepts a branch name here
    assert get(emu, f"/repos/acme/shop/commits/{'0' * 40}/pulls")[0] == 422


# --- checks and statuses ---------------------------------------------------------------------


def test_check_runs_list_and_filters(emu: GitHubEmulator, gh: Github, shop: Shop) -> None:
    first = emu.add_check_run(
        "acme/shop",
        shop.f1,
        name="test",
        conclusion="failure",
        output_title="2 tests failed",
        details_url="https://ci.example/1",
    )
    rerun = emu.add_check_run("acme/shop", shop.f1, name="test", conclusion="success")
    lint = emu.add_check_run("acme/shop", shop.f1, name="lint", status="in_progress")
    other = emu.add_check_run("acme/shop", shop.f1, name="scan", app="snyk", conclusion="neutral")
    commit = gh.get_repo("acme/shop").get_commit(shop.f1)
    latest = {r.id: r for r in commit.get_check_runs()}
    assert set(latest) == {rerun, lint, other}  # filter=latest hides the superseded run
    assert {r.id for r in commit.get_check_runs(filter="all")} == {first, rerun, lint, other}
    assert latest[lint].conclusion is None and latest[lint].completed_at is None
    assert latest[rerun].app.slug == "github-actions"
    assert latest[other].app.slug == "snyk"
    assert latest[rerun].check_suite.id != latest[other].check_suite.id
    assert [r.id for r in commit.get_check_runs(check_name="lint")] == [lint]
    assert {r.id for r in commit.get_check_runs(status="completed")} == {rerun, other}
    failed = next(r for r in commit.get_check_runs(filter="all") if r.id == first)
    assert failed.output.title == "2 tests failed"
    assert failed.details_url == "https://ci.example/1"
    assert [p.number for p in failed.pull_requests] == [413]
    status, _, body = get(emu, "/repos/acme/shop/commits/feature/search/check-runs?filter=all")
    assert status == 200 and body["total_count"] == 4


def test_a_running_check_run_completes_in_place(
    emu: GitHubEmulator, gh: Github, shop: Shop
) -> None:
    run = emu.add_check_run(
        "acme/shop", shop.f1, name="test", status="in_progress", started_at="2026-11-26T09:00:00Z"
    )
    emu.complete_check_run("acme/shop", run, "success", completed_at="2026-11-26T09:05:00Z")
    [done] = gh.get_repo("acme/shop").get_commit(shop.f1).get_check_runs(filter="all")
    assert (done.id, done.status, done.conclusion) == (run, "completed", "success")
    assert done.completed_at == datetime(2026, 11, 26, 9, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="conclusion"):
        emu.complete_check_run("acme/shop", run, "exploded")
    with pytest.raises(KeyError, match="no check run 1"):
        emu.complete_check_run("acme/shop", 1, "success")


def test_check_runs_pagination_and_unknown_ref(emu: GitHubEmulator, shop: Shop) -> None:
    for i in range(5):
        emu.add_check_run("acme/shop", shop.c4, name=f"job-{i}", conclusion="success")
    _, headers, body = get(emu, f"/repos/acme/shop/commits/{shop.c4}/check-runs?per_page=2&page=3")
    assert body["total_count"] == 5 and [r["name"] for r in body["check_runs"]] == ["job-0"]
    assert set(links(headers["Link"])) == {"prev", "first"}
    assert get(emu, "/repos/acme/shop/commits/nope/check-runs")[0] == 422


def test_check_suites_roll_up_runs(emu: GitHubEmulator, gh: Github, shop: Shop) -> None:
    emu.add_check_run("acme/shop", shop.c4, name="test", conclusion="success")
    emu.add_check_run("acme/shop", shop.c4, name="e2e", conclusion="timed_out")
    emu.add_check_run("acme/shop", shop.c4, name="scan", app="snyk", status="queued")
    run_id = emu.add_workflow_run("acme/shop", shop.c4, conclusion="success")
    suites = list(gh.get_repo("acme/shop").get_commit(shop.c4).get_check_suites())
    by_app = {(s.app.slug, s.latest_check_runs_count): s for s in suites}
    actions = by_app[("github-actions", 2)]
    assert (actions.status, actions.conclusion) == ("completed", "timed_out")
    assert actions.head_branch == "main" and actions.head_sha == shop.c4
    snyk = by_app[("snyk", 1)]
    assert (snyk.status, snyk.conclusion) == ("queued", None)  # type: ignore[comparison-overlap]
    run_suite = gh.get_repo("acme/shop").get_workflow_run(run_id).check_suite_id
    assert by_app[("github-actions", 0)].id == run_suite
    assert len(suites) == 3


def test_combined_status_rules(emu: GitHubEmulator, gh: Github, shop: Shop) -> None:
    commit = gh.get_repo("acme/shop").get_commit(shop.c4)
    empty = commit.get_combined_status()
    assert (empty.state, empty.total_count, empty.statuses) == ("pending", 0, [])
    emu.add_status("acme/shop", shop.c4, context="ci/jenkins", state="success")
    assert commit.get_combined_status().state == "success"
    emu.add_status("acme/shop", shop.c4, context="ci/e2e", state="pending")
    assert commit.get_combined_status().state == "pending"
    emu.add_status(
        "acme/shop",
        shop.c4,
        context="ci/lint",
        state="error",
        description="lint crashed",
        target_url="https://ci.example/lint/7",
    )
    combined = commit.get_combined_status()
    assert combined.state == "failure" and combined.total_count == 3
    lint = next(s for s in combined.statuses if s.context == "ci/lint")
    assert (lint.description, lint.target_url) == ("lint crashed", "https://ci.example/lint/7")
    # The latest status per context wins.
    emu.add_status(
        "acme/shop", shop.c4, context="ci/lint", state="success", created_at="2026-11-26T10:00:00Z"
    )
    emu.add_status(
        "acme/shop", shop.c4, context="ci/e2e", state="success", created_at="2026-11-26T10:00:00Z"
    )
    final = commit.get_combined_status()
    assert (final.state, final.total_count) == ("success", 3)
    assert get(emu, "/repos/acme/shop/commits/nope/status")[0] == 404


# --- actions ---------------------------------------------------------------------------------


def test_workflow_runs_filters_and_jobs(emu: GitHubEmulator, gh: Github, shop: Shop) -> None:
    ok = emu.add_workflow_run(
        "acme/shop", shop.c4, name="CI", conclusion="success", created_at="2026-11-24T09:01:00Z"
    )
    failed = emu.add_workflow_run(
        "acme/shop",
        shop.f1,
        name="CI",
        event="pull_request",
        created_at="2026-11-25T09:01:00Z",
        jobs=[
            {"name": "lint", "conclusion": "success"},
            {
                "name": "test",
                "conclusion": "failure",
                "steps": [
                    {"name": "checkout", "conclusion": "success"},
                    {"name": "pytest", "conclusion": "failure", "number": 3},
                ],
            },
        ],
    )
    running = emu.add_workflow_run(
        "acme/shop", shop.f1, name="Deploy", status="in_progress", created_at="2026-11-25T09:02:00Z"
    )
    repo = gh.get_repo("acme/shop")
    assert [r.id for r in repo.get_workflow_runs()] == [running, failed, ok]
    assert [r.id for r in repo.get_workflow_runs(head_sha=shop.f1)] == [running, failed]
    on_main = repo.get_workflow_runs(branch="main")  # type: ignore[arg-type]  # str works
    assert [r.id for r in on_main] == [ok]
    assert [r.id for r in repo.get_workflow_runs(event="pull_request")] == [failed]
    assert [r.id for r in repo.get_workflow_runs(status="failure")] == [failed]
    assert [r.id for r in repo.get_workflow_runs(status="in_progress")] == [running]

    run = repo.get_workflow_run(failed)
    assert (run.status, run.conclusion, run.head_branch) == (
        "completed",
        "failure",
        "feature/search",
    )
    assert run.run_number == 2 and run.head_commit.message == "Add search"
    assert [p.number for p in run.pull_requests] == [413]
    assert repo.get_workflow_run(running).conclusion is None
    jobs = list(run.jobs())
    assert [(j.name, j.conclusion) for j in jobs] == [("lint", "success"), ("test", "failure")]
    steps = [(s.name, s.conclusion, s.number) for s in jobs[1].steps]
    assert steps == [("checkout", "success", 1), ("pytest", "failure", 3)]
    assert jobs[1].run_id == failed and jobs[1].head_sha == shop.f1
    _, _, body = get(emu, f"/repos/acme/shop/actions/runs/{failed}/jobs")
    assert body["total_count"] == 2


# --- compare ---------------------------------------------------------------------------------


def test_compare_statuses_and_counts(gh: Github, shop: Shop) -> None:
    repo = gh.get_repo("acme/shop")
    same = repo.compare("main", shop.c4[:7])
    assert (same.status, same.ahead_by, same.behind_by, same.total_commits) == (
        "identical",
        0,
        0,
        0,
    )
    ahead = repo.compare(shop.c1[:7], "main")
    assert (ahead.status, ahead.ahead_by, ahead.behind_by) == ("ahead", 4, 0)
    assert [c.sha for c in ahead.commits] == [shop.c2, shop.c3, shop.m, shop.c4]  # oldest first
    assert ahead.merge_base_commit.sha == shop.c1
    assert sorted(f.filename for f in ahead.files) == [
        "deploy/prod/values.yaml",
        "docs/index.md",
        "src/cart.py",
    ]
    behind = repo.compare("main", "feature/cart")
    assert (behind.status, behind.ahead_by, behind.behind_by) == ("behind", 0, 3)
    assert behind.merge_base_commit.sha == shop.c2 and list(behind.commits) == []
    diverged = repo.compare("feature/cart", shop.c3)
    assert (diverged.status, diverged.ahead_by, diverged.behind_by) == ("diverged", 1, 1)
    assert diverged.merge_base_commit.sha == shop.c1
    assert diverged.base_commit.sha == shop.c2


def test_compare_errors_and_pagination(emu: GitHubEmulator, shop: Shop) -> None:
    assert get(emu, "/repos/acme/shop/compare/main...nope")[0] == 404
    assert get(emu, "/repos/acme/shop/compare/main")[0] == 404
    orphan = emu.add_commit("acme/shop", message="orphan", parents=[])
    status, _, body = get(emu, f"/repos/acme/shop/compare/main...{orphan}")
    assert status == 404 and body["message"].startswith("No common ancestor")
    _, headers, body = get(emu, f"/repos/acme/shop/compare/{shop.c1}...main?per_page=3")
    assert body["total_commits"] == 4 and len(body["commits"]) == 3
    assert links(headers["Link"])["next"].endswith("per_page=3&page=2")


# --- refs and rate limit ---------------------------------------------------------------------


def test_git_ref(emu: GitHubEmulator, gh: Github, shop: Shop) -> None:
    ref = gh.get_repo("acme/shop").get_git_ref("heads/feature/search")
    assert ref.object.sha == shop.f1 and ref.ref == "refs/heads/feature/search"
    emu.set_branch("acme/shop", "feature/search", shop.c1[:7])
    assert gh.get_repo("acme/shop").get_git_ref("heads/feature/search").object.sha == shop.c1
    assert get(emu, "/repos/acme/shop/git/ref/heads/nope")[0] == 404
    assert get(emu, "/repos/acme/shop/git/ref/tags/v1")[0] == 404


def test_rate_limit_endpoint_does_not_count(emu: GitHubEmulator, gh: Github) -> None:
    limits = gh.get_rate_limit()
    assert limits.resources.core.limit == 5000
    before = limits.resources.core.remaining
    assert gh.get_rate_limit().resources.core.remaining == before
    _, headers, body = get(emu, "/rate_limit")
    assert body["rate"] == body["resources"]["core"]
    assert headers["x-ratelimit-remaining"] == str(before)


# --- ETag / 304 ------------------------------------------------------------------------------


def test_etag_and_304(emu: GitHubEmulator, shop: Shop) -> None:
    path = "/repos/acme/shop/pulls/413"
    status, headers, _ = get(emu, path)
    etag = headers["ETag"]
    assert status == 200 and re.fullmatch(r'"[0-9a-f]{64}"', etag)
    remaining = int(headers["x-ratelimit-remaining"])
    status, headers304, body304 = get(emu, path, {"If-None-Match": etag})
    assert (status, body304, headers304["ETag"]) == (304, None, etag)
    assert int(headers304["x-ratelimit-remaining"]) == remaining  # a 304 is free
    assert get(emu, path, {"If-None-Match": f'"other", W/{etag}'})[0] == 304
    assert get(emu, path, {"If-None-Match": '"stale"'})[0] == 200
    assert emu.requests[-2].headers["if-none-match"] == f'"other", W/{etag}'
    assert [r.status for r in emu.requests] == [200, 304, 304, 200]
    emu.add_commit("acme/shop", message="more", branch="feature/search")  # changes pushed_at
    status, headers, _ = get(emu, path, {"If-None-Match": etag})
    assert status == 200 and headers["ETag"] != etag


def test_pygithub_conditional_update(emu: GitHubEmulator, gh: Github, shop: Shop) -> None:
    pull = gh.get_repo("acme/shop").get_pull(413)
    assert pull.update() is False
    assert emu.requests[-1].headers["If-None-Match"] == pull.etag
    assert emu.requests[-1].status == 304
    emu.add_commit("acme/shop", message="more", branch="feature/search")
    assert pull.update() is True


# --- faults ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [500, 502, 503])
def test_fail_then_recover(emu: GitHubEmulator, gh: Github, shop: Shop, code: int) -> None:
    emu.fail(r"/pulls/413$", status=code, times=1)
    repo = gh.get_repo("acme/shop")  # not matched by the regex
    with pytest.raises(GithubException) as exc:
        repo.get_pull(413)
    assert exc.value.status == code and exc.value.data["status"] == str(code)
    assert repo.get_pull(413).number == 413
    assert [r.status for r in emu.requests] == [200, code, 200]


def test_fail_forever_until_cleared(emu: GitHubEmulator, shop: Shop) -> None:
    emu.fail("/commits")
    assert [get(emu, "/repos/acme/shop/commits")[0] for _ in range(3)] == [500, 500, 500]
    assert get(emu, "/repos/acme/shop")[0] == 200
    emu.clear_faults()
    assert get(emu, "/repos/acme/shop/commits")[0] == 200


def test_stall_makes_client_time_out_then_recovers(emu: GitHubEmulator, shop: Shop) -> None:
    emu.stall("/repos/acme/shop$", seconds=30, times=1)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{emu.url}/repos/acme/shop", headers=AUTH, timeout=0.1)
    assert time.monotonic() - started < 5
    assert emu.requests[-1].status == 0  # still pending on the emulator side
    assert requests.get(f"{emu.url}/repos/acme/shop", headers=AUTH, timeout=5).ok


def test_short_stall_delays_the_response(emu: GitHubEmulator, shop: Shop) -> None:
    emu.stall("/pulls", seconds=0.4)
    started = time.monotonic()
    assert get(emu, "/repos/acme/shop/pulls")[0] == 200
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    assert get(emu, "/repos/acme/shop")[0] == 200
    assert time.monotonic() - started < 0.4


def test_release_stalled_answers_a_stalled_request_at_once(emu: GitHubEmulator, shop: Shop) -> None:
    emu.stall("/repos/acme/shop$", seconds=60)
    answers: list[int] = []
    client = threading.Thread(
        target=lambda: answers.append(
            requests.get(f"{emu.url}/repos/acme/shop", headers=AUTH, timeout=30).status_code
        ),
        daemon=True,
    )
    client.start()
    deadline = time.monotonic() + 5
    while not emu.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert emu.requests[-1].status == 0  # stalled
    started = time.monotonic()
    emu.release_stalled()
    client.join(5)
    assert answers == [200]
    assert time.monotonic() - started < 5  # not the 60 s
    with pytest.raises(requests.exceptions.ReadTimeout):  # later requests still stall
        requests.get(f"{emu.url}/repos/acme/shop", headers=AUTH, timeout=0.1)


def test_stop_does_not_wait_for_stalled_requests() -> None:
    e = GitHubEmulator(token=None).start()
    e.add_repo("acme/shop")
    e.stall(".*", seconds=60)
    client = threading.Thread(
        target=lambda: requests.get(f"{e.url}/repos/acme/shop", timeout=30), daemon=True
    )
    client.start()
    deadline = time.monotonic() + 5
    while not e.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    e.stop()
    assert time.monotonic() - started < 5
    client.join(5)


def test_rate_limit_fault(emu: GitHubEmulator, gh: Github, shop: Shop) -> None:
    emu.rate_limit(reset_in=120, times=2)
    with pytest.raises(github.RateLimitExceededException) as exc:
        gh.get_repo("acme/shop")
    assert exc.value.status == 403
    assert exc.value.data["message"].startswith("API rate limit exceeded for")
    with freeze_time("2026-11-26 10:00:00", real_asyncio=True):  # the reset is wall time
        status, headers, _ = get(emu, "/repos/acme/shop")
        now = int(time.time())
    assert status == 403
    assert headers["x-ratelimit-remaining"] == "0" and headers["x-ratelimit-limit"] == "5000"
    assert int(headers["x-ratelimit-reset"]) == now + 120
    assert get(emu, "/repos/acme/shop")[0] == 200  # times=2 used up


# --- validation ------------------------------------------------------------------------------


def test_invalid_body_is_caught_and_answered_500(
    emu: GitHubEmulator, gh: Github, shop: Shop
) -> None:
    emu.patch_body("/pulls/413$", lambda body: {**body, "state": "merged"}, times=1)
    with pytest.raises(GithubException) as exc:
        gh.get_repo("acme/shop").get_pull(413)
    assert exc.value.status == 500
    assert "pulls/get" in exc.value.data["message"]
    [error] = emu.validation_errors
    assert "GET /repos/{owner}/{repo}/pulls/{pull_number} (pulls/get)" in error
    assert "at $.state: 'merged' is not one of ['open', 'closed']" in error
    emu.validation_errors.clear()
    assert gh.get_repo("acme/shop").get_pull(413).state == "open"  # times=1


def test_corrupted_state_is_caught(emu: GitHubEmulator, shop: Shop) -> None:
    run_id = emu.add_check_run("acme/shop", shop.c4, name="test")
    repo = emu.repo("acme/shop")
    next(r for r in repo.check_runs if r.id == run_id).started_at = "yesterday"
    status, _, body = get(emu, f"/repos/acme/shop/commits/{shop.c4}/check-runs")
    assert status == 500 and "check_runs[0].started_at" in body["message"]
    assert "'yesterday' is not a 'date-time'" in emu.validation_errors[0]
    emu.validation_errors.clear()


def test_emulator_crash_is_reported(emu: GitHubEmulator, shop: Shop) -> None:
    emu.patch_body("/repos/acme/shop$", lambda body: body["no-such-key"])
    status, _, body = get(emu, "/repos/acme/shop")
    assert status == 500 and "KeyError" in body["message"]
    assert emu.validation_errors == [body["message"]]
    emu.validation_errors.clear()


def test_valid_patch_is_served(emu: GitHubEmulator, gh: Github, shop: Shop) -> None:
    emu.patch_body("/pulls/413$", lambda body: {**body, "mergeable": None})
    assert gh.get_repo("acme/shop").get_pull(413).mergeable is None


def test_validate_response_reports_operation_and_path() -> None:
    body = {"total_count": 1, "check_runs": [{"id": 1}]}
    with pytest.raises(ResponseValidationError) as exc:
        validate_response("/repos/{owner}/{repo}/commits/{ref}/check-runs", body)
    err = exc.value
    assert err.operation_id == "checks/list-for-ref"
    assert err.json_path == "$.check_runs[0]"
    assert "'app' is a required property" in [e.message for e in err.errors]
    assert str(err).startswith(
        "GET /repos/{owner}/{repo}/commits/{ref}/check-runs (checks/list-for-ref): 200 body"
    )
    assert "at $.check_runs[0]: 'head_sha' is a required property" in str(err)
    with pytest.raises(KeyError, match="not in"):
        validate_response("/repos/{owner}/{repo}/branches", [])


def test_nullable_conversion() -> None:
    schema = {
        "type": "object",
        "properties": {
            "conclusion": {"type": "string", "nullable": True, "enum": ["success", "failure"]},
            "author": {"nullable": True, "oneOf": [{"type": "object"}, {"type": "string"}]},
        },
        "example": {"conclusion": None, "nullable": True},
    }
    out = to_json_schema(schema)
    assert out["properties"]["conclusion"] == {
        "type": ["string", "null"],
        "enum": ["success", "failure", None],
    }
    assert out["properties"]["author"]["anyOf"][1] == {"type": "null"}
    assert out["example"] == {"conclusion": None, "nullable": True}  # data is left alone


def test_nullable_fields_validate_against_real_schema() -> None:
    # A queued check run has conclusion null; the spec's enum omits null (README quirk 2).
    from bot.sandbox import github_bodies as b

    repo = b.Repo(
        id=1, owner="acme", name="shop", default_branch="main", created_at="2026-01-05T12:00:00Z"
    )
    run = b.CheckRun(
        1, "a" * 40, "test", "queued", None, None, None, None, "github-actions", None, 2
    )
    body: dict[str, Any] = {
        "total_count": 1,
        "check_runs": [b.check_run("http://127.0.0.1:1", repo, run, [])],
    }
    validate_response("/repos/{owner}/{repo}/commits/{ref}/check-runs", body)
    body["check_runs"][0]["conclusion"] = "exploded"
    with pytest.raises(ResponseValidationError, match=r"\$\.check_runs\[0\]\.conclusion"):
        validate_response("/repos/{owner}/{repo}/commits/{ref}/check-runs", body)
