"""What counts as drift in one GitOps object or one workload. Pure.

Each rule reads an object already normalised by :mod:`bot.gitops.objects` / :mod:`bot.kube.workloads`
(plus the raw object for the times it records) and returns :class:`Issue` values;
:mod:`bot.drift.findings` adds the service, environment and links. ``summary`` stays the same while
the drift stays the same (no times, no restart counts: those go in ``actual``).

- Argo CD: ``sync.status`` OutOfSync (the OutOfSync ``status.resources``); health Degraded
  (kind ``degraded``) or Missing (kind ``missing``), with the resources in that health.
- Flux (nothing while ``spec.suspend``): ``Stalled=True``; else ``Ready=False`` that is not a
  fresh reconciliation in progress (kind ``not-ready``); a Kustomization whose applied
  revision is not its source's artifact revision (kind ``revision-lag``).
- Workloads: available < desired (``unavailable``); pods waiting in ``CrashLoopBackOff``
  (``crash-loop``) or ``ImagePullBackOff`` / ``ErrImagePull`` / ``InvalidImageName``
  (``image-pull``); a pod container whose image is not the pod template's image for that
  container (``image-mismatch``; containers the template does not name, e.g. injected
  sidecars, are not compared; nor while the rollout is paused or partitioned); for Argo CD,
  a template image that is not among the app's ``status.summary.images`` (``image-mismatch``).
  Pods that finished (e.g. evicted) or are being deleted are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.gitops.objects import GitOpsState
from bot.gitops.revisions import parse_revision
from bot.kube.workloads import WorkloadState
from bot.timefmt import parse_time

Obj = dict[str, Any]

IMAGE_PULL = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName"})
CRASH_LOOP = "CrashLoopBackOff"
MAX_MESSAGE = 200


@dataclass(frozen=True)
class Issue:
    """A finding without its service, environment and links."""

    stage: str
    kind: str
    subject: str
    summary: str
    desired: str | None = None
    actual: str | None = None
    resources: tuple[str, ...] = ()
    since: datetime | None = None


# --- GitOps objects --------------------------------------------------------------------------


def argocd_subject(namespace: str, name: str) -> str:
    return f"Argo CD app {namespace}/{name}"


def flux_subject(kind: str, namespace: str, name: str) -> str:
    return f"Flux {kind} {namespace}/{name}"


def argocd_issues(app: Obj, state: GitOpsState) -> list[Issue]:
    subject = argocd_subject(state.namespace or "", state.name)
    status = _part(app, "status")
    resources = [r for r in status.get("resources") or [] if isinstance(r, dict)]
    out: list[Issue] = []
    if state.in_sync is False:
        drifting = _resource_ids(r for r in resources if r.get("status") == "OutOfSync")
        summary = "OutOfSync with Git"
        if drifting:
            n = len(drifting)
            summary = f"OutOfSync: {_count(n, 'resource')} {_verb(n, 'differ')} from Git"
        failed = state.attempt == "failed"
        if failed:
            summary += "; the last sync failed"
        actual = "live state differs"
        if state.applied_revision and state.applied_revision != state.desired_revision:
            actual = f"synced {short(state.applied_revision)}"
        if failed and state.attempt_message:
            actual += f"; sync failed: {clip(state.attempt_message)}"
        running_or_failed = state.attempt in ("running", "failed")
        out.append(
            Issue(
                "sync",
                "out-of-sync",
                subject,
                summary,
                desired=short(state.desired_revision),
                actual=actual,
                resources=drifting,
                # Drifted no later than the sync that tries to fix it; otherwise unknown.
                since=state.attempt_started_at if running_or_failed else None,
            )
        )
    health = state.health
    if health in ("Degraded", "Missing"):
        words = {"Degraded": "degraded", "Missing": "not in the cluster"}
        affected = _resource_ids(r for r in resources if _part(r, "health").get("status") == health)
        summary = f"health {health}"
        if affected:
            summary += f": {_count(len(affected), 'resource')} {words[health]}"
        out.append(
            Issue(
                "rollout",  # application health belongs to the rollout stage (DESIGN §4)
                "degraded" if health == "Degraded" else "missing",
                subject,
                summary,
                desired="Healthy",
                actual=health,
                resources=affected,
                since=parse_time(_part(status, "health").get("lastTransitionTime")),
            )
        )
    return out


def flux_issues(obj: Obj, source: Obj | None, state: GitOpsState) -> list[Issue]:
    """The Flux object and the source it reads (a source that cannot fetch stops delivery)."""
    if state.suspended:
        return []  # suspended on purpose: nothing is applied, nothing is expected to be
    out = [
        issue
        for o in (obj, source)
        if o is not None
        and not _part(o, "spec").get("suspend")
        and (issue := _failing(o)) is not None
    ]
    artifact = _part(_part(source or {}, "status"), "artifact")
    latest = str(artifact.get("revision") or "")
    applied = state.applied_revision
    if state.kind == "Kustomization" and latest and not same_revision(applied or "", latest):
        out.append(
            Issue(
                "sync",
                "revision-lag",
                _flux_subject(obj),
                "applied revision is not the source's latest",
                desired=short(latest),
                actual=short(applied) if applied else "nothing applied",
                since=parse_time(artifact.get("lastUpdateTime")),  # the source moved on then
            )
        )
    return out


def _failing(obj: Obj) -> Issue | None:
    """``Stalled=True``, or ``Ready=False`` unless a fresh reconciliation is under way
    (``Reconciling=True`` other than ``ProgressingWithRetry``, a failure being retried): the
    same rule as :func:`bot.gitops.objects.read_flux`'s failed attempt."""
    conditions = {
        c.get("type"): c
        for c in _part(obj, "status").get("conditions") or []
        if isinstance(c, dict)
    }
    stalled = conditions.get("Stalled") or {}
    ready = conditions.get("Ready") or {}
    reconciling = conditions.get("Reconciling") or {}
    fresh = (
        reconciling.get("status") == "True" and reconciling.get("reason") != "ProgressingWithRetry"
    )
    if stalled.get("status") == "True":
        cond, word, kind = stalled, "Stalled", "stalled"
    elif ready.get("status") == "False" and not fresh:
        cond, word, kind = ready, "Ready=False", "not-ready"
    else:
        return None
    reason = cond.get("reason")
    return Issue(
        "rollout" if reason == "HealthCheckFailed" else "sync",  # health is the rollout's
        kind,
        _flux_subject(obj),
        f"{word}: {reason}" if reason else word,
        desired="Ready",
        actual=clip(cond["message"]) if cond.get("message") else reason,
        since=parse_time(cond.get("lastTransitionTime")),
    )


