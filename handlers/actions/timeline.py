"""The "Open timeline" button: Slack opens its URL itself and tells the app it was clicked.

Only acked: an unanswered click makes Slack show the button as failed.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.render.blocks import ACTION_TIMELINE


def register(app: AsyncApp) -> None:
    @app.action(ACTION_TIMELINE)
    async def opened(ack: AsyncAck) -> None:
        await ack()
