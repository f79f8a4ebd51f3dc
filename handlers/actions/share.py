"""The Share in channel button: post the answer visibly, where everyone can follow it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.render.blocks import ACTION_SHARE, Message
from handlers.answers import one_off_message, timeline_url, traced
from handlers.clicks import click_from
from handlers.deps import TraceDeps

# Slack's answers when the bot may not post in a channel.
NOT_POSTABLE = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


async def post_visibly(
    client: AsyncWebClient, respond: AsyncRespond, channel: str, message: Message
) -> str | None:
    """Post ``message`` in ``channel``; its ts, or None after telling the user why not."""
    try:
        posted = await client.chat_postMessage(channel=channel, **message.kwargs())
    except SlackApiError as exc:
        error = str(exc.response.get("error", ""))
        if error not in NOT_POSTABLE:
            raise
        await respond(
            replace_original=False,
            text=(
                f"I can't post in this channel ({error}). Invite me with `/invite @shiptrace`, "
                "then press the button again."
            ),
        )
        return None
    return str(posted["ts"])


def register(app: AsyncApp, tracing: TraceDeps) -> None:
    @app.action(ACTION_SHARE)
    async def share(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        click = click_from(body)
        trace = await traced(tracing, click, respond, replace_original=click.ephemeral)
        if trace is None:
            return
        link = timeline_url(tracing, click.channel, trace)
        message = one_off_message(trace, f"Shared by <@{click.user}>", timeline_url=link)
        ts = await post_visibly(client, respond, click.channel, message)
        if ts is not None and click.ephemeral:
            await respond(delete_original=True)
