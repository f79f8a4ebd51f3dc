"""State records and response-body builders for the GitHub REST emulator.

Each builder returns one object shaped like the matching schema in GitHub's OpenAPI
description (API version 2022-11-28, the version GitHub serves without an
``X-GitHub-Api-Version`` header). Every required field is filled, because the emulator
validates every 200 body it serves against that description.

``api`` is the emulator's base URL: API ``url`` fields point back at the emulator so that
PyGithub's lazy completion and pagination stay on it; ``html_url`` fields point at github.com.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

JSON = dict[str, Any]
WEB = "https://github.com"
DOCS = "https://docs.github.com/rest"
NOREPLY = "users.noreply.github.com"

# Worst first: the conclusion of a check suite is the most severe one among its check runs.
SEVERITY = [
    "action_required",
    "startup_failure",
    "timed_out",
    "failure",
    "cancelled",
    "stale",
    "neutral",
    "success",
    "skipped",
]


def parse_time(value: str) -> datetime:
    """Parse ``YYYY-MM-DDTHH:MM:SSZ``; a naive timestamp would silently compare wrongly."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no timezone; use e.g. 2026-11-26T09:00:00Z")
    return parsed


def stable_id(*parts: object) -> int:
    """A deterministic positive id for things named by strings (users, apps)."""
    return zlib.crc32("\0".join(map(str, parts)).encode()) % 90_000_000 + 1_000_000


def node_id(kind: str, ident: object) -> str:
    return f"{kind}_kw" + base64.b64encode(f"{kind}{ident}".encode()).decode().rstrip("=")


