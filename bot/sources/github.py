"""GitHub REST API, through PyGithub's requester, with revalidation and SHA-fact caching.

Responses are used as plain JSON, never as lazily completed PyGithub objects: an attribute
read can then never hide a request. Blocking PyGithub calls run in a bounded thread pool so
independent look-ups overlap; the store is only touched from the event loop's thread.

Retries are urllib3's (through PyGithub's ``GithubRetry``): transient 5xx and timeouts only,
with backoff, and a rate-limit wait capped at ``rate_limit_wait`` seconds. Every attempt's
status, and how each look-up ended, go to the :class:`RequestObserver` (metrics, readiness).

A request already in flight is shared: asking for the same URL again (another environment
comparing the same pair, another answer at the same moment) waits for it instead of sending
a second one.

Within an :meth:`GitHubClient.answer`, a page already stored is served at once from the store
while its revalidation goes out, so the look-ups that depend on it start at once too instead
of waiting one round trip per step; :meth:`Answer.settled` then says whether every
revalidation confirmed what was served (all ``304``). When one did not, the caller asks again,
and what GitHub answered in the meantime is used as is: no URL is fetched twice in an answer.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import logging
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import requests
import urllib3
from github import Auth, Github, GithubException, GithubRetry
from github.GithubException import (
    BadCredentialsException,
    RateLimitExceededException,
    UnknownObjectException,
)
from github.Requester import Requester
from requests.utils import parse_header_links

from bot.errors import (
    GitHubAuthError,
    GitHubError,
    GitHubNotFound,
    GitHubRateLimited,
    GitHubUnavailable,
)
from bot.sources.network import network_reason
from bot.sources.observer import NoObserver, NotedRetry, RequestObserver
from bot.store import CachedResponse, Store
from bot.timefmt import parse_time

log = logging.getLogger(__name__)

API_VERSION = "2022-11-28"
Page = tuple[Any, str | None]  # a body and the next page's URL


@dataclass
class Answer:
    """The requests of one answer (see the module docstring)."""

    optimistic: bool = True  # serve stored pages at once, revalidating them meanwhile
    fresh: dict[str, asyncio.Future[Page]] = field(default_factory=dict)  # fetched in it
    _checks: list[asyncio.Future[bool]] = field(default_factory=list)

    async def settled(self) -> bool:
        """Wait for every revalidation started for a page served from the store; True when
        each confirmed it. Later look-ups of the answer no longer serve stored pages early."""
        self.optimistic = False
        checks, self._checks = self._checks, []
        return all(await asyncio.gather(*checks))


_ANSWER: ContextVar[Answer | None] = ContextVar("shiptrace_github_answer", default=None)


@dataclass(frozen=True)
class GitHubOptions:
    api_url: str = "https://api.github.com"
    token: str | None = None
    app_id: str | None = None
    app_private_key: str | None = None
    app_installation_id: int | None = None
    timeout: int = 5  # whole seconds: PyGithub accepts only ints
    retries: int = 2
    rate_limit_wait: float = 3.0
    concurrency: int = 8


class _Retry(NotedRetry, GithubRetry):
    """PyGithub's retry policy (rate limits understood), each retry noted in one line."""


