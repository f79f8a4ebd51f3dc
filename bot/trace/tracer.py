"""Follow one change: gather the observations concurrently, then assemble (pure)."""

from __future__ import annotations

import asyncio

from bot.access import RepoFilter
from bot.config import ServiceMap
from bot.errors import BadInput, GitHubError
from bot.model import Change, ChangeState, SourceProblem, Stage, Status, Trace
from bot.refs import Ref
from bot.sources.cluster import Clusters
from bot.sources.github import GitHubClient
from bot.store import Store
from bot.timefmt import Clock, utcnow
from bot.trace.assemble import assemble, merge_stage, unknown_stage
from bot.trace.change import resolve_change
from bot.trace.ci import CIObservation, ci_stage, failed_job, word_status
from bot.trace.environments import EnvContext, environment_stages
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
    ) -> None:
        self.github = github
        self.clusters = clusters
        self.services = services
        self.store = store
        self.clock = clock
        self.web = web

    async def trace(
        self, ref: Ref, default_repo: str | None = None, allowed: RepoFilter | None = None
    ) -> Trace:
        change = await resolve_change(self.github, self.services, ref, default_repo, allowed)
        self.web.learn(change.url)  # GitHub's own html_url says where links are
        service = self.services.service_for_repo(change.repo)
        errors: list[SourceProblem] = []
        if service is None:  # pick_repo only lets configured repos through
            raise BadInput(f"{change.repo} is not a configured service's repo")
        ctx = EnvContext(change, service, self.github, self.clusters, self.store, self.clock)
        ci, env_stages = await asyncio.gather(self._ci(change, errors), environment_stages(ctx))
        # A pending stage says what it waits on; only the whole path can tell (DESIGN §4).
        stages: list[Stage] = note_waits([merge_stage(change), ci, *env_stages])
        envs = [e.name for e in service.environments]
        return assemble(change, service.name, stages, [*errors, *ctx.errors], envs)

    async def _ci(self, change: Change, errors: list[SourceProblem]) -> Stage:
        repo, sha = change.repo, change.sha
        checks_url = (
            f"{change.url}/checks"
            if change.pr is not None and change.url
            else f"{self.web.url}/{repo}/commit/{sha}"
        )
        try:
            runs, combined, workflows = await asyncio.gather(
                self.github.check_runs(repo, sha),
                self.github.combined_status(repo, sha),
                self.github.workflow_runs(repo, sha),
            )
            failed_runs = [
                r
                for r in workflows
                if r.get("status") == "completed"
                and word_status(r.get("conclusion")) is Status.FAILED
            ]
            job_lists = await asyncio.gather(
                *(self.github.jobs(repo, int(r["id"])) for r in failed_runs)
            )
        except GitHubError as exc:
            problem = SourceProblem("github", f"CI for {sha[:7]}: {exc.message}")
            errors.append(problem)
            return unknown_stage("ci", problem)
        failed = [
            j
            for r, jobs in zip(failed_runs, job_lists, strict=True)
            for j in failed_job(int(r["id"]), jobs)
        ]
        obs = CIObservation(runs, combined, workflows, failed)
        stage = ci_stage(obs, sha, checks_url)
        if change.state is ChangeState.CLOSED and stage.status is Status.PENDING:
            return Stage(id="ci", status=Status.SKIPPED, detail="closed without CI", url=checks_url)
        return stage
