"""The per-environment stages: ``sync`` and ``rollout`` (continuous), and the fillers. Pure.

The caller reads the GitOps object and the workloads (through its tool in
:mod:`bot.gitops`, and :mod:`bot.kube.workloads`), decides *contains* with the compare API and passes the answers in:
``True`` / ``False``, or ``None`` when the check was not possible.

``sync`` — is a revision that contains the change applied? First match wins:

1. the applied revision contains it:
   - the tool reports the applied revision no longer holds (``GitOpsState.in_sync`` False,
     said in the tool's words) -> ``drifted`` — unless a sync of a newer revision is running,
     which explains it. App health plays no part (Healthy + OutOfSync is still drifted);
   - else ``succeeded`` (the applied revision only ever comes from a successful operation /
     ``Ready=True``); a later failing or running attempt is mentioned in the detail;
2. an operation on a revision containing it is running (or reconciling it) -> ``running``;
3. the last attempt on a revision containing it failed -> ``failed``, naming the error (also
   in ``Stage.failure``, for the stages waiting on it);
4. the applied revision does not contain it but an earlier synced one did (``rolled_back_from``,
   from the tool's history) -> ``drifted``, "rolled back to <sha7> at <time>";
5. the applied revision does not contain it, or nothing was applied yet -> ``pending``, saying
   what is applied and what the tool is doing;
6. otherwise (the contains check was impossible) -> ``unknown`` with the reason.

A suspended GitOps object (``GitOpsState.suspended``) reconciles nothing: a running attempt does not
count (rule 2 does not apply), and every detail says "suspended".

``started_at`` (not for pending / unknown) is the operation's start when that operation's
revision contains the change, else ``first_seen``; ``finished_at`` is ``applied_at`` when
succeeded, the attempt's end when failed, else None.

``rollout`` — one item per workload (:func:`rollout_item`), the stage takes the worst item
(failed > unknown > running > pending > succeeded); a workload scaled to 0 says "scaled to 0".
The app's health, where the tool reports one, is passed as ``app_health`` and only counts once the workloads run
the change (pending / unknown items are about another version): ``Degraded`` -> failed,
``Progressing`` -> running, ``Suspended`` -> running ("suspended"); ``Healthy``, ``Missing``,
``Unknown`` change nothing.

:func:`note_waits` — a pending stage of an environment whose path (``ci``, then that
environment's ``promote``, ``sync``) has an earlier stage that failed or has not finished
starts its detail with it: "waiting for CI (failed: test)", "waiting for CI" (still running),
"waiting for promote", "waiting for the sync (failed: …)", "waiting for the sync". Only
stages after the last one that got there (succeeded, or drifted: it was applied) count; a
failure is named before an unfinished stage; CI that reported nothing and ``unknown`` stages
claim nothing. Before the merge, the environment stages already say what they wait on.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.gitops.state import GitOpsState, show_revision
from bot.kube.workloads import WAITING_FOR_CONTROLLER, WorkloadState, rollout_progress
from bot.model import Item, Stage, Status, worst
from bot.timefmt import format_time

# --- sync ------------------------------------------------------------------------------------


def sync_stage(
    env: str,
    state: GitOpsState,
    applied_contains: bool | None,
    attempted_contains: bool | None,
    desired_contains: bool | None,
    *,
    short_sha: str,
    first_seen: datetime | None = None,
    url: str | None = None,
    rolled_back_from: str | None = None,
) -> Stage:
    """The ``sync`` stage of one environment (rules in the module docstring).

    ``rolled_back_from`` is a commit the tool synced earlier that contains the change (None
    when its history has none, or was not looked at)."""
    words = state.words
    label, done, doing = words.label, words.done, words.doing
    applied = show_revision(state.applied_commit, state.applied_revision)
    attempted = show_revision(state.attempted_commit, state.attempted_revision)
    desired = show_revision(state.desired_commit, state.desired_revision)
    message = state.attempt_message or state.ready_reason or "no message"
    newer_attempt = state.attempted_revision not in (None, state.applied_revision)
    running = state.attempt == "running" and not state.suspended  # suspended: nothing runs
    # A running sync of another (or a not yet resolved) revision explains an OutOfSync.
    syncing_other = running and state.attempted_revision != state.applied_revision
    relevant_op = attempted_contains is True or (
        applied_contains is True and not newer_attempt and state.attempt is not None
    )
    started = (state.attempt_started_at if relevant_op else None) or first_seen

    def stage(
        status: Status, detail: str, finished: datetime | None = None, failure: str | None = None
    ) -> Stage:
        begun = None if status in (Status.PENDING, Status.UNKNOWN) else started
        if state.suspended and "suspended" not in detail:
            detail = f"{detail}; suspended"
        return Stage("sync", status, detail, env, begun, finished, url, failure=failure)

    if applied_contains is True:
        head = f"{label} {done} {applied} (contains {short_sha})"
        if state.in_sync is False and not syncing_other:
            return stage(Status.DRIFTED, f"{head} but {words.not_holding}")
        notes = []
        if syncing_other:
            notes.append(f"now {doing} {attempted}")
        elif state.attempt == "failed":
            what = attempted if newer_attempt else f"the last {words.run}"
            notes.append(f"{what} failed: {message}")
        return stage(Status.SUCCEEDED, _join(head, notes), state.applied_at)

    if attempted_contains is True and running:
        return stage(Status.RUNNING, f"{label} {doing} {attempted} (contains {short_sha})")
    if attempted_contains is True and state.attempt == "failed":
        detail = f"{label} failed to {words.verb} {attempted} (contains {short_sha}): {message}"
        return stage(Status.FAILED, detail, state.attempt_finished_at, failure=message)

    nothing_applied = state.applied_commit is None and state.applied_revision is None
    if applied_contains is False or nothing_applied:
        rolled_back = rolled_back_from is not None and not nothing_applied
        if rolled_back:
            at = format_time(state.applied_at)
            head = f"rolled back to {applied}{f' at {at}' if at else ''}; {label} had {done} "
            head += f"{show_revision(rolled_back_from, None)} (contains {short_sha})"
        elif nothing_applied:
            head = f"{label} has {done} nothing yet"
        else:
            head = f"{label} {done} {applied}, which does not contain {short_sha} yet"
        notes = []
        if state.suspended:
            notes.append("it is suspended")
        if running and newer_attempt:
            notes.append(f"{doing} {attempted}")
        elif state.attempt == "failed" and newer_attempt:
            notes.append(f"{attempted} failed: {message}")
        if desired_contains is True and state.desired_revision != state.applied_revision:
            notes.append(f"{desired} contains it, not {done} yet")
        elif desired_contains is False and state.desired_revision != state.applied_revision:
            notes.append(f"the source is at {desired}, which does not contain it yet")
        return stage(Status.DRIFTED if rolled_back else Status.PENDING, _join(head, notes))

    if state.applied_commit is None:
        why = f"{label} {done} {applied}, which names no commit"
    else:
        why = f"{label} {done} {applied}, but whether it contains {short_sha} could not be checked"
    return stage(Status.UNKNOWN, why)


def _join(head: str, notes: list[str]) -> str:
    return "; ".join([head, *notes])


# --- rollout ---------------------------------------------------------------------------------

SCALED_TO_ZERO = "scaled to 0"  # how an item starts when its workload runs no pod on purpose
_NOT_IN_IT = "which does not contain it"


def rollout_item(ws: WorkloadState, contains: bool | None, running_label: str) -> Item:
    """One workload as an item of the ``rollout`` stage.

    ``contains`` says whether the version the workload rolls out (its pod template: image tag
    or, failing that, the synced revision) contains the change; ``running_label`` names that
    version for people ("sha-3f2c1ab"). Not containing -> pending; None -> unknown; then a
    new pod's problem or a failed rollout -> failed (the pod's reason / the Kubernetes reason
    as conclusion); paused / progressing -> running; complete -> succeeded. A complete
    workload scaled to 0 says "scaled to 0 (sha-3f2c1ab)" instead of counting no pods.

    A workload rolling out the change carries its own times (for trace export): from its new
    ReplicaSet's creation, to its completion once succeeded. Other items have none.
    """
    item = _judge_workload(ws, contains, running_label)
    if contains is not True:
        return item
    done = item.status is Status.SUCCEEDED
    return replace(item, started_at=ws.started_at, finished_at=ws.completed_at if done else None)


def _judge_workload(ws: WorkloadState, contains: bool | None, running_label: str) -> Item:
    name = ws.display_name
    if contains is None:
        return Item(name, Status.UNKNOWN, f"cannot tell whether {running_label} contains it")
    progress, reason = rollout_progress(ws)
    # Scaled to 0 and done: the template is applied but no pod runs it.
    scaled = progress == "complete" and ws.scaled_to_zero
    if contains is False:
        if scaled:
            return Item(name, Status.PENDING, f"{SCALED_TO_ZERO} ({running_label}, {_NOT_IN_IT})")
        verb = "runs" if progress == "complete" else "rolling out"
        return Item(name, Status.PENDING, f"{verb} {running_label}, {_NOT_IN_IT}")
    if scaled:
        return Item(name, Status.SUCCEEDED, f"{SCALED_TO_ZERO} ({running_label})")
    if ws.pod_problems:
        return Item(name, Status.FAILED, ws.pod_problems[0][1])
    if progress == "failed":
        return Item(name, Status.FAILED, reason.split(":", 1)[0])
    if progress == "paused":
        return Item(name, Status.RUNNING, reason)
    counts = f"{ws.updated}/{ws.desired} pods on {running_label}"
    if reason == WAITING_FOR_CONTROLLER:
        return Item(name, Status.RUNNING, reason)  # the counts still describe the old spec
    if progress == "progressing":
        return Item(name, Status.RUNNING, counts)
    return Item(name, Status.SUCCEEDED, counts)


def rollout_stage(
    env: str,
    items_and_states: list[tuple[Item, WorkloadState | None]],
    *,
    app_health: str | None = None,
    health_by: str = "the GitOps tool",
    note: str | None = None,
    first_seen: datetime | None = None,
    url: str | None = None,
) -> Stage:
    """The ``rollout`` stage of one environment from its workload items.

    A state may be None for a workload that could not be read (the item says why).
    ``app_health`` is the GitOps app's health as ``health_by`` reports it (Argo CD's
    ``health.status``; None when the tool reports none).
    ``note`` is appended to the detail, e.g. "following the synced revision: tag 'latest'
    names no commit". ``started_at`` (running / succeeded / failed only) is the earliest new
    ReplicaSet creation among workloads running the change, else ``first_seen``;
    ``finished_at`` (succeeded only) is the latest completion when every workload reports one.
    """
    if not items_and_states:
        detail = f"no workloads to follow in {env}"
        return Stage("rollout", Status.UNKNOWN, _join(detail, [note] if note else []), env)
    items = tuple(item for item, _ in items_and_states)
    status = worst([i.status for i in items]) or Status.UNKNOWN
    lead, lead_state = next((i, s) for i, s in items_and_states if i.status is status)
    detail = _item_detail(lead, lead_state)
    if len(items) > 1 and status is Status.SUCCEEDED:
        detail = f"all {len(items)} workloads rolled out"
        scaled = [i.name for i in items if is_scaled_to_zero(i)]
        if scaled:
            detail += f"; {', '.join(scaled)} {SCALED_TO_ZERO}"
    elif len(items) > 1 and lead.name not in detail:
        detail = f"{detail} ({lead.name})"
    if status in (Status.SUCCEEDED, Status.RUNNING):
        if app_health == "Degraded":
            status, detail = Status.FAILED, f"{health_by} reports the app Degraded; {detail}"
        elif app_health == "Suspended" and status is Status.SUCCEEDED:
            status, detail = Status.RUNNING, "suspended"
        elif app_health == "Progressing" and status is Status.SUCCEEDED:
            status, detail = Status.RUNNING, f"{health_by} reports the app Progressing; {detail}"

    moving = (Status.RUNNING, Status.SUCCEEDED, Status.FAILED)
    live = [s for i, s in items_and_states if s is not None and i.status in moving]
    starts = [s.started_at for s in live if s.started_at is not None]
    ends = [s.completed_at for s in live]
    finished = None
    if status is Status.SUCCEEDED and ends and all(e is not None for e in ends):
        finished = max(e for e in ends if e is not None)
    started = (min(starts) if starts else first_seen) if status in moving else None
    return Stage(
        "rollout",
        status,
        _join(detail, [note] if note else []),
        env,
        started,
        finished,
        url,
        items,
    )


def is_scaled_to_zero(item: Item) -> bool:
    """Whether a rollout item is a workload scaled to 0 (see :func:`rollout_item`)."""
    return (item.conclusion or "").startswith(SCALED_TO_ZERO)


def _item_detail(item: Item, ws: WorkloadState | None) -> str:
    fallback = item.conclusion or item.status.value
    if ws is None:
        return f"{item.name}: {fallback}"
    if item.status is Status.FAILED:
        if ws.pod_problems:
            pod, reason = ws.pod_problems[0]
            more = len(ws.pod_problems) - 1
            return f"pod {pod}: {reason}" + (f" (+{more} more pods)" if more > 0 else "")
        return rollout_progress(ws)[1]
    if item.status is Status.RUNNING:
        progress, reason = rollout_progress(ws)
        if progress == "paused" or reason == fallback or reason.endswith("new replicas updated"):
            return fallback  # the counts already say it
        return f"{fallback}; {reason}"
    if item.status is Status.PENDING:
        return f"{item.name} {fallback}"
    return fallback


# --- whole environments ----------------------------------------------------------------------


def unknown_env_stages(env: str, reason: str, *, has_sync: bool = True) -> list[Stage]:
    """``sync`` (when the environment has a GitOps object) and ``rollout``, both unknown."""
    ids = ["sync", "rollout"] if has_sync else ["rollout"]
    return [Stage(i, Status.UNKNOWN, reason, env) for i in ids]


def pending_env_stages(env: str, has_sync: bool, has_promote: bool, why: str) -> list[Stage]:
    """Every stage of an environment the change has not reached, e.g. "waiting for merge"."""
    return _env_stages(env, Status.PENDING, has_sync, has_promote, why)


def skipped_env_stages(env: str, has_sync: bool, has_promote: bool, why: str) -> list[Stage]:
    """Every stage of an environment that does not apply, e.g. "closed without merging"."""
    return _env_stages(env, Status.SKIPPED, has_sync, has_promote, why)


def _env_stages(
    env: str, status: Status, has_sync: bool, has_promote: bool, why: str
) -> list[Stage]:
    ids = [i for i, on in (("promote", has_promote), ("sync", has_sync), ("rollout", True)) if on]
    return [Stage(i, status, why, env) for i in ids]


# --- what a pending stage waits on -----------------------------------------------------------

_PATH = ("ci", "promote", "sync", "rollout")  # the path of one environment, after the merge
_WAIT_NAMES = {"ci": "CI", "promote": "promote", "sync": "the sync"}


def note_waits(stages: list[Stage]) -> list[Stage]:
    """``stages`` with each pending environment stage's detail starting with what it waits on
    (rules in the module docstring); nothing else changes."""
    merge = next((s for s in stages if s.id == "merge"), None)
    if merge is not None and merge.status is not Status.SUCCEEDED:
        return stages  # "waiting for the PR to be merged" / "not on the default branch"
    ci = [s for s in stages if s.id == "ci"]
    out = []
    for stage in stages:
        if stage.environment is None or stage.status is not Status.PENDING:
            out.append(stage)
            continue
        before = [
            s
            for s in stages
            if s.environment == stage.environment and _order(s.id) < _order(stage.id)
        ]
        wait = _waiting_for(sorted([*ci, *before], key=lambda s: _order(s.id)))
        out.append(replace(stage, detail=f"{wait}; {stage.detail}") if wait else stage)
    return out


def _order(stage_id: str) -> int:
    return _PATH.index(stage_id) if stage_id in _PATH else -1


def _waiting_for(path: list[Stage]) -> str | None:
    blocking: list[Stage] = []
    for stage in path:
        if stage.status in (Status.SUCCEEDED, Status.DRIFTED):
            blocking = []  # the change got past it: what came before no longer holds it up
        elif stage.status is Status.FAILED or stage.status is Status.RUNNING:
            blocking.append(stage)
        elif stage.status is Status.PENDING and stage.id != "ci":
            blocking.append(stage)  # a pending CI reported nothing: maybe there is none
    failed = next((s for s in blocking if s.status is Status.FAILED), None)
    if failed is not None:
        return f"waiting for {_WAIT_NAMES[failed.id]} (failed: {_failure(failed)})"
    if blocking:
        return f"waiting for {_WAIT_NAMES[blocking[0].id]}"
    return None


def _failure(stage: Stage) -> str:
    failed = [i.name for i in stage.items if i.status is Status.FAILED]
    if failed:
        more = len(failed) - 3
        return ", ".join(failed[:3]) + (f" +{more} more" if more > 0 else "")
    return stage.failure or stage.detail
