"""A fake GitHub REST API served over real HTTP, for PyGithub and plain HTTP clients.

Scenario data (repos, commits, pull requests, checks, statuses, workflow runs) is added through
Python methods; the emulator serves it on ``emu.url`` (use it as PyGithub's ``base_url``).
Every 200 body is validated against GitHub's OpenAPI description before it is sent: a body that
does not match is recorded in ``validation_errors`` and answered with a 500, so a test cannot
pass on a response GitHub would never send.

``html_url`` fields point at ``emu.web_url`` (default ``https://github.com``); set it to play an
Enterprise host (``https://acme.ghe.com``) whose links are not on the API's host.

Faithful details that clients depend on: ``Link`` pagination, strong ETags and 304 for
``If-None-Match`` (a 304 costs no rate limit, as on GitHub), the ``x-ratelimit-*`` headers and
GitHub's error bodies and status codes (422 "No commit found for SHA" for unknown commits).

A GitHub App (``add_app``) can exchange a JWT signed with its key (RS256, ``iss`` = the App's
id) for an installation token at ``POST /app/installations/{id}/access_tokens``, as on GitHub;
that token is then accepted like ``token`` until its ``expires_at`` (an hour, as on GitHub,
unless ``lifetime`` says otherwise), then refused with 401 Bad credentials. Each exchange
issues a new token: the first is the App's ``token``, the next ones ``<token>_2``, ``_3``…
Expiry is judged by ``datetime.now``, so a test moves it with freezegun, for client and
emulator alike.

``latency`` (seconds, default 0) delays every response on the emulator's own loop, as a
distant GitHub would: the benchmarks measure round trips with it (``bench/``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import jwt
from aiohttp import web

from bot.sandbox import github_bodies as b
from bot.sandbox.github_bodies import JSON, Commit, Pull, Repo
from bot.sandbox.openapi import ResponseValidationError, validate_response
from bot.sandbox.threaded import ThreadedServer

BASE_TIME = "2026-11-26T09:00:00Z"
RATE_LIMIT = 5000
CHECK_STATUSES = ("queued", "in_progress", "completed", "waiting", "requested", "pending")
CHECK_CONCLUSIONS = (
    "success",
    "failure",
    "neutral",
    "cancelled",
    "skipped",
    "timed_out",
    "action_required",
)
STATUS_STATES = ("error", "failure", "pending", "success")
STEP_STATUSES = ("queued", "in_progress", "completed")
_UNSET: Any = object()
_HEX = re.compile(r"[0-9a-f]+")


def iso(value: str | datetime) -> str:
    """Normalise a timezone-aware time to GitHub's ``YYYY-MM-DDTHH:MM:SSZ``."""
    parsed = b.parse_time(value) if isinstance(value, str) else value
    if parsed.tzinfo is None:
        raise ValueError(f"datetime {value!r} has no timezone")
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _plus(value: str, **delta: float) -> str:
    return iso(b.parse_time(value) + timedelta(**delta))


