"""What the clients tell whoever watches them: each request and how it ended.

The clients know nothing of metrics or readiness: they call a :class:`RequestObserver` (the
process passes one in; ``bot.observe`` counts and keeps the last state of each dependency).
Calls come from the clients' worker threads, so an observer must be thread-safe.

:class:`NotedRetry` is urllib3's retry policy saying each retry in one line ("GitHub:
retrying (attempt 2/3) after 502: /repos/acme/shop/pulls/12"), instead of urllib3's warning
with the policy's repr, and telling the client about each answer it retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, Self
from urllib.parse import urlsplit

from urllib3 import Retry

from bot.sources.network import network_reason

if TYPE_CHECKING:
    from urllib3 import BaseHTTPResponse

log = logging.getLogger("shiptrace.retry")


class RequestObserver(Protocol):
    def github_response(self, status: int | None, headers: Mapping[str, str]) -> None:
        """One attempt at a GitHub request (retries count too): its status and headers, or
        ``None`` and no headers when GitHub did not answer."""

    def github_outcome(self, problem: str | None) -> None:
        """How one look-up ended: ``None`` when GitHub answered it (found or not), else why
        GitHub could not be used (unreachable, 5xx after retries, credentials, rate limit)."""

    def kubernetes_request(self, cluster: str, problem: str | None) -> None:
        """One attempt at a request to ``cluster`` (its kubeconfig context): ``None`` when the
        cluster answered it (a 404 included), else why not."""


class NoObserver:
    """Nobody watching: the CLI's one-off commands."""

    def github_response(self, status: int | None, headers: Mapping[str, str]) -> None:
        pass

    def github_outcome(self, problem: str | None) -> None:
        pass

    def kubernetes_request(self, cluster: str, problem: str | None) -> None:
        pass


# Told about each attempt that is retried: its response, or the error when there was none.
OnRetry = Callable[["BaseHTTPResponse | None", "Exception | None"], None]


class NotedRetry(Retry):
    """A retry policy that logs each retry in one line and tells ``on_retry`` about it.

    ``label`` names the API ("GitHub", "Kubernetes 'prod'"), ``attempts`` is how many tries a
    request gets in all. Set them on the instance; :meth:`new` carries them on.
    """

    label: str = "HTTP"
    attempts: int = 1
    on_retry: OnRetry | None = None

    def noted(self, label: str, on_retry: OnRetry | None = None) -> Self:
        self.label = label
        total = self.total
        self.attempts = 1 + total if isinstance(total, int) and not isinstance(total, bool) else 1
        self.on_retry = on_retry
        return self

    def new(self, **kw: Any) -> Self:
        retry = super().new(**kw)
        retry.label, retry.attempts, retry.on_retry = self.label, self.attempts, self.on_retry
        return retry

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Self:
        # Raises when no attempt is left: the last answer or error is then the client's to tell.
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        if self.on_retry is not None:
            self.on_retry(response, error)
        why = str(response.status) if response is not None else _reason(error)
        log.debug(
            "%s: retrying (attempt %d/%d) after %s: %s",
            self.label,
            len(retry.history) + 1,
            self.attempts,
            why,
            urlsplit(url or "").path,  # the path says which look-up; the query adds only noise
        )
        return retry


def _reason(error: Exception | None) -> str:
    return network_reason(error) if error is not None else "no answer"
