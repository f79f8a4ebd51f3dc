"""What counts as drift in one GitOps object or one workload. Pure.

Each rule reads a workload already normalised by :mod:`bot.kube.workloads`
(plus the raw object for the times it records) and returns :class:`Issue` values;
:mod:`bot.drift.findings` adds the service, environment and links. ``summary`` stays the same while
the drift stays the same (no times, no restart counts: those go in ``actual``).

- GitOps objects: each tool judges its own (``issues`` of :mod:`bot.gitops.argocd`, ...).
- Workloads: available < desired (``unavailable``); pods waiting in ``CrashLoopBackOff``
  (``crash-loop``) or ``ImagePullBackOff`` / ``ErrImagePull`` / ``InvalidImageName``
  (``image-pull``); a pod container whose image is not the pod template's image for that
  container (``image-mismatch``; containers the template does not name, e.g. injected
  sidecars, are not compared; nor while the rollout is paused or partitioned); for a GitOps
  app that lists images, a template image that is not among them (``image-mismatch``).
  Pods that finished (e.g. evicted) or are being deleted are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot.gitops.state import count, verb_for
from bot.kube.workloads import WorkloadState
from bot.model import Issue
from bot.timefmt import parse_time

Obj = dict[str, Any]

IMAGE_PULL = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName"})
CRASH_LOOP = "CrashLoopBackOff"


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
    obj: Obj,
    ws: WorkloadState,
    pods: list[Obj],
    app_images: tuple[str, ...] = (),
    lister: str = "GitOps app",
) -> list[Issue]:
    """``pods``: the workload's own pods (old and new); ``app_images``: the images the
    environment's GitOps app lists (Argo CD's ``summary.images``; empty: not compared), as
    ``lister`` (e.g. "Argo CD app") names it."""
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
                f"{ws.available} of {count(ws.desired, 'replica')} available",
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
                f"{count(len(crashing), 'pod')} in CrashLoopBackOff",
                desired="running",
                actual=f"CrashLoopBackOff, {count(restarts, 'restart')}",
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
                f"{count(n, 'pod')} cannot pull {'its' if n == 1 else 'their'} image",
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
                f"{count(len(odd), 'pod')} {verb_for(len(odd), 'run')} an image not in the pod "
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
                f"runs an image the {lister} does not list",
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


def _names(objs: Iterable[Obj]) -> tuple[str, ...]:
    return tuple(sorted(str(_part(o, "metadata").get("name") or "?") for o in objs))


def _part(obj: Obj, key: str) -> Obj:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}
