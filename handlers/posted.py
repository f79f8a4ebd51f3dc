"""Finding what the bot already posted, by the message metadata it carries.

Follow replies, incident parents and digests record an intent before posting; after a crash
the bot looks here before posting again, so nothing is posted twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

# How many of the newest messages (of a channel or a thread) are searched.
HISTORY_LIMIT = 200

Payload = dict[str, Any]


async def find_posted(
    client: AsyncWebClient,
    channel: str,
    event_type: str,
    match: Callable[[Payload], bool],
    *,
    thread_ts: str | None = None,
) -> tuple[str, Payload] | None:
    """The ts and payload of a message with ``event_type`` metadata whose payload matches,
    among the channel's newest messages (or a thread's); None when there is none, or when the
    history cannot be read (then posting again beats never telling)."""
    try:
        # The newest messages, not "since the intent": Slack's clock and ours may differ.
        if thread_ts is None:
            page = await client.conversations_history(
                channel=channel, include_all_metadata=True, limit=HISTORY_LIMIT
            )
        else:
            page = await client.conversations_replies(
                channel=channel, ts=thread_ts, include_all_metadata=True, limit=HISTORY_LIMIT
            )
    except SlackApiError as exc:
        log.warning("cannot read %s's history (%s)", channel, exc.response.get("error"))
        return None
    for message in page.get("messages") or []:
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == event_type and match(payload):
            return str(message["ts"]), payload
    return None