def _flux_subject(obj: Obj) -> str:
    meta = _part(obj, "metadata")
    return flux_subject(
        str(obj.get("kind") or ""), str(meta.get("namespace") or ""), str(meta.get("name") or "")
    )


def same_revision(a: str, b: str) -> bool:
    """Two Flux revisions name the same thing (old and new formats alike)."""
    ra, rb = parse_revision(a), parse_revision(b)
    if ra.digest and rb.digest:
        return ra.digest == rb.digest
    return a.strip() == b.strip()


# --- workloads -------------------------------------------------------------------------------


def _rolling(ws: WorkloadState) -> bool:
    """The controller is still moving to the new spec and has not given up."""
    if ws.progress_deadline_exceeded or ws.aborted:
        return False
    if ws.observed_generation is None or (
        ws.generation is not None and ws.observed_generation != ws.generation
    ):
        return True  # the controller has not seen (this version of) the spec yet
    if ws.kind in ("Deployment", "Rollout"):
        return ws.replicas > ws.updated  # old ReplicaSets still have pods
    if ws.kind == "StatefulSet":
        return bool(
            ws.new_revision and ws.current_revision and ws.new_revision != ws.current_revision
        )
    return ws.updated < ws.desired  # DaemonSet: nodes not yet on the new template


def workload_issues(
    obj: Obj, ws: WorkloadState, pods: list[Obj], app_images: tuple[str, ...] = ()
) -> list[Issue]:
    """``pods``: the workload's own pods (old and new); ``app_images``: Argo CD's
    ``summary.images`` for the environment's app (empty: not compared)."""
    subject = ws.display_name
    out: list[Issue] = []
    pods = [p for p in pods if _live(p)]
    # A rollout in progress has old pods and fewer available replicas on purpose; it drifts
    # when the controller gives up (ProgressDeadlineExceeded) or a pod cannot start.
    rolling = _rolling(ws)
    if ws.available < ws.desired and not rolling:
        out.append(
            Issue(
                "rollout",
                "unavailable",
                subject,
                f"{ws.available} of {_count(ws.desired, 'replica')} available",
                desired=f"{ws.desired} available",
                actual=f"{ws.available} available",
                since=_available_false_since(obj),
            )
        )
    crashing, pulling = _waiting_pods(pods, {CRASH_LOOP}), _waiting_pods(pods, IMAGE_PULL)
    if crashing:
        restarts = sum(_restarts(p) for p, _ in crashing)
        out.append(
            Issue(
                "rollout",
                "crash-loop",
                subject,
                f"{_count(len(crashing), 'pod')} in CrashLoopBackOff",
                desired="running",
                actual=f"CrashLoopBackOff, {_count(restarts, 'restart')}",
                resources=_names(p for p, _ in crashing),
                since=_not_ready_since(p for p, _ in crashing),
            )
        )
    if pulling:
        reasons = sorted({reason for _, waits in pulling for reason, _ in waits})
        images = sorted({image for _, waits in pulling for _, image in waits if image})
        n = len(pulling)
        out.append(
            Issue(
                "rollout",
                "image-pull",
                subject,
                f"{_count(n, 'pod')} cannot pull {'its' if n == 1 else 'their'} image",
                desired=", ".join(images) or None,
                actual=", ".join(reasons),
                resources=_names(p for p, _ in pulling),
                since=_not_ready_since(p for p, _ in pulling),
            )
        )
    template = _container_images(_part(_part(obj, "spec"), "template"))
    odd = [(p, running) for p in pods if (running := _mismatched(p, template))]
    if odd and not (ws.paused or ws.partition or rolling):  # old pods on purpose
        out.append(
            Issue(
                "rollout",
                "image-mismatch",
                subject,
                f"{_count(len(odd), 'pod')} {_verb(len(odd), 'run')} an image not in the pod "
                "template",
                desired=", ".join(sorted(set(template.values()))),
                actual=", ".join(sorted({image for _, running in odd for image in running})),
                resources=_names(p for p, _ in odd),
            )
        )
    unlisted = [i for i in ws.images if not any(same_image(i, a) for a in app_images)]
    if app_images and unlisted:
        wanted = [a for a in app_images if any(_repo(a) == _repo(i) for i in unlisted)]
        out.append(
            Issue(
                "rollout",
                "image-mismatch",
                subject,
                "runs an image the Argo CD app does not list",
                desired=", ".join(sorted(wanted or app_images)),
                actual=", ".join(sorted(unlisted)),
            )
        )
    return out


