"""``/where``'s table of subcommands, and a reference parsed and checked once. No I/O: the
deps are the real stores in memory, a web host that is configured (so never learned) and a
tracer that records what it is asked."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.access import ChannelPolicy
from bot.config import parse_service_map
from bot.digest.store import Deliveries
from bot.drift.store import Incidents
from bot.errors import StoreBusy
from bot.model import Change, ChangeState, Trace
from bot.refs import OtherHost, Ref
from bot.render.blocks import Message
from bot.store import Store
from bot.trace.webhost import WebHost
from handlers.answers import check, problem, trace_checked, trace_for
from handlers.commands.where import answer, where
from handlers.deps import DigestDeps, DriftDeps, TraceDeps, WhereDeps
from handlers.subcommands import SUBCOMMANDS, Reply, Subcommand, subcommand_for, usage

SERVICES = parse_service_map(
    """
services:
  - {name: shop, repo: acme/shop, environments: [{name: prod}]}
slack:
  channels:
    C0DEPLOYS: {repos: ["acme/shop"], default_repo: acme/shop}
    C0LOCKED: {repos: []}
"""
)
DEPLOYS = "C0DEPLOYS"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
WORDS = [(row, name) for row in SUBCOMMANDS for name in row.names]


class CountingWeb(WebHost):
    """GitHub's web host, configured; counts how often a reference is parsed."""

    def __init__(self, store: Store) -> None:
        # Configured: the host is settled, so the GitHub client is never used.
        super().__init__("https://github.com", "https://api.github.com", store, None, SERVICES)  # type: ignore[arg-type]
        self.parsed: list[str] = []

    def parse_known(self, text: str) -> Ref:
        self.parsed.append(text)
        return super().parse_known(text)


class RecordingTracer:
    def __init__(self) -> None:
        self.asked: list[tuple[Ref, str | None]] = []

    async def trace(self, ref: Ref, default_repo: str | None = None, allowed: Any = None) -> Trace:
        self.asked.append((ref, default_repo))
        change = Change("acme/shop", "a" * 40, ref.text, ChangeState.MERGED, pr=ref.pr)
        return Trace(change=change, service="shop", stages=(), where="Live in prod")


class FailingBuilder:
    def __init__(self) -> None:
        self.built: list[str] = []

    async def build(self, channel: str, start: datetime, end: datetime, **_: Any) -> Any:
        self.built.append(channel)
        raise StoreBusy("database is locked")


@pytest.fixture
def deps() -> WhereDeps:
    store = Store.memory()
    deliveries = Deliveries(store)
    return WhereDeps(
        trace=TraceDeps(RecordingTracer(), SERVICES, CountingWeb(store)),  # type: ignore[arg-type]
        drift=DriftDeps(SERVICES, Incidents(store), deliveries, lambda: NOW),
        digest=DigestDeps(FailingBuilder(), deliveries, lambda: NOW),  # type: ignore[arg-type]
    )


class Slack:
    """What the listener said: the ack, then what it responded."""

    def __init__(self) -> None:
        self.acks: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []

    async def ack(self, **kwargs: Any) -> None:
        assert not self.acks, "acked twice"
        self.acks.append(kwargs)

    async def respond(self, **kwargs: Any) -> None:
        assert self.acks, "responded before the ack"
        self.responses.append(kwargs)


async def ask(deps: WhereDeps, text: str, table: tuple[Subcommand, ...] = SUBCOMMANDS) -> Slack:
    slack = Slack()
    command = {"text": text, "channel_id": DEPLOYS}
    await where(slack.ack, slack.respond, command, deps, table)  # type: ignore[arg-type]
    return slack


def shown(message: Message | dict[str, Any]) -> str:
    kwargs = message.kwargs() if isinstance(message, Message) else message
    return "\n".join([kwargs["text"], *(b["text"]["text"] for b in kwargs.get("blocks") or [])])


def test_help_lists_every_row() -> None:
    text = shown(usage())
    for row in SUBCOMMANDS:
        assert f"`/where {row.names[0]}` {row.about}." in text
    assert "owner/repo#123" in text  # and the forms of a reference


def test_a_bad_reference_shows_the_same_usage(deps: WhereDeps) -> None:
    reply = answer(deps, "drop table", DEPLOYS)
    assert reply.later is None
    assert "'drop table' is not a PR or commit reference" in shown(reply.ack)
    assert reply.ack.blocks[-1] == usage().blocks[-1]  # every row listed there too


def test_every_word_names_one_row() -> None:
    names = [name for _, name in WORDS]
    assert len(names) == len(set(names))
    assert all(name == name.strip().lower() for name in names)


@pytest.mark.parametrize(
    "text", ["drifts", "drift now", "digest please", "helpme", "acme/shop#12", "12", "?!"]
)
def test_a_word_no_row_names_is_a_reference(deps: WhereDeps, text: str) -> None:
    assert subcommand_for(text) is None
    answer(deps, text, DEPLOYS)  # refused or not, the reference was parsed
    assert deps.trace.web.parsed == [text]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("row", "name"), WORDS, ids=[f"{r.names[0]}:{n!r}" for r, n in WORDS])
