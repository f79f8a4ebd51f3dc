"""Assemble a trace from observations, and write its one-line ``where``. Pure."""

from __future__ import annotations

import re

from bot.model import Change, ChangeState, SourceProblem, Stage, Status, Trace
from bot.trace.stages import is_scaled_to_zero


def merge_stage(change: Change, default_branch: str = "main") -> Stage:
    short = change.sha[:7]
    if change.state is ChangeState.MERGED:
        by = f" by {change.author}" if change.author else ""
        return Stage(
            id="merge",
            status=Status.SUCCEEDED,
            detail=f"merged as {short}{by}",
            finished_at=change.merged_at,
            url=change.url,
        )
    if change.state is ChangeState.OPEN:
        return Stage(
            id="merge", status=Status.PENDING, detail="open, not merged yet", url=change.url
        )
    if change.state is ChangeState.CLOSED:
        return Stage(
            id="merge", status=Status.SKIPPED, detail="closed without merging", url=change.url
        )
    if change.on_default_branch:
        return Stage(
            id="merge",
            status=Status.SUCCEEDED,
            detail=f"{short} is on {default_branch}",
            url=change.url,
        )
    return Stage(
        id="merge",
        status=Status.PENDING,
        detail=f"{short} is not on {default_branch}",
        url=change.url,
    )


def unknown_stage(stage_id: str, problem: SourceProblem) -> Stage:
    return Stage(
        id=stage_id,
        status=Status.UNKNOWN,
        detail=f"could not read {problem.source}: {problem.message}",
        environment=problem.environment,
    )


def assemble(
    change: Change,
    service: str | None,
    stages: list[Stage],
    errors: list[SourceProblem],
    environments: list[str] | None = None,
) -> Trace:
    return Trace(
        change=change,
        service=service,
        stages=tuple(stages),
        where=where_summary(change, stages, environments or []),
        errors=tuple(errors),
    )


def where_summary(change: Change, stages: list[Stage], environments: list[str]) -> str:
    """One line: how far the change got, in promotion order."""
    by_id = {(s.id, s.environment): s for s in stages}
    merge = by_id.get(("merge", None))
    ci = by_id.get(("ci", None))
    if change.state is ChangeState.CLOSED:
        return "Closed without merging; not deployed"
    parts: list[str] = []
    if change.state is ChangeState.OPEN:
        parts.append("open, not merged")
    elif (
        change.state is ChangeState.COMMIT and merge is not None and merge.status is Status.PENDING
    ):
        parts.append("Not on the default branch")
    if ci is not None and ci.status is not Status.SUCCEEDED:
        parts.append(_ci_phrase(ci))
    env_phrases = [_env_phrase(env, stages) for env in environments]
    live = [
        env + _scaled(env, stages)
        for env, phrase in zip(environments, env_phrases, strict=True)
        if phrase == "live"
    ]
    others = [phrase for phrase in env_phrases if phrase != "live"]
    if live:
        parts.append("live in " + ", ".join(live))
    parts.extend(p for p in others if p)
    if not parts:
        if ci is not None and ci.status is Status.SUCCEEDED:
            return "Merged; CI passed" if change.state is ChangeState.MERGED else "CI passed"
        return "Merged" if change.state is ChangeState.MERGED else "Nothing known yet"
    text = "; ".join(parts)
    return text[0].upper() + text[1:]


def _ci_phrase(ci: Stage) -> str:
    return {
        Status.FAILED: "CI failed",
        Status.RUNNING: "CI running",
        Status.PENDING: "no CI reported yet",
        Status.UNKNOWN: "CI unknown",
    }.get(ci.status, f"CI {ci.status.value}")


def _env_phrase(env: str, stages: list[Stage]) -> str:
    mine = {s.id: s for s in stages if s.environment == env}
    if not mine:
        return ""
    statuses = [s.status for s in mine.values()]
    if all(s is Status.SUCCEEDED for s in statuses):
        return "live"
    if all(s is Status.SKIPPED for s in statuses):
        return ""
    sync = mine.get("sync")
    if sync is not None and sync.status is Status.PENDING and "suspended" in sync.detail:
        return f"{env} sync suspended"
    if all(s is Status.PENDING for s in statuses):
        return f"{env} pending"
    for stage_id in ("promote", "sync", "rollout"):
        stage = mine.get(stage_id)
        if stage is None or stage.status is Status.SUCCEEDED:
            continue
        return f"{env} {_stage_phrase(stage)}"
    return f"{env} in progress"


def _stage_phrase(stage: Stage) -> str:
    verbs = {
        "promote": {Status.PENDING: "not promoted yet", Status.RUNNING: "promoting"},
        "sync": {Status.PENDING: "not synced yet", Status.RUNNING: "syncing"},
        "rollout": {Status.PENDING: "not rolled out yet", Status.RUNNING: "rolling out"},
    }[stage.id]
    rolled_back = _ROLLED_BACK.match(stage.detail)
    if stage.id == "sync" and stage.status is Status.DRIFTED and rolled_back:
        return rolled_back.group(0)
    if stage.status in verbs:
        phrase = verbs[stage.status]
        if stage.id == "rollout" and stage.status is Status.RUNNING:
            return phrase + _progress(stage)
        return phrase
    return {
        Status.FAILED: f"{stage.id} failed",
        Status.DRIFTED: f"{stage.id} drifted",
        Status.UNKNOWN: f"{stage.id} unknown",
    }.get(stage.status, f"{stage.id} {stage.status.value}")


# A sync detail starts so after a rollback (bot.trace.stages.sync_stage).
_ROLLED_BACK = re.compile(r"rolled back to \S+?(?=[ ;]|$)")


def _scaled(env: str, stages: list[Stage]) -> str:
    """ " (scaled to 0)" after an environment whose workloads run no pod on purpose."""
    rollout = next((s for s in stages if s.environment == env and s.id == "rollout"), None)
    items = rollout.items if rollout is not None else ()
    scaled = [i for i in items if is_scaled_to_zero(i)]
    if not scaled:
        return ""
    if len(scaled) == len(items):
        return " (scaled to 0)"
    if len(scaled) == 1:
        return f" ({scaled[0].name} scaled to 0)"
    return f" ({len(scaled)} of {len(items)} workloads scaled to 0)"


def _progress(stage: Stage) -> str:
    # Rollout details start with "N/M pods" when the rollout knows its pod counts.
    m = re.match(r"(\d+/\d+) pods", stage.detail)
    return f" ({m.group(1)} pods)" if m else ""
