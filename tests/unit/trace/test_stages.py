"""The sync and rollout stage rules, table-driven."""

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from bot.gitops.flux import read_flux
from bot.gitops.state import GitOpsState
from bot.kube.workloads import WAITING_FOR_CONTROLLER, WorkloadState, read_workload
from bot.model import Item, Stage, Status
from bot.sandbox import REFERENCE
from bot.trace.stages import (
    note_waits,
    pending_env_stages,
    rollout_item,
    rollout_stage,
    skipped_env_stages,
    sync_stage,
    unknown_env_stages,
)

EXAMPLES = REFERENCE / "examples"
APPLIED = "9c1e2f0" + "a" * 33
NEWER = "5d6e7f8" + "b" * 33
OLD = "1a2b3c4" + "c" * 33
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 26, 10, 1, tzinfo=UTC)
SEEN = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)

ARGO = GitOpsState(
    tool="argocd",
    kind="Application",
    namespace="argocd",
    name="shop-prod",
    source_kind="Git",
    desired_commit=APPLIED,
    desired_revision=APPLIED,
    applied_commit=APPLIED,
    applied_revision=APPLIED,
    applied_at=T1,
    attempted_commit=APPLIED,
    attempted_revision=APPLIED,
    attempt="succeeded",
    attempt_message="successfully synced (all tasks run)",
    attempt_started_at=T0,
    attempt_finished_at=T1,
    in_sync=True,
    health="Healthy",
)
FLUX = replace(
    ARGO,
    tool="flux",
    kind="Kustomization",
    namespace="flux-system",
    name="shop",
    source_kind="GitRepository",
    attempt_message=None,
    attempt_started_at=None,
    health=None,
    ready=True,
    ready_reason="ReconciliationSucceeded",
)


def newer(state: GitOpsState, attempt: str, message: str | None = None) -> GitOpsState:
    return replace(
        state,
        desired_commit=NEWER,
        desired_revision=NEWER,
        attempted_commit=NEWER,
        attempted_revision=NEWER,
        attempt=attempt,  # type: ignore[arg-type]
        attempt_message=message,
        attempt_finished_at=None if attempt == "running" else T1,
    )


def behind(state: GitOpsState) -> GitOpsState:
    """Applied is an older revision that does not contain the change."""
    return replace(state, applied_commit=OLD, applied_revision=OLD)


