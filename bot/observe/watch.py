"""What the clients report, turned into metrics and the dependencies' last states."""

from __future__ import annotations

from collections.abc import Mapping

from bot.observe.health import Health
from bot.observe.metrics import Metrics

GITHUB = "github"


def cluster_check(label: str) -> str:
    """The name of a cluster's check in ``/readyz``: ``cluster:<kubeconfig context>``."""
    return f"cluster:{label}"


class Watch:
    """A :class:`bot.sources.observer.RequestObserver` feeding ``metrics`` and ``health``."""

    def __init__(self, metrics: Metrics, health: Health) -> None:
        self.metrics = metrics
        self.health = health

    def github_response(self, status: int | None, headers: Mapping[str, str]) -> None:
        self.metrics.github_response(status, headers)

    def github_outcome(self, problem: str | None) -> None:
        self.health.saw(GITHUB, problem)

    def kubernetes_request(self, cluster: str, problem: str | None) -> None:
        self.metrics.kubernetes_request(cluster, problem is not None)
        self.health.saw(cluster_check(cluster), problem)
