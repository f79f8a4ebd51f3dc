"""Kubernetes, Argo CD and Flux objects with status, shaped like the real ones in
bot/sandbox/reference/examples (the emulator validates custom resources against the CRDs).

Used by the scenario tests and the demo. Times default to a morning in the tests' story
(2026-11-26); the demo passes its own."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]
T0 = "2026-11-26T09:10:00Z"


def deployment(
    name: str,
    ns: str,
    image: str,
    *,
    replicas: int = 3,
    updated: int | None = None,
    ready: int | None = None,
    available: int | None = None,
    generation: int = 2,
    observed: int | None = None,
    progressing: tuple[str, str] = ("True", "NewReplicaSetAvailable"),
    message: str = "",
    paused: bool = False,
) -> JSON:
    updated = replicas if updated is None else updated
    ready = updated if ready is None else ready
    available = ready if available is None else available
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": ns,
            "generation": generation,
            "uid": f"uid-{name}",
            "labels": {"app": name},
        },
        "spec": {
            "replicas": replicas,
            "paused": paused,
            "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": image}]},
            },
        },
        "status": {
            "observedGeneration": generation if observed is None else observed,
            "replicas": max(replicas, updated),
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {
                    "type": "Progressing",
                    "status": progressing[0],
                    "reason": progressing[1],
                    "message": message or f'ReplicaSet "{name}-new" is progressing.',
                },
            ],
        },
    }


def replicaset(
    deploy: JSON, pod_hash: str, image: str, *, revision: int, replicas: int, created: str = T0
) -> JSON:
    name = deploy["metadata"]["name"]
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{name}-{pod_hash}",
            "namespace": deploy["metadata"]["namespace"],
            "creationTimestamp": created,
            "labels": {"app": name, "pod-template-hash": pod_hash},
            "annotations": {"deployment.kubernetes.io/revision": str(revision)},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": name,
                    "uid": deploy["metadata"]["uid"],
                    "controller": True,
                }
            ],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name, "pod-template-hash": pod_hash}},
            "template": {
                "metadata": {"labels": {"app": name, "pod-template-hash": pod_hash}},
                "spec": {"containers": [{"name": name, "image": image}]},
            },
        },
        "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas},
    }


def pod(
    rs: JSON, index: int, *, waiting: str | None = None, restarts: int = 0, started: str = T0
) -> JSON:
    labels = rs["metadata"]["labels"]
    state: JSON = (
        {"waiting": {"reason": waiting}} if waiting else {"running": {"startedAt": started}}
    )
    image = rs["spec"]["template"]["spec"]["containers"][0]["image"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{rs['metadata']['name']}-{index}",
            "namespace": rs["metadata"]["namespace"],
            "labels": labels,
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": rs["metadata"]["name"],
                    "controller": True,
                }
            ],
        },
        "spec": {"containers": [{"name": "app", "image": image}]},
        "status": {
            "phase": "Running" if not waiting else "Pending",
            "containerStatuses": [
                {
                    "name": "app",
                    "image": image,
                    "ready": not waiting,
                    "restartCount": restarts,
                    "state": state,
                }
            ],
        },
    }


def rolled_out(
    name: str,
    ns: str,
    image: str,
    replicas: int = 3,
    pod_hash: str = "7d9f",
    *,
    created: str = T0,
    revision: int = 2,
) -> list[JSON]:
    """A Deployment fully rolled out to ``image``, its ReplicaSet (made at ``created``), pods."""
    d = deployment(name, ns, image, replicas=replicas)
    rs = replicaset(d, pod_hash, image, revision=revision, replicas=replicas, created=created)
    return [d, rs, *(pod(rs, i, started=created) for i in range(replicas))]


def argo_app(
    name: str,
    *,
    repo_url: str,
    path: str = "deploy",
    revision: str,
    sync: str = "Synced",
    health: str = "Healthy",
    phase: str = "Succeeded",
    op_revision: str | None = None,
    message: str = "successfully synced (all tasks run)",
    history: list[str] | None = None,
    history_at: list[str] | None = None,
    images: list[str] | None = None,
    sources: list[JSON] | None = None,
    revisions: list[str] | None = None,
    started_at: str = "2026-11-26T09:08:00Z",
) -> JSON:
    """``started_at``: when the last sync operation began."""
    op_revision = op_revision or revision
    # When each history entry was deployed (oldest first); by default all at the same time.
    deployed = history_at or ["2026-11-26T09:09:00Z"] * len(history or [])
    spec: JSON = {
        "project": "default",
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "shop"},
    }
    status: JSON = {
        "sync": {"status": sync},
        "health": {"status": health},
        "summary": {"images": images or []},
    }
    op: JSON = {
        "phase": phase,
        "message": message,
        "startedAt": started_at,
        "operation": {"sync": {}, "initiatedBy": {"automated": True}},
    }
    if phase not in ("Running", "Terminating"):
        op["finishedAt"] = deployed[-1] if deployed else "2026-11-26T09:09:00Z"
    if sources:
        spec["sources"] = sources
        status["sync"]["revisions"] = revisions
        op["operation"]["sync"]["revisions"] = revisions
        op["syncResult"] = {"revision": "", "revisions": revisions, "sources": sources}
        status["history"] = [
            {
                "id": i,
                "revisions": revisions,
                "deployedAt": deployed[i],
                "deployStartedAt": started_at,
                "sources": sources,
            }
            for i, _ in enumerate(history or [])
        ]
    else:
        src = {"repoURL": repo_url, "path": path, "targetRevision": "HEAD"}
        spec["source"] = src
        status["sync"]["revision"] = revision
        op["operation"]["sync"]["revision"] = op_revision
        op["syncResult"] = {"revision": op_revision, "source": src}
        status["history"] = [
            {
                "id": i,
                "revision": rev,
                "deployedAt": deployed[i],
                "deployStartedAt": started_at,
                "source": src,
            }
            for i, rev in enumerate(history or [])
        ]
    status["operationState"] = op
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": spec,
        "status": status,
    }


def argo_resource(
    kind: str,
    name: str,
    status: str,
    *,
    group: str = "",
    namespace: str | None = "shop",
    **extra: Any,
) -> JSON:
    """One entry of an Argo CD Application's ``status.resources``."""
    entry: JSON = {"version": "v1", "kind": kind, "name": name, "status": status, **extra}
    if group:
        entry["group"] = group
    if namespace is not None:
        entry["namespace"] = namespace
    return entry


