"""Slack mrkdwn and Block Kit building blocks shared by every message shiptrace renders. Pure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

MAX_NAME = 200
MAX_URL = 500


def date_token(when: datetime) -> str:
    """A time each reader sees in their own time zone; the fallback is UTC."""
    when = when.astimezone(UTC)
    return (
        f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{when:%Y-%m-%d %H:%M} UTC>"
    )


def escape(text: str) -> str:
    """Slack's three control characters; everything else is shown as is."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """Escape, then cut to `limit` chars with '…', never through the middle of an entity."""
    out = escape(text)
    if len(out) <= limit:
        return out
    cut = out[: max(limit - 1, 0)]
    amp = cut.rfind("&")  # after escaping, every '&' starts an entity
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def link(url: str, label: str) -> str:
    if len(url) > MAX_URL:  # an absurd URL would eat the section's budget: show the label only
        return clip(label, MAX_NAME)
    # A '|' or '>' in the URL would end the link early.
    return f"<{escape(url).replace('|', '%7C')}|{clip(label, MAX_NAME)}>"


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def section(block_id: str, text: str) -> dict[str, Any]:
    return {"type": "section", "block_id": block_id, "text": {"type": "mrkdwn", "text": text}}


def context(block_id: str, text: str) -> dict[str, Any]:
    return {"type": "context", "block_id": block_id, "elements": [{"type": "mrkdwn", "text": text}]}
