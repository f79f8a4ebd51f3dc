"""Answers through ``response_url``: retried when Slack is busy, logged when they are lost.

Bolt's own ``respond`` makes one POST and drops the answer on a 429 or a 5xx. This one uses
slack_sdk's retry handlers (a 429 waits out ``Retry-After``) and logs, in one line, an answer
that still could not be delivered. It never raises for a lost answer: the listener could do
nothing about it, and the user would not see an apology sent the same way either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncRespond
from slack_sdk.http_retry.async_handler import (
    AsyncRetryHandler,
    HttpRequest,
    HttpResponse,
    RetryState,
)
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.models import extract_json
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

log = logging.getLogger("shiptrace")


class _Exact(Jitter):
    # Each response_url belongs to one user's request: no crowd of clients to spread out.
    def recalculate(self, duration: float) -> float:
        return duration


# A 5xx is retried after 0.25 s, then 0.5 s; a 429 waits what Retry-After says (plus < 1 s).
_BACKOFF = BackoffRetryIntervalCalculator(backoff_factor=0.25, jitter=_Exact())


class _AnyServerError(AsyncServerErrorRetryHandler):
    # slack_sdk's retries 500 and 503 only; a 502 or 504 from a proxy on the way is as brief.
    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code >= 500


def retry_handlers() -> list[AsyncRetryHandler]:
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=_BACKOFF),
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        _AnyServerError(max_retry_count=2, interval_calculator=_BACKOFF),
    ]


class RetryingRespond(AsyncRespond):
    """Bolt's ``respond``, with retries; installed by ``handlers.gate`` for Slack's URLs only."""

    lost: Callable[[str], None] | None = None  # told why an answer was lost (metrics)

    async def __call__(
        self,
        text: str | dict[str, Any] = "",
        blocks: Sequence[Any] | None = None,
        attachments: Sequence[Any] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WebhookResponse:
        if self.response_url is None:
            raise ValueError("respond() needs a response_url")  # the gate lets none through
        if isinstance(text, dict):
            message = dict(text)
        else:
            fields: dict[str, Any] = {
                "blocks": extract_json(list(blocks)) if blocks is not None else None,
                "attachments": extract_json(list(attachments)) if attachments is not None else None,
                "response_type": response_type,
                "replace_original": replace_original,
                "delete_original": delete_original,
                "unfurl_links": unfurl_links,
                "unfurl_media": unfurl_media,
                "thread_ts": thread_ts,
                "metadata": metadata,
            }
            message = {"text": text, **{k: v for k, v in fields.items() if v is not None}}
        client = AsyncWebhookClient(
            url=self.response_url, proxy=self.proxy, ssl=self.ssl, retry_handlers=retry_handlers()
        )
        try:
            response = await client.send_dict(message)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            # The URL itself lets anyone answer the user for 30 minutes: it is never logged.
            log.warning("could not deliver an answer to Slack (%s)", type(exc).__name__)
            if self.lost is not None:
                self.lost("no_answer")
            return WebhookResponse(
                url=self.response_url, status_code=0, body=type(exc).__name__, headers={}
            )
        if response.status_code != 200:
            log.warning(
                "could not deliver an answer to Slack: response_url answered %s (%s)",
                response.status_code,
                str(response.body)[:100],
            )
            if self.lost is not None:
                self.lost(str(response.status_code))
        return response
