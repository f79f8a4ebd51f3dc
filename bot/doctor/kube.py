"""One kubeconfig context: in the kubeconfig and reachable with its credentials; allowed (a
SelfSubjectAccessReview each) to get and list what the bot reads there; serving the CRDs of
the configured kinds; and every configured GitOps object (with the objects it points at) and
workload found."""

from __future__ import annotations

import asyncio

from bot.doctor.guard import guarded
from bot.doctor.needs import ContextNeeds, EnvironmentNeeds, Wanted, and_more, resource_name
from bot.doctor.report import Check
from bot.engine import CLUSTER_KINDS
from bot.errors import KubernetesError, KubernetesNotFound
from bot.sources.cluster import ClusterClient, Clusters

RBAC_HINT = (
    "grant get and list on them, cluster-wide: deploy/kubernetes has the read-only ClusterRole"
)


async def checks(clusters: Clusters, needs: ContextNeeds, per_check: float) -> list[Check]:
    name = f"kube {needs.label}"
    opened: list[ClusterClient] = []

    async def reach() -> Check:
        missing = not_in_kubeconfig(clusters, needs)
        if missing is not None:
            return missing
        client = clusters.client(needs.context)
        try:
            await client.get("/apis", "API discovery")
            version = await client.get("/version", "the server version")
        except KubernetesError as exc:
            if "refused our credentials" not in exc.message:
                raise
            return Check(
                name,
                False,
                f"cluster '{needs.label}' at {client.server} refused the credentials of "
                f"{client.source} (401)",
                "log in again, or renew the token or certificate of that kubeconfig user",
            )
        opened.append(client)
        return Check(
            name,
            True,
            f"reachable at {client.server} (Kubernetes {version.get('gitVersion') or '?'})",
        )

    first = await guarded(
        name, reach(), f"check KUBECONFIG and {and_more(list(needs.keys))}", per_check
    )
    if not opened:
        return [first]
    client = opened[0]
    hint = f"check that cluster '{needs.label}' is up and answers"
    rows = [guarded(f"{name} access", access(client, needs), hint, per_check)]
    if needs.crds:
        rows.append(guarded(f"{name} crds", crds(client, needs), hint, per_check))
    rows += [guarded(env.name, objects(client, env), hint, per_check) for env in needs.environments]
    return [first, *await asyncio.gather(*rows)]


def not_in_kubeconfig(clusters: Clusters, needs: ContextNeeds) -> Check | None:
    """The client would only say the kubeconfig has no such context: say which config keys
    name it."""
    if needs.context is None:
        return None
    known = clusters.contexts()
    if known is None or needs.context in known:
        return None
    files = clusters.kubeconfig or "~/.kube/config"
    return Check(
        f"kube {needs.label}",
        False,
        f"context '{needs.context}' is not in the kubeconfig ({files})",
        f"add it, or fix {and_more(list(needs.keys))}",
    )


async def access(client: ClusterClient, needs: ContextNeeds) -> Check:
    reads = sorted(
        (group, resource, verb)
        for (group, resource), verbs in needs.reads.items()
        for verb in verbs
    )
    answers = await asyncio.gather(*(client.allowed(v, g, r) for g, r, v in reads))
    denied = [
        f"{v} {resource_name(g, r)}" for (g, r, v), ok in zip(reads, answers, strict=True) if not ok
    ]
    name = f"kube {needs.label} access"
    if denied:
        return Check(name, False, f"not allowed to {and_more(denied, 6)}", RBAC_HINT)
    return Check(name, True, f"may get and list what the bot reads ({len(needs.reads)} resources)")


async def crds(client: ClusterClient, needs: ContextNeeds) -> Check:
    kinds = list(needs.crds)
    versions = await asyncio.gather(*(client.serving_version(kind) for kind in kinds))
    name = f"kube {needs.label} crds"
    missing = [k for k, v in zip(kinds, versions, strict=True) if v is None]
    if missing:
        names = [resource_name(CLUSTER_KINDS[k].group, CLUSTER_KINDS[k].plural) for k in missing]
        keys = [needs.crds[k] for k in missing]
        return Check(
            name,
            False,
            f"not served: {and_more([f'{k} ({n})' for k, n in zip(missing, names, strict=True)])}",
            f"install the CRD{'s' if len(missing) > 1 else ''} in cluster '{needs.label}' (the "
            f"tool's own install brings them), or fix {and_more(keys)}",
        )
    served = [f"{k} ({CLUSTER_KINDS[k].group}/{v})" for k, v in zip(kinds, versions, strict=True)]
    return Check(name, True, f"served: {and_more(served, 6)}")


async def objects(client: ClusterClient, env: EnvironmentNeeds) -> Check:
    found = await asyncio.gather(*(_missing(client, w) for w in env.objects))
    problems = [
        (message, w.key)
        for w, messages in zip(env.objects, found, strict=True)
        for message in messages
    ]
    if problems:
        keys = list(dict.fromkeys(key for _, key in problems))
        return Check(
            env.name,
            False,
            "; ".join(message for message, _ in problems),
            f"create {'it' if len(problems) == 1 else 'them'} in cluster '{client.label}', or "
            f"fix {and_more(keys)}",
        )
    return Check(env.name, True, f"found {and_more([w.what for w in env.objects], 4)}")


async def _missing(client: ClusterClient, wanted: Wanted) -> list[str]:
    """What of ``wanted`` is not found: itself, or the objects it points at. Other errors
    (forbidden, unreachable) are the row's."""
    ref = wanted.ref
    try:
        obj = await client.get_object(ref.kind, ref.namespace, ref.name)
    except KubernetesNotFound as exc:
        return [exc.message]
    if wanted.tool is None:
        return []
    missing = []
    for role, target in wanted.tool.related(wanted.tool_ref, obj).items():
        if target is None:
            continue
        try:
            await client.get_object(target.kind, target.namespace, target.name)
        except KubernetesNotFound as exc:
            missing.append(f"{wanted.what}: its {role}: {exc.message}")
    return missing