class GitHubClient:
    """Read-only GitHub look-ups shiptrace needs, each returning plain JSON."""

    def __init__(
        self, options: GitHubOptions, store: Store, observer: RequestObserver | None = None
    ) -> None:
        self.options = options
        self.api_url = options.api_url.rstrip("/")
        self.store = store
        self.observer: RequestObserver = observer or NoObserver()
        retry = _Retry(
            total=options.retries,
            connect=options.retries,
            read=options.retries,
            backoff_factor=0.25,
            raise_on_status=False,  # the last 5xx reaches PyGithub and is reported as such
            max_rate_limit_wait=options.rate_limit_wait,
            secondary_rate_wait=min(options.rate_limit_wait, 60),
        ).noted("GitHub", self._retried)
        self._auth = _auth(options)
        self._auth_lock = threading.Lock()  # one installation-token exchange at a time
        self._github = Github(
            base_url=self.api_url,
            auth=self._auth,
            timeout=options.timeout,
            retry=retry,
            pool_size=options.concurrency,
            per_page=100,
            seconds_between_requests=None,
            seconds_between_writes=None,
            api_version=API_VERSION,
        )
        self._requester = self._github.requester
        self._pool = ThreadPoolExecutor(options.concurrency, thread_name_prefix="github")
        self._in_flight: dict[tuple[str, bool], asyncio.Future[Page]] = {}

    @asynccontextmanager
    async def answer(self) -> AsyncIterator[Answer]:
        """The scope of one answer's requests (see the module docstring)."""
        answer = Answer()
        token = _ANSWER.set(answer)
        try:
            yield answer
        finally:
            _ANSWER.reset(token)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._github.close()

    # -- the one place that turns a PR into the commit to follow -------------------------
    @staticmethod
    def pr_commit(pull: dict[str, Any]) -> str:
        """The SHA a PR is followed by: its merge commit once merged, else its head.

        Kept in one place because API versions after 2022-11-28 drop ``merge_commit_sha``.
        """
        if pull.get("merged_at") and pull.get("merge_commit_sha"):
            return str(pull["merge_commit_sha"])
        return str(pull["head"]["sha"])

    # -- look-ups ------------------------------------------------------------------------
    async def repository(self, repo: str) -> dict[str, Any]:
        return dict(await self.get(f"/repos/{repo}"))

    async def rate_limit(self) -> dict[str, Any]:
        """The REST API's rate limit now (``limit``, ``remaining``, ``reset`` in epoch
        seconds), never cached. A refused token raises here as anywhere; asking costs none
        of the limit."""
        body = await self.get("/rate_limit", revalidate=False)
        return dict(body["resources"]["core"])

    async def pull(self, repo: str, number: int) -> dict[str, Any]:
        return dict(await self.get(f"/repos/{repo}/pulls/{number}"))

    async def commit(self, repo: str, ref: str) -> dict[str, Any]:
        """A commit by full or short SHA. Facts about a full SHA never change: cached forever."""
        key = f"commit:{repo.lower()}:{ref}"
        cached = self.store.fact(key)
        if cached is not None:
            return dict(cached)
        try:
            body = await self.get(f"/repos/{repo}/commits/{quote(ref)}", revalidate=False)
        except GitHubNotFound:
            raise GitHubNotFound(f"no commit {ref} in {repo}") from None
        slim = _slim_commit(body)
        self.store.remember(f"commit:{repo.lower()}:{slim['sha']}", slim)
        if ref != slim["sha"]:
            self.store.remember(key, slim)
        return slim

    async def pulls_for_commit(self, repo: str, sha: str) -> list[dict[str, Any]]:
        return await self.get_all(f"/repos/{repo}/commits/{sha}/pulls")

    async def check_runs(self, repo: str, sha: str) -> list[dict[str, Any]]:
        return await self.get_all(f"/repos/{repo}/commits/{sha}/check-runs", key="check_runs")

    async def combined_status(self, repo: str, sha: str) -> dict[str, Any]:
        return dict(await self.get(f"/repos/{repo}/commits/{sha}/status"))

    async def workflow_runs(self, repo: str, sha: str) -> list[dict[str, Any]]:
        return await self.get_all(
            f"/repos/{repo}/actions/runs", {"head_sha": sha}, key="workflow_runs"
        )

    async def jobs(self, repo: str, run_id: int) -> list[dict[str, Any]]:
        return await self.get_all(f"/repos/{repo}/actions/runs/{run_id}/jobs", key="jobs")

    async def compare(self, repo: str, base: str, head: str) -> dict[str, Any]:
        """Ancestry of two refs. Between two full SHAs the answer never changes."""
        fixed = _is_full_sha(base) and _is_full_sha(head)
        key = f"compare:{repo.lower()}:{base}...{head}"
        if fixed:
            cached = self.store.fact(key)
            if cached is not None:
                return dict(cached)
        body = await self.get(
            f"/repos/{repo}/compare/{quote(base)}...{quote(head)}",
            {"per_page": 1},
            revalidate=not fixed,
        )
        slim = {
            "status": body["status"],
            "ahead_by": body["ahead_by"],
            "behind_by": body["behind_by"],
            "merge_base": (body.get("merge_base_commit") or {}).get("sha"),
        }
        if fixed:
            self.store.remember(key, slim)
        return slim

    async def contains(self, repo: str, ancestor: str, descendant: str) -> bool:
        """Whether ``descendant`` contains ``ancestor``: equal to it or ahead of it."""
        result = await self.compare(repo, ancestor, descendant)
        return result["status"] in ("identical", "ahead")

    async def merged_pulls(
        self, repo: str, since: datetime, until: datetime
    ) -> list[dict[str, Any]]:
        """Pull requests merged in [since, until), newest first (closed PRs by last update)."""
        pulls = await self.get_all(
            f"/repos/{repo}/pulls",
            {"state": "closed", "sort": "updated", "direction": "desc"},
            max_pages=10,
        )
        out = []
        for pull in pulls:
            merged = parse_time(pull.get("merged_at"))
            if merged is not None and since <= merged < until:
                out.append(pull)
        return sorted(out, key=lambda p: str(p["merged_at"]), reverse=True)

    async def commits(
        self,
        repo: str,
        *,
        sha: str | None = None,
        since: str | None = None,
        path: str | None = None,
    ) -> list[dict[str, Any]]:
        params = {k: v for k, v in {"sha": sha, "since": since, "path": path}.items() if v}
        return [_slim_commit(c) for c in await self.get_all(f"/repos/{repo}/commits", params)]

    async def probe(self) -> None:
        """One cheap request (``/rate_limit`` costs no rate limit): whether GitHub answers
        with these credentials; raises the project's errors."""
        await self.get("/rate_limit", revalidate=False)

    # -- transport -----------------------------------------------------------------------
    async def get(
        self, path: str, params: dict[str, Any] | None = None, *, revalidate: bool = True
    ) -> Any:
        body, _ = await self._get_page(self._url(path, params), revalidate)
        return body

    async def get_all(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        max_pages: int = 10,
    ) -> list[Any]:
        """Every page of a list (the items under ``key`` for wrapped lists)."""
        url: str | None = self._url(path, {"per_page": 100, **(params or {})})
        items: list[Any] = []
        pages = 0
        while url and pages < max_pages:
            body, next_url = await self._get_page(url, True)
            items.extend(body[key] if key else body)
            url, pages = next_url, pages + 1
        return items

    def _url(self, path: str, params: dict[str, Any] | None) -> str:
        query = f"?{urlencode(sorted(params.items()))}" if params else ""
        return f"{self.api_url}{path}{query}"

    async def _get_page(self, url: str, revalidate: bool) -> Page:
        answer = _ANSWER.get()
        if answer is not None and url in answer.fresh:
            return await asyncio.shield(answer.fresh[url])
        cached = self.store.cached_response(url) if revalidate else None
        fetch = self._shared(url, revalidate, cached)
        if answer is None:
            return await asyncio.shield(fetch)
        answer.fresh[url] = fetch
        if answer.optimistic and cached is not None:
            stored: Page = (cached.body["body"], cached.body.get("next"))
            answer._checks.append(asyncio.ensure_future(_confirms(fetch, stored)))
            return stored
        return await asyncio.shield(fetch)

    def _shared(
        self, url: str, revalidate: bool, cached: CachedResponse | None
    ) -> asyncio.Future[Page]:
        """The request for ``url``: the one in flight, or a new one, handed to the pool now
        (before any other task runs: the round trip starts at once)."""
        key = (url, revalidate)
        fetch = self._in_flight.get(key)
        if fetch is None or fetch.done():
            headers: dict[str, str] = {}
            if cached is not None and cached.etag:
                headers["If-None-Match"] = cached.etag
            elif cached is not None and cached.last_modified:
                headers["If-Modified-Since"] = cached.last_modified
            loop = asyncio.get_running_loop()
            # In the caller's context: a log line from the thread carries its request id.
            call = functools.partial(contextvars.copy_context().run, self._request, url, headers)
            sent = loop.run_in_executor(self._pool, call)
            fetch = asyncio.ensure_future(self._page(url, revalidate, cached, sent))
            self._in_flight[key] = fetch
            fetch.add_done_callback(lambda f: self._forget(key, f))
        return fetch

    def _forget(self, key: tuple[str, bool], fetch: asyncio.Future[Page]) -> None:
        if self._in_flight.get(key) is fetch:
            del self._in_flight[key]
        if not fetch.cancelled():
            fetch.exception()  # retrieved: whoever awaits it sees it; nobody else must

    async def _page(
        self,
        url: str,
        revalidate: bool,
        cached: CachedResponse | None,
        sent: asyncio.Future[tuple[dict[str, Any], Any]],
    ) -> Page:
        status_headers, body = await sent
        resp_headers = {k.lower(): v for k, v in status_headers.items()}
        if cached is not None and body is None:  # 304 Not Modified: the stored body stands
            body = cached.body["body"]
            next_url = cached.body.get("next")
        else:
            next_url = _next_link(resp_headers.get("link"))
            if revalidate:
                self.store.store_response(
                    url,
                    resp_headers.get("etag"),
                    resp_headers.get("last-modified"),
                    {"body": body, "next": next_url},
                )
        return body, next_url

    def _request(self, url: str, headers: dict[str, str]) -> tuple[dict[str, Any], Any]:
        try:
            found, data = self._answer(url, headers)
        except GitHubError as exc:
            self.observer.github_outcome(None if isinstance(exc, GitHubNotFound) else exc.message)
            raise
        self.observer.github_outcome(None)
        return found, data

    def _answer(self, url: str, headers: dict[str, str]) -> tuple[dict[str, Any], Any]:
        """PyGithub's ``requestJsonAndCheck``, with the status seen (metrics count it)."""
        try:
            self._installation_token()
            status, found, text = self._requester.requestJson("GET", url, headers=headers)
        except GithubException as exc:  # raised while retrying: a 403 or a capped rate-limit wait
            self.observer.github_response(exc.status, exc.headers or {})
            raise self._error(exc, url) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            self.observer.github_response(None, {})
            raise GitHubUnavailable(
                f"GitHub at {self.api_url} did not answer ({network_reason(exc)}); "
                "check GITHUB_API_URL and the network, then try again"
            ) from None
        self.observer.github_response(status, found)
        data = _structured(text)
        if status >= 400:
            raise self._error(Requester.createException(status, found, data), url) from None
        if isinstance(data, dict) and "url" not in data:
            data["url"] = url  # as PyGithub adds it to a GET's body
        return found, data

    def _error(self, exc: GithubException, url: str) -> GitHubError:
        if isinstance(exc, UnknownObjectException):
            return GitHubNotFound(f"GitHub has no {_describe(url)}")
        if isinstance(exc, BadCredentialsException):
            if isinstance(self._auth, Auth.AppInstallationAuth):
                return GitHubAuthError(
                    "GitHub refused the GitHub App's installation token (401 Bad credentials): "
                    "check GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID"
                )
            return GitHubAuthError(
                "GitHub refused the token (401 Bad credentials): check GITHUB_TOKEN"
            )
        if isinstance(exc, RateLimitExceededException):
            reset = _reset_at(exc.headers)
            when = f" until {reset:%H:%M:%S} UTC" if reset else ""
            return GitHubRateLimited(
                f"GitHub rate limit exceeded{when}; try again later or use a token with a higher limit",
                reset,
            )
        return _from_status(exc, url)

    def _retried(self, response: urllib3.BaseHTTPResponse | None, _error: Exception | None) -> None:
        if response is None:
            self.observer.github_response(None, {})
        else:
            self.observer.github_response(response.status, response.headers)

    def _installation_token(self) -> None:
        """A GitHub App first trades a JWT for an installation token (again once it expires).
        PyGithub does it inside the first request, where a refusal would read as that
        request's own 401 or 404: do it here, so the error names the App's settings."""
        auth = self._auth
        if not isinstance(auth, Auth.AppInstallationAuth):
            return
        with self._auth_lock:
            try:
                auth.token  # noqa: B018 - the property makes (or reuses) the token
            except UnknownObjectException:
                raise GitHubAuthError(
                    f"GitHub has no installation {auth.installation_id} of the GitHub App "
                    f"{auth.app_id}: check GITHUB_APP_INSTALLATION_ID (the number at the end of "
                    "the installation's settings URL)"
                ) from None
            except BadCredentialsException as exc:
                message = exc.data.get("message") if isinstance(exc.data, dict) else None
                raise GitHubAuthError(
                    f"GitHub refused the GitHub App's key (401 {message or 'Bad credentials'}): "
                    "check that GITHUB_APP_ID is the App's id and GITHUB_APP_PRIVATE_KEY one of "
                    "its private keys"
                ) from None
            except GithubException as exc:
                if exc.status is not None and exc.status < 500:
                    raise GitHubAuthError(
                        f"GitHub refused an installation token for the GitHub App {auth.app_id} "
                        f"({exc.status}): check GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY and "
                        "GITHUB_APP_INSTALLATION_ID"
                    ) from None
                raise


