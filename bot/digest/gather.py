"""Gather one channel's digest: merged PRs traced, stuck changes, drift, the DORA figures.

Every merged PR of the window is traced (so its stages are current), stuck candidates from
the last ``lookback_days`` are traced again, and each traced change is remembered with when it
went live where; the figures come from those records, the deployments the drift scan saw and
the drift incidents (``bot.digest.dora``, pure). The result is data (``bot.digest.records``):
the caller renders it (``bot.render.digest``) and draws the chart (``bot.render.chart``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bot.access import policy_for
from bot.config import DigestConfig, Service, ServiceMap
from bot.digest.dora import ChangeRecord, Figures, figures, trailing
from bot.digest.records import (
    Badge,
    Digest,
    IncidentLine,
    ServiceDigest,
    ShippedChange,
    StuckChange,
)
from bot.digest.store import Deliveries
from bot.drift.store import Incidents
from bot.errors import ShiptraceError
from bot.model import Stage, Status, Trace, worst
from bot.refs import Ref, permalink
from bot.sources.github import GitHubClient
from bot.timefmt import Clock, parse_time
from bot.trace.tracer import Tracer

log = logging.getLogger(__name__)

_REVERTS = re.compile(r"\bReverts ([A-Za-z0-9._-]+/[A-Za-z0-9._-]+)#(\d+)")
_CONCURRENT_TRACES = 4


class DigestBuilder:
    def __init__(
        self,
        github: GitHubClient,
        tracer: Tracer,
        services: ServiceMap,
        deliveries: Deliveries,
        incidents: Incidents,
        clock: Clock,
    ) -> None:
        self.github = github
        self.tracer = tracer
        self.services = services
        self.deliveries = deliveries
        self.incidents = incidents
        self.clock = clock
        self.config: DigestConfig = services.slack.digest
        self._limit = asyncio.Semaphore(_CONCURRENT_TRACES)

    def visible(self, channel: str | None) -> list[Service]:
        if channel is None:
            return list(self.services.services)
        return policy_for(self.services, channel).traceable()

    async def build(
        self,
        channel: str | None,
        start: datetime,
        end: datetime,
        *,
        late: bool = False,
    ) -> Digest:
        services = self.visible(channel)
        built = await asyncio.gather(*(self._service(s, start, end) for s in services))
        per_service = [digest for digest, _ in built]
        # What could not be read, each said once, in the order it was met.
        errors = dict.fromkeys(problem for _, problems in built for problem in problems)
        window, trail = self._figures(services, start, end)
        return Digest(
            channel=channel or "",
            start=start,
            end=end,
            services=tuple(per_service),
            window=window,
            trailing=trail,
            late=late,
            errors=tuple(errors),
        )

    # -- per service -----------------------------------------------------------------------
    async def _service(
        self, service: Service, start: datetime, end: datetime
    ) -> tuple[ServiceDigest, list[str]]:
        """One service's part of the digest, and what could not be read for it."""
        unread: str | None = None
        problems: list[str] = []
        try:
            pulls = await self.github.merged_pulls(service.repo, start, end)
        except ShiptraceError as exc:
            problems.append(f"github: merged PRs of {service.repo}: {exc.message}")
            unread, pulls = exc.message, []
        results = await asyncio.gather(*(self._trace(service, p) for p in pulls))
        traced = [trace for trace, _ in results]
        problems += [problem for _, found in results for problem in found]
        shipped: list[ShippedChange] = []
        seen: set[str] = set()
        stuck: list[StuckChange] = []
        for pull, trace in zip(pulls, traced, strict=True):
            ref = f"{service.repo}#{pull['number']}"
            seen.add(ref.lower())
            if trace is None:  # merged, but where it is is unknown: listed as such
                shipped.append(_untraced(ref, pull))
                continue
            shipped.append(_shipped(ref, pull, trace, service))
            stuck_change = self._stuck(ref, pull, trace, service, end)
            if stuck_change is not None:
                stuck.append(stuck_change)
        if unread is None:  # GitHub did not answer: asking again per older change would not help
            older, found = await self._older_stuck(service, start, end, seen)
            stuck.extend(older)
            problems += found
        incidents = tuple(
            IncidentLine(
                key=i.key,
                summary="; ".join(f.summary for f in i.findings[:2]) or "drift",
                opened_at=i.first_seen,
                resolved_at=i.resolved_at,
                thread_url=permalink(i.channel, i.ts),
            )
            for i in self.incidents.in_window(start, end)
            if i.service == service.name
        )
        digest = ServiceDigest(
            service.name, service.repo, tuple(shipped), tuple(stuck), incidents, unread
        )
        return digest, problems

    async def _trace(
        self, service: Service, pull: Mapping[str, object]
    ) -> tuple[Trace | None, list[str]]:
        """The PR's trace (None when it could not be traced), and what could not be read."""
        ref = f"{service.repo}#{pull['number']}"
        async with self._limit:
            try:
                trace = await self.tracer.trace(
                    Ref(ref, repo=service.repo, pr=int(str(pull["number"])))
                )
            except ShiptraceError as exc:
                return None, [f"{ref}: {exc.message}"]
        problems = [  # a cluster or a CI look-up that failed
            f"{p.source}{f' ({p.environment})' if p.environment else ''}: {p.message}"
            for p in trace.errors
        ]
        self._remember(service, ref, pull, trace)
        return trace, problems

    def _remember(
        self, service: Service, ref: str, pull: Mapping[str, object], trace: Trace
    ) -> None:
        merged = parse_time(str(pull.get("merged_at") or "")) or trace.change.merged_at
        if merged is None:
            return
        body = str(pull.get("body") or "")
        reverts = _REVERTS.search(body)
        record = ChangeRecord(
            service=service.name,
            repo=service.repo,
            ref=ref,
            title=str(pull.get("title") or trace.change.title or ""),
            merged_at=merged,
            live_at=_live_at(trace, service, self.clock()),
            environments=tuple(e.name for e in service.environments),
            revert_of=f"{reverts.group(1)}#{reverts.group(2)}" if reverts else None,
        )
        self.deliveries.remember_change(record, trace.change.sha, trace.change.url, self.clock())

    def _stuck(
        self, ref: str, pull: Mapping[str, object], trace: Trace, service: Service, end: datetime
    ) -> StuckChange | None:
        merged = trace.change.merged_at
        if merged is None or end - merged < timedelta(hours=self.config.stuck_hours):
            return None
        last = service.environments[-1].name
        if trace.is_live_in(last):
            return None
        waiting = _waiting_stage(trace.stages)
        if waiting is None:
            return None
        where = (
            waiting.id if waiting.environment is None else f"{waiting.id} in {waiting.environment}"
        )
        return StuckChange(
            ref=ref,
            title=str(pull.get("title") or trace.change.title or ""),
            url=trace.change.url,
            merged_at=merged,
            stage="CI" if where == "ci" else where,
            status=waiting.status,
            stuck_for=end - merged,
        )

    async def _older_stuck(
        self,
        service: Service,
        start: datetime,
        end: datetime,
        seen: set[str],
    ) -> tuple[list[StuckChange], list[str]]:
        """Changes merged before the window, not yet live in the last environment."""
        last = service.environments[-1].name
        since = end - timedelta(days=self.config.lookback_days)
        candidates = [
            c
            for c in self.deliveries.changes(since)
            if c.service == service.name
            and c.merged_at < start
            and last not in c.live_at
            and c.ref.lower() not in seen
        ]
        pulls = [
            {
                "number": change.ref.rsplit("#", 1)[1],
                "title": change.title,
                "merged_at": change.merged_at.isoformat(),
                # What _remember reads the revert from, so a re-trace keeps it.
                "body": f"Reverts {change.revert_of}" if change.revert_of else "",
            }
            for change in candidates
        ]
        # Traced side by side, like the window's own PRs (_trace bounds how many at once).
        results = await asyncio.gather(*(self._trace(service, p) for p in pulls))
        out: list[StuckChange] = []
        for change, pull, (trace, _) in zip(candidates, pulls, results, strict=True):
            stuck = self._stuck(change.ref, pull, trace, service, end) if trace else None
            if stuck is not None:
                out.append(stuck)
        return out, [problem for _, found in results for problem in found]

    # -- figures ---------------------------------------------------------------------------
    def _figures(
        self, services: Sequence[Service], start: datetime, end: datetime
    ) -> tuple[Figures, Figures]:
        names = {s.name for s in services}
        trail_start = trailing(end)
        since = min(start, trail_start)
        repos = {s.repo.lower(): s.name for s in self.services.services if s.name in names}
        changes = [
            c for c in self.deliveries.changes(since - timedelta(days=30)) if c.service in names
        ]
        deployments = [d for d in self.deliveries.deployments(since) if d.service in names]
        failures = self.deliveries.failures(since, repos)
        incidents = [i for i in self.deliveries.incidents(since) if i.service in names]
        # The scan records the environments with workloads (bot.drift.scan): since when it looked.
        looks = self.deliveries.first_looks()
        watched = {
            (s.name, e.name): looks.get((s.name, e.name))
            for s in services
            for e in s.environments
            if e.workloads
        }
        window = timedelta(hours=self.config.failure_window_hours)
        records = (changes, deployments, failures, incidents)
        return (
            figures(*records, start, end, window, watched=watched),
            figures(*records, trail_start, end, window, watched=watched),
        )


