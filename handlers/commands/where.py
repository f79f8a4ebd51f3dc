"""``/where REF``: ack at once, then answer ephemerally with the trace."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.access import policy_for
from bot.digest.records import Digest
from bot.errors import BadInput, ShiptraceError
from bot.refs import permalink
from bot.render.blocks import Message, trace_message, tracing_message, usage_message
from bot.render.digest import digest_message
from bot.render.incident import drift_list_message
from handlers.answers import problem, trace_for
from handlers.deps import Deps

HELP_WORDS = {"", "help", "-h", "--help", "?"}


def open_drift(deps: Deps, channel: str) -> Message:
    """The open incidents of the services this channel may trace (a local read: no I/O wait)."""
    visible = {s.name for s in policy_for(deps.services, channel).traceable()}
    incidents = [i for i in deps.incidents.open_ones() if i.service in visible]
    return drift_list_message(incidents, deps.clock(), lambda i: permalink(i.channel, i.ts))


async def preview_digest(deps: Deps, channel: str) -> Digest:
    """The digest this channel would get now: since its last digest (else 24 h) until now."""
    now = deps.clock()
    start = deps.deliveries.window_start(channel, now)
    return await deps.digests.build(channel, start, now)  # shown as a message: no chart


def register(app: AsyncApp, deps: Deps) -> None:
    @app.command("/where")
    async def where(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        text = str(command.get("text") or "").strip()
        channel = str(command.get("channel_id") or "")
        if text.lower() in HELP_WORDS:
            await ack(**usage_message().kwargs())
            return
        if text.lower() == "drift":
            await ack(**open_drift(deps, channel).kwargs())
            return
        if text.lower() == "digest":
            await ack(text="Building this channel's digest…")
            try:
                digest = await preview_digest(deps, channel)
            except ShiptraceError as exc:
                await respond(response_type="ephemeral", **problem(exc, text).kwargs())
                return
            await respond(response_type="ephemeral", **digest_message(digest).kwargs())
            return
        # Parsing and the channel's permission need no GitHub request: a bad or refused
        # question is answered in the ack itself. (A link that arrives before GitHub's web host
        # is known has its host checked after the ack, by trace_for.)
        try:
            policy_for(deps.services, channel).check(deps.web.parse_known(text))
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