def same_image(a: str, b: str) -> bool:
    """Same image reference, Docker Hub's implicit prefixes aside; a digest pinned on one
    side only (``name:tag@sha256:…`` vs ``name:tag``) is not a difference."""
    na, nb = _normal_image(a), _normal_image(b)
    if na == nb:
        return True
    if ("@" in na) != ("@" in nb):
        return na.split("@", 1)[0] == nb.split("@", 1)[0]
    return False


def _normal_image(image: str) -> str:
    text = image.strip()
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/"):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text.removeprefix("library/")


def _repo(image: str) -> str:
    name = _normal_image(image).split("@", 1)[0]
    repo, sep, tag = name.rpartition(":")
    return repo if sep and "/" not in tag else name


def _container_images(template: Obj) -> dict[str, str]:
    spec = _part(template, "spec")
    return {
        str(c.get("name")): str(c.get("image"))
        for c in spec.get("containers") or []
        if isinstance(c, dict) and c.get("image")
    }


def _live(pod: Obj) -> bool:
    """Not finished (an evicted pod lingers as Failed) and not being deleted."""
    finished = _part(pod, "status").get("phase") in ("Succeeded", "Failed")
    return not finished and not _part(pod, "metadata").get("deletionTimestamp")


def _mismatched(pod: Obj, template: dict[str, str]) -> list[str]:
    running = _container_images(pod)
    return sorted(
        image
        for name, image in running.items()
        if name in template and not same_image(image, template[name])
    )


def _waiting_pods(
    pods: list[Obj], reasons: Iterable[str]
) -> list[tuple[Obj, list[tuple[str, str]]]]:
    """Pods with a container waiting for one of ``reasons``: (pod, [(reason, image)])."""
    wanted = set(reasons)
    out = []
    for p in pods:
        status = _part(p, "status")
        statuses = (status.get("initContainerStatuses") or []) + (
            status.get("containerStatuses") or []
        )
        waits = [
            (str(reason), str(cs.get("image") or ""))
            for cs in statuses
            if isinstance(cs, dict)
            and (reason := _part(_part(cs, "state"), "waiting").get("reason")) in wanted
        ]
        if waits:
            out.append((p, waits))
    return out


def _restarts(pod: Obj) -> int:
    status = _part(pod, "status")
    statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    return sum(int(cs.get("restartCount") or 0) for cs in statuses if isinstance(cs, dict))


def _not_ready_since(pods: Iterable[Obj]) -> datetime | None:
    """The earliest time one of these pods went not-ready (its ``Ready=False`` condition)."""
    times = [
        t
        for p in pods
        for c in _part(p, "status").get("conditions") or []
        if isinstance(c, dict)
        and c.get("type") == "Ready"
        and c.get("status") == "False"
        and (t := parse_time(c.get("lastTransitionTime")))
    ]
    return min(times, default=None)


def _available_false_since(obj: Obj) -> datetime | None:
    for c in _part(obj, "status").get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "Available" and c.get("status") == "False":
            return parse_time(c.get("lastTransitionTime"))
    return None


# --- wording ---------------------------------------------------------------------------------


def short(revision: str | None) -> str | None:
    """7 hex of a commit, a chart version, or 12 hex of a digest."""
    return parse_revision(revision).short if revision else None


def clip(text: str, limit: int = MAX_MESSAGE) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _verb(n: int, verb: str) -> str:
    return f"{verb}s" if n == 1 else verb


def _resource_ids(resources: Iterable[Obj]) -> tuple[str, ...]:
    """ "Kind namespace/name" (cluster-scoped: "Kind name"), sorted."""
    return tuple(
        sorted(
            f"{r.get('kind')} {r['namespace']}/{r.get('name')}"
            if r.get("namespace")
            else f"{r.get('kind')} {r.get('name')}"
            for r in resources
        )
    )


def _names(objs: Iterable[Obj]) -> tuple[str, ...]:
    return tuple(sorted(str(_part(o, "metadata").get("name") or "?") for o in objs))


def _part(obj: Obj, key: str) -> Obj:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}
