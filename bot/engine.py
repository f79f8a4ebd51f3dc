"""Build the engine (store, GitHub client, tracer) from settings. Used by the CLI and the bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
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


def open_clusters(settings: Settings, observer: RequestObserver | None = None) -> Clusters:
    return Clusters(
        concurrency=settings.shiptrace_concurrency, kinds=CLUSTER_KINDS, observer=observer
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
    observer: RequestObserver | None = None,  # who counts the requests (bot.observe)
) -> AsyncIterator[Engine]:
    store = Store.open(settings.shiptrace_db)
    github = GitHubClient(github_options(settings), store, observer)
    clusters = open_clusters(settings, observer)
    try:
        web = WebHost(settings.github_web_url, settings.github_api_url, store, github, services)
        tracer = Tracer(github, services, store, clusters, web, clock=clock)
        yield Engine(settings, services, store, github, clusters, tracer, web)
    finally:
        clusters.close()
        github.close()
        store.close()
