"""The words ``/where`` takes besides a reference: one row each, listed by the usage message.

A row names its word(s), says in one line what it does and gives the function that answers.
Adding a subcommand is adding a row to :data:`SUBCOMMANDS`; a text no row names is a reference
(``handlers.commands.where``).

A row's function returns a :class:`Reply` instead of calling Slack: it is not async, so nothing
it does can hold up the ack; slow work goes in ``Reply.later``, answered after the ack.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.access import policy_for
from bot.refs import permalink
from bot.render.blocks import Message, usage_message
from bot.render.digest import digest_message
from bot.render.incident import drift_list_message
from handlers.deps import DigestDeps, DriftDeps, WhereDeps


@dataclass(frozen=True)
class Reply:
    """What ``/where`` answers: ``ack`` at once, then ``later``'s message, ephemerally."""

    ack: Message
    later: Callable[[], Awaitable[Message]] | None = None
    outcome: str = "traced"  # what it counts as when all goes well (shiptrace_answers_total)


@dataclass(frozen=True)
class Subcommand:
    names: tuple[str, ...]  # the whole text, any case; the usage shows the first
    about: str  # what it does, one line: "lists open drift incidents"
    run: Callable[[WhereDeps, str], Reply]  # (deps, channel id)


def usage(reason: str | None = None) -> Message:
    """How to use ``/where``: the forms of a reference, then every row of the table."""
    return usage_message(reason, [(row.names[0], row.about) for row in SUBCOMMANDS])


def open_drift(deps: DriftDeps, channel: str) -> Message:
    """The open incidents of the services this channel may trace (a local read: no I/O wait)."""
    visible = {s.name for s in policy_for(deps.services, channel).traceable()}
    incidents = [i for i in deps.incidents.open_ones() if i.service in visible]
    return drift_list_message(incidents, deps.clock(), lambda i: permalink(i.channel, i.ts))


async def preview_digest(deps: DigestDeps, channel: str) -> Message:
    """The digest this channel would get now: since its last digest (else 24 h) until now."""
    now = deps.clock()
    start = deps.deliveries.window_start(channel, now)
    return digest_message(await deps.builder.build(channel, start, now))  # no chart


def _help(deps: WhereDeps, channel: str) -> Reply:
    return Reply(usage())


def _drift(deps: WhereDeps, channel: str) -> Reply:
    return Reply(open_drift(deps.drift, channel))


def _digest(deps: WhereDeps, channel: str) -> Reply:
    async def later() -> Message:
        return await preview_digest(deps.digest, channel)

    return Reply(Message(text="Building this channel's digest…", blocks=[]), later)


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(("drift",), "lists open drift incidents", _drift),
    Subcommand(("digest",), "previews this channel's digest", _digest),
    Subcommand(("help", "", "-h", "--help", "?"), "shows this message", _help),  # "": no text
)


def subcommand_for(text: str, table: tuple[Subcommand, ...] = SUBCOMMANDS) -> Subcommand | None:
    """The row naming ``text``; None when it names none (then it is a reference)."""
    word = text.strip().lower()
    return next((row for row in table if word in row.names), None)
