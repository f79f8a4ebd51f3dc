"""The Refresh button: trace again and show the new answer in place."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.render.blocks import ACTION_REFRESH, trace_message
from handlers.answers import message_fingerprint, shared_message, timeline_url, traced
from handlers.clicks import click_from
from handlers.deps import FollowDeps, TraceDeps


def register(app: AsyncApp, tracing: TraceDeps, following: FollowDeps) -> None:
    @app.action(ACTION_REFRESH)
    async def refresh(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        click = click_from(body)
        trace = await traced(tracing, click, respond, replace_original=click.ephemeral)
        if trace is None:
            return
        link = timeline_url(tracing, click.channel, trace)
        if click.message_ts is None:
            await respond(replace_original=True, **trace_message(trace, timeline_url=link).kwargs())
            return
        follow = following.follows.get(click.channel, click.message_ts)
        message = shared_message(
            trace,
            follow,
            f"Refreshed by <@{click.user}>",
            interval=following.interval,
            timeline_url=link,
        )
        await client.chat_update(channel=click.channel, ts=click.message_ts, **message.kwargs())
        if follow is not None:
            following.follows.updated(follow, message_fingerprint(message), following.clock())
