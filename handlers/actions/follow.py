"""The Follow / Stop following buttons on a shared message (the job is ``handlers.jobs.follow``)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ShiptraceError
from bot.follow.store import Follow, FollowState, follow_ending
from bot.render.blocks import ACTION_FOLLOW, ACTION_UNFOLLOW
from handlers.actions.share import post_visibly
from handlers.answers import (
    message_fingerprint,
    shared_message,
    timeline_url,
    trace_for,
    traced,
)
from handlers.clicks import click_from
from handlers.deps import FollowDeps, TraceDeps


def register(app: AsyncApp, tracing: TraceDeps, following: FollowDeps) -> None:
    follows, every = following.follows, following.interval

    @app.action(ACTION_FOLLOW)
    async def follow(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        click = click_from(body)
        trace = await traced(tracing, click, respond, replace_original=False)
        if trace is None:
            return
        now = following.clock()
        ending = follow_ending(trace, now, now, following.longest)
        if ending is not None:
            await respond(
                replace_original=False, text=f"{click.ref} {ending.reason}: nothing to follow."
            )
            return
        link = timeline_url(tracing, click.channel, trace)
        ts = click.message_ts
        if ts is None:  # from the asker's own answer: share it first, then follow that
            draft = Follow(0, click.channel, "", click.ref, (click.user,), now, FollowState.ACTIVE)
            first = shared_message(trace, draft, None, interval=every, timeline_url=link)
            ts = await post_visibly(client, respond, click.channel, first)
            if ts is None:
                return
            record = follows.start(click.channel, ts, click.ref, click.user, now)
            shown = shared_message(trace, record, None, interval=every, timeline_url=link)
            follows.updated(record, message_fingerprint(shown), now)
            await respond(delete_original=True)
            return
        record = follows.start(click.channel, ts, click.ref, click.user, now)
        message = shared_message(trace, record, None, interval=every, timeline_url=link)
        await client.chat_update(channel=click.channel, ts=ts, **message.kwargs())
        follows.updated(record, message_fingerprint(message), now)

    @app.action(ACTION_UNFOLLOW)
    async def unfollow(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        click = click_from(body)
        record = follows.get(click.channel, click.message_ts) if click.message_ts else None
        if (
            record is None
            or record.state is not FollowState.ACTIVE
            or click.user not in record.followers
        ):
            await respond(replace_original=False, text="You are not following this message.")
            return
        record = follows.unfollow(record, click.user)
        await respond(replace_original=False, text=f"You no longer follow {click.ref}.")
        try:
            trace = await trace_for(tracing, click.ref, click.channel)
        except ShiptraceError:
            return  # the message keeps its last answer; the next Refresh redraws it
        link = timeline_url(tracing, click.channel, trace)
        message = shared_message(trace, record, None, interval=every, timeline_url=link)
        await client.chat_update(channel=click.channel, ts=record.ts, **message.kwargs())
