"""Slack: the bot token and its scopes (``auth.test``), then how Slack reaches the bot —
Socket Mode (``apps.connections.open`` with the app-level token) or HTTP (the signing secret)."""

from __future__ import annotations

from bot.config import Settings
from bot.doctor.guard import guarded
from bot.doctor.needs import SLACK_SCOPES
from bot.doctor.report import Check
from bot.sources.slack import SlackRefused, SlackWeb

FIX_BOT = (
    "copy the Bot User OAuth Token (xoxb-…) from the Slack app's OAuth & Permissions page into "
    "SLACK_BOT_TOKEN"
)
FIX_APP = (
    "create an app-level token (xapp-…) with the connections:write scope under the app's Basic "
    "Information → App-Level Tokens, and set it as SLACK_APP_TOKEN"
)


NETWORK_HINT = "check SLACK_API_URL and the network"


async def checks(settings: Settings, per_check: float) -> list[Check]:
    token = bot_token(settings)
    if isinstance(token, Check):
        return [token]  # how Slack would reach a bot without a token does not matter yet
    async with SlackWeb(settings.slack_api_url) as slack:
        rows = [await guarded("slack", auth(slack, token), NETWORK_HINT, per_check)]
        if settings.slack_app_token is not None:
            rows.append(
                await guarded("slack socket", socket_mode(slack, settings), NETWORK_HINT, per_check)
            )
        else:
            rows.append(http_mode(settings))
    return rows


def bot_token(settings: Settings) -> str | Check:
    """The bot token, or the failed check saying why there is none to use."""
    if settings.slack_bot_token is None:
        return Check(
            "slack",
            False,
            "SLACK_BOT_TOKEN is not set",
            f"{FIX_BOT} (not needed for the CLI, only for the bot)",
        )
    token = settings.slack_bot_token.get_secret_value()
    if not token.startswith("xoxb-"):
        return Check("slack", False, "SLACK_BOT_TOKEN is not a bot token (xoxb-…)", FIX_BOT)
    return token


async def auth(slack: SlackWeb, token: str) -> Check:
    try:
        me = await slack.auth_test(token)
    except SlackRefused as exc:
        return Check("slack", False, f"Slack refused SLACK_BOT_TOKEN ({exc.error})", FIX_BOT)
    who = f"auth.test as @{me.user} in {me.team}"
    if me.scopes is None:
        return Check(
            "slack",
            False,
            f"{who}; Slack did not say which scopes the token has",
            "check that SLACK_API_URL is Slack's Web API, not a proxy that drops headers",
        )
    missing = [s for s in SLACK_SCOPES if s not in me.scopes]
    if missing:
        return Check(
            "slack",
            False,
            f"{who}; missing scopes: {', '.join(missing)}",
            "add them under the app's OAuth & Permissions → Bot Token Scopes "
            "(deploy/slack-app-manifest.yaml lists every scope) and reinstall the app",
        )
    return Check("slack", True, f"{who}; scopes ok")


async def socket_mode(slack: SlackWeb, settings: Settings) -> Check:
    assert settings.slack_app_token is not None
    token = settings.slack_app_token.get_secret_value()
    if not token.startswith("xapp-"):
        return Check(
            "slack socket",
            False,
            "SLACK_APP_TOKEN is not an app-level token (xapp-…)",
            FIX_APP,
        )
    try:
        await slack.connections_open(token)
    except SlackRefused as exc:
        return Check("slack socket", False, f"Slack refused SLACK_APP_TOKEN ({exc.error})", FIX_APP)
    return Check("slack socket", True, "Socket Mode: apps.connections.open ok")


def http_mode(settings: Settings) -> Check:
    if settings.slack_signing_secret is None:
        return Check(
            "slack http",
            False,
            "SLACK_SIGNING_SECRET is not set (HTTP mode: SLACK_APP_TOKEN is not set either)",
            "set SLACK_SIGNING_SECRET to the Signing Secret under the app's Basic Information → "
            "App Credentials, or SLACK_APP_TOKEN for Socket Mode",
        )
    return Check("slack http", True, "HTTP mode: SLACK_SIGNING_SECRET is set (/slack/events)")
