"""Normalise a workload and decide how far its rollout got. Pure.

:func:`read_workload` reads an apps/v1 Deployment, StatefulSet, DaemonSet or an Argo Rollouts
Rollout together with the ReplicaSets and Pods listed in its namespace (lists may be
unfiltered: ownership is checked here, by ``ownerReferences`` when present, else by labels).

- The NEW ReplicaSet / revision: Deployment -> the owned RS with the highest
  ``deployment.kubernetes.io/revision``; Rollout -> the owned RS whose
  ``rollouts-pod-template-hash`` is ``status.currentPodHash``; StatefulSet ->
  ``status.updateRevision`` (pods labelled ``controller-revision-hash``); DaemonSet -> pods
  labelled ``pod-template-generation`` = the ``deprecated.daemonset.template.generation``
  annotation (all its pods when that is missing).
- ``started_at`` is the new ReplicaSet's creation time (StatefulSet: the ControllerRevision
  named ``updateRevision`` when passed in ``replicasets``, else its first pod's creation;
  DaemonSet: None, Kubernetes records no start).
- ``pod_problems`` / ``restarts`` cover the new pods only: waiting reasons
  ``CrashLoopBackOff``, ``ImagePullBackOff``, ``ErrImagePull``, ``CreateContainerConfigError``,
  ``InvalidImageName``; ``OOMKilled`` while the container is down for it (terminated, or
  waiting after it); or phase ``Failed`` (its reason, e.g. ``Evicted``).
- ``paused_step`` (Rollout, only when paused): ``(currentStepIndex + 1, len(canary.steps))``,
  i.e. 1-based, for "paused at step 2/5".
- ``completed_at``: the ``Progressing`` condition's ``lastUpdateTime`` when its reason is
  ``NewReplicaSetAvailable`` (Deployment, Rollout); otherwise None.

:func:`rollout_progress` follows ``kubectl rollout status``, checked in this order:

1. ``observedGeneration`` < ``generation`` -> progressing ("waiting for the controller to
   observe the new spec"); a Rollout's legacy hash-valued ``observedGeneration`` is skipped;
2. aborted (Rollout) -> failed; ``ProgressDeadlineExceeded`` -> failed; Rollout phase
   ``Degraded`` -> failed;
3. updated < desired, ready < desired (StatefulSet), old replicas still present
   (replicas > updated), available < updated -> progressing — unless paused, then paused;
4. StatefulSet: partition reached -> complete; ``currentRevision`` != ``updateRevision`` ->
   progressing. Rollout: ``currentPodHash`` != ``stableRS`` -> progressing (or paused);
5. otherwise complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bot.timefmt import parse_time

Obj = dict[str, Any]
Progress = Literal["complete", "progressing", "failed", "paused"]

POD_PROBLEMS = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "CreateContainerConfigError",
        "InvalidImageName",
    }
)
WAITING_FOR_CONTROLLER = "waiting for the controller to observe the new spec"
_DEPLOY_REVISION = "deployment.kubernetes.io/revision"
_DS_TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"


@dataclass(frozen=True)
class WorkloadState:
    kind: str
    namespace: str
    name: str
    generation: int | None = None
    observed_generation: int | None = None
    desired: int = 1
    replicas: int = 0  # every pod the controller counts, old and new
    updated: int = 0
    ready: int = 0
    available: int = 0
    images: tuple[str, ...] = ()
    paused: bool = False
    paused_step: tuple[int, int] | None = None  # Rollout: (1-based step, steps), when paused
    progress_deadline_exceeded: bool = False
    progressing_message: str | None = None
    aborted: bool = False
    started_at: datetime | None = None
    pod_problems: tuple[tuple[str, str], ...] = ()  # (pod name, reason), new pods only
    restarts: int = 0  # container restarts of the new pods
    strategy: str | None = None  # RollingUpdate, Recreate, OnDelete, Canary, BlueGreen
    new_revision: str | None = None  # pod-template hash / updateRevision / template generation
    current_revision: str | None = None  # StatefulSet currentRevision, Rollout stableRS
    partition: int | None = None  # StatefulSet rollingUpdate.partition
    phase: str | None = None  # Rollout status.phase
    message: str | None = None  # Rollout status.message
    completed_at: datetime | None = None

    @property
    def display_name(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"

    @property
    def scaled_to_zero(self) -> bool:
        """Asked for 0 replicas (a DaemonSet's 0 is "no node to run on", not a choice)."""
        return self.kind != "DaemonSet" and self.desired == 0


def read_workload(obj: Obj, replicasets: list[Obj], pods: list[Obj]) -> WorkloadState:
    """Normalise one workload; ``replicasets`` may hold ControllerRevisions for a StatefulSet."""
    kind = str(obj.get("kind") or "")
    meta, spec, status = _part(obj, "metadata"), _part(obj, "spec"), _part(obj, "status")
    namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    generation = _int(meta.get("generation"))
    conditions = {c.get("type"): c for c in status.get("conditions") or [] if isinstance(c, dict)}
    progressing = conditions.get("Progressing") or {}
    template = _part(_part(spec, "template"), "spec")
    images = tuple(str(c.get("image")) for c in template.get("containers") or [] if c.get("image"))
    mine = [p for p in pods if _in(p, namespace) and _owned(p, obj, _POD_OWNER.get(kind, kind))]

    strategy_obj = _part(
        spec, "strategy" if kind in ("Deployment", "Rollout") else "updateStrategy"
    )
    strategy = str(strategy_obj.get("type") or "") or None
    new_rev: str | None = None
    current_rev: str | None = None
    partition: int | None = None
    paused_step: tuple[int, int] | None = None
    started_at: datetime | None = None
    new_pods: list[Obj]
    counts = (
        _int(status.get("replicas")) or 0,
        _int(status.get("updatedReplicas")) or 0,
        _int(status.get("readyReplicas")) or 0,
        _int(status.get("availableReplicas")) or 0,
    )
    desired = _int(spec.get("replicas"))
    desired = 1 if desired is None else desired
    paused = bool(spec.get("paused"))

    if kind == "Deployment":
        owned = [rs for rs in replicasets if _in(rs, namespace) and _owned(rs, obj, kind)]
        new_rs = max(owned, key=_deploy_revision, default=None)
        if new_rs is not None and _deploy_revision(new_rs) < 0:
            new_rs = None  # no revision annotations: which one is new is not known
        new_rev = _label(new_rs, "pod-template-hash") if new_rs else None
        started_at = parse_time(_part(new_rs or {}, "metadata").get("creationTimestamp"))
        new_pods = _pods_of_rs(mine, new_rs, "pod-template-hash")
    elif kind == "Rollout":
        new_rev, current_rev = status.get("currentPodHash"), status.get("stableRS")
        new_rs = next(
            (
                rs
                for rs in replicasets
                if _in(rs, namespace)
                and _owned(rs, obj, kind)
                and new_rev
                and _label(rs, "rollouts-pod-template-hash") == new_rev
            ),
            None,
        )
        started_at = parse_time(_part(new_rs or {}, "metadata").get("creationTimestamp"))
        new_pods = (
            _pods_of_rs(mine, new_rs, "rollouts-pod-template-hash")
            if new_rs
            else [p for p in mine if new_rev and _label(p, "rollouts-pod-template-hash") == new_rev]
        )
        strategy_obj = _part(spec, "strategy")
        strategy = "Canary" if "canary" in strategy_obj else "BlueGreen" if strategy_obj else None
        paused = paused or bool(status.get("controllerPause") or status.get("pauseConditions"))
        steps = _part(strategy_obj, "canary").get("steps") or []
        index = _int(status.get("currentStepIndex"))
        if paused and steps and index is not None:
            paused_step = (min(index + 1, len(steps)), len(steps))
    elif kind == "StatefulSet":
        new_rev, current_rev = status.get("updateRevision"), status.get("currentRevision")
        partition = _int(_part(strategy_obj, "rollingUpdate").get("partition"))
        new_pods = [p for p in mine if new_rev and _label(p, "controller-revision-hash") == new_rev]
        revision = next(
            (r for r in replicasets if new_rev and _name(r) == new_rev and _in(r, namespace)), None
        )
        started_at = parse_time(_part(revision or {}, "metadata").get("creationTimestamp"))
        started_at = started_at or min(
            (
                t
                for p in new_pods
                if (t := parse_time(_part(p, "metadata").get("creationTimestamp")))
            ),
            default=None,
        )
    else:  # DaemonSet
        desired = _int(status.get("desiredNumberScheduled")) or 0
        counts = (
            _int(status.get("currentNumberScheduled")) or 0,
            _int(status.get("updatedNumberScheduled")) or 0,
            _int(status.get("numberReady")) or 0,
            _int(status.get("numberAvailable")) or 0,
        )
        # The DaemonSet controller labels pods with the template generation it keeps in this
        # annotation (it moves only when the template changes, unlike metadata.generation).
        new_rev = (meta.get("annotations") or {}).get(_DS_TEMPLATE_GENERATION)
        new_rev = None if new_rev is None else str(new_rev)
        # Without it the new pods are not known: keep them all, a problem is a problem.
        new_pods = [
            p for p in mine if new_rev is None or _label(p, "pod-template-generation") == new_rev
        ]

    completed = progressing.get("reason") == "NewReplicaSetAvailable"
    return WorkloadState(
        kind=kind,
        namespace=namespace,
        name=name,
        generation=generation,
        observed_generation=_int(status.get("observedGeneration")),
        desired=desired,
        replicas=counts[0],
        updated=counts[1],
        ready=counts[2],
        available=counts[3],
        images=images,
        paused=paused,
        paused_step=paused_step,
        progress_deadline_exceeded=progressing.get("reason") == "ProgressDeadlineExceeded",
        progressing_message=progressing.get("message"),
        aborted=bool(status.get("abort")),
        started_at=started_at,
        pod_problems=tuple(
            (_name(p) or "?", reason) for p in new_pods if (reason := _pod_problem(p))
        ),
        restarts=sum(_restarts(p) for p in new_pods),
        strategy=strategy,
        new_revision=new_rev,
        current_revision=current_rev,
        partition=partition,
        phase=status.get("phase"),
        message=status.get("message"),
        completed_at=parse_time(
            progressing.get("lastUpdateTime") or progressing.get("lastTransitionTime")
        )
        if completed
        else None,
    )


def rollout_progress(ws: WorkloadState) -> tuple[Progress, str]:
    """How far the rollout got, and why (see the module docstring for the order)."""
    if (
        ws.generation is not None
        and ws.observed_generation is not None
        and ws.observed_generation < ws.generation
    ) or (ws.observed_generation is None and ws.kind != "Rollout"):
        return "progressing", WAITING_FOR_CONTROLLER
    if ws.aborted:
        return "failed", "aborted" + (f": {ws.message}" if ws.message else "")
    if ws.progress_deadline_exceeded:
        return "failed", f"ProgressDeadlineExceeded: {ws.progressing_message or 'no progress'}"
    if ws.phase == "Degraded":
        return "failed", "Degraded" + (f": {ws.message}" if ws.message else "")
    waiting = _waiting(ws)
    if waiting is None and ws.kind == "Rollout" and ws.current_revision != ws.new_revision:
        waiting = "waiting for the new version to be promoted to stable"
    if waiting is None:
        return "complete", "successfully rolled out"
    if ws.paused:
        return "paused", _paused_text(ws)
    return "progressing", waiting


def _waiting(ws: WorkloadState) -> str | None:
    if ws.kind == "StatefulSet":
        if ws.ready < ws.desired:
            return f"{ws.ready} of {ws.desired} pods ready"
        if ws.partition:
            target = ws.desired - ws.partition
            if ws.updated < target:
                return f"partitioned roll out: {ws.updated} of {target} new pods updated"
            return None
        if ws.new_revision and ws.current_revision != ws.new_revision:
            return f"{ws.updated} of {ws.desired} pods at revision {ws.new_revision}"
        return None
    if ws.updated < ws.desired:
        return f"{ws.updated} of {ws.desired} new replicas updated"
    if ws.kind != "DaemonSet" and ws.replicas > ws.updated:
        old = ws.replicas - ws.updated
        return f"{old} old replica{'s' if old != 1 else ''} pending termination"
    if ws.kind == "DaemonSet" and ws.available < ws.desired:
        return f"{ws.available} of {ws.desired} updated pods available"
    if ws.kind != "DaemonSet" and ws.available < ws.updated:
        return f"{ws.available} of {ws.updated} updated replicas available"
    return None


def _paused_text(ws: WorkloadState) -> str:
    if ws.paused_step:
        return f"paused at step {ws.paused_step[0]}/{ws.paused_step[1]}"
    return "paused"


def _pod_problem(pod: Obj) -> str | None:
    status = _part(pod, "status")
    oom = False
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        state = _part(cs, "state")
        waiting = _part(state, "waiting").get("reason")
        last = _part(_part(cs, "lastState"), "terminated").get("reason")
        if waiting in POD_PROBLEMS:
            return f"{waiting} (OOMKilled)" if last == "OOMKilled" else str(waiting)
        # An OOM kill counts while the container is down for it, not once it runs again.
        now = _part(state, "terminated").get("reason")
        oom = oom or now == "OOMKilled" or (waiting is not None and last == "OOMKilled")
    if oom:
        return "OOMKilled"
    if status.get("phase") == "Failed":
        return str(status.get("reason") or "Failed")
    return None


def _restarts(pod: Obj) -> int:
    status = _part(pod, "status")
    statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    return sum(_int(cs.get("restartCount")) or 0 for cs in statuses)


# Pods of a Deployment / Rollout are owned by a ReplicaSet, the others by the workload.
_POD_OWNER = {"Deployment": "ReplicaSet", "Rollout": "ReplicaSet"}


def _owned(child: Obj, owner: Obj, owner_kind: str) -> bool:
    refs = _part(child, "metadata").get("ownerReferences") or []
    if not refs:
        return True  # unknown owner: judged by labels / hashes by the caller
    uid = _part(owner, "metadata").get("uid")
    for ref in refs:
        if ref.get("kind") != owner_kind:
            continue
        if owner_kind == "ReplicaSet":
            return True  # which ReplicaSet is matched by name / hash afterwards
        if uid and ref.get("uid"):
            if ref.get("uid") == uid:
                return True
        elif ref.get("name") == _name(owner):
            return True
    return False


def _pods_of_rs(pods: list[Obj], rs: Obj | None, hash_label: str) -> list[Obj]:
    if rs is None:
        return []
    rs_name, rs_hash = _name(rs), _label(rs, hash_label)
    out = []
    for p in pods:
        refs = _part(p, "metadata").get("ownerReferences") or []
        if refs:
            if any(r.get("kind") == "ReplicaSet" and r.get("name") == rs_name for r in refs):
                out.append(p)
        elif rs_hash and _label(p, hash_label) == rs_hash:
            out.append(p)
    return out


def _deploy_revision(rs: Obj) -> int:
    value = _int((_part(rs, "metadata").get("annotations") or {}).get(_DEPLOY_REVISION))
    return -1 if value is None else value


def _label(obj: Obj | None, key: str) -> str | None:
    labels = _part(obj or {}, "metadata").get("labels") or {}
    value = labels.get(key)
    return None if value is None else str(value)


def _name(obj: Obj) -> str | None:
    value = _part(obj, "metadata").get("name")
    return None if value is None else str(value)


def _in(obj: Obj, namespace: str) -> bool:
    ns = _part(obj, "metadata").get("namespace")
    return ns is None or ns == namespace


def _int(value: object) -> int | None:
    # Rollout's observedGeneration is a string (a hash in very old Rollouts).
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _part(obj: Obj, key: str) -> Obj:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}
