"""The ``ci`` stage from what GitHub reports for one commit. Pure.

Kept apart from :mod:`bot.stages.github_ci` (which reads it) so the rules import nothing that
talks to the network, and are tested as a table.

The rules, in order (also in README "How each stage is decided"):

1. any failure / timed_out / cancelled / action_required / startup_failure  -> failed
2. else any queued / in_progress / waiting / requested / pending           -> running
3. nothing reported at all                                                  -> pending
4. all success / neutral / skipped                                          -> succeeded

Sources: check runs, the combined commit status (its individual statuses) and GitHub Actions
workflow runs. A workflow run's jobs are already check runs of its check suite, so a run
becomes an item of its own only when none of its check runs are there yet (queued, waiting
for approval, failed to start).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.model import SEVERITY, Item, Stage, Status
from bot.timefmt import parse_time

FAILED_WORDS = {"failure", "timed_out", "cancelled", "action_required", "startup_failure", "error"}
RUNNING_WORDS = {"queued", "in_progress", "waiting", "requested", "pending"}
PASSED_WORDS = {"success", "neutral", "skipped"}


def word_status(word: str | None) -> Status:
    """One GitHub status / conclusion word in the stage vocabulary."""
    if word in FAILED_WORDS:
        return Status.FAILED
    if word in RUNNING_WORDS:
        return Status.RUNNING
    if word in PASSED_WORDS:
        return Status.SUCCEEDED
    return Status.UNKNOWN  # e.g. "stale": GitHub itself no longer knows


@dataclass(frozen=True)
class FailedJob:
    run_id: int
    job: str
    step: str | None
    url: str | None


@dataclass(frozen=True)
class CIObservation:
    check_runs: list[dict[str, Any]] = field(default_factory=list)
    combined_status: dict[str, Any] | None = None
    workflow_runs: list[dict[str, Any]] = field(default_factory=list)
    failed_jobs: list[FailedJob] = field(default_factory=list)


def failed_job(run_id: int, jobs: list[dict[str, Any]]) -> list[FailedJob]:
    """The failing job(s) of a run and the step each failed at."""
    out = []
    for job in jobs:
        if word_status(job.get("conclusion")) is not Status.FAILED:
            continue
        step = next(
            (
                s["name"]
                for s in job.get("steps") or []
                if word_status(s.get("conclusion")) is Status.FAILED
            ),
            None,
        )
        out.append(FailedJob(run_id, job["name"], step, job.get("html_url")))
    return out


def ci_stage(obs: CIObservation, sha: str, checks_url: str | None) -> Stage:
    items: list[Item] = []
    suites_with_checks = set()
    for run in _latest_check_runs(obs.check_runs):
        word = run.get("conclusion") if run.get("status") == "completed" else run.get("status")
        suites_with_checks.add((run.get("check_suite") or {}).get("id"))
        items.append(
            _item(
                run["name"],
                word,
                run.get("html_url") or run.get("details_url"),
                run.get("started_at"),
                run.get("completed_at"),
            )
        )
    for status in (obs.combined_status or {}).get("statuses") or []:
        items.append(
            _item(
                status["context"],
                status["state"],
                status.get("target_url"),
                status.get("created_at"),
                status.get("updated_at") if status["state"] != "pending" else None,
            )
        )
    for run in obs.workflow_runs:
        if run.get("check_suite_id") in suites_with_checks:
            continue
        word = run.get("conclusion") if run.get("status") == "completed" else run.get("status")
        finished = run.get("updated_at") if run.get("status") == "completed" else None
        items.append(
            _item(
                run.get("name") or "workflow",
                word,
                run.get("html_url"),
                run.get("run_started_at") or run.get("created_at"),
                finished,
            )
        )

    if not items:
        return Stage(
            id="ci",
            status=Status.PENDING,
            detail=f"no CI reported yet for {sha[:7]}",
            url=checks_url,
        )

    # Failed first, then running, then the rest; stable by name within each group.
    items.sort(key=lambda i: (-SEVERITY[i.status], i.name.lower()))
    status = _overall([i.status for i in items])
    started = min((i.started_at for i in items if i.started_at), default=None)
    finished = (
        max((i.finished_at for i in items if i.finished_at), default=None)
        if status in (Status.SUCCEEDED, Status.FAILED)
        else None
    )
    return Stage(
        id="ci",
        status=status,
        detail=_detail(status, items, obs.failed_jobs),
        started_at=started,
        finished_at=finished,
        url=checks_url,
        items=tuple(items),
    )


def _item(
    name: str, word: str | None, url: str | None, started: str | None, finished: str | None
) -> Item:
    """One check, status or run, with GitHub's own times (for trace export; not in the JSON)."""
    return Item(
        name,
        word_status(word),
        word,
        url,
        started_at=parse_time(started),
        finished_at=parse_time(finished),
    )


def _overall(statuses: list[Status]) -> Status:
    if Status.FAILED in statuses:
        return Status.FAILED
    if Status.RUNNING in statuses:
        return Status.RUNNING
    if Status.UNKNOWN in statuses:
        return Status.UNKNOWN
    return Status.SUCCEEDED


def _latest_check_runs(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A re-run check keeps its name; only the newest run of each name and app counts."""
    latest: dict[tuple[str, Any], dict[str, Any]] = {}
    for run in runs:
        key = (run["name"], (run.get("app") or {}).get("id"))
        current = latest.get(key)
        if current is None or run.get("id", 0) > current.get("id", 0):
            latest[key] = run
    return list(latest.values())


def _detail(status: Status, items: list[Item], failed_jobs: list[FailedJob]) -> str:
    total = len(items)
    noun = "check" if total == 1 else "checks"
    if status is Status.FAILED:
        failed = [i.name for i in items if i.status is Status.FAILED]
        where = ""
        if failed_jobs:
            job = failed_jobs[0]
            where = (
                f" ({job.job} failed at step '{job.step}')" if job.step else f" ({job.job} failed)"
            )
        names = ", ".join(failed[:3]) + (f" +{len(failed) - 3} more" if len(failed) > 3 else "")
        return f"{len(failed)} of {total} {noun} failed: {names}{where}"
    if status is Status.RUNNING:
        running = sum(1 for i in items if i.status is Status.RUNNING)
        return f"{running} of {total} {noun} running"
    if status is Status.UNKNOWN:
        return f"GitHub reports an unclear result for {total} {noun}"
    return f"all {total} {noun} passed"
