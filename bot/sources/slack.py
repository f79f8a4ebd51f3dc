"""Two of Slack's Web API methods, asked by ``shiptrace doctor``: who the bot token is and what
it may do (``auth.test``), and whether the app-level token opens Socket Mode connections
(``apps.connections.open``).

The bot itself speaks Slack through slack_sdk and Bolt (``handlers``, ``bot.app``); this is
plain aiohttp so that a check can read the ``x-oauth-scopes`` header, where Slack names the
scopes a token was granted, and so the checks stay outside the Slack layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp

from bot.errors import SourceError
from bot.sources.network import network_reason

TIMEOUT = 10.0  # seconds per call


class SlackError(SourceError):
    source = "slack"


class SlackRefused(SlackError):
    """Slack answered ``ok: false``; ``error`` is its code (``invalid_auth``, …)."""

    def __init__(self, message: str, error: str) -> None:
        super().__init__(message)
        self.error = error


class SlackUnavailable(SlackError):
    """Slack did not answer, or not with JSON (a proxy, a 5xx, a 429)."""


@dataclass(frozen=True)
class SlackIdentity:
    user: str  # the bot user's name, e.g. "shiptrace"
    team: str
    url: str | None
    scopes: tuple[str, ...] | None  # None: Slack did not say


class SlackWeb:
    """``async with SlackWeb(api_url) as slack: await slack.auth_test(token)``."""

    def __init__(self, api_url: str, timeout: float = TIMEOUT) -> None:
        self.api_url = api_url.rstrip("/") + "/"
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> SlackWeb:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def auth_test(self, token: str) -> SlackIdentity:
        body, headers = await self._call("auth.test", token)
        granted = headers.get("x-oauth-scopes")
        scopes = None if granted is None else tuple(s.strip() for s in granted.split(",") if s)
        return SlackIdentity(
            user=str(body.get("user") or body.get("user_id") or "?"),
            team=str(body.get("team") or body.get("team_id") or "?"),
            url=body.get("url"),
            scopes=scopes,
        )

    async def connections_open(self, app_token: str) -> None:
        """Asks for a Socket Mode URL (and connects to nothing: the URL expires unused)."""
        await self._call("apps.connections.open", app_token)

    async def _call(self, method: str, token: str) -> tuple[dict[str, Any], dict[str, str]]:
        assert self._session is not None, "use SlackWeb in `async with`"
        url = self.api_url + method
        try:
            async with self._session.post(
                url, headers={"Authorization": f"Bearer {token}"}
            ) as response:
                headers = {k.lower(): v for k, v in response.headers.items()}
                if response.status == 429:
                    wait = headers.get("retry-after", "a few")
                    raise SlackUnavailable(
                        f"Slack rate-limited {method}; try again in {wait} seconds"
                    )
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
                if response.status != 200 or not isinstance(body, dict):
                    raise SlackUnavailable(
                        f"Slack at {self.api_url} answered {response.status} to {method}, not "
                        "Slack's JSON; check SLACK_API_URL and the network"
                    )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else network_reason(exc)
            raise SlackUnavailable(
                f"Slack at {self.api_url} did not answer ({reason}); check SLACK_API_URL and "
                "the network"
            ) from None
        if not body.get("ok"):
            error = str(body.get("error") or "unknown_error")
            raise SlackRefused(f"Slack refused {method} ({error})", error)
        return body, headers