@pytest.mark.parametrize("typed", [str, str.upper, lambda n: f"  {n} "])
async def test_each_row_dispatches(deps: WhereDeps, row: Subcommand, name: str, typed: Any) -> None:
    ran: list[tuple[str, str]] = []

    def recording(this: Subcommand) -> Subcommand:
        def run(_: WhereDeps, channel: str) -> Reply:
            ran.append((this.names[0], channel))

            async def later() -> Message:
                return Message(text=f"{this.names[0]} later", blocks=[])

            return Reply(Message(text=f"{this.names[0]} now", blocks=[]), later)

        return dataclasses.replace(this, run=run)

    slack = await ask(deps, typed(name), tuple(recording(r) for r in SUBCOMMANDS))
    assert ran == [(row.names[0], DEPLOYS)]
    assert slack.acks == [{"text": f"{row.names[0]} now", "blocks": []}]
    assert slack.responses == [
        {"response_type": "ephemeral", "text": f"{row.names[0]} later", "blocks": []}
    ]
    assert deps.trace.web.parsed == []  # type: ignore[attr-defined]


async def test_help_and_drift_answer_in_the_ack(deps: WhereDeps) -> None:
    helped, drift = await ask(deps, "help"), await ask(deps, "drift")
    assert helped.acks == [usage().kwargs()] and helped.responses == []
    assert shown(drift.acks[0]).startswith("No open drift incidents.")
    assert drift.responses == []


async def test_the_digest_is_built_after_the_ack_and_a_problem_answered(deps: WhereDeps) -> None:
    reply = answer(deps, "digest", DEPLOYS)
    assert shown(reply.ack) == "Building this channel's digest…"
    assert deps.digest.builder.built == []  # type: ignore[attr-defined]  # nothing before the ack
    slack = await ask(deps, "digest")
    assert deps.digest.builder.built == [DEPLOYS]  # type: ignore[attr-defined]
    [busy] = slack.responses
    assert busy == {"response_type": "ephemeral", **problem(StoreBusy("x"), "digest").kwargs()}


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[Ref]:
    """Every permission check of a channel, by the reference it checked."""
    checked: list[Ref] = []
    original = ChannelPolicy.check

    def counting(self: ChannelPolicy, ref: Ref) -> None:
        checked.append(ref)
        original(self, ref)

    monkeypatch.setattr(ChannelPolicy, "check", counting)
    return checked


async def test_a_reference_is_parsed_and_checked_once(deps: WhereDeps, checks: list[Ref]) -> None:
    slack = await ask(deps, "#12")
    assert slack.acks[0]["text"] == "Tracing #12…"
    assert slack.responses[0]["text"].startswith("acme/shop#12")
    tracer: RecordingTracer = deps.trace.tracer  # type: ignore[assignment]
    [(traced, default_repo)] = tracer.asked
    assert deps.trace.web.parsed == ["#12"]  # type: ignore[attr-defined]
    assert checks == [traced]  # the reference traced is the one checked
    assert default_repo == "acme/shop"


async def test_a_refused_reference_is_answered_in_the_ack(
    deps: WhereDeps, checks: list[Ref]
) -> None:
    slack = Slack()
    command = {"text": "acme/shop#12", "channel_id": "C0LOCKED"}
    await where(slack.ack, slack.respond, command, deps)  # type: ignore[arg-type]
    assert "may not trace acme/shop" in shown(slack.acks[0])
    assert slack.responses == []
    assert deps.trace.tracer.asked == []  # type: ignore[attr-defined]
    assert len(checks) == 1


async def test_a_button_traces_through_the_same_check_once(
    deps: WhereDeps, checks: list[Ref]
) -> None:
    trace = await trace_for(deps.trace, "acme/shop#12", DEPLOYS)
    assert trace.change.requested == "acme/shop#12"
    assert deps.trace.web.parsed == ["acme/shop#12"]  # type: ignore[attr-defined]
    assert len(checks) == 1


def test_a_known_host_is_checked_with_the_reference(deps: WhereDeps) -> None:
    assert check(deps.trace, "https://github.com/acme/shop/pull/12", DEPLOYS).host_checked
    assert check(deps.trace, "acme/shop#12", DEPLOYS).host_checked


async def test_a_link_checked_before_the_host_was_known_is_checked_on_it_before_tracing() -> None:
    store = Store.memory()
    web = WebHost(None, "https://api.github.com", store, None, SERVICES)  # type: ignore[arg-type]
    tracer = RecordingTracer()
    trace_deps = TraceDeps(tracer, SERVICES, web)  # type: ignore[arg-type]
    checked = check(trace_deps, "https://gitlab.com/acme/shop/pull/1", DEPLOYS)
    assert not checked.host_checked
    web.learn("https://github.com/acme/shop")  # another answer taught it meanwhile
    with pytest.raises(OtherHost):
        await trace_checked(trace_deps, checked)
    assert tracer.asked == []
