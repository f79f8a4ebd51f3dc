"""What the configuration needs of Slack and of each cluster, and where the config says so.

Derived from the code's own registries — the kinds the GitOps tools and workloads read
(:func:`bot.engine.cluster_reads`), the kinds a drift scan lists per context
(:func:`bot.drift.findings.kinds_needed`) — so a new tool or workload kind is checked without
editing the doctor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.config import ServiceMap
from bot.drift.findings import kinds_needed
from bot.engine import CLUSTER_KINDS, Grants, cluster_reads
from bot.gitops.tool import GitOpsTool, ObjectRef

# The bot token's scopes: the same list as deploy/slack-app-manifest*.yaml (a test compares).
SLACK_SCOPES = ("commands", "chat:write", "channels:history", "groups:history", "files:write")
# Groups every cluster serves: their kinds need no CRD.
BUILTIN_GROUPS = frozenset({"", "apps"})


@dataclass(frozen=True)
class Wanted:
    """One configured object: a GitOps object (with its tool) or a workload."""

    what: str  # "Argo CD app argocd/shop-staging", "Deployment shop/shop"
    ref: ObjectRef
    key: str  # where the config names it: "services[0].environments[1].flux"
    tool: GitOpsTool | None = None
    tool_ref: Any = None  # the tool's config section


@dataclass(frozen=True)
class EnvironmentNeeds:
    name: str  # "shop/staging"
    objects: tuple[Wanted, ...]


@dataclass(frozen=True)
class ContextNeeds:
    context: str | None  # None: the current context (or in-cluster)
    keys: tuple[str, ...]  # the config keys naming it
    reads: Grants  # what the bot reads there: (group, resource) -> verbs
    crds: dict[str, str]  # kinds outside the built-in groups -> the first config key using it
    environments: tuple[EnvironmentNeeds, ...]

    @property
    def label(self) -> str:
        return self.context or "current"


def context_needs(services: ServiceMap) -> list[ContextNeeds]:
    """Every context the environments read, in first-use order (environments with neither a
    GitOps object nor workloads read no cluster)."""
    scanned = kinds_needed(services)
    keys: dict[str | None, list[str]] = {}
    crds: dict[str | None, dict[str, str]] = {}
    environments: dict[str | None, list[EnvironmentNeeds]] = {}
    for i, service in enumerate(services.services):
        for j, env in enumerate(service.environments):
            at = f"services[{i}].environments[{j}]"
            objects: list[Wanted] = []
            if env.gitops is not None:
                tool, ref = env.gitops
                target = tool.target(ref)
                objects.append(Wanted(tool.subject(ref), target, f"{at}.{tool.key}", tool, ref))
            for k, w in enumerate(env.workloads):
                target = ObjectRef(w.kind, w.namespace, w.name)
                objects.append(
                    Wanted(f"{w.kind} {w.namespace}/{w.name}", target, f"{at}.workloads[{k}]")
                )
            if not objects:
                continue
            keys.setdefault(env.cluster, []).append(f"{at}.cluster")
            for o in objects:
                if CLUSTER_KINDS[o.ref.kind].group not in BUILTIN_GROUPS:
                    crds.setdefault(env.cluster, {}).setdefault(o.ref.kind, o.key)
            environments.setdefault(env.cluster, []).append(
                EnvironmentNeeds(f"{service.name}/{env.name}", tuple(objects))
            )
    return [
        ContextNeeds(
            context,
            tuple(keys[context]),
            cluster_reads(scanned.get(context, [])),
            crds.get(context, {}),
            tuple(environments[context]),
        )
        for context in keys
    ]


def resource_name(group: str, resource: str) -> str:
    """As kubectl spells it: ``pods``, ``deployments.apps``."""
    return f"{resource}.{group}" if group else resource


def and_more(items: list[str], limit: int = 3) -> str:
    """``a, b and c``; past ``limit``: ``a, b, c and 2 more``."""
    if len(items) > limit:
        return f"{', '.join(items[:limit])} and {len(items) - limit} more"
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
