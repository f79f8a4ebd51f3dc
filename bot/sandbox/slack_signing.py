"""Build and sign the requests Slack sends to a Bolt app's HTTP endpoint.

The payload builders return plain dicts too, so the same shapes can be pushed through
``SlackEmulator.socket_send`` for Socket Mode tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# Slack still sends the deprecated verification token in every payload; Bolt ignores it
# unless SLACK_VERIFICATION_TOKEN is set.
VERIFICATION_TOKEN = "fake-verification-token"
APP_ID = "A0001"
TEAM_DOMAIN = "shiptrace-test"


def sign(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The two headers Slack adds: a v0 HMAC-SHA256 over ``v0:{timestamp}:{body}``."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """``sign`` plus the form content type, stamped now unless told otherwise."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {"Content-Type": FORM_CONTENT_TYPE, **sign(secret, body, ts)}


def slash_command_payload(
    command: str = "/where",
    *,
    response_url: str,
    text: str = "",
    channel_id: str = "C0001",
    user_id: str = "U0USER",
    team_id: str = "T0001",
    trigger_id: str | None = None,
    channel_name: str = "deployments",
    user_name: str = "alice",
    api_app_id: str = APP_ID,
) -> dict[str, str]:
    """Every field of a real slash command invocation (all strings, as Slack form-encodes them)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or _trigger_id(),
    }


def slash_command_body(
    command: str = "/where",
    *,
    response_url: str,
    text: str = "",
    channel_id: str = "C0001",
    user_id: str = "U0USER",
    team_id: str = "T0001",
    trigger_id: str | None = None,
    channel_name: str = "deployments",
    user_name: str = "alice",
    api_app_id: str = APP_ID,
) -> bytes:
    """The form-urlencoded body Slack POSTs for a slash command."""
    payload = slash_command_payload(
        command,
        response_url=response_url,
        text=text,
        channel_id=channel_id,
        user_id=user_id,
        team_id=team_id,
        trigger_id=trigger_id,
        channel_name=channel_name,
        user_name=user_name,
        api_app_id=api_app_id,
    )
    return urlencode(payload).encode()


def block_actions_payload(
    action_id: str,
    value: str,
    channel_id: str,
    user_id: str,
    response_url: str,
    message_ts: str | None = None,
    container: dict[str, Any] | None = None,
    *,
    message: dict[str, Any] | None = None,
    block_id: str = "actions",
    button_text: str = "Button",
    team_id: str = "T0001",
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """A ``block_actions`` payload for one button click.

    With ``message_ts`` the click came from a posted message, and the payload carries that
    message (pass ``message=`` to embed the real one, e.g. from ``emu.messages()``). Without it
    the click came from an ephemeral message: Slack then sends no ``message``, and the container
    says ``is_ephemeral``.
    """
    ephemeral = message_ts is None
    ts = message_ts or "1764147600.999900"
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": "alice", "name": "alice", "team_id": team_id},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container
        or {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": trigger_id or _trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "deployments"},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": button_text, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": f"{int(time.time())}.000001",
            }
        ],
    }
    if not ephemeral:
        payload["message"] = message or {
            "type": "message",
            "ts": ts,
            "user": "U0BOT",
            "bot_id": "B0001",
            "app_id": APP_ID,
            "team": team_id,
            "text": "",
            "blocks": [],
        }
    return payload


def block_actions_body(
    action_id: str,
    value: str,
    channel_id: str,
    user_id: str,
    response_url: str,
    message_ts: str | None = None,
    container: dict[str, Any] | None = None,
    *,
    message: dict[str, Any] | None = None,
    block_id: str = "actions",
    button_text: str = "Button",
    team_id: str = "T0001",
    trigger_id: str | None = None,
) -> bytes:
    """Interactivity requests are form-encoded with the JSON in a single ``payload`` field."""
    payload = block_actions_payload(
        action_id,
        value,
        channel_id,
        user_id,
        response_url,
        message_ts,
        container,
        message=message,
        block_id=block_id,
        button_text=button_text,
        team_id=team_id,
        trigger_id=trigger_id,
    )
    return urlencode({"payload": json.dumps(payload)}).encode()


def _trigger_id() -> str:
    # Real trigger ids look like "13345224609.738474920.8088930838d88f008e0".
    return f"{int(time.time())}.1.fake0trigger"
