"""From a parsed reference to the change to follow: which repo, which PR, which commit.

A SHA in a known repo (``owner/repo@sha``, or the only configured repo) asks for the commit
and its pull requests at once: ``commits/{sha}/pulls`` takes a short SHA too, and both are
asked today either way. With several repos to search, the pull requests are asked only in the
repo the commit was found in. ``on_repo`` is told the repo as soon as it is known, so the
caller can start what depends only on it (the clusters).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bot.access import RepoFilter, pick_repo
from bot.config import ServiceMap
from bot.errors import BadInput, ChangeNotFound, GitHubNotFound
from bot.model import Change, ChangeState
from bot.refs import Ref
from bot.sources.github import GitHubClient
from bot.timefmt import parse_time


async def resolve_change(
    github: GitHubClient,
    services: ServiceMap,
    ref: Ref,
    default_repo: str | None = None,
    allowed: RepoFilter | None = None,
    on_repo: Callable[[str], None] = lambda repo: None,
) -> Change:
    repo = pick_repo(ref, services, default_repo, allowed)
    if repo is None and ref.pr is None:
        searched = [r for r in services.repos if allowed is None or allowed(r)]
        repo = searched[0] if len(searched) == 1 else None
    if repo is not None:
        on_repo(repo)
    if ref.pr is not None:
        assert repo is not None
        try:
            pull = await github.pull(repo, ref.pr)
        except GitHubNotFound:
            raise ChangeNotFound(f"{repo} has no pull request #{ref.pr}") from None
        return change_from_pull(repo, pull, ref.text)
    assert ref.sha is not None
    commit: dict[str, Any]
    if repo is None:
        repo, commit = await _find_sha(github, services, ref.sha, allowed)
        on_repo(repo)
        pulls = await github.pulls_for_commit(repo, str(commit["sha"]))
    else:
        found_commit, found_pulls = await asyncio.gather(
            github.commit(repo, ref.sha),
            github.pulls_for_commit(repo, ref.sha),
            return_exceptions=True,
        )
        if isinstance(found_commit, GitHubNotFound):
            raise ChangeNotFound(
                f"{repo} has no commit {ref.sha}"
                if ref.repo is not None
                else f"no commit {ref.sha} in {repo}"
            ) from None
        if isinstance(found_commit, BaseException):
            raise found_commit
        if isinstance(found_pulls, BaseException):
            raise found_pulls
        commit, pulls = found_commit, found_pulls
    sha = str(commit["sha"])
    found = _pull_for_sha(pulls, sha)
    if found is not None:
        return change_from_pull(repo, found, ref.text)
    repository = await github.repository(repo)
    branch = str(repository.get("default_branch") or "main")
    on_branch = await github.contains(repo, sha, branch)
    return Change(
        repo=repo,
        sha=sha,
        head_sha=sha,
        requested=ref.text,
        state=ChangeState.COMMIT,
        title=str(commit.get("message") or "").splitlines()[0] if commit.get("message") else None,
        author=commit.get("author"),
        url=commit.get("html_url"),
        on_default_branch=on_branch,
        opened_at=parse_time(commit.get("authored_at")),
    )


def change_from_pull(repo: str, pull: dict[str, Any], requested: str) -> Change:
    merged = bool(pull.get("merged_at"))
    if merged:
        state = ChangeState.MERGED
    elif pull.get("state") == "closed":
        state = ChangeState.CLOSED
    else:
        state = ChangeState.OPEN
    return Change(
        repo=repo,
        pr=int(pull["number"]),
        sha=GitHubClient.pr_commit(pull),
        head_sha=str(pull["head"]["sha"]),
        requested=requested,
        state=state,
        title=pull.get("title"),
        author=(pull.get("user") or {}).get("login"),
        url=pull.get("html_url"),
        merged_at=parse_time(pull.get("merged_at")),
        on_default_branch=True if merged else None,
        opened_at=parse_time(pull.get("created_at")),
    )


def _pull_for_sha(pulls: list[dict[str, Any]], sha: str) -> dict[str, Any] | None:
    """The PR a commit belongs to: the one it merged as, else the one it heads, else any."""
    for match in (
        lambda p: p.get("merge_commit_sha") == sha and p.get("merged_at"),
        lambda p: p["head"]["sha"] == sha,
        lambda p: bool(p.get("merged_at")),
        lambda p: p.get("state") == "open",
        lambda p: True,
    ):
        found = [p for p in pulls if match(p)]
        if found:
            return min(found, key=lambda p: int(p["number"]))
    return None


async def _find_sha(
    github: GitHubClient, services: ServiceMap, sha: str, allowed: RepoFilter | None
) -> tuple[str, dict[str, Any]]:
    repos = [r for r in services.repos if allowed is None or allowed(r)]
    results = await asyncio.gather(*(github.commit(r, sha) for r in repos), return_exceptions=True)
    found: list[tuple[str, dict[str, Any]]] = []
    for repo, result in zip(repos, results, strict=True):
        if isinstance(result, GitHubNotFound):
            continue
        if isinstance(result, BaseException):
            raise result
        found.append((repo, result))
    if not found:
        raise ChangeNotFound(f"no commit {sha} in {', '.join(repos) or 'the configured repos'}")
    if len(found) > 1:
        raise BadInput(
            f"{sha} matches commits in {' and '.join(r for r, _ in found)}; "
            f"write it as owner/repo@{sha}"
        )
    return found[0]
