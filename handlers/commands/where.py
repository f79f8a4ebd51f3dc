"""``/where REF`` (or a word of ``handlers.subcommands``): ack at once, then answer
ephemerally with the trace."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.errors import BadInput, ShiptraceError
from bot.render.blocks import Message, trace_message, tracing_message
from handlers.answers import answered, check, outcome, problem, trace_checked
from handlers.deps import TraceDeps, WhereDeps
from handlers.subcommands import SUBCOMMANDS, Reply, Subcommand, subcommand_for


def ask(deps: TraceDeps, text: str, channel: str) -> Reply:
    """A reference: parsed and checked once, so a bad or refused one is answered in the ack
    itself; the trace of the checked reference comes after."""
    try:
        checked = check(deps, text, channel)
    except BadInput as exc:
        return Reply(problem(exc, text), outcome=outcome(exc))

    async def later() -> Message:
        return trace_message(await trace_checked(deps, checked))

    return Reply(tracing_message(text), later)


def answer(
    deps: WhereDeps, text: str, channel: str, table: tuple[Subcommand, ...] = SUBCOMMANDS
) -> Reply:
    """What ``/where text`` answers: the row naming ``text``, else ``text`` is a reference."""
    row = subcommand_for(text, table)
    if row is None:
        return ask(deps.trace, text, channel)
    return dataclasses.replace(row.run(deps, channel), outcome=row.names[0])


async def where(
    ack: AsyncAck,
    respond: AsyncRespond,
    command: dict[str, Any],
    deps: WhereDeps,
    table: tuple[Subcommand, ...] = SUBCOMMANDS,
) -> None:
    started = time.monotonic()
    text = str(command.get("text") or "").strip()
    reply = answer(deps, text, str(command.get("channel_id") or ""), table)
    await ack(**reply.ack.kwargs())
    if reply.later is None:
        answered(deps.trace.metrics, "/where", reply.outcome, started)
        return
    result = reply.outcome
    try:
        message = await reply.later()
    except ShiptraceError as exc:
        message, result = problem(exc, text), outcome(exc)
    answered(deps.trace.metrics, "/where", result, started)
    await respond(response_type="ephemeral", **message.kwargs())


def register(app: AsyncApp, deps: WhereDeps) -> None:
    @app.command("/where")
    async def on_where(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await where(ack, respond, command, deps)