def git_repository(
    name: str, url: str, artifact_revision: str, *, at: str = "2026-11-26T09:05:00Z"
) -> JSON:
    """A Flux GitRepository whose artifact (fetched at ``at``) is ``artifact_revision``."""
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": name, "namespace": "flux-system", "generation": 1},
        "spec": {"interval": "1m0s", "url": url, "ref": {"branch": "main"}},
        "status": {
            "artifact": {
                "revision": artifact_revision,
                "digest": "sha256:" + "ab" * 32,
                "lastUpdateTime": at,
                "path": "p",
                "url": "http://x/p",
            },
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Succeeded",
                    "message": "stored artifact",
                    "lastTransitionTime": at,
                    "observedGeneration": 1,
                }
            ],
        },
    }


def kustomization(
    name: str,
    *,
    source: str,
    applied: str,
    attempted: str | None = None,
    ready: str = "True",
    reason: str = "ReconciliationSucceeded",
    message: str = "",
    path: str = "./deploy",
    suspend: bool = False,
    at: str = "2026-11-26T09:09:30Z",
) -> JSON:
    """A Flux Kustomization; ``at``: when its Ready condition last changed."""
    attempted = attempted or applied
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": "flux-system", "generation": 1},
        "spec": {
            "interval": "5m",
            "path": path,
            "prune": True,
            "suspend": suspend,
            "sourceRef": {"kind": "GitRepository", "name": source},
        },
        "status": {
            "observedGeneration": 1,
            "lastAppliedRevision": applied,
            "lastAttemptedRevision": attempted,
            "conditions": [
                {
                    "type": "Ready",
                    "status": ready,
                    "reason": reason,
                    "message": message or f"Applied revision: {applied}",
                    "lastTransitionTime": at,
                    "observedGeneration": 1,
                }
            ],
        },
    }
