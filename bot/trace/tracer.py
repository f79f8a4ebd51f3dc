"""Follow one change: gather the observations concurrently, then assemble (pure).

Every look-up starts as soon as its input is known: the clusters as soon as the service is
(before the change is resolved), CI and the environments together once the change is.

An answer is first made from what GitHub said last time for every page already stored
(revalidated meanwhile, all at once, see :meth:`GitHubClient.answer`); when a revalidation
shows that something changed, the answer is made again from what GitHub says now, with no
page asked twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from bot.access import RepoFilter
from bot.config import ServiceMap
from bot.errors import BadInput, ShiptraceError
from bot.model import Change, SourceProblem, Stage, Trace
from bot.refs import Ref
from bot.sources.cluster import Clusters
from bot.sources.github import GitHubClient
from bot.stages import SOURCES, StageContext, StageSource, Unreadable, combined
from bot.store import Store
from bot.timefmt import Clock, utcnow
from bot.trace.assemble import assemble, merge_stage, unknown_stage
from bot.trace.change import resolve_change
from bot.trace.environments import EnvContext, EnvRead, environment_stages, start_reads
from bot.trace.stages import note_waits
from bot.trace.webhost import WebHost


class Tracer:
    def __init__(
        self,
        github: GitHubClient,
        services: ServiceMap,
        store: Store,
        clusters: Clusters,
        web: WebHost,
        clock: Clock = utcnow,
        sources: Mapping[str, StageSource[Any]] = SOURCES,
    ) -> None:
        self.github = github
        self.clusters = clusters
        self.services = services
        self.store = store
        self.clock = clock
        self.web = web
        self.sources = sources  # the one-shot stage sources (bot.stages), GitHub CI today

    async def trace(
        self, ref: Ref, default_repo: str | None = None, allowed: RepoFilter | None = None
    ) -> Trace:
        async with self.github.answer() as answer:
            try:
                trace = await self._trace(ref, default_repo, allowed)
            except ShiptraceError:
                if await answer.settled():
                    raise
            else:
                if await answer.settled():
                    return trace
            return await self._trace(ref, default_repo, allowed)  # with what changed

    async def _trace(self, ref: Ref, default_repo: str | None, allowed: RepoFilter | None) -> Trace:
        reads: dict[str, asyncio.Future[EnvRead]] = {}

        def on_repo(repo: str) -> None:
            service = self.services.service_for_repo(repo)
            if service is not None and not reads:
                reads.update(start_reads(self.clusters, service))

        try:
            change = await resolve_change(
                self.github, self.services, ref, default_repo, allowed, on_repo
            )
        except BaseException:
            for read in reads.values():
                read.cancel()
            raise
        self.web.learn(change.url)  # GitHub's own html_url says where links are
        service = self.services.service_for_repo(change.repo)
        if service is None:  # pick_repo only lets configured repos through
            raise BadInput(f"{change.repo} is not a configured service's repo")
        ctx = EnvContext(
            change, service, self.github, self.clusters, self.store, self.clock, reads=reads
        )
        (one_shot, problems), env_stages = await asyncio.gather(
            self._one_shot_stages(change), environment_stages(ctx)
        )
        # A pending stage says what it waits on; only the whole path can tell (DESIGN §4).
        stages: list[Stage] = note_waits([merge_stage(change), *one_shot, *env_stages])
        envs = [e.name for e in service.environments]
        return assemble(change, service.name, stages, [*problems, *ctx.errors], envs)

    async def _one_shot_stages(self, change: Change) -> tuple[list[Stage], list[SourceProblem]]:
        """Every registered one-shot source, read at once; sources sharing a stage id make one
        stage, in registry order. Returns the stages and what could not be read."""
        ctx = StageContext(change, self.github, self.web.url)
        sources = list(self.sources.values())
        read = await asyncio.gather(*(source.observe(ctx) for source in sources))
        parts: dict[str, list[tuple[str, Stage]]] = {}
        problems: list[SourceProblem] = []
        for source, got in zip(sources, read, strict=True):
            if isinstance(got, Unreadable):
                problems.append(got.problem)
                stage = unknown_stage(source.stage_id, got.problem)
            else:
                stage = source.stage(got)
            parts.setdefault(source.stage_id, []).append((source.label, stage))
        return [combined(shared) for shared in parts.values()], problems