class Headers(dict[str, str]):
    """Request headers with case-insensitive lookup; keys are stored lower-cased."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__((k.lower(), v) for k, v in items)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: Headers
    status: int = 0  # 0 while the response is still pending (e.g. stalled)


@dataclass
class Hold:
    """A response held until another request arrives (:meth:`GitHubEmulator.hold_until`)."""

    arrives: re.Pattern[str] | None
    seconds: float
    until: Callable[[], bool] | None = None  # or: held until this holds (checked every 5 ms)
    met: bool = False  # the other request arrived while this one was held
    _event: asyncio.Event | None = None


@dataclass
class _Fault:
    kind: str  # "fail", "stall", "hold", "rate_limit" or "patch"
    pattern: re.Pattern[str]
    times: int | None
    status: int = 500
    seconds: float = 0.0
    reset_in: int = 3600
    patch: Callable[[Any], Any] | None = None
    hold: Hold | None = None


@dataclass
class _App:
    app_id: str
    public_key: str  # PEM
    installation_id: int
    token: str  # the first installation token it is given
    lifetime: timedelta  # how long each installation token is valid
    issued: int = 0  # installation tokens issued so far


@dataclass
class _Reply:
    status: int
    body: Any
    template: str | None = None  # OpenAPI path template, for 200 validation
    headers: dict[str, str] = field(default_factory=dict)


class _HTTPError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _not_found() -> _HTTPError:
    return _HTTPError(404, "Not Found")


def _no_commit(ref: str) -> _HTTPError:
    return _HTTPError(422, f"No commit found for SHA: {ref}")


@dataclass
class _Ctx:
    """What a route handler needs from the request."""

    raw_path: str
    query: dict[str, str]
    match: re.Match[str]

    def __getitem__(self, group: str) -> str:
        return self.match[group]


_Handler = Callable[[_Ctx], tuple[Any, dict[str, str]]]


class GitHubEmulator:
    """Fake GitHub REST API (GET only). See the module docstring."""

    def __init__(self, token: str | None = "ghp_test", web_url: str = b.WEB) -> None:
        self.token = token
        self.web_url = web_url
        self.requests: list[LoggedRequest] = []
        self.unhandled: list[str] = []
        self.validation_errors: list[str] = []
        self._repos: dict[str, Repo] = {}
        self._faults: list[_Fault] = []
        self._holding: list[Hold] = []
        self._apps: list[_App] = []
        self._installation_tokens: dict[str, datetime] = {}  # token -> its expires_at
        self._suites: dict[tuple[int, str, str], int] = {}
        self._lock = threading.RLock()
        self._ids = itertools.count(2_000_001)
        self._counter = itertools.count(1)  # commit order; part of generated shas
        self._request_ids = itertools.count(1)
        self._server: ThreadedServer | None = None
        self._release: asyncio.Event | None = None
        self._used = 0
        self._reset_at = int(time.time()) + 3600
        self._routes = self._route_table()
        self.latency = 0.0  # seconds added to every response (benchmarks; see the docstring)

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> GitHubEmulator:
        self._server = ThreadedServer(self._make_app).start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        # Wake stalled handlers first: the runner waits for in-flight requests on cleanup.
        self._server.call(self._wake_stalled())
        self._server.stop()
        self._server = None

    def __enter__(self) -> GitHubEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("GitHubEmulator is not started; call start() first")
        return self._server.url

    def _make_app(self) -> web.Application:
        self._release = asyncio.Event()  # created on the server's own loop
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _wake_stalled(self) -> None:
        if self._release is not None:
            self._release.set()
        for hold in list(self._holding):
            if hold._event is not None:
                hold._event.set()

    async def _release_now(self) -> None:
        # On the server's loop: a handler logs its request and starts waiting in one step,
        # so a logged stalled request waits on the event set here; later ones on the new one.
        await self._wake_stalled()
        self._release = asyncio.Event()

    # --- scenario API ------------------------------------------------------------------------

    def add_repo(self, full_name: str, default_branch: str = "main") -> Repo:
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"repo name must be 'owner/name', got {full_name!r}")
        with self._lock:
            if full_name.lower() in self._repos:
                raise ValueError(f"repo {full_name} already exists")
            repo = Repo(
                id=b.stable_id("repo", full_name.lower()),
                owner=owner,
                name=name,
                default_branch=default_branch,
                created_at="2026-01-05T12:00:00Z",
            )
            self._repos[full_name.lower()] = repo
            return repo

    def add_app(
        self,
        app_id: str,
        public_key: str,
        installation_id: int,
        token: str = "ghs_installation",
        lifetime: timedelta = timedelta(hours=1),
    ) -> None:
        """A GitHub App (its public key, PEM) installed once, as ``installation_id``; each
        installation token it is given is valid for ``lifetime``."""
        with self._lock:
            self._apps.append(_App(str(app_id), public_key, installation_id, token, lifetime))

    def repo(self, full_name: str) -> Repo:
        try:
            return self._repos[full_name.lower()]
        except KeyError:
            raise KeyError(f"no repo {full_name!r}; add it with add_repo()") from None

    def add_commit(
        self,
        repo: str,
        message: str = "Update",
        parents: list[str] | None = None,
        sha: str | None = None,
        author: str = "octocat",
        date: str | None = None,
        files: list[str] | None = None,
        branch: str | None = None,
    ) -> str:
        """Add a commit; returns its sha.

        ``parents=None`` means "on top of ``branch`` (or the default branch) if it exists",
        ``parents=[]`` a root commit. ``date=None`` is ``BASE_TIME`` plus one minute per commit
        already in the repo, so default histories have distinct, ordered dates.
        """
        with self._lock:
            r = self.repo(repo)
            if parents is None:
                head = r.head(branch)
                parents = [head] if head else []
            parents = [self._scenario_sha(r, p) for p in parents]  # shas, short shas, branches
            n = next(self._counter)
            if sha is None:
                sha = b.fake_sha(r.full_name, message, *parents, n)
            if not (len(sha) == 40 and _HEX.fullmatch(sha)):
                raise ValueError(f"sha must be 40 lowercase hex digits, got {sha!r}")
            if sha in r.commits:
                raise ValueError(f"{r.full_name}: commit {sha} already exists")
            when = iso(date) if date else _plus(BASE_TIME, minutes=len(r.commits))
            r.commits[sha] = Commit(sha, message, list(parents), author, when, list(files or []), n)
            if branch:
                r.branches[branch] = sha
            return sha

    def set_branch(self, repo: str, branch: str, sha: str) -> None:
        with self._lock:
            r = self.repo(repo)
            r.branches[branch] = self._scenario_sha(r, sha)

    def add_pull(
        self,
        repo: str,
        number: int,
        *,
        head_sha: str,
        title: str | None = None,
        head_ref: str | None = None,
        base: str | None = None,
        state: str = "open",
        merged: bool = False,
        merge_commit_sha: str | None = None,
        merged_at: str | None = None,
        closed_at: str | None = None,
        user: str = "alice",
        created_at: str = BASE_TIME,
        updated_at: str | None = None,
        commits: list[str] | None = None,
        body: str | None = None,
    ) -> Pull:
        """Add a pull request. ``merged=True`` implies ``state="closed"``."""
        if state not in ("open", "closed"):
            raise ValueError(f"state must be 'open' or 'closed', got {state!r}")
        if merged_at and not merged:
            raise ValueError("merged_at needs merged=True")
        with self._lock:
            r = self.repo(repo)
            if number in r.pulls:
                raise ValueError(f"{r.full_name}: pull #{number} already exists")
            head = self._scenario_sha(r, head_sha)
            mc = self._scenario_sha(r, merge_commit_sha) if merge_commit_sha else None
            created = iso(created_at)
            if merged:
                state = "closed"
                merged_at = iso(merged_at or closed_at or updated_at or created)
                closed_at = closed_at or merged_at
            if state == "closed":
                closed_at = iso(closed_at or updated_at or created)
            times = [t for t in (created, closed_at, merged_at) if t]
            pr = Pull(
                number=number,
                id=next(self._ids),
                title=title or f"Pull request #{number}",
                head_sha=head,
                head_ref=head_ref or f"pr-{number}",
                base=base or r.default_branch,
                state=state,
                merged=merged,
                merge_commit_sha=mc,
                merged_at=iso(merged_at) if merged_at else None,
                closed_at=closed_at,
                user=user,
                created_at=created,
                updated_at=iso(updated_at) if updated_at else max(times, key=b.parse_time),
                commits=[self._scenario_sha(r, c) for c in (commits or [head])],
                body=body,
            )
            r.pulls[number] = pr
            return pr

    def add_check_run(
        self,
        repo: str,
        sha: str,
        name: str = "test",
        status: str = "completed",
        conclusion: str | None = _UNSET,
        started_at: str | None = BASE_TIME,
        completed_at: str | None = None,
        details_url: str | None = None,
        app: str = "github-actions",
        output_title: str | None = None,
    ) -> int:
        """Add a check run; returns its id. ``conclusion`` defaults to "failure" when
        completed, else None. Runs of the same app on the same commit share a check suite."""
        if status not in CHECK_STATUSES:
            raise ValueError(f"check run status must be one of {CHECK_STATUSES}, got {status!r}")
        conclusion = _default_conclusion(status, conclusion, CHECK_CONCLUSIONS)
        with self._lock:
            r = self.repo(repo)
            head = self._scenario_sha(r, sha)
            key = (r.id, head, app)
            suite = self._suites.setdefault(key, next(self._ids))
            start = iso(started_at) if started_at else None
            if completed_at is None and status == "completed" and start:
                completed_at = _plus(start, minutes=2)
            run = b.CheckRun(
                id=next(self._ids),
                head_sha=head,
                name=name,
                status=status,
                conclusion=conclusion,
                started_at=start,
                completed_at=iso(completed_at) if completed_at else None,
                details_url=details_url,
                app=app,
                output_title=output_title,
                suite_id=suite,
            )
            r.check_runs.append(run)
            return run.id

    def complete_check_run(
        self, repo: str, run_id: int, conclusion: str, completed_at: str | None = None
    ) -> None:
        """Finish a queued or running check run in place (same id), as GitHub does."""
        conclusion = str(_default_conclusion("completed", conclusion, CHECK_CONCLUSIONS))
        with self._lock:
            r = self.repo(repo)
            run = next((c for c in r.check_runs if c.id == run_id), None)
            if run is None:
                raise KeyError(f"{r.full_name}: no check run {run_id}")
            run.status, run.conclusion = "completed", conclusion
            if completed_at is None:  # as add_check_run: two minutes after it started
                completed_at = _plus(run.started_at, minutes=2) if run.started_at else BASE_TIME
            run.completed_at = iso(completed_at)

    def add_status(
        self,
        repo: str,
        sha: str,
        context: str = "ci/jenkins",
        state: str = "success",
        target_url: str | None = None,
        description: str | None = None,
        created_at: str = BASE_TIME,
    ) -> int:
        """Add a commit status; returns its id. The latest per context counts."""
        if state not in STATUS_STATES:
            raise ValueError(f"status state must be one of {STATUS_STATES}, got {state!r}")
        with self._lock:
            r = self.repo(repo)
            st = b.Status(
                id=next(self._ids),
                sha=self._scenario_sha(r, sha),
                context=context,
                state=state,
                target_url=target_url,
                description=description,
                created_at=iso(created_at),
            )
            r.statuses.append(st)
            return st.id

    def add_workflow_run(
        self,
        repo: str,
        head_sha: str,
        name: str = "CI",
        status: str = "completed",
        conclusion: str | None = _UNSET,
        event: str = "push",
        head_branch: str | None = _UNSET,
        created_at: str = BASE_TIME,
        updated_at: str | None = None,
        jobs: list[dict[str, Any]] | None = None,
    ) -> int:
        """Add a GitHub Actions workflow run; returns its id.

        ``conclusion`` defaults to "failure" when completed, else None; ``head_branch``
        defaults to a branch whose head is ``head_sha``, else the default branch. Each job is
        ``{"name", "status"?, "conclusion"?, "steps"?: [{"name", "status"?, "conclusion"?,
        "number"?}]}``; omitted fields inherit from the run (job) and job (step).
        """
        if status not in CHECK_STATUSES:
            raise ValueError(f"run status must be one of {CHECK_STATUSES}, got {status!r}")
        conclusion = _default_conclusion(status, conclusion, CHECK_CONCLUSIONS)
        with self._lock:
            r = self.repo(repo)
            head = self._scenario_sha(r, head_sha)
            if head_branch is _UNSET:
                head_branch = next((k for k, v in r.branches.items() if v == head), None)
                head_branch = head_branch or r.default_branch
            created = iso(created_at)
            updated = iso(updated_at) if updated_at else created
            same_name = [x for x in r.runs.values() if x.name == name]
            run = b.WorkflowRun(
                id=next(self._ids),
                head_sha=head,
                name=name,
                status=status,
                conclusion=conclusion,
                event=event,
                head_branch=head_branch,
                created_at=created,
                updated_at=updated,
                run_number=len(same_name) + 1,
                workflow_id=b.stable_id("workflow", r.full_name, name),
                suite_id=next(self._ids),
                jobs=[],
            )
            run.jobs = [self._job(run, spec) for spec in jobs or []]
            r.runs[run.id] = run
            # On GitHub every job of a run is also a check run in the run's check suite.
            for job in run.jobs:
                r.check_runs.append(
                    b.CheckRun(
                        id=next(self._ids),
                        head_sha=head,
                        name=job.name,
                        status=job.status,
                        conclusion=job.conclusion,
                        started_at=job.started_at,
                        completed_at=job.completed_at,
                        details_url=None,
                        app="github-actions",
                        output_title=None,
                        suite_id=run.suite_id,
                    )
                )
            return run.id

    def _job(self, run: b.WorkflowRun, spec: dict[str, Any]) -> b.Job:
        status = spec.get("status", run.status)
        if status not in CHECK_STATUSES:
            raise ValueError(f"job status must be one of {CHECK_STATUSES}, got {status!r}")
        conclusion = spec.get("conclusion", _UNSET)
        if conclusion is _UNSET and status == "completed":
            conclusion = run.conclusion or "success"  # inherit the run's outcome
        conclusion = _default_conclusion(status, conclusion, CHECK_CONCLUSIONS)
        started = iso(spec.get("started_at", run.created_at))
        done = spec.get("completed_at") or (_plus(started, minutes=3) if conclusion else None)
        steps = []
        for i, step in enumerate(spec.get("steps", []), start=1):
            s_status = step.get("status", status if status in STEP_STATUSES else "queued")
            if s_status not in STEP_STATUSES:
                raise ValueError(f"step status must be one of {STEP_STATUSES}, got {s_status!r}")
            s_done = s_status == "completed"
            steps.append(
                {
                    "name": step["name"],
                    "status": s_status,
                    "conclusion": step.get("conclusion", conclusion if s_done else None),
                    "number": step.get("number", i),
                    "started_at": started if s_status != "queued" else None,
                    "completed_at": iso(done) if s_done and done else None,
                }
            )
        return b.Job(
            id=next(self._ids),
            run_id=run.id,
            name=spec["name"],
            status=status,
            conclusion=conclusion,
            started_at=started,
            completed_at=iso(done) if done else None,
            steps=steps,
        )

    def clear_log(self) -> None:
        self.requests.clear()
        self.unhandled.clear()

    # --- fault modes -------------------------------------------------------------------------

    def fail(self, path_regex: str, status: int = 500, times: int | None = None) -> None:
        """Answer matching requests with ``status`` and a basic-error body."""
        self._add_fault(_Fault("fail", re.compile(path_regex), times, status=status))

    def stall(self, path_regex: str, seconds: float = 30, times: int | None = None) -> None:
        """Delay matching responses by ``seconds`` (then answer normally)."""
        self._add_fault(_Fault("stall", re.compile(path_regex), times, seconds=seconds))

    def release_stalled(self) -> None:
        """Answer the requests stalled right now (logged, status still 0) as if their
        seconds were up; later matching requests still stall.

        A test that needs GitHub slow only until it has seen something ends the stall then,
        instead of waiting the seconds out.
        """
        if self._server is None:
            raise RuntimeError("GitHubEmulator is not started; call start() first")
        self._server.call(self._release_now())

    def hold_until(
        self,
        path_regex: str,
        arrives: str | None = None,
        seconds: float = 0.5,
        until: Callable[[], bool] | None = None,
    ) -> Hold:
        """Hold the response to the next request matching ``path_regex`` until a request
        whose path matches ``arrives`` comes in, or ``until()`` is true (something seen
        elsewhere, e.g. by another emulator); at most ``seconds`` (keep it under the client's
        timeout), then answer anyway. ``met`` tells whether it happened while the first was
        held: the client did not wait for the first answer to send the second."""
        hold = Hold(re.compile(arrives) if arrives else None, seconds, until)
        with self._lock:
            self._holding.append(hold)  # an arrival counts from now, even before the held one
        self._add_fault(_Fault("hold", re.compile(path_regex), 1, hold=hold))
        return hold

    def rate_limit(
        self, path_regex: str = ".*", reset_in: int = 3600, times: int | None = None
    ) -> None:
        """Answer matching requests with GitHub's primary rate-limit 403."""
        self._add_fault(_Fault("rate_limit", re.compile(path_regex), times, reset_in=reset_in))

    def patch_body(
        self, path_regex: str, patch: Callable[[Any], Any], times: int | None = None
    ) -> None:
        """Rewrite matching 200 bodies with ``patch(body) -> body`` before validation.

        For variations the scenario API cannot express (a null field, an odd value). The
        result is still validated, so an invalid patch yields a 500 and a validation error.
        """
        self._add_fault(_Fault("patch", re.compile(path_regex), times, patch=patch))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def use_rate_limit(self, used: int) -> None:
        """Count ``used`` of this hour's ``RATE_LIMIT`` requests as spent (headers and
        ``/rate_limit`` say so; requests are still answered)."""
        with self._lock:
            self._used = max(0, min(RATE_LIMIT, used))

    def _add_fault(self, fault: _Fault) -> None:
        if fault.times is not None and fault.times < 1:
            raise ValueError("times must be None (forever) or >= 1")
        with self._lock:
            self._faults.append(fault)

    def _take_faults(self, path: str, kinds: tuple[str, ...], first: bool) -> list[_Fault]:
        """Matching active faults, in the order added; each one returned uses up one time."""
        taken = []
        with self._lock:
            for fault in list(self._faults):
                if fault.kind not in kinds or not fault.pattern.search(path):
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                taken.append(fault)
                if first:
                    break
        return taken

    # --- HTTP --------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        entry = LoggedRequest(
            request.method, request.path, dict(request.query), Headers(request.headers.items())
        )
        self.requests.append(entry)
        with self._lock:
            waiting = [h for h in self._holding if h.arrives and h.arrives.search(request.path)]
        for hold in waiting:
            hold.met = True
            if hold._event is not None:
                hold._event.set()
        if self.latency:
            await asyncio.sleep(self.latency)
        try:
            reply = await self._serve(request)
        except Exception as exc:  # a bug in the emulator or in a patch_body function
            message = f"emulator crashed on {request.method} {request.path_qs}: {exc!r}"
            self.validation_errors.append(message)  # so that the test notices
            reply = _Reply(500, b.error(500, message))
        response = self._finish(request, reply)
        entry.status = response.status
        return response

    async def _serve(self, request: web.Request) -> _Reply:
        path = request.path
        for fault in self._take_faults(path, ("hold",), first=False):
            assert fault.hold is not None
            await self._held(fault.hold)
        for fault in self._take_faults(path, ("stall",), first=False):
            assert self._release is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), fault.seconds)
        for fault in self._take_faults(path, ("fail", "rate_limit"), first=True):
            if fault.kind == "rate_limit":
                return self._rate_limited(fault.reset_in)
            return _Reply(fault.status, b.error(fault.status, _REASONS.get(fault.status, "Error")))
        if request.method == "POST" and (m := _ACCESS_TOKENS.fullmatch(path)):
            return self._access_token(request.headers.get("Authorization", ""), int(m[1]))
        if not self._authorized(request.headers.get("Authorization", "")):
            return _Reply(401, b.error(401, "Bad credentials"))
        reply = self._route(request)
        if reply.status == 200 and self.web_url != b.WEB:
            reply.body = _rehost(reply.body, self.web_url)
        if reply.status == 200:
            for fault in self._take_faults(path, ("patch",), first=False):
                assert fault.patch is not None
                reply.body = fault.patch(reply.body)
        return reply

    async def _held(self, hold: Hold) -> None:
        hold._event = asyncio.Event()
        try:
            if not hold.met:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._until(hold), hold.seconds)
        finally:
            with self._lock:
                self._holding.remove(hold)

    @staticmethod
    async def _until(hold: Hold) -> None:
        assert hold._event is not None
        if hold.until is None:
            await hold._event.wait()
            return
        while not hold.until():  # noqa: ASYNC110 - what it waits for happens elsewhere
            await asyncio.sleep(0.005)
        hold.met = True

    def _authorized(self, header: str) -> bool:
        if self.token is None:
            return True
        scheme, _, value = header.partition(" ")
        if scheme.lower() not in ("token", "bearer"):
            return False
        value = value.strip()
        with self._lock:
            expires = self._installation_tokens.get(value)
        if expires is not None:
            return datetime.now(UTC) < expires
        return value == self.token

    def _access_token(self, header: str, installation_id: int) -> _Reply:
        """An installation token for a JWT from the App's own key; GitHub's 401 and 404."""
        scheme, _, value = header.partition(" ")
        try:
            claims = jwt.decode(value.strip(), options={"verify_signature": False})
            [app] = [a for a in self._apps if a.app_id == str(claims.get("iss"))]
            if scheme.lower() != "bearer":
                raise jwt.InvalidTokenError("not a bearer token")
            jwt.decode(
                value.strip(),
                app.public_key,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"]},
            )
        except (jwt.InvalidTokenError, ValueError):
            return _Reply(401, b.error(401, "A JSON web token could not be decoded"))
        if installation_id != app.installation_id:
            return _Reply(404, b.error(404, "Not Found"))
        # POST is outside the GET-only OpenAPI subset: this is the installation-token schema's
        # required fields (token, expires_at) and two of its optional ones.
        with self._lock:
            app.issued += 1
            token = app.token if app.issued == 1 else f"{app.token}_{app.issued}"
            expires = datetime.now(UTC).replace(microsecond=0) + app.lifetime
            self._installation_tokens[token] = expires
        body = {
            "token": token,
            "expires_at": expires.isoformat().replace("+00:00", "Z"),
            "permissions": {"contents": "read", "pull_requests": "read", "checks": "read"},
            "repository_selection": "all",
        }
        return _Reply(201, body)

    def _route(self, request: web.Request) -> _Reply:
        if request.method in ("GET", "HEAD"):
            for pattern, template, handler in self._routes:
                m = pattern.fullmatch(request.path)
                if m is None:
                    continue
                ctx = _Ctx(request.rel_url.raw_path, dict(request.query), m)
                try:
                    with self._lock:
                        body, headers = handler(ctx)
                except _HTTPError as exc:
                    return _Reply(exc.status, b.error(exc.status, exc.message))
                return _Reply(200, body, template, headers)
        self.unhandled.append(f"{request.method} {request.path_qs}")
        return _Reply(404, b.error(404, "Not Found"))

    def _rate_limited(self, reset_in: int) -> _Reply:
        login = "octocat"
        message = (
            f"API rate limit exceeded for user ID {b.stable_id('user', login)}. If you reach "
            "out to GitHub Support for help, please include the request ID."
        )
        reset = int(time.time()) + reset_in
        headers = {
            "x-ratelimit-limit": str(RATE_LIMIT),
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-used": str(RATE_LIMIT),
        }
        doc = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
        return _Reply(403, b.error(403, message, doc), headers=headers)

    def _finish(self, request: web.Request, reply: _Reply) -> web.Response:
        if reply.status == 200 and reply.template:
            try:
                validate_response(reply.template, reply.body)
            except ResponseValidationError as exc:
                self.validation_errors.append(str(exc))
                reply = _Reply(500, b.error(500, f"emulator: invalid response body: {exc}"))
        data = json.dumps(reply.body).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-GitHub-Request-Id": f"E{next(self._request_ids):04X}:0:0:0:0",
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            "X-GitHub-Media-Type": "github.v3; format=json",
        }
        status = reply.status
        if status == 200:
            etag = f'"{hashlib.sha256(data).hexdigest()}"'
            headers["ETag"] = etag
            if _etag_matches(request.headers.get("If-None-Match", ""), etag):
                status, data = 304, b""
        # GitHub: a 304 and /rate_limit itself do not count against the limit.
        counts = status != 304 and request.path != "/rate_limit"
        headers.update(self._rate_headers(counts))
        headers.update(reply.headers)
        return web.Response(status=status, body=data or None, headers=headers)

    def _rate_headers(self, count: bool) -> dict[str, str]:
        with self._lock:
            now = int(time.time())
            if now >= self._reset_at:
                self._used, self._reset_at = 0, now + 3600
            if count:
                self._used = min(RATE_LIMIT, self._used + 1)
            return {
                "x-ratelimit-limit": str(RATE_LIMIT),
                "x-ratelimit-remaining": str(RATE_LIMIT - self._used),
                "x-ratelimit-reset": str(self._reset_at),
                "x-ratelimit-used": str(self._used),
                "x-ratelimit-resource": "core",
            }

    # --- routes ------------------------------------------------------------------------------

    def _route_table(self) -> list[tuple[re.Pattern[str], str, _Handler]]:
        """Routes keyed by their OpenAPI path template; the first full match wins, so the
        ``commits/{ref}/…`` sub-resources must precede ``commits/{ref}`` (refs contain "/")."""
        table: list[tuple[str, _Handler]] = [
            ("/repos/{owner}/{repo}", self._get_repo),
            ("/repos/{owner}/{repo}/pulls", self._list_pulls),
            ("/repos/{owner}/{repo}/pulls/{pull_number}", self._get_pull),
            ("/repos/{owner}/{repo}/commits", self._list_commits),
            ("/repos/{owner}/{repo}/commits/{commit_sha}/pulls", self._commit_pulls),
            ("/repos/{owner}/{repo}/commits/{ref}/check-runs", self._check_runs),
            ("/repos/{owner}/{repo}/commits/{ref}/check-suites", self._check_suites),
            ("/repos/{owner}/{repo}/commits/{ref}/status", self._combined_status),
            ("/repos/{owner}/{repo}/commits/{ref}", self._get_commit),
            ("/repos/{owner}/{repo}/actions/runs", self._list_runs),
            ("/repos/{owner}/{repo}/actions/runs/{run_id}", self._get_run),
            ("/repos/{owner}/{repo}/actions/runs/{run_id}/jobs", self._list_jobs),
            ("/repos/{owner}/{repo}/compare/{basehead}", self._compare),
            ("/repos/{owner}/{repo}/git/ref/{ref}", self._git_ref),
            ("/rate_limit", self._rate_limit_body),
        ]
        params = {"owner": "[^/]+", "repo": "[^/]+", "pull_number": r"\d+", "run_id": r"\d+"}

        def compile_(template: str) -> re.Pattern[str]:
            return re.compile(
                re.sub(r"\{(\w+)\}", lambda m: f"(?P<{m[1]}>{params.get(m[1], '.+')})", template)
            )

        return [(compile_(t), t, h) for t, h in table]

    def _r(self, ctx: _Ctx) -> Repo:
        repo = self._repos.get(f"{ctx['owner']}/{ctx['repo']}".lower())
        if repo is None:
            raise _not_found()
        return repo

    def _page(
        self, ctx: _Ctx, items: list[Any], default: int = 30, maximum: int = 100
    ) -> tuple[list[Any], dict[str, str]]:
        """Slice ``items`` by ``per_page``/``page`` and build GitHub's ``Link`` header."""
        per_page = min(maximum, max(1, _int(ctx.query.get("per_page"), default)))
        page = max(1, _int(ctx.query.get("page"), 1))
        last = max(1, -(-len(items) // per_page))

        def link(p: int, rel: str) -> str:
            query = {**ctx.query, "per_page": str(per_page), "page": str(p)}
            return f'<{self.url}{ctx.raw_path}?{urlencode(query)}>; rel="{rel}"'

        links = []
        if page > 1:
            links.append(link(min(page - 1, last), "prev"))
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links.append(link(1, "first"))
        chunk = items[(page - 1) * per_page : page * per_page]
        return chunk, ({"Link": ", ".join(links)} if links else {})

    def _resolve(self, repo: Repo, ref: str, *, exc: Callable[[str], _HTTPError]) -> str:
        """A branch name, full sha or unique short sha (>= 7) → full sha."""
        name = ref.removeprefix("refs/heads/").removeprefix("heads/")
        if name in repo.branches:
            return repo.branches[name]
        low = ref.lower()
        if len(low) >= 7 and _HEX.fullmatch(low):
            found = [s for s in repo.commits if s.startswith(low)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise _HTTPError(422, f"No commit found for SHA: {ref} (short SHA is ambiguous)")
        raise exc(ref)

    def _scenario_sha(self, repo: Repo, ref: str) -> str:
        try:
            return self._resolve(repo, ref, exc=_no_commit)
        except _HTTPError as e:
            raise ValueError(f"{repo.full_name}: {e.message}") from None

    def _pulls_for(self, repo: Repo, sha: str) -> list[JSON]:
        """Open pull requests whose head is ``sha``, as GitHub embeds them in checks/runs."""
        return [
            b.pull_minimal(self.url, repo, p)
            for p in sorted(repo.pulls.values(), key=lambda p: p.number)
            if p.state == "open" and p.head_sha == sha
        ]

    def _get_repo(self, ctx: _Ctx) -> tuple[Any, dict[str, str]]:
        repo = self._r(ctx)
        return b.full_repository(self.url, repo, repo.pushed_at()), {}

    def _get_pull(self, ctx: _Ctx) -> tuple[Any, dict[str, str]]:
        repo = self._r(ctx)
        pr = repo.pulls.get(int(ctx["pull_number"]))
        if pr is None:
            raise _not_found()
        return b.pull_full(self.url, repo, pr, repo.pushed_at()), {}

    def _list_pulls(self, ctx: _Ctx) -> tuple[Any, dict[str, str]]:
        repo, q = self._r(ctx), ctx.query
        state = q.get("state", "open")
        if state not in ("open", "closed", "all"):
            raise _HTTPError(422, "Validation Failed")
        pulls = [p for p in repo.pulls.values() if state == "all" or p.state == state]
        owner, colon, ref = q.get("head", "").partition(":")
        if colon:  # GitHub wants "owner:branch" and silently ignores a bare branch name
            pulls = [p for p in pulls if owner.lower() == repo.owner.lower() and p.head_ref == ref]
        if "base" in q:
            pulls = [p for p in pulls if p.base == q["base"]]
        sort = q.get("sort", "created")
        key = {"updated": "updated_at"}.get(sort, "created_at")
        desc = q.get("direction", "desc" if sort == "created" else "asc") == "desc"
        pulls.sort(key=lambda p: (b.parse_time(getattr(p, key)), p.number), reverse=desc)
        page, headers = self._page(ctx, pulls)
        pushed = repo.pushed_at()
        return [b.pull_simple(self.url, repo, p, pushed) for p in page], headers

    def _get_commit(self, ctx: _Ctx) -> tuple[Any, dict[str, str]]:
        repo = self._r(ctx)
        if not repo.commits:
            raise _HTTPError(409, "Git Repository is empty.")
        sha = self._resolve(repo, ctx["ref"], exc=_no_commit)
        return b.commit(self.url, repo, repo.commits[sha], with_files=True), {}

    def _list_commits(self, ctx: _Ctx) -> tuple[Any, dict[str, str]]:
        repo, q = self._r(ctx), ctx.query
        if not repo.commits:
            raise _HTTPError(409, "Git Repository is empty.")
        start = self._resolve(repo, q.get("sha", repo.default_branch), exc=lambda _: _not_found())
        commits = repo.by_date(repo.ancestors(start), newest_first=True)
        try:
            since = b.parse_time(q["since"]) if "since" in q else None
            until = b.parse_time(q["until"]) if "until" in q else None
        except ValueError:
            raise _HTTPError(400, "Invalid time: use ISO 8601 with a timezone") from None
        if since:
            commits = [c for c in commits if c.when >= since]
        if until:
            commits = [c for c in commits if c.when <= until]
        if q.get("path"):
            path = q["path"].strip("/")
            commits = [c for c in commits if any(_under(f, path) for f in c.files)]
        if "author" in q:
            commits = [c for c in commits if c.author.lower() == q["author"].lower()]
        page, headers = self._page(ctx, commits)
        return [b.commit(self.url, repo, c) for c in page], headers

    def _commit_pulls(self, ctx: _Ctx) -> tuple[Any, dict[str, str]]:
        repo = self._r(ctx)
        sha = self._resolve(repo, ctx["commit_sha"], exc=_no_commit)
        pulls = sorted((p for p in repo.pulls.values() if p.touches(sha)), key=lambda p: -p.number)
        page, headers = self._page(ctx, pulls)
        pushed = repo.pushed_at()
        return [b.pull_simple(self.url, repo, p, pushed) for p in page], headers

    def _check_runs(self, ctx: _Ctx) -> tuple[Any, dict[str, str]]:
        repo, q = self._r(ctx), ctx.query
        sha = self._resolve(repo, ctx["ref"], exc=_no_commit)
        runs = [c for c in repo.check_runs if c.head_sha == sha]
        if q.get("filter", "latest") == "latest":  # the newest run per (app, name)
            latest: dict[tuple[str, str], b.CheckRun] = {}
            for c in runs:
                latest[(c.app, c.name)] = c
            runs = list(latest.values())
        elif q["filter"] != "all":
            raise _HTTPError(422, "Validation Failed")
        if "check_name" in q:
            runs = [c for c in runs if c.name == q["check_name"]]
        if "status" in q:
            runs = [c for c in runs if c.status == q["status"]]
        if "app_id" in q:
            runs = [c for c in runs if str(b.app(self.url, c.app)["id"]) == q["app_id"]]
        runs.sort(key=lambda c: -c.id)
        page, headers = self._page(ctx, runs)
        pulls = self._pulls_for(repo, sha)
        body = [b.check_run(self.url, repo, c, pulls) for c in page]
        return {"total_count": len(runs), "check_runs": body}, headers

    def _check_suites(self, ctx: _Ctx) -> tuple[Any, dict[str, str]]:
        repo, q = self._r(ctx), ctx.query
        sha = self._resolve(repo, ctx["ref"], exc=_no_commit)
        suites = repo.check_suites(sha)
        if "check_name" in q:
            suites = [s for s in suites if q["check_name"] in s.run_names]
        if "app_id" in q:
            suites = [s for s in suites if str(b.app(self.url, s.app)["id"]) == q["app_id"]]
        page, headers = self._page(ctx, suites)
        head, pulls = repo.commits[sha], self._pulls_for(repo, sha)
        body = [b.check_suite(self.url, repo, s, head, pulls) for s in page]
        return {"total_count": len(suites), "check_suites": body}, headers

    def _combined_status(self, ctx: _Ctx) -> tuple[Any, dict[str, str]]:
        repo = self._r(ctx)
        sha = self._resolve(repo, ctx["ref"], exc=lambda _: _not_found())
        latest = repo.latest_statuses(sha)
        states = {st.state for st in latest}
        if states & {"failure", "error"}:
            state = "failure"
        elif not states or "pending" in states:
            state = "pending"  # GitHub: no statuses at all is "pending" too
        else:
            state = "success"
        statuses = [b.commit_status(self.url, repo, st) for st in latest]
        return b.combined_status(self.url, repo, sha, state, statuses), {}

    def _list_runs(self, ctx: _Ctx) -> tuple[Any, dict[str, str]]:
        repo, q = self._r(ctx), ctx.query
        runs = list(repo.runs.values())
        if "head_sha" in q:
            runs = [r for r in runs if r.head_sha == q["head_sha"]]
        if "branch" in q:
            runs = [r for r in runs if r.head_branch == q["branch"]]
        if "event" in q:
            runs = [r for r in runs if r.event == q["event"]]
        if "status" in q:  # GitHub accepts a status or a conclusion here
            runs = [r for r in runs if q["status"] in (r.status, r.conclusion)]
        runs.sort(key=lambda r: (b.parse_time(r.created_at), r.id), reverse=True)
        page, headers = self._page(ctx, runs)
        exclude = q.get("exclude_pull_requests", "").lower() in ("1", "true")
        body = [self._run_body(repo, r, exclude) for r in page]
        return {"total_count": len(runs), "workflow_runs": body}, headers

    def _run_body(self, repo: Repo, run: b.WorkflowRun, no_pulls: bool = False) -> JSON:
        pulls = [] if no_pulls else self._pulls_for(repo, run.head_sha)
        head = repo.commits[run.head_sha]
        return b.workflow_run(self.url, repo, run, head, pulls, repo.pushed_at())

    def _run(self, ctx: _Ctx) -> tuple[Repo, b.WorkflowRun]:
        repo = self._r(ctx)
        run = repo.runs.get(int(ctx["run_id"]))
        if run is None:
            raise _not_found()
        return repo, run

    def _get_run(self, ctx: _Ctx) -> tuple[Any, dict[str, str]]:
        repo, run = self._run(ctx)
        return self._run_body(repo, run), {}

    def _list_jobs(self, ctx: _Ctx) -> tuple[Any, dict[str, str]]:
        repo, run = self._run(ctx)
        page, headers = self._page(ctx, run.jobs)
        jobs = [b.job(self.url, repo, run, j) for j in page]
        return {"total_count": len(run.jobs), "jobs": jobs}, headers

    def _compare(self, ctx: _Ctx) -> tuple[Any, dict[str, str]]:
        repo = self._r(ctx)
        basehead = ctx["basehead"]
        base_ref, sep, head_ref = basehead.partition("...")
        if not sep:
            raise _not_found()
        prefix = f"{repo.owner}:"
        base_ref, head_ref = base_ref.removeprefix(prefix), head_ref.removeprefix(prefix)
        base = self._resolve(repo, base_ref, exc=lambda _: _not_found())
        head = self._resolve(repo, head_ref, exc=lambda _: _not_found())
        up, down = repo.ancestors(head), repo.ancestors(base)
        merge_base = repo.merge_base(up & down)
        if merge_base is None:
            raise _HTTPError(404, f"No common ancestor between {base_ref} and {head_ref}.")
        ahead = repo.by_date(up - down, newest_first=False)
        behind_by = len(down - up)
        if base == head:
            status = "identical"
        elif not behind_by:
            status = "ahead"
        elif not ahead:
            status = "behind"
        else:
            status = "diverged"
        # GitHub pages compare commits by 250 (PyGithub documents a maximum of 1000).
        page, headers = self._page(ctx, ahead, default=250, maximum=1000)
        body = b.comparison(
            self.url, repo, basehead, repo.commits[base], merge_base, status, ahead, behind_by, page
        )
        return body, headers

    def _git_ref(self, ctx: _Ctx) -> tuple[Any, dict[str, str]]:
        repo = self._r(ctx)
        # Only branches are modelled; "tags/v1" and unknown branches are 404 like on GitHub.
        kind, _, branch = ctx["ref"].partition("/")
        sha = repo.branches.get(branch) if kind == "heads" else None
        if sha is None:
            raise _not_found()
        return b.git_ref(self.url, repo, branch, sha), {}

    def _rate_limit_body(self, ctx: _Ctx) -> tuple[Any, dict[str, str]]:
        with self._lock:
            remaining, reset = RATE_LIMIT - self._used, self._reset_at
        return b.rate_limit(RATE_LIMIT, remaining, reset), {}


_ACCESS_TOKENS = re.compile(r"/app/installations/(\d+)/access_tokens")

_REASONS = {
    404: "Not Found",  # what GitHub says for a repo the token cannot see, too
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
    504: "We couldn't respond to your request in time. Sorry about that. Please try resubmitting "
    "your request and contact us if the problem persists.",
}


def _default_conclusion(
    status: str, conclusion: str | None, allowed: tuple[str, ...]
) -> str | None:
    if conclusion is _UNSET:
        return "failure" if status == "completed" else None
    if status == "completed" and conclusion not in allowed:
        raise ValueError(f"a completed run needs a conclusion in {allowed}, got {conclusion!r}")
    if status != "completed" and conclusion is not None:
        raise ValueError(f"a {status} run has no conclusion yet, got {conclusion!r}")
    return conclusion


def _rehost(body: Any, web_url: str) -> Any:
    """``body`` with its links to github.com moved to ``web_url`` (as an Enterprise host serves)."""
    if isinstance(body, dict):
        return {k: _rehost(v, web_url) for k, v in body.items()}
    if isinstance(body, list):
        return [_rehost(v, web_url) for v in body]
    if isinstance(body, str) and (body == b.WEB or body.startswith(f"{b.WEB}/")):
        return web_url + body[len(b.WEB) :]
    return body


def _etag_matches(header: str, etag: str) -> bool:
    tags = [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]
    return "*" in tags or etag in tags


def _under(filename: str, path: str) -> bool:
    return filename == path or filename.startswith(path + "/")


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
