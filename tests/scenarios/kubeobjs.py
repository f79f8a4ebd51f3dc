"""The object builders live in bot/sandbox/kubeobjs.py (the demo uses them too)."""

from bot.sandbox.kubeobjs import (
    JSON,
    T0,
    argo_app,
    argo_resource,
    deployment,
    git_repository,
    kustomization,
    pod,
    replicaset,
    rolled_out,
)

__all__ = [
    "JSON",
    "T0",
    "argo_app",
    "argo_resource",
    "deployment",
    "git_repository",
    "kustomization",
    "pod",
    "replicaset",
    "rolled_out",
]