def _shipped(ref: str, pull: Mapping[str, object], trace: Trace, service: Service) -> ShippedChange:
    badges = [Badge("CI", s.status) for s in trace.stages if s.id == "ci"]
    for env in service.environments:
        statuses = [s.status for s in trace.stages if s.environment == env.name]
        status = worst(statuses)
        if status is not None:
            badges.append(Badge(env.name, status))
    merged = trace.change.merged_at or parse_time(str(pull.get("merged_at") or ""))
    assert merged is not None
    return ShippedChange(
        ref=ref,
        title=str(pull.get("title") or trace.change.title or ""),
        url=trace.change.url,
        author=trace.change.author,
        merged_at=merged,
        badges=tuple(badges),
        where=trace.where,
    )


def _untraced(ref: str, pull: Mapping[str, object]) -> ShippedChange:
    merged = parse_time(str(pull.get("merged_at") or ""))
    assert merged is not None  # merged_pulls lists merged PRs only
    user = pull.get("user")
    return ShippedChange(
        ref=ref,
        title=str(pull.get("title") or ""),
        url=str(pull["html_url"]) if pull.get("html_url") else None,
        author=str(user.get("login")) if isinstance(user, dict) else None,
        merged_at=merged,
        badges=(),
        where="could not be traced",
    )


def _live_at(trace: Trace, service: Service, now: datetime) -> dict[str, datetime]:
    """When the change went live in each environment where it is live: the rollout's (else the
    sync's) finish, else its start, else now (first seen live)."""
    out: dict[str, datetime] = {}
    for env in service.environments:
        if not trace.is_live_in(env.name):
            continue
        stages = {s.id: s for s in trace.stages if s.environment == env.name}
        stage = stages.get("rollout") or stages.get("sync") or next(iter(stages.values()))
        out[env.name] = stage.finished_at or stage.started_at or now
    return out


def _waiting_stage(stages: Sequence[Stage]) -> Stage | None:
    """The first stage in path order that has not succeeded (where the change waits)."""
    return next((s for s in stages if s.status not in (Status.SUCCEEDED, Status.SKIPPED)), None)
