"""``/where REF``: ack at once, then answer ephemerally with the trace."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.access import policy_for
from bot.errors import BadInput, ShiptraceError
from bot.refs import parse_ref
from bot.render.blocks import trace_message, tracing_message, usage_message
from handlers.answers import problem, trace_for
from handlers.deps import Deps

HELP_WORDS = {"", "help", "-h", "--help", "?"}


def register(app: AsyncApp, deps: Deps) -> None:
    @app.command("/where")
    async def where(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        text = str(command.get("text") or "").strip()
        channel = str(command.get("channel_id") or "")
        if text.lower() in HELP_WORDS:
            await ack(**usage_message().kwargs())
            return
        # Parsing and the channel's permission are pure: a bad or refused question is answered
        # in the ack itself, and never reaches GitHub.
        try:
            policy_for(deps.services, channel).check(parse_ref(text, deps.github_host))
        except BadInput as exc:
            await ack(**problem(exc, text).kwargs())
            return
        await ack(**tracing_message(text).kwargs())
        try:
            trace = await trace_for(deps, text, channel)
        except ShiptraceError as exc:
            await respond(response_type="ephemeral", **problem(exc, text).kwargs())
            return
        await respond(response_type="ephemeral", **trace_message(trace).kwargs())
