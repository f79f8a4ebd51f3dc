"""Build the engine (store, GitHub client, tracer) from settings. Used by the CLI and the bot."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot import gitops, kube
from bot.config import ServiceMap, Settings
from bot.model import ApiKind
from bot.sources.cluster import Clusters
from bot.sources.github import GitHubClient, GitHubOptions
from bot.sources.observer import RequestObserver
from bot.store import Store
from bot.timefmt import Clock, utcnow
from bot.trace.tracer import Tracer
from bot.trace.webhost import WebHost

# Every kind the bot reads from a cluster: the workloads' and the GitOps tools' (RBAC: get, list).
CLUSTER_KINDS: dict[str, ApiKind] = {**kube.KINDS, **gitops.KINDS}

Grants = dict[tuple[str, str], frozenset[str]]  # (apiGroup, resource) -> verbs


def cluster_reads(kinds: Iterable[str] | None = None) -> Grants:
    """(apiGroup, resource) → the verbs :class:`bot.sources.cluster.ClusterClient` uses on
    ``kinds`` (default: every kind of ``CLUSTER_KINDS``, what the read-only ClusterRole grants).

    ``get_object`` gets one object of a GitOps tool's kind or a workload kind; ``list_kind``
    (the drift scan) lists every kind across namespaces; ``replicasets`` and ``pods`` list a
    workload's ReplicaSets and Pods by selector. Nothing watches. API discovery (``/apis``)
    is granted to every authenticated user by Kubernetes' own ``system:discovery`` role.
    """
    reads: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    for kind in CLUSTER_KINDS if kinds is None else kinds:
        api = CLUSTER_KINDS[kind]
        reads[(api.group, api.plural)].add("list")
        if kind in gitops.KINDS or kind in kube.WORKLOADS:
            reads[(api.group, api.plural)].add("get")
    return {key: frozenset(verbs) for key, verbs in reads.items()}


def open_clusters(
    settings: Settings, kubeconfig: str | None = None, observer: RequestObserver | None = None
) -> Clusters:
    """``kubeconfig``: a path that wins over ``KUBECONFIG`` (the CLI's ``--kubeconfig``)."""
    return Clusters(
        kubeconfig,
        concurrency=settings.shiptrace_concurrency,
        kinds=CLUSTER_KINDS,
        observer=observer,
    )


@dataclass
class Engine:
    settings: Settings
    services: ServiceMap
    store: Store
    github: GitHubClient
    clusters: Clusters
    tracer: Tracer
    web: WebHost  # where PR / commit links are, and parsing against it


def github_options(settings: Settings) -> GitHubOptions:
    return GitHubOptions(
        api_url=settings.github_api_url,
        token=settings.github_token.get_secret_value() if settings.github_token else None,
        app_id=settings.github_app_id,
        app_private_key=settings.github_app_key,  # read and checked with the settings
        app_installation_id=settings.github_app_installation_id,
        timeout=settings.shiptrace_github_timeout,
        retries=settings.shiptrace_github_retries,
        rate_limit_wait=settings.shiptrace_rate_limit_wait,
        concurrency=settings.shiptrace_concurrency,
    )


@asynccontextmanager
async def open_engine(
    settings: Settings,
    services: ServiceMap,
    clock: Clock = utcnow,
    kubeconfig: str | None = None,
    observer: RequestObserver | None = None,  # who counts the requests (bot.observe)
) -> AsyncIterator[Engine]:
    store = Store.open(settings.shiptrace_db)
    github = GitHubClient(github_options(settings), store, observer)
    clusters = open_clusters(settings, kubeconfig, observer)
    try:
        web = WebHost(settings.github_web_url, settings.github_api_url, store, github, services)
        tracer = Tracer(github, services, store, clusters, web, clock=clock)
        yield Engine(settings, services, store, github, clusters, tracer, web)
    finally:
        clusters.close()
        github.close()
        store.close()