def fake_sha(*parts: object) -> str:
    return hashlib.sha1("\0".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


# --- state -----------------------------------------------------------------------------------


@dataclass
class Commit:
    sha: str
    message: str
    parents: list[str]
    author: str
    date: str
    files: list[str]
    seq: int  # insertion order: breaks ties between equal dates, newer wins

    @property
    def when(self) -> datetime:
        return parse_time(self.date)


@dataclass
class Pull:
    number: int
    id: int
    title: str
    head_sha: str
    head_ref: str
    base: str
    state: str
    merged: bool
    merge_commit_sha: str | None
    merged_at: str | None
    closed_at: str | None
    user: str
    created_at: str
    updated_at: str
    commits: list[str]
    body: str | None = None

    def touches(self, sha: str) -> bool:
        return sha in (self.head_sha, self.merge_commit_sha) or sha in self.commits


@dataclass
class CheckRun:
    id: int
    head_sha: str
    name: str
    status: str
    conclusion: str | None
    started_at: str | None
    completed_at: str | None
    details_url: str | None
    app: str
    output_title: str | None
    suite_id: int


@dataclass
class Status:
    id: int
    sha: str
    context: str
    state: str
    target_url: str | None
    description: str | None
    created_at: str


@dataclass
class Job:
    id: int
    run_id: int
    name: str
    status: str
    conclusion: str | None
    started_at: str
    completed_at: str | None
    steps: list[JSON]


@dataclass
class WorkflowRun:
    id: int
    head_sha: str
    name: str
    status: str
    conclusion: str | None
    event: str
    head_branch: str | None
    created_at: str
    updated_at: str
    run_number: int
    workflow_id: int
    suite_id: int
    jobs: list[Job]

    @property
    def path(self) -> str:
        slug = "".join(c if c.isalnum() else "-" for c in self.name.lower()).strip("-")
        return f".github/workflows/{slug or 'ci'}.yml"


@dataclass
class Repo:
    """Scenario handle returned by ``GitHubEmulator.add_repo``."""

    id: int
    owner: str
    name: str
    default_branch: str
    created_at: str
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    pulls: dict[int, Pull] = field(default_factory=dict)
    check_runs: list[CheckRun] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    runs: dict[int, WorkflowRun] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def head(self, branch: str | None = None) -> str | None:
        return self.branches.get(branch or self.default_branch)

    def pushed_at(self) -> str:
        dates = [c.date for c in self.commits.values()]
        return max(dates, key=parse_time) if dates else self.created_at

    def ancestors(self, sha: str) -> set[str]:
        """``sha`` and every commit reachable from it through any parent."""
        seen: set[str] = set()
        todo = [sha]
        while todo:
            s = todo.pop()
            if s not in seen and s in self.commits:
                seen.add(s)
                todo.extend(self.commits[s].parents)
        return seen

    def by_date(self, shas: Iterable[str], newest_first: bool) -> list[Commit]:
        commits = [self.commits[s] for s in shas]
        return sorted(commits, key=lambda c: (c.when, c.seq), reverse=newest_first)

    def merge_base(self, common: set[str]) -> Commit | None:
        """The best common ancestor: one that is no proper ancestor of another (newest wins)."""
        below = {a for c in common for p in self.commits[c].parents for a in self.ancestors(p)}
        best = self.by_date(common - below, newest_first=True)
        return best[0] if best else None

    def latest_statuses(self, sha: str) -> list[Status]:
        """The newest status per context, as the combined status counts them."""
        latest: dict[str, Status] = {}
        for st in sorted(self.statuses, key=lambda s: (parse_time(s.created_at), s.id)):
            if st.sha == sha:
                latest[st.context] = st
        return list(latest.values())

    def check_suites(self, sha: str) -> list[Suite]:
        """One suite per app for the check runs on ``sha``, plus one per workflow run."""
        by_app: dict[str, list[CheckRun]] = {}
        for c in self.check_runs:
            if c.head_sha == sha:
                by_app.setdefault(c.app, []).append(c)
        suites = []
        for app_slug, runs in by_app.items():
            status, conclusion = rollup([(c.status, c.conclusion) for c in runs])
            times = [t for c in runs for t in (c.started_at, c.completed_at) if t]
            times = sorted(times or [self.commits[sha].date], key=parse_time)
            names = {c.name for c in runs}
            suites.append(
                Suite(runs[0].suite_id, app_slug, status, conclusion, names, times[0], times[-1])
            )
        for run in self.runs.values():
            if run.head_sha == sha:
                suites.append(
                    Suite(
                        run.suite_id,
                        "github-actions",
                        run.status,
                        run.conclusion,
                        set(),
                        run.created_at,
                        run.updated_at,
                    )
                )
        return sorted(suites, key=lambda s: s.id)


@dataclass
class Suite:
    id: int
    app: str
    status: str
    conclusion: str | None
    run_names: set[str]  # of the latest check runs in it
    created_at: str
    updated_at: str


# --- small shared objects --------------------------------------------------------------------


def user(api: str, login: str) -> JSON:
    uid = stable_id("user", login)
    bot = login.endswith("[bot]")
    # GitHub percent-encodes "[bot]" in URLs; a raw "[" is not a valid URI character.
    u = f"{api}/users/{quote(login)}"
    return {
        "login": login,
        "id": uid,
        "node_id": node_id("U", uid),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
        "gravatar_id": "",
        "url": u,
        "html_url": f"{WEB}/apps/{login.removesuffix('[bot]')}" if bot else f"{WEB}/{login}",
        "followers_url": f"{u}/followers",
        "following_url": f"{u}/following{{/other_user}}",
        "gists_url": f"{u}/gists{{/gist_id}}",
        "starred_url": f"{u}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{u}/subscriptions",
        "organizations_url": f"{u}/orgs",
        "repos_url": f"{u}/repos",
        "events_url": f"{u}/events{{/privacy}}",
        "received_events_url": f"{u}/received_events",
        "type": "Bot" if bot else "User",
        "user_view_type": "public",
        "site_admin": False,
    }


def git_user(login: str, date: str) -> JSON:
    return {"name": login, "email": f"{login}@{NOREPLY}", "date": date}


def repo_api(api: str, repo: Repo) -> str:
    return f"{api}/repos/{repo.full_name}"


def minimal_repo(api: str, repo: Repo) -> JSON:
    """``minimal-repository``: what check suites, statuses and workflow runs embed."""
    u = repo_api(api, repo)
    return {
        "id": repo.id,
        "node_id": node_id("R", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "owner": user(api, repo.owner),
        "private": True,
        "html_url": f"{WEB}/{repo.full_name}",
        "description": None,
        "fork": False,
        "url": u,
        "archive_url": f"{u}/{{archive_format}}{{/ref}}",
        "assignees_url": f"{u}/assignees{{/user}}",
        "blobs_url": f"{u}/git/blobs{{/sha}}",
        "branches_url": f"{u}/branches{{/branch}}",
        "collaborators_url": f"{u}/collaborators{{/collaborator}}",
        "comments_url": f"{u}/comments{{/number}}",
        "commits_url": f"{u}/commits{{/sha}}",
        "compare_url": f"{u}/compare/{{base}}...{{head}}",
        "contents_url": f"{u}/contents/{{+path}}",
        "contributors_url": f"{u}/contributors",
        "deployments_url": f"{u}/deployments",
        "downloads_url": f"{u}/downloads",
        "events_url": f"{u}/events",
        "forks_url": f"{u}/forks",
        "git_commits_url": f"{u}/git/commits{{/sha}}",
        "git_refs_url": f"{u}/git/refs{{/sha}}",
        "git_tags_url": f"{u}/git/tags{{/sha}}",
        "hooks_url": f"{u}/hooks",
        "issue_comment_url": f"{u}/issues/comments{{/number}}",
        "issue_events_url": f"{u}/issues/events{{/number}}",
        "issues_url": f"{u}/issues{{/number}}",
        "keys_url": f"{u}/keys{{/key_id}}",
        "labels_url": f"{u}/labels{{/name}}",
        "languages_url": f"{u}/languages",
        "merges_url": f"{u}/merges",
        "milestones_url": f"{u}/milestones{{/number}}",
        "notifications_url": f"{u}/notifications{{?since,all,participating}}",
        "pulls_url": f"{u}/pulls{{/number}}",
        "releases_url": f"{u}/releases{{/id}}",
        "stargazers_url": f"{u}/stargazers",
        "statuses_url": f"{u}/statuses/{{sha}}",
        "subscribers_url": f"{u}/subscribers",
        "subscription_url": f"{u}/subscription",
        "tags_url": f"{u}/tags",
        "teams_url": f"{u}/teams",
        "trees_url": f"{u}/git/trees{{/sha}}",
    }


def repository(api: str, repo: Repo, pushed_at: str) -> JSON:
    """``repository``: the shape embedded in pull request ``head``/``base``."""
    return {
        **minimal_repo(api, repo),
        "git_url": f"git://github.com/{repo.full_name}.git",
        "ssh_url": f"git@github.com:{repo.full_name}.git",
        "clone_url": f"{WEB}/{repo.full_name}.git",
        "svn_url": f"{WEB}/{repo.full_name}",
        "mirror_url": None,
        "homepage": None,
        "language": "Python",
        "license": None,
        "size": 1024,
        "forks": 0,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers": 0,
        "watchers_count": 0,
        "open_issues": 0,
        "open_issues_count": 0,
        "default_branch": repo.default_branch,
        "visibility": "private",
        "topics": [],
        "is_template": False,
        "has_issues": True,
        "has_projects": True,
        "has_wiki": False,
        "has_pages": False,
        # Removed in API version 2026-03-10, still sent for 2022-11-28.
        "has_downloads": True,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "allow_forking": False,
        "web_commit_signoff_required": False,
        "pushed_at": pushed_at,
        "created_at": repo.created_at,
        "updated_at": pushed_at,
    }


def full_repository(api: str, repo: Repo, pushed_at: str) -> JSON:
    """``full-repository``: ``GET /repos/{owner}/{repo}``."""
    return {
        **repository(api, repo, pushed_at),
        "subscribers_count": 1,
        "network_count": 0,
        "permissions": {
            "admin": False,
            "maintain": False,
            "push": False,
            "triage": False,
            "pull": True,
        },
    }


def app(api: str, slug: str) -> JSON:
    """``integration``; ``github-actions`` gets GitHub's real app id and owner."""
    actions = slug == "github-actions"
    app_id = 15368 if actions else stable_id("app", slug)
    return {
        "id": app_id,
        "slug": slug,
        "node_id": node_id("A", app_id),
        "client_id": f"Iv1.{fake_sha('app', slug)[:16]}",
        "owner": user(api, "github" if actions else slug),
        "name": "GitHub Actions" if actions else slug.replace("-", " ").title(),
        "description": "Automate your workflow from idea to production" if actions else None,
        "external_url": "https://help.github.com/en/actions"
        if actions
        else f"https://{slug}.example",
        "html_url": f"{WEB}/apps/{slug}",
        "created_at": "2018-07-30T09:30:17Z",
        "updated_at": "2024-04-10T20:33:16Z",
        "permissions": {
            "actions": "write",
            "checks": "write",
            "metadata": "read",
            "statuses": "write",
        },
        "events": ["check_run", "check_suite", "pull_request", "push", "workflow_run"],
    }


def error(status: int, message: str, doc: str = DOCS) -> JSON:
    """``basic-error``; GitHub sends ``status`` as a string."""
    return {"message": message, "documentation_url": doc, "status": str(status)}


# --- commits ---------------------------------------------------------------------------------


def diff_entry(api: str, repo: Repo, sha: str, filename: str) -> JSON:
    blob = fake_sha("blob", sha, filename)
    return {
        "sha": blob,
        "filename": filename,
        "status": "modified",
        "additions": 1,
        "deletions": 1,
        "changes": 2,
        "blob_url": f"{WEB}/{repo.full_name}/blob/{sha}/{filename}",
        "raw_url": f"{WEB}/{repo.full_name}/raw/{sha}/{filename}",
        "contents_url": f"{repo_api(api, repo)}/contents/{filename}?ref={sha}",
        "patch": "@@ -1 +1 @@\n-old\n+new",
    }


def commit(api: str, repo: Repo, c: Commit, *, with_files: bool = False) -> JSON:
    """``commit``; ``files`` and ``stats`` only on the single-commit endpoint, like GitHub."""
    u = repo_api(api, repo)
    body: JSON = {
        "sha": c.sha,
        "node_id": node_id("C", c.sha),
        "commit": {
            "author": git_user(c.author, c.date),
            "committer": git_user(c.author, c.date),
            "message": c.message,
            "tree": {
                "sha": fake_sha("tree", c.sha),
                "url": f"{u}/git/trees/{fake_sha('tree', c.sha)}",
            },
            "url": f"{u}/git/commits/{c.sha}",
            "comment_count": 0,
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        },
        "url": f"{u}/commits/{c.sha}",
        "html_url": f"{WEB}/{repo.full_name}/commit/{c.sha}",
        "comments_url": f"{u}/commits/{c.sha}/comments",
        "author": user(api, c.author),
        "committer": user(api, c.author),
        "parents": [
            {"sha": p, "url": f"{u}/commits/{p}", "html_url": f"{WEB}/{repo.full_name}/commit/{p}"}
            for p in c.parents
        ],
    }
    if with_files:
        n = len(c.files)
        body["stats"] = {"total": 2 * n, "additions": n, "deletions": n}
        body["files"] = [diff_entry(api, repo, c.sha, f) for f in c.files]
    return body


def simple_commit(c: Commit) -> JSON:
    """``simple-commit``: the ``head_commit`` of check suites and workflow runs."""
    who = {"name": c.author, "email": f"{c.author}@{NOREPLY}"}
    return {
        "id": c.sha,
        "tree_id": fake_sha("tree", c.sha),
        "message": c.message,
        "timestamp": c.date,
        "author": who,
        "committer": who,
    }


def comparison(
    api: str,
    repo: Repo,
    basehead: str,
    base: Commit,
    merge_base: Commit,
    status: str,
    ahead: list[Commit],
    behind_by: int,
    page: list[Commit],
) -> JSON:
    """``commit-comparison``; ``ahead`` is oldest first, ``page`` the slice served."""
    files: dict[str, JSON] = {}
    for c in ahead:
        for f in c.files:
            files[f] = diff_entry(api, repo, c.sha, f)
    return {
        "url": f"{repo_api(api, repo)}/compare/{basehead}",
        "html_url": f"{WEB}/{repo.full_name}/compare/{basehead}",
        "permalink_url": f"{WEB}/{repo.full_name}/compare/{repo.owner}:{base.sha[:7]}...{repo.owner}:"
        + (ahead[-1].sha[:7] if ahead else base.sha[:7]),
        "diff_url": f"{WEB}/{repo.full_name}/compare/{basehead}.diff",
        "patch_url": f"{WEB}/{repo.full_name}/compare/{basehead}.patch",
        "base_commit": commit(api, repo, base),
        "merge_base_commit": commit(api, repo, merge_base),
        "status": status,
        "ahead_by": len(ahead),
        "behind_by": behind_by,
        "total_commits": len(ahead),
        "commits": [commit(api, repo, c) for c in page],
        # GitHub lists at most 300 changed files for a comparison.
        "files": list(files.values())[:300],
    }


def git_ref(api: str, repo: Repo, branch: str, sha: str) -> JSON:
    u = repo_api(api, repo)
    return {
        "ref": f"refs/heads/{branch}",
        "node_id": node_id("REF", f"{repo.id}:{branch}"),
        "url": f"{u}/git/refs/heads/{branch}",
        "object": {"type": "commit", "sha": sha, "url": f"{u}/git/commits/{sha}"},
    }


# --- pull requests ---------------------------------------------------------------------------


def pull_minimal(api: str, repo: Repo, pr: Pull) -> JSON:
    """``pull-request-minimal``: embedded in check runs, check suites and workflow runs."""
    ref = {"id": repo.id, "url": repo_api(api, repo), "name": repo.name}
    base_sha = repo.branches.get(pr.base, pr.head_sha)
    return {
        "id": pr.id,
        "number": pr.number,
        "url": f"{repo_api(api, repo)}/pulls/{pr.number}",
        "head": {"ref": pr.head_ref, "sha": pr.head_sha, "repo": ref},
        "base": {"ref": pr.base, "sha": base_sha, "repo": ref},
    }


def pull_simple(api: str, repo: Repo, pr: Pull, pushed_at: str) -> JSON:
    """``pull-request-simple``: list endpoints."""
    u = repo_api(api, repo)
    pu = f"{u}/pulls/{pr.number}"
    html = f"{WEB}/{repo.full_name}/pull/{pr.number}"
    side_repo = repository(api, repo, pushed_at)
    base_sha = repo.branches.get(pr.base, pr.head_sha)

    def side(ref: str, sha: str) -> JSON:
        return {
            "label": f"{repo.owner}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": user(api, repo.owner),
            "repo": side_repo,
        }

    links = {
        "self": pu,
        "html": html,
        "issue": f"{u}/issues/{pr.number}",
        "comments": f"{u}/issues/{pr.number}/comments",
        "review_comments": f"{pu}/comments",
        "review_comment": f"{u}/pulls/comments{{/number}}",
        "commits": f"{pu}/commits",
        "statuses": f"{u}/statuses/{pr.head_sha}",
    }
    return {
        "url": pu,
        "id": pr.id,
        "node_id": node_id("PR", pr.id),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": links["issue"],
        "commits_url": links["commits"],
        "review_comments_url": links["review_comments"],
        "review_comment_url": links["review_comment"],
        "comments_url": links["comments"],
        "statuses_url": links["statuses"],
        "number": pr.number,
        "state": pr.state,
        "locked": False,
        "title": pr.title,
        "user": user(api, pr.user),
        "body": pr.body,
        "labels": [],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": pr.created_at,
        "updated_at": pr.updated_at,
        "closed_at": pr.closed_at,
        "merged_at": pr.merged_at,
        # Removed in API version 2026-03-10, still sent for 2022-11-28.
        "merge_commit_sha": pr.merge_commit_sha,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": side(pr.head_ref, pr.head_sha),
        "base": side(pr.base, base_sha),
        "_links": {k: {"href": v} for k, v in links.items()},
        "author_association": "MEMBER",
        "auto_merge": None,
        "draft": False,
    }


def pull_full(api: str, repo: Repo, pr: Pull, pushed_at: str) -> JSON:
    """``pull-request``: ``GET /repos/{owner}/{repo}/pulls/{pull_number}``."""
    n_files = len({f for s in pr.commits if (c := repo.commits.get(s)) for f in c.files})
    return {
        **pull_simple(api, repo, pr, pushed_at),
        "merged": pr.merged,
        # GitHub computes mergeability lazily; null means "not computed yet".
        "mergeable": None if pr.state == "closed" else True,
        "rebaseable": None if pr.state == "closed" else True,
        "mergeable_state": "unknown" if pr.state == "closed" else "clean",
        "merged_by": user(api, pr.user) if pr.merged else None,
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": max(1, len(pr.commits)),
        "additions": n_files,
        "deletions": n_files,
        "changed_files": n_files,
    }


# --- checks, statuses, actions ---------------------------------------------------------------


def check_run(api: str, repo: Repo, run: CheckRun, pulls: list[JSON]) -> JSON:
    html = f"{WEB}/{repo.full_name}/runs/{run.id}"
    url = f"{repo_api(api, repo)}/check-runs/{run.id}"
    return {
        "id": run.id,
        "name": run.name,
        "node_id": node_id("CR", run.id),
        "head_sha": run.head_sha,
        "external_id": "",
        "url": url,
        "html_url": html,
        "details_url": run.details_url or html,
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": run.started_at,
        "completed_at": run.completed_at,
        "output": {
            "title": run.output_title,
            "summary": None,
            "text": None,
            "annotations_count": 0,
            "annotations_url": f"{url}/annotations",
        },
        "check_suite": {"id": run.suite_id},
        "app": app(api, run.app),
        "pull_requests": pulls,
    }


def rollup(states: list[tuple[str, str | None]]) -> tuple[str, str | None]:
    """(status, conclusion) of a suite from its runs' (status, conclusion)."""
    if not states:
        return "queued", None
    if any(s != "completed" for s, _ in states):
        started = any(s not in ("queued", "requested", "waiting", "pending") for s, _ in states)
        return ("in_progress" if started else "queued"), None
    done = [c for _, c in states if c]
    return "completed", min(done, key=SEVERITY.index) if done else None


def check_suite(api: str, repo: Repo, suite: Suite, head: Commit, pulls: list[JSON]) -> JSON:
    u = repo_api(api, repo)
    suite_id = suite.id
    branch = next((b for b, s in repo.branches.items() if s == head.sha), None)
    return {
        "id": suite_id,
        "node_id": node_id("CS", suite_id),
        "head_branch": branch,
        "head_sha": head.sha,
        "status": suite.status,
        "conclusion": suite.conclusion,
        "url": f"{u}/check-suites/{suite_id}",
        "before": head.parents[0] if head.parents else "0" * 40,
        "after": head.sha,
        "pull_requests": pulls,
        "app": app(api, suite.app),
        "repository": minimal_repo(api, repo),
        "created_at": suite.created_at,
        "updated_at": suite.updated_at,
        "head_commit": simple_commit(head),
        "latest_check_runs_count": len(suite.run_names),
        "check_runs_url": f"{u}/check-suites/{suite_id}/check-runs",
        "rerequestable": True,
        "runs_rerequestable": True,
    }


def commit_status(api: str, repo: Repo, st: Status) -> JSON:
    """``simple-commit-status``."""
    return {
        "id": st.id,
        "node_id": node_id("SC", st.id),
        "state": st.state,
        "context": st.context,
        "description": st.description,
        "target_url": st.target_url,
        "avatar_url": f"https://avatars.githubusercontent.com/u/{stable_id('status', st.context)}?v=4",
        "url": f"{repo_api(api, repo)}/statuses/{st.sha}",
        "created_at": st.created_at,
        "updated_at": st.created_at,
    }


def combined_status(api: str, repo: Repo, sha: str, state: str, statuses: list[JSON]) -> JSON:
    u = repo_api(api, repo)
    return {
        "state": state,
        "statuses": statuses,
        "sha": sha,
        "total_count": len(statuses),
        "repository": minimal_repo(api, repo),
        "commit_url": f"{u}/commits/{sha}",
        "url": f"{u}/commits/{sha}/status",
    }


def workflow_run(
    api: str, repo: Repo, run: WorkflowRun, head: Commit, pulls: list[JSON], pushed_at: str
) -> JSON:
    u = f"{repo_api(api, repo)}/actions/runs/{run.id}"
    actor = user(api, head.author)
    return {
        "id": run.id,
        "name": run.name,
        "node_id": node_id("WFR", run.id),
        "check_suite_id": run.suite_id,
        "check_suite_node_id": node_id("CS", run.suite_id),
        "head_branch": run.head_branch,
        "head_sha": run.head_sha,
        "path": run.path,
        "run_number": run.run_number,
        "run_attempt": 1,
        "referenced_workflows": [],
        "event": run.event,
        "status": run.status,
        "conclusion": run.conclusion,
        "workflow_id": run.workflow_id,
        "url": u,
        "html_url": f"{WEB}/{repo.full_name}/actions/runs/{run.id}",
        "pull_requests": pulls,
        "created_at": run.created_at,
        "updated_at": run.updated_at,
        "actor": actor,
        "triggering_actor": actor,
        "run_started_at": run.created_at,
        "jobs_url": f"{u}/jobs",
        "logs_url": f"{u}/logs",
        "check_suite_url": f"{repo_api(api, repo)}/check-suites/{run.suite_id}",
        "artifacts_url": f"{u}/artifacts",
        "cancel_url": f"{u}/cancel",
        "rerun_url": f"{u}/rerun",
        "previous_attempt_url": None,
        "workflow_url": f"{repo_api(api, repo)}/actions/workflows/{run.workflow_id}",
        "head_commit": simple_commit(head),
        "repository": minimal_repo(api, repo),
        "head_repository": minimal_repo(api, repo),
        "head_repository_id": repo.id,
        "display_title": head.message.splitlines()[0] if head.message else run.name,
    }


def job(api: str, repo: Repo, run: WorkflowRun, j: Job) -> JSON:
    u = repo_api(api, repo)
    return {
        "id": j.id,
        "run_id": run.id,
        "run_url": f"{u}/actions/runs/{run.id}",
        "run_attempt": 1,
        "node_id": node_id("CR", j.id),
        "head_sha": run.head_sha,
        "url": f"{u}/actions/jobs/{j.id}",
        "html_url": f"{WEB}/{repo.full_name}/actions/runs/{run.id}/job/{j.id}",
        "status": j.status,
        "conclusion": j.conclusion,
        "created_at": run.created_at,
        "started_at": j.started_at,
        "completed_at": j.completed_at,
        "name": j.name,
        "steps": j.steps,
        # On GitHub a job is also a check run with the same id.
        "check_run_url": f"{u}/check-runs/{j.id}",
        "labels": ["ubuntu-latest"],
        "runner_id": 1,
        "runner_name": "GitHub Actions 1",
        "runner_group_id": 1,
        "runner_group_name": "GitHub Actions",
        "workflow_name": run.name,
        "head_branch": run.head_branch,
    }


def rate_limit(limit: int, remaining: int, reset: int) -> JSON:
    core = {"limit": limit, "remaining": remaining, "reset": reset, "used": limit - remaining}
    search = {"limit": 30, "remaining": 30, "reset": reset, "used": 0}
    return {
        "resources": {"core": core, "search": search},
        # Removed in API version 2026-03-10, still sent for 2022-11-28.
        "rate": core,
    }
