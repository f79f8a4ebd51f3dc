"""The bot's Prometheus metrics, every name prefixed ``shiptrace_``, in a registry of its own.

Counters and the rate-limit gauge are updated as things happen; the open incidents and the
active follows are read from the store when Prometheus scrapes (a collector), so they are
never stale and cost nothing between scrapes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

# A drift scan lists a few kinds per cluster: from well under a second to a minute or so.
SCAN_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


def status_label(status: int | None) -> str:
    """The ``status`` label of a GitHub request: ``200`` and ``304`` as they are (a 304 costs
    no rate limit), other statuses by class (``2xx``, ``3xx``, ``4xx``, ``5xx``), and
    ``error`` when GitHub did not answer (refused, timed out, TLS)."""
    if status is None:
        return "error"
    if status in (200, 304):
        return str(status)
    return f"{status // 100}xx"


class Metrics:
    """Everything ``/metrics`` serves, in one ``CollectorRegistry``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.answers = Counter(
            "shiptrace_answers",
            "Answers given in Slack (/where and buttons), by outcome",
            ["outcome"],
            registry=r,
        )
        self.github_requests = Counter(
            "shiptrace_github_requests",
            "HTTP requests to GitHub's REST API (retries included), by status",
            ["status"],
            registry=r,
        )
        self.github_rate_limit_remaining = Gauge(
            "shiptrace_github_rate_limit_remaining",
            "Requests left in GitHub's rate limit, as its last answer said (X-RateLimit-Remaining)",
            registry=r,
        )
        self.kubernetes_requests = Counter(
            "shiptrace_kubernetes_requests",
            "HTTP requests to each cluster's API server (retries included)",
            ["cluster"],
            registry=r,
        )
        self.kubernetes_errors = Counter(
            "shiptrace_kubernetes_errors",
            "Requests to a cluster that failed: no answer, or a status other than 2xx and 404",
            ["cluster"],
            registry=r,
        )
        self.drift_scan_seconds = Histogram(
            "shiptrace_drift_scan_seconds",
            "How long one drift scan of every cluster took",
            buckets=SCAN_BUCKETS,
            registry=r,
        )
        self.slack_api_errors = Counter(
            "shiptrace_slack_api_errors",
            "Slack API calls that failed, by method and Slack's error (no_answer: Slack did not "
            "answer; an HTTP status for an answer to a response_url)",
            ["method", "error"],
            registry=r,
        )
        self._store = _StoreGauges()
        r.register(self._store)

    # -- what the features and handlers report ------------------------------------------------
    def answered(self, outcome: str) -> None:
        self.answers.labels(outcome).inc()

    def slack_error(self, method: str, error: str) -> None:
        self.slack_api_errors.labels(method, error).inc()

    def watch_store(
        self, incidents_open: Callable[[], int], follows_active: Callable[[], int]
    ) -> None:
        """Read these two counts from the store at each scrape."""
        self._store.incidents_open = incidents_open
        self._store.follows_active = follows_active

    # -- what the clients report (through bot.observe.watch) ----------------------------------
    def github_response(self, status: int | None, headers: Mapping[str, str]) -> None:
        self.github_requests.labels(status_label(status)).inc()
        remaining = _header(headers, "x-ratelimit-remaining")
        if remaining is not None:
            self.github_rate_limit_remaining.set(remaining)

    def kubernetes_request(self, cluster: str, failed: bool) -> None:
        self.kubernetes_requests.labels(cluster).inc()
        if failed:
            self.kubernetes_errors.labels(cluster).inc()

    # -- serving ------------------------------------------------------------------------------
    def exposition(self) -> tuple[bytes, str]:
        """The text format Prometheus scrapes, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _StoreGauges(Collector):
    """Open incidents and active follows, counted in the store at scrape time."""

    def __init__(self) -> None:
        self.incidents_open: Callable[[], int] | None = None
        self.follows_active: Callable[[], int] | None = None

    def describe(self) -> Iterator[Metric]:
        # Registering calls describe(), not collect(): the store is read only when scraped.
        yield GaugeMetricFamily("shiptrace_incidents_open", "Drift incidents open now")
        yield GaugeMetricFamily("shiptrace_follows_active", "Slack messages followed now")

    def collect(self) -> Iterator[Metric]:
        for name, about, count in (
            ("shiptrace_incidents_open", "Drift incidents open now", self.incidents_open),
            ("shiptrace_follows_active", "Slack messages followed now", self.follows_active),
        ):
            if count is None:
                continue
            try:
                value = count()
            except Exception:
                # An unusable store is /readyz's to report; the other metrics still serve.
                log.debug("could not count %s", name, exc_info=True)
                continue
            yield GaugeMetricFamily(name, about, value=value)


def _header(headers: Mapping[str, str], name: str) -> float | None:
    for key, value in headers.items():
        if key.lower() == name:
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None
