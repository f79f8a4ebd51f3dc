"""Where the workload kinds, and what a workload's rollout is read from, live in the API."""

from __future__ import annotations

from bot.model import ApiKind

WORKLOADS: dict[str, ApiKind] = {
    "Deployment": ApiKind("apps", "v1", "deployments"),
    "StatefulSet": ApiKind("apps", "v1", "statefulsets"),
    "DaemonSet": ApiKind("apps", "v1", "daemonsets"),
    "Rollout": ApiKind("argoproj.io", "v1alpha1", "rollouts"),  # Argo Rollouts
}
# Every kind read for workloads: the workloads, their ReplicaSets and Pods.
KINDS: dict[str, ApiKind] = {
    **WORKLOADS,
    "ReplicaSet": ApiKind("apps", "v1", "replicasets"),
    "Pod": ApiKind("", "v1", "pods"),
}
# The kinds whose new pods come through ReplicaSets (the others own their pods directly).
VIA_REPLICASETS = frozenset({"Deployment", "Rollout"})


def kinds_for(kind: str) -> set[str]:
    """The kinds one configured workload needs listed to be judged."""
    return {kind, "Pod"} | ({"ReplicaSet"} if kind in VIA_REPLICASETS else set())