# state, applied_contains, attempted_contains, desired_contains -> status, detail, start, end
SYNC_CASES = [
    pytest.param(
        ARGO, True, True, True,
        Status.SUCCEEDED, "Argo CD app shop-prod synced 9c1e2f0 (contains 3f2c1ab)", T0, T1,
        id="argo-synced",
    ),
    pytest.param(
        replace(ARGO, health="Degraded"), True, True, True,
        Status.SUCCEEDED, "Argo CD app shop-prod synced 9c1e2f0 (contains 3f2c1ab)", T0, T1,
        id="health-is-not-sync",
    ),
    pytest.param(
        replace(newer(ARGO, "running"), in_sync=False), True, True, True,
        Status.SUCCEEDED,
        "Argo CD app shop-prod synced 9c1e2f0 (contains 3f2c1ab); now syncing 5d6e7f8", T0, T1,
        id="newer-sync-running-explains-out-of-sync",
    ),
    pytest.param(
        newer(ARGO, "failed", "one or more objects failed to apply"), True, True, True,
        Status.SUCCEEDED,
        "Argo CD app shop-prod synced 9c1e2f0 (contains 3f2c1ab); "
        "5d6e7f8 failed: one or more objects failed to apply",
        T0, T1,
        id="newer-failed-change-still-live",
    ),
    pytest.param(
        replace(ARGO, in_sync=False, out_of_sync=("Deployment/shop/shop",)), True, None, True,
        Status.DRIFTED,
        "Argo CD app shop-prod synced 9c1e2f0 (contains 3f2c1ab) but reports OutOfSync: "
        "Deployment/shop/shop differ",
        T0, None,
        id="argo-drifted",
    ),
    pytest.param(
        replace(ARGO, in_sync=False, health="Healthy", out_of_sync=tuple(f"K/n/{i}" for i in range(5))),
        True, True, True,
        Status.DRIFTED,
        "Argo CD app shop-prod synced 9c1e2f0 (contains 3f2c1ab) but reports OutOfSync: "
        "K/n/0, K/n/1, K/n/2 +2 more differ",
        T0, None,
        id="healthy-but-out-of-sync-is-drift",
    ),
    pytest.param(
        replace(ARGO, in_sync=False, desired_commit=NEWER, desired_revision=NEWER), True, True, True,
        Status.DRIFTED,
        "Argo CD app shop-prod synced 9c1e2f0 (contains 3f2c1ab) but reports OutOfSync: "
        "5d6e7f8 is not synced yet",
        T0, None,
        id="newer-revision-waiting",
    ),
    pytest.param(
        behind(newer(ARGO, "running")), False, True, True,
        Status.RUNNING, "Argo CD app shop-prod syncing 5d6e7f8 (contains 3f2c1ab)", T0, None,
        id="argo-running",
    ),
    pytest.param(
        behind(newer(ARGO, "failed", "one or more objects failed to apply")), False, True, True,
        Status.FAILED,
        "Argo CD app shop-prod failed to sync 5d6e7f8 (contains 3f2c1ab): "
        "one or more objects failed to apply",
        T0, T1,
        id="argo-failed",
    ),
    pytest.param(
        behind(replace(ARGO, attempted_commit=OLD, attempted_revision=OLD)), False, False, None,
        Status.PENDING,
        "Argo CD app shop-prod synced 1a2b3c4, which does not contain 3f2c1ab yet", None, None,
        id="argo-pending",
    ),
    pytest.param(
        behind(replace(ARGO, attempted_commit=OLD, attempted_revision=OLD, in_sync=False,
                       desired_commit=NEWER, desired_revision=NEWER)),
        False, False, True,
        Status.PENDING,
        "Argo CD app shop-prod synced 1a2b3c4, which does not contain 3f2c1ab yet; "
        "5d6e7f8 contains it, not synced yet",
        None, None,
        id="pending-desired-contains",
    ),
    pytest.param(
        behind(replace(ARGO, attempted_commit=OLD, attempted_revision=OLD, desired_commit=OLD,
                       desired_revision=OLD)),
        False, False, False,
        Status.PENDING,
        "Argo CD app shop-prod synced 1a2b3c4, which does not contain 3f2c1ab yet", None, None,
        id="pending-source-not-promoted",
    ),
    pytest.param(
        behind(newer(ARGO, "failed", "boom")), False, False, False,
        Status.PENDING,
        "Argo CD app shop-prod synced 1a2b3c4, which does not contain 3f2c1ab yet; "
        "5d6e7f8 failed: boom; the source is at 5d6e7f8, which does not contain it yet",
        None, None,
        id="pending-behind-an-unrelated-failure",
    ),
    pytest.param(
        behind(newer(ARGO, "failed", "boom")), False, None, None,
        Status.PENDING,
        "Argo CD app shop-prod synced 1a2b3c4, which does not contain 3f2c1ab yet; "
        "5d6e7f8 failed: boom",
        None, None,
        id="failure-not-known-to-contain-it-is-not-its-failure",
    ),
    pytest.param(
        replace(newer(ARGO, "running"), applied_commit=None, applied_revision=None, applied_at=None),
        None, None, None,
        Status.PENDING, "Argo CD app shop-prod has synced nothing yet; syncing 5d6e7f8", None, None,
        id="nothing-applied-yet",
    ),
    pytest.param(
        ARGO, None, None, None,
        Status.UNKNOWN,
        "Argo CD app shop-prod synced 9c1e2f0, but whether it contains 3f2c1ab could not be "
        "checked",
        None, None,
        id="contains-not-checked",
    ),
    pytest.param(
        replace(ARGO, source_kind="Helm", applied_commit=None, applied_revision="1.4.0"),
        None, None, None,
        Status.UNKNOWN, "Argo CD app shop-prod synced 1.4.0, which names no commit", None, None,
        id="chart-version-names-no-commit",
    ),
    pytest.param(
        FLUX, True, True, True,
        Status.SUCCEEDED, "Flux Kustomization flux-system/shop applied 9c1e2f0 (contains 3f2c1ab)",
        SEEN, T1,
        id="flux-applied-first-seen-start",
    ),
    pytest.param(
        behind(replace(newer(FLUX, "running"), reconciling=True, attempt_started_at=T0)),
        False, True, True,
        Status.RUNNING,
        "Flux Kustomization flux-system/shop reconciling 5d6e7f8 (contains 3f2c1ab)", T0, None,
        id="flux-reconciling",
    ),
    pytest.param(
        behind(newer(FLUX, "failed", "kustomize build failed")), False, True, True,
        Status.FAILED,
        "Flux Kustomization flux-system/shop failed to apply 5d6e7f8 (contains 3f2c1ab): "
        "kustomize build failed",
        SEEN, T1,
        id="flux-failed",
    ),
    pytest.param(
        replace(FLUX, attempt="failed", in_sync=False, ready=False, ready_message="apply failed"),
        True, True, True,
        Status.DRIFTED,
        "Flux Kustomization flux-system/shop applied 9c1e2f0 (contains 3f2c1ab) but is not "
        "Ready: apply failed",
        SEEN, None,
        id="flux-no-longer-held",
    ),
    pytest.param(
        replace(FLUX, attempt="failed", attempt_message="health check timeout", ready=False),
        True, True, True,
        Status.SUCCEEDED,
        "Flux Kustomization flux-system/shop applied 9c1e2f0 (contains 3f2c1ab); "
        "the last reconcile failed: health check timeout",
        SEEN, T1,
        id="flux-health-check-belongs-to-rollout",
    ),
    pytest.param(
        behind(replace(FLUX, suspended=True, attempted_commit=OLD, attempted_revision=OLD)),
        False, False, True,
        Status.PENDING,
        "Flux Kustomization flux-system/shop applied 1a2b3c4, which does not contain 3f2c1ab "
        "yet; it is suspended; 9c1e2f0 contains it, not applied yet",
        None, None,
        id="flux-suspended",
    ),
    pytest.param(
        replace(FLUX, suspended=True), True, True, True,
        Status.SUCCEEDED,
        "Flux Kustomization flux-system/shop applied 9c1e2f0 (contains 3f2c1ab); suspended",
        SEEN, T1,
        id="flux-suspended-after-applying-it",
    ),
    pytest.param(
        behind(replace(newer(FLUX, "running"), reconciling=True, suspended=True)),
        False, True, True,
        Status.PENDING,
        "Flux Kustomization flux-system/shop applied 1a2b3c4, which does not contain 3f2c1ab "
        "yet; it is suspended; 5d6e7f8 contains it, not applied yet",
        None, None,
        id="a-suspended-object-reconciles-nothing",
    ),
    pytest.param(
        replace(behind(newer(FLUX, "failed", "kustomize build failed")), suspended=True),
        False, True, True,
        Status.FAILED,
        "Flux Kustomization flux-system/shop failed to apply 5d6e7f8 (contains 3f2c1ab): "
        "kustomize build failed; suspended",
        SEEN, T1,
        id="flux-failed-and-suspended",
    ),
    pytest.param(
        replace(FLUX, suspended=True, applied_commit=None, applied_revision="sha256:" + "e" * 64),
        None, None, None,
        Status.UNKNOWN,
        "Flux Kustomization flux-system/shop applied sha256:eeeeeeeeeeee, which names no commit; "
        "suspended",
        None, None,
        id="unknown-and-suspended",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("state", "applied", "attempted", "desired", "status", "detail", "start", "end"), SYNC_CASES
)
def test_sync_stage(
    state: GitOpsState,
    applied: bool | None,
    attempted: bool | None,
    desired: bool | None,
    status: Status,
    detail: str,
    start: datetime | None,
    end: datetime | None,
) -> None:
    stage = sync_stage(
        "production", state, applied, attempted, desired, short_sha="3f2c1ab", first_seen=SEEN
    )
    assert (stage.id, stage.environment, stage.status, stage.detail) == (
        "sync",
        "production",
        status,
        detail,
    )
    assert (stage.started_at, stage.finished_at) == (start, end)


def test_failed_sync_names_its_failure_for_the_stages_behind_it() -> None:
    state = behind(newer(ARGO, "failed", "one or more objects failed to apply"))
    stage = sync_stage("production", state, False, True, True, short_sha="3f2c1ab")
    assert (stage.status, stage.failure) == (Status.FAILED, "one or more objects failed to apply")
    assert sync_stage("production", ARGO, True, True, True, short_sha="3f2c1ab").failure is None


ROLLED_BACK = replace(
    behind(replace(ARGO, attempted_commit=OLD, attempted_revision=OLD, in_sync=False)),
    applied_at=T1.replace(minute=30),
)

# state, applied_contains, desired_contains, rolled_back_from -> status, detail
ROLLBACK_CASES = [
    pytest.param(
        ROLLED_BACK, False, True, APPLIED,
        Status.DRIFTED,
        "rolled back to 1a2b3c4 at 2026-11-26T10:30:00Z; Argo CD app shop-prod had synced "
        "9c1e2f0 (contains 3f2c1ab); 9c1e2f0 contains it, not synced yet",
        id="argo-rolled-back",
    ),
    pytest.param(
        replace(ROLLED_BACK, applied_at=None, desired_commit=OLD, desired_revision=OLD), False,
        False, APPLIED,
        Status.DRIFTED,
        "rolled back to 1a2b3c4; Argo CD app shop-prod had synced 9c1e2f0 (contains 3f2c1ab)",
        id="no-time-known",
    ),
    pytest.param(
        ROLLED_BACK, False, True, None,
        Status.PENDING,
        "Argo CD app shop-prod synced 1a2b3c4, which does not contain 3f2c1ab yet; "
        "9c1e2f0 contains it, not synced yet",
        id="never-synced-before-is-not-a-rollback",
    ),
    pytest.param(
        replace(ROLLED_BACK, attempt="running", attempted_commit=NEWER, attempted_revision=NEWER),
        False, True, APPLIED,
        Status.RUNNING,
        "Argo CD app shop-prod syncing 5d6e7f8 (contains 3f2c1ab)",
        id="syncing-forward-again",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("state", "applied", "desired", "rolled_back_from", "status", "detail"), ROLLBACK_CASES
)
def test_sync_stage_after_a_rollback(
    state: GitOpsState,
    applied: bool,
    desired: bool,
    rolled_back_from: str | None,
    status: Status,
    detail: str,
) -> None:
    attempted = True if state.attempted_commit == NEWER else applied
    stage = sync_stage(
        "production",
        state,
        applied,
        attempted,
        desired,
        short_sha="3f2c1ab",
        rolled_back_from=rolled_back_from,
    )
    assert (stage.status, stage.detail) == (status, detail)
    assert stage.started_at is None or status is not Status.PENDING


def test_sync_stage_from_real_flux_objects() -> None:
    docs = [d for d in yaml.safe_load_all((EXAMPLES / "flux-kustomization-ready.yaml").read_text())]
    kustomization = next(d for d in docs if d and d["kind"] == "Kustomization")
    state = read_flux(kustomization, None, "example/repo")
    stage = sync_stage("prod", state, True, True, None, short_sha="696f056", url="https://x")
    assert stage == Stage(
        id="sync",
        status=Status.SUCCEEDED,
        detail="Flux Kustomization flux-system/podinfo applied 696f056 (contains 696f056)",
        environment="prod",
        started_at=None,
        finished_at=datetime(2021, 8, 1, 4, 52, 56, tzinfo=UTC),
        url="https://x",
    )


# --- rollout ---------------------------------------------------------------------------------

DONE = WorkloadState(
    kind="Deployment",
    namespace="shop",
    name="shop",
    generation=4,
    observed_generation=4,
    desired=3,
    replicas=3,
    updated=3,
    ready=3,
    available=3,
    started_at=T0,
    completed_at=T1,
)
ROLLING = replace(DONE, updated=2, replicas=4, available=2, completed_at=None)
TERMINATING = replace(DONE, replicas=4, completed_at=None)
CANARY = replace(
    DONE, kind="Rollout", paused=True, paused_step=(2, 5), updated=1, replicas=4, new_revision="n"
)
DEADLINE = replace(
    ROLLING,
    progress_deadline_exceeded=True,
    progressing_message='ReplicaSet "shop-7d9" has timed out progressing.',
)
CRASHING = replace(DONE, pod_problems=(("shop-7d9-abc", "CrashLoopBackOff"),))
ABORTED = replace(CANARY, paused=False, aborted=True, message="metric failed")
STALE = replace(DONE, observed_generation=3)
SCALED = replace(DONE, desired=0, replicas=0, updated=0, ready=0, available=0)

NO_TIMES = (None, None)
ITEM_CASES = [
    pytest.param(DONE, True, Status.SUCCEEDED, "3/3 pods on sha-3f2c1ab", (T0, T1), id="complete"),
    pytest.param(ROLLING, True, Status.RUNNING, "2/3 pods on sha-3f2c1ab", (T0, None), id="progressing"),
    pytest.param(STALE, True, Status.RUNNING, WAITING_FOR_CONTROLLER, (T0, None), id="spec-not-observed"),
    pytest.param(CANARY, True, Status.RUNNING, "paused at step 2/5", (T0, None), id="paused"),
    pytest.param(DEADLINE, True, Status.FAILED, "ProgressDeadlineExceeded", (T0, None), id="deadline"),
    pytest.param(CRASHING, True, Status.FAILED, "CrashLoopBackOff", (T0, None), id="pod-problem"),
    pytest.param(ABORTED, True, Status.FAILED, "aborted", (T0, None), id="aborted"),
    pytest.param(
        DONE, False, Status.PENDING, "runs sha-3f2c1ab, which does not contain it", NO_TIMES, id="not-yet"
    ),
    pytest.param(
        CRASHING, False, Status.PENDING, "runs sha-3f2c1ab, which does not contain it", NO_TIMES,
        id="problems-of-another-version-are-not-this-changes",
    ),
    pytest.param(
        ROLLING, False, Status.PENDING, "rolling out sha-3f2c1ab, which does not contain it", NO_TIMES,
        id="rolling-out-another",
    ),
    pytest.param(
        DONE, None, Status.UNKNOWN, "cannot tell whether sha-3f2c1ab contains it", NO_TIMES, id="unknown"
    ),
    pytest.param(SCALED, True, Status.SUCCEEDED, "scaled to 0 (sha-3f2c1ab)", (T0, T1), id="scaled-to-0"),
    pytest.param(
        SCALED, False, Status.PENDING, "scaled to 0 (sha-3f2c1ab, which does not contain it)", NO_TIMES,
        id="scaled-to-0-on-another-version",
    ),
    pytest.param(
        replace(SCALED, replicas=2), True, Status.RUNNING, "0/0 pods on sha-3f2c1ab", (T0, None),
        id="scaling-down",
    ),
    pytest.param(
        replace(SCALED, kind="DaemonSet"), True, Status.SUCCEEDED, "0/0 pods on sha-3f2c1ab", (T0, T1),
        id="a-daemonset-on-no-node-is-not-scaled",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("ws", "contains", "status", "conclusion", "times"), ITEM_CASES)
def test_rollout_item(
    ws: WorkloadState,
    contains: bool | None,
    status: Status,
    conclusion: str,
    times: tuple[datetime | None, datetime | None],
) -> None:
    # Times only for a workload rolling out the change: from its new ReplicaSet to complete.
    assert rollout_item(ws, contains, "sha-3f2c1ab") == Item(
        f"{ws.kind} shop/shop",
        status,
        conclusion,
        started_at=times[0],
        finished_at=times[1],
    )


def pair(ws: WorkloadState, contains: bool | None = True, name: str = "shop") -> Any:
    ws = replace(ws, name=name)
    return (rollout_item(ws, contains, "sha-3f2c1ab"), ws)


# pairs, app_health -> status, detail, started, finished
STAGE_CASES = [
    pytest.param([pair(DONE)], None, Status.SUCCEEDED, "3/3 pods on sha-3f2c1ab", T0, T1, id="done"),
    pytest.param([pair(ROLLING)], None, Status.RUNNING, "2/3 pods on sha-3f2c1ab", T0, None,
                 id="rolling"),
    pytest.param(
        [pair(TERMINATING)], None,
        Status.RUNNING, "3/3 pods on sha-3f2c1ab; 1 old replica pending termination", T0, None,
        id="old-pods-terminating",
    ),
    pytest.param([pair(CANARY)], None, Status.RUNNING, "paused at step 2/5", T0, None,
                 id="paused-at-step"),
    pytest.param(
        [pair(DEADLINE)], None,
        Status.FAILED, 'ProgressDeadlineExceeded: ReplicaSet "shop-7d9" has timed out progressing.',
        T0, None,
        id="deadline",
    ),
    pytest.param([pair(CRASHING)], None, Status.FAILED, "pod shop-7d9-abc: CrashLoopBackOff", T0,
                 None, id="crashloop"),
    pytest.param(
        [pair(DONE), pair(ROLLING, name="worker"), pair(CRASHING, name="api")], None,
        Status.FAILED, "pod shop-7d9-abc: CrashLoopBackOff (Deployment shop/api)", T0, None,
        id="worst-is-failed",
    ),
    pytest.param(
        [pair(DONE), pair(DONE, None, name="worker")], None,
        Status.UNKNOWN,
        "cannot tell whether sha-3f2c1ab contains it (Deployment shop/worker)", None, None,
        id="unknown-beats-succeeded",
    ),
    pytest.param(
        [pair(DONE, False), pair(ROLLING, name="worker")], None,
        Status.RUNNING, "2/3 pods on sha-3f2c1ab (Deployment shop/worker)", T0, None,
        id="running-beats-pending",
    ),
    pytest.param(
        [pair(DONE), pair(DONE, False, name="worker")], None,
        Status.PENDING,
        "Deployment shop/worker runs sha-3f2c1ab, which does not contain it", None, None,
        id="pending-beats-succeeded",
    ),
    pytest.param(
        [pair(DONE), pair(replace(DONE, completed_at=T1.replace(minute=5)), name="worker")], None,
        Status.SUCCEEDED, "all 2 workloads rolled out", T0, T1.replace(minute=5),
        id="all-done-latest-completion",
    ),
    pytest.param(
        [pair(DONE), pair(replace(DONE, completed_at=None), name="worker")], None,
        Status.SUCCEEDED, "all 2 workloads rolled out", T0, None,
        id="completion-unknown-for-one",
    ),
    pytest.param(
        [pair(DONE)], "Degraded",
        Status.FAILED, "Argo CD reports the app Degraded; 3/3 pods on sha-3f2c1ab", T0, None,
        id="argo-degraded",
    ),
    pytest.param(
        [pair(DONE, False)], "Degraded",
        Status.PENDING, "Deployment shop/shop runs sha-3f2c1ab, which does not contain it", None,
        None, id="degraded-before-the-change-arrives-is-not-its-failure",
    ),
    pytest.param([pair(DONE)], "Suspended", Status.RUNNING, "suspended", T0, None,
                 id="argo-suspended"),
    pytest.param([pair(CANARY)], "Suspended", Status.RUNNING, "paused at step 2/5", T0, None,
                 id="suspended-paused-keeps-step"),
    pytest.param(
        [pair(DONE)], "Progressing",
        Status.RUNNING, "Argo CD reports the app Progressing; 3/3 pods on sha-3f2c1ab", T0, None,
        id="argo-progressing",
    ),
    pytest.param([pair(ROLLING)], "Healthy", Status.RUNNING, "2/3 pods on sha-3f2c1ab", T0, None,
                 id="workloads-decide-over-healthy"),
    pytest.param(
        [(Item("Deployment shop/shop", Status.UNKNOWN, "not found"), None)], None,
        Status.UNKNOWN, "Deployment shop/shop: not found", None, None,
        id="unreadable-workload",
    ),
    pytest.param([pair(replace(DONE, started_at=None))], None, Status.SUCCEEDED,
                 "3/3 pods on sha-3f2c1ab", SEEN, T1, id="first-seen-when-no-replicaset"),
    pytest.param([], None, Status.UNKNOWN, "no workloads to follow in production", None, None,
                 id="no-workloads"),
    pytest.param([pair(SCALED)], None, Status.SUCCEEDED, "scaled to 0 (sha-3f2c1ab)", T0, T1,
                 id="scaled-to-0"),
    pytest.param(
        [pair(DONE), pair(SCALED, name="worker")], None,
        Status.SUCCEEDED, "all 2 workloads rolled out; Deployment shop/worker scaled to 0", T0, T1,
        id="one-of-two-scaled-to-0",
    ),
    pytest.param(
        [pair(SCALED, False)], None,
        Status.PENDING, "Deployment shop/shop scaled to 0 (sha-3f2c1ab, which does not contain it)",
        None, None,
        id="scaled-to-0-on-another-version",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("pairs", "health", "status", "detail", "start", "end"), STAGE_CASES)
def test_rollout_stage(
    pairs: list[tuple[Item, WorkloadState | None]],
    health: str | None,
    status: Status,
    detail: str,
    start: datetime | None,
    end: datetime | None,
) -> None:
    stage = rollout_stage(
        "production", pairs, app_health=health, health_by="Argo CD", first_seen=SEEN
    )
    assert (stage.id, stage.environment, stage.status, stage.detail) == (
        "rollout",
        "production",
        status,
        detail,
    )
    assert (stage.started_at, stage.finished_at) == (start, end)
    assert stage.items == tuple(i for i, _ in pairs)


def test_rollout_stage_note_and_real_deployment() -> None:
    docs = yaml.safe_load_all((EXAMPLES / "deployment-rollout-in-progress.yaml").read_text())
    ws = read_workload(next(d for d in docs if d), [], [])
    item = rollout_item(ws, True, "0.3")
    stage = rollout_stage("staging", [(item, ws)], note="tag 0.3 names no commit: following sync")
    assert (stage.status, stage.detail) == (
        Status.RUNNING,
        "1/1 pods on 0.3; 1 old replica pending termination; "
        "tag 0.3 names no commit: following sync",
    )


# --- whole environments ----------------------------------------------------------------------


def ids(stages: list[Stage]) -> list[tuple[str, Status, str, str | None]]:
    return [(s.id, s.status, s.detail, s.environment) for s in stages]


@pytest.mark.parametrize(
    ("stages", "expected"),
    [
        pytest.param(
            unknown_env_stages("prod", "could not read kubernetes: context prod missing"),
            [
                ("sync", Status.UNKNOWN, "could not read kubernetes: context prod missing", "prod"),
                (
                    "rollout",
                    Status.UNKNOWN,
                    "could not read kubernetes: context prod missing",
                    "prod",
                ),
            ],
            id="unknown",
        ),
        pytest.param(
            unknown_env_stages("edge", "no access", has_sync=False),
            [("rollout", Status.UNKNOWN, "no access", "edge")],
            id="unknown-no-gitops",
        ),
        pytest.param(
            pending_env_stages("prod", True, True, "waiting for merge"),
            [
                ("promote", Status.PENDING, "waiting for merge", "prod"),
                ("sync", Status.PENDING, "waiting for merge", "prod"),
                ("rollout", Status.PENDING, "waiting for merge", "prod"),
            ],
            id="pending-all",
        ),
        pytest.param(
            pending_env_stages("staging", True, False, "waiting for merge"),
            [
                ("sync", Status.PENDING, "waiting for merge", "staging"),
                ("rollout", Status.PENDING, "waiting for merge", "staging"),
            ],
            id="pending-same-repo",
        ),
        pytest.param(
            skipped_env_stages("edge", False, False, "closed without merging"),
            [("rollout", Status.SKIPPED, "closed without merging", "edge")],
            id="skipped-no-gitops",
        ),
    ],
)
def test_env_stages(stages: list[Stage], expected: list[tuple[str, Status, str, str]]) -> None:
    assert ids(stages) == expected


# --- what a pending stage waits on -----------------------------------------------------------


def st(
    id_: str,
    status: Status,
    env: str | None = "prod",
    detail: str = "...",
    failure: str | None = None,
    items: tuple[Item, ...] = (),
) -> Stage:
    return Stage(id_, status, detail, env, items=items, failure=failure)


MERGED = st("merge", Status.SUCCEEDED, None, "merged as 3f2c1ab")
CI_OK = st("ci", Status.SUCCEEDED, None, "all 2 checks passed")
CI_FAILED = st(
    "ci",
    Status.FAILED,
    None,
    "1 of 2 checks failed: test",
    items=(Item("test", Status.FAILED, "failure"), Item("lint", Status.SUCCEEDED, "success")),
)
CI_RUNNING = st("ci", Status.RUNNING, None, "1 of 2 checks running")
SYNC_FAILED = st("sync", Status.FAILED, detail="failed to sync", failure="boom")
P = Status.PENDING


def waits_of(stages: list[Stage]) -> list[str]:
    """The details of the environment stages, after :func:`note_waits`."""
    return [s.detail for s in note_waits(stages) if s.environment is not None]


# stages -> details of the environment stages after note_waits
WAIT_CASES = [
    pytest.param(
        [MERGED, CI_FAILED, st("promote", P, detail="no commit"), st("sync", P), st("rollout", P)],
        ["waiting for CI (failed: test); no commit", "waiting for CI (failed: test); ...",
         "waiting for CI (failed: test); ..."],
        id="behind-failed-ci",
    ),
    pytest.param(
        [MERGED, replace(CI_FAILED, items=tuple(Item(f"t{i}", Status.FAILED) for i in range(5))),
         st("rollout", P)],
        ["waiting for CI (failed: t0, t1, t2 +2 more); ..."],
        id="many-failed-checks",
    ),
    pytest.param(
        [MERGED, CI_RUNNING, st("sync", P), st("rollout", P)],
        ["waiting for CI; ...", "waiting for CI; ..."],
        id="behind-running-ci",
    ),
    pytest.param(
        [MERGED, st("ci", P, None, "no CI reported yet"), st("sync", P), st("rollout", P)],
        ["...", "waiting for the sync; ..."],
        id="no-ci-reported-is-not-waited-for",
    ),
    pytest.param(
        [MERGED, CI_OK, SYNC_FAILED, st("rollout", P, detail="Deployment shop/shop runs x")],
        ["failed to sync", "waiting for the sync (failed: boom); Deployment shop/shop runs x"],
        id="behind-failed-sync",
    ),
    pytest.param(
        [MERGED, CI_OK, st("sync", Status.RUNNING), st("rollout", P)],
        ["...", "waiting for the sync; ..."],
        id="behind-running-sync",
    ),
    pytest.param(
        [MERGED, CI_OK, st("promote", P), st("sync", P), st("rollout", P)],
        ["...", "waiting for promote; ...", "waiting for promote; ..."],
        id="behind-promote",
    ),
    pytest.param(
        [MERGED, CI_FAILED, st("promote", Status.SUCCEEDED), st("sync", P), st("rollout", P)],
        ["...", "...", "waiting for the sync; ..."],
        id="promoted-anyway-ci-no-longer-blocks",
    ),
    pytest.param(
        [MERGED, CI_FAILED, st("sync", Status.SUCCEEDED), st("rollout", P)],
        ["...", "..."],
        id="synced-anyway",
    ),
    pytest.param(
        [MERGED, CI_FAILED, st("sync", Status.DRIFTED), st("rollout", P)],
        ["...", "..."],
        id="a-drifted-sync-got-there",
    ),
    pytest.param(
        [MERGED, CI_FAILED, SYNC_FAILED, st("rollout", P)],
        ["failed to sync", "waiting for CI (failed: test); ..."],
        id="the-first-failure-is-named",
    ),
    pytest.param(
        [MERGED, CI_OK, st("sync", Status.UNKNOWN), st("rollout", P)],
        ["...", "..."],
        id="unknown-claims-nothing",
    ),
    pytest.param(
        [MERGED, CI_OK, st("sync", P, "staging"), st("rollout", P, "staging"), st("sync", P),
         st("rollout", Status.RUNNING)],
        ["...", "waiting for the sync; ...", "...", "..."],
        id="only-pending-stages-of-the-same-environment",
    ),
    pytest.param(
        [st("merge", P, None, "open"), CI_FAILED, st("sync", P, detail="waiting for the PR"),
         st("rollout", P, detail="waiting for the PR")],
        ["waiting for the PR", "waiting for the PR"],
        id="open-pr-waits-for-its-merge",
    ),
    pytest.param(
        [MERGED, CI_FAILED, st("rollout", P, "edge")],
        ["waiting for CI (failed: test); ..."],
        id="no-gitops-object",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("stages", "details"), WAIT_CASES)
def test_note_waits(stages: list[Stage], details: list[str]) -> None:
    assert waits_of(stages) == details
    statuses = [s.status for s in note_waits(stages)]
    assert statuses == [s.status for s in stages]  # only details change