async def _confirms(fetch: asyncio.Future[Page], stored: Page) -> bool:
    """Whether GitHub's answer is the page that was served from the store."""
    try:
        return await asyncio.shield(fetch) == stored
    except Exception:  # asked again outside the early pass, where the error is reported
        return False


def _auth(options: GitHubOptions) -> Auth.Auth | None:
    if options.token:
        return Auth.Token(options.token)
    if options.app_id and options.app_private_key and options.app_installation_id:
        app = Auth.AppAuth(options.app_id, options.app_private_key)
        return app.get_installation_auth(options.app_installation_id)
    return None


def _structured(text: str) -> Any:
    """A body as PyGithub reads it: None when empty, JSON, else ``{"data": text}``."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        if text.startswith(("{", "[")):
            raise
        return {"data": text}


def _from_status(exc: GithubException, url: str) -> GitHubError:
    status = exc.status
    message = exc.data.get("message") if isinstance(exc.data, dict) else None
    if status == 422 and "/commits/" in url:
        return GitHubNotFound(f"GitHub has no {_describe(url)}")
    if status == 403:
        return GitHubAuthError(
            f"GitHub refused access to {_describe(url)} (403 {message or 'Forbidden'}): "
            "the token needs read access to this repository"
        )
    if status == 409:  # an empty repository
        return GitHubNotFound(f"GitHub has no commits for {_describe(url)}")
    if status is not None and status >= 500:
        return GitHubUnavailable(
            f"GitHub answered {status} for {_describe(url)} after retries; try again shortly"
        )
    return GitHubUnavailable(f"GitHub answered {status} for {_describe(url)}: {message or ''}")


def _describe(url: str) -> str:
    path = url.split("/repos/", 1)[-1].split("?", 1)[0]
    return path


def _next_link(link: str | None) -> str | None:
    if not link:
        return None
    for entry in parse_header_links(link):
        if entry.get("rel") == "next":
            return entry.get("url")
    return None


def _reset_at(headers: dict[str, Any] | None) -> datetime | None:
    if not headers:
        return None
    value = {k.lower(): v for k, v in headers.items()}.get("x-ratelimit-reset")
    try:
        return datetime.fromtimestamp(int(value), UTC) if value else None
    except (TypeError, ValueError):
        return None


def _is_full_sha(ref: str) -> bool:
    return len(ref) == 40 and all(c in "0123456789abcdef" for c in ref)


def _slim_commit(body: dict[str, Any]) -> dict[str, Any]:
    """Only what shiptrace reads of a commit: keeps the fact cache small."""
    commit = body.get("commit") or {}
    author = commit.get("author") or {}
    committer = commit.get("committer") or {}
    return {
        "sha": body["sha"],
        "html_url": body.get("html_url"),
        "message": commit.get("message", ""),
        "author": (body.get("author") or {}).get("login") or author.get("name"),
        "authored_at": author.get("date"),
        "committed_at": committer.get("date"),
        "parents": [p["sha"] for p in body.get("parents") or []],
    }
