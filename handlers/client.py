"""The Slack Web API client every listener and job calls: it counts what Slack refused.

``shiptrace_slack_api_errors_total{method, error}``: Slack's own error (``not_in_channel``,
``ratelimited`` …), or ``no_answer`` when Slack could not be reached. Bolt makes a client per
request; ``handlers.gate`` swaps it for a counting one with the same settings.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.observe.metrics import Metrics


class CountedClient(AsyncWebClient):
    """Slack's Web API client, counting the calls Slack refused or did not answer."""

    def __init__(self, *args: Any, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metrics = metrics

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            self.metrics.slack_error(api_method, str(exc.response.get("error") or "unknown"))
            raise
        except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError):
            self.metrics.slack_error(api_method, "no_answer")
            raise


def counted(client: AsyncWebClient, metrics: Metrics) -> CountedClient:
    """A counting client with everything ``client`` was given (as Bolt copies its own)."""
    if isinstance(client, CountedClient):
        return client
    return CountedClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        session=client.session,
        trust_env_in_session=client.trust_env_in_session,
        headers=client.headers,
        team_id=client.default_params.get("team_id"),
        logger=client.logger,
        retry_handlers=list(client.retry_handlers) if client.retry_handlers is not None else None,
        metrics=metrics,
    )
