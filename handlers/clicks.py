"""What a button click says: who clicked, where, on which message, about which change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Click:
    user: str
    channel: str
    ref: str  # the button's value: the change's canonical reference
    message_ts: str | None  # None when the click came from an ephemeral message

    @property
    def ephemeral(self) -> bool:
        return self.message_ts is None


def click_from(body: dict[str, Any]) -> Click:
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id") or ""
    actions = body.get("actions") or [{}]
    ephemeral = bool(container.get("is_ephemeral")) or "message" not in body
    return Click(
        user=str((body.get("user") or {}).get("id") or ""),
        channel=str(channel),
        ref=str(actions[0].get("value") or ""),
        message_ts=None if ephemeral else str(container.get("message_ts") or ""),
    )
