"""GitHub CI as a one-shot stage source: check runs, the combined status and Actions runs.

Reads the change's commit (the head for an open or closed PR, the merge commit once merged) and
the jobs of the workflow runs that failed, to name the failing step; the rules that judge what
it read are in :mod:`bot.stages.github_ci_rules`.
"""

from __future__ import annotations

import asyncio

from bot.errors import GitHubError
from bot.model import Change, ChangeState, SourceProblem, Stage, Status
from bot.stages.github_ci_rules import CIObservation, ci_stage, failed_job, word_status
from bot.stages.source import Observation, StageContext, Unreadable


class GitHubCI:
    key = "github"
    label = "GitHub CI"
    stage_id = "ci"

    async def observe(self, ctx: StageContext) -> Observation[CIObservation] | Unreadable:
        change, github = ctx.change, ctx.github
        repo, sha = change.repo, change.sha
        try:
            runs, combined, workflows = await asyncio.gather(
                github.check_runs(repo, sha),
                github.combined_status(repo, sha),
                github.workflow_runs(repo, sha),
            )
            failed_runs = [
                r
                for r in workflows
                if r.get("status") == "completed"
                and word_status(r.get("conclusion")) is Status.FAILED
            ]
            job_lists = await asyncio.gather(
                *(github.jobs(repo, int(r["id"])) for r in failed_runs)
            )
        except GitHubError as exc:
            return Unreadable(SourceProblem("github", f"CI for {sha[:7]}: {exc.message}"))
        failed = [
            j
            for r, jobs in zip(failed_runs, job_lists, strict=True)
            for j in failed_job(int(r["id"]), jobs)
        ]
        reported = CIObservation(runs, combined, workflows, failed)
        return Observation(change, checks_url(change, ctx.web_url), reported)

    def stage(self, observation: Observation[CIObservation]) -> Stage:
        change, url = observation.change, observation.url
        stage = ci_stage(observation.reported, change.sha, url)
        if change.state is ChangeState.CLOSED and stage.status is Status.PENDING:
            return Stage(id="ci", status=Status.SKIPPED, detail="closed without CI", url=url)
        return stage


def checks_url(change: Change, web_url: str) -> str:
    """The PR's checks tab, or the commit's page (its checks are listed there)."""
    if change.pr is not None and change.url:
        return f"{change.url}/checks"
    return f"{web_url}/{change.repo}/commit/{change.sha}"
