"""The walk-through: the real bot, started as ``shiptrace serve`` starts it, against the
sandbox; the demo changes what the emulators serve and asks the bot, as a person would.

``/where`` is a signed slash command to the bot's HTTP endpoint, answered through its
response_url; drift and the digest are the bot's own scheduled jobs, run when the story
needs them, on a clock the demo moves (nothing waits out the drift grace or the night).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

import aiohttp

from bot.app import Bot, running
from bot.config import load_service_map
from bot.demo.sandbox import SIGNING_SECRET, Sandbox, environment, sandbox
from bot.demo.story import CHANNEL, CHANNEL_NAME, REF, Story
from bot.export.follow import change_spans
from bot.export.otlp import SpanSink
from bot.export.spans import span_tree_text
from bot.render.digest import DIGEST_EVENT
from bot.render.incident import INCIDENT_EVENT
from bot.render.slack_text import blocks_text, mrkdwn_text
from bot.sandbox.scenario import Clock
from bot.sandbox.slack_signing import signed_headers, slash_command_body

# A Thursday morning: the digest is due on Friday at 09:00 UTC (the default schedule).
START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
DIGEST_AT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
USER = "U0ALICE"
LIVE = "Live in staging, production"
ANSWER_TIMEOUT = 20.0  # seconds; an answer takes well under one on 127.0.0.1


class DemoFailed(Exception):
    """The walk did not reach where it should have: said in one line, exit 1."""


@dataclass
class Outcome:
    steps: int = 0
    where: str = ""  # the last /where answer's summary line
    opened: bool = False
    resolved: bool = False
    digest: bool = False
    spans: int = 0  # exported to the OTLP receiver
    seen: dict[str, str] = field(default_factory=dict)  # ts -> what was shown of it


class Walk:
    def __init__(self, box: Sandbox, bot: Bot, story: Story, clock: Clock, out: TextIO) -> None:
        self.box, self.bot, self.story, self.clock, self.out = box, bot, story, clock, out
        self.outcome = Outcome()

    def say(self, text: str = "") -> None:
        print(text, file=self.out)

    def moment(self, minutes: float, title: str) -> None:
        self.clock.now = self.story.time(minutes)
        for emu in self.box.clusters.values():
            emu.now = self.clock.now
        self.say()
        self.say(f"── {self.clock.now:%a %d %b %H:%M} UTC · {title}")

    def show(self, heading: str, blocks: list[dict[str, Any]], text: str = "") -> None:
        self.say(heading)
        for line in (blocks_text(blocks) if blocks else mrkdwn_text(text)).splitlines():
            self.say(f"  │ {line}".rstrip())

    # --- what a person does ------------------------------------------------------------------

    async def where(self, name: str) -> dict[str, Any]:
        """``/where acme/shop#412`` in #deploys; the answer the bot sent to the response_url."""
        slack = self.box.slack
        body = slash_command_body(
            text=REF,
            channel_id=CHANNEL,
            channel_name=CHANNEL_NAME.lstrip("#"),
            user_id=USER,
            response_url=slack.response_url(name),
        )
        url = f"{self.bot.url}/slack/events"
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body, headers=signed_headers(SIGNING_SECRET, body)) as r,
        ):
            if r.status != 200:
                raise DemoFailed(f"the bot answered /where with HTTP {r.status}")
        try:
            [answer] = await slack.wait_responses(name, timeout=ANSWER_TIMEOUT)
        except TimeoutError:
            raise DemoFailed(f"no answer to /where {REF} in {ANSWER_TIMEOUT:.0f} s") from None
        return answer

    async def posted(self, job: str) -> int:
        """Run one of the bot's jobs and show what it posted or edited in #deploys."""
        await self.bot.jobs[job]()
        shown_now = 0
        for m in self.box.slack.messages(CHANNEL):
            shown = blocks_text(m["blocks"]) if m["blocks"] else mrkdwn_text(str(m["text"]))
            before = self.outcome.seen.get(m["ts"])
            if before == shown:
                continue
            self.outcome.seen[m["ts"]] = shown
            event = (m["metadata"] or {}).get("event_type")
            state = ((m["metadata"] or {}).get("event_payload") or {}).get("state")
            self.outcome.opened |= event == INCIDENT_EVENT
            self.outcome.resolved |= event == INCIDENT_EVENT and state == "resolved"
            self.outcome.digest |= event == DIGEST_EVENT
            where = "edited its message" if before is not None else "posted"
            if m["thread_ts"] and m["thread_ts"] != m["ts"]:
                where = "replied in the thread"
            self.show(f"  shiptrace {where} in {CHANNEL_NAME}:", m["blocks"], str(m["text"]))
            shown_now += 1
        return shown_now

    # --- the story ---------------------------------------------------------------------------

    async def delivery(self) -> None:
        await self.bot.jobs["drift"]()  # the bot was already watching: what ran before
        for n, step in enumerate(self.story.delivery(), 1):
            self.moment(step.at, step.title)
            step.apply()
            await self.bot.jobs["drift"]()  # every minute, as scheduled: what runs where
            answer = await self.where(f"where-{n}")
            self.show(
                f"  /where {REF}   (in {CHANNEL_NAME}; only you see the answer)",
                answer.get("blocks") or [],
                str(answer.get("text")),
            )
            self.outcome.steps = n
            self.outcome.where = str(answer.get("text", ""))

    async def drift(self) -> None:
        self.moment(180, "a production pod starts crash-looping")
        self.story.crash_loop()
        if not await self.posted("drift"):
            self.say("  the drift scan sees it; the bot waits out its 2 min grace before posting")
        self.moment(183, "still crash-looping after the grace")
        await self.posted("drift")
        self.moment(190, "the pod runs again")
        self.story.recover(190)
        await self.posted("drift")

    async def trace(self) -> None:
        """The delivery as one OpenTelemetry trace, exported to the sandbox's OTLP receiver
        as `shiptrace where --otlp` (or `serve`, on its own) would."""
        self.say()
        self.say(f"── {self.clock.now:%a %d %b %H:%M} UTC · the delivery as a trace (OTLP)")
        engine = self.bot.engine
        trace = await engine.tracer.trace(await engine.web.parse(REF))
        spans = change_spans(trace, engine.store, self.clock.now)
        sink = SpanSink()
        try:
            result = await sink.export_async(spans)
        finally:
            sink.shutdown()
        received = self.box.otlp.spans
        if not result.ok or len(received) != len(spans):
            raise DemoFailed(f"the OTLP receiver got {len(received)} of {len(spans)} spans")
        self.outcome.spans = len(received)
        self.say(
            f"  exported {len(spans)} spans to {self.box.otlp.url}; as a trace view shows them:"
        )
        for line in span_tree_text(spans).splitlines():
            self.say(f"  │ {line}")

    async def digest(self) -> None:
        self.clock.now = DIGEST_AT
        self.say()
        self.say(f"── {DIGEST_AT:%a %d %b %H:%M} UTC · the daily digest")
        await self.posted(f"digest-{CHANNEL}")


async def walk(out: TextIO) -> int:
    began = time.monotonic()
    print(
        "shiptrace demo: one change from merge to production, traced by the real bot against\n"
        "local emulators of GitHub, two Kubernetes clusters (staging: Argo CD, production:\n"
        "Flux) and Slack. Nothing leaves this machine; no account or config is needed.",
        file=out,
    )
    # Slack's Bolt reads SLACK_* by itself: this process gets only what is read from the
    # environment directly; the rest are the settings `shiptrace` would read from it.
    with sandbox() as box, environment(box.process_environment()):
        story = Story(box.github, box.clusters, START)
        story.seed()
        settings = box.settings()
        services = load_service_map(settings.shiptrace_config)
        clock = Clock(START)
        async with running(
            settings, services, host="127.0.0.1", port=0, clock=clock, schedule=False
        ) as bot:
            w = Walk(box, bot, story, clock, out)
            try:
                await w.delivery()
                await w.drift()
                await w.trace()
                await w.digest()
            except DemoFailed as exc:
                print(f"shiptrace demo: {exc}", file=sys.stderr)
                return 1
    return _summary(w.outcome, time.monotonic() - began, out)


def _summary(o: Outcome, seconds: float, out: TextIO) -> int:
    """Exit 0 only with the evidence: the last answer says live in production, and Slack
    holds the incident's thread, resolved, and the digest."""
    missing = [
        what
        for what, ok in (
            (f"{REF} live in production (the last answer was {o.where!r})", o.where.endswith(LIVE)),
            ("a drift incident opening", o.opened),
            ("the incident resolving", o.resolved),
            ("the trace exported", o.spans > 0),
            ("the digest", o.digest),
        )
        if not ok
    ]
    if missing:
        print(f"shiptrace demo: did not reach {'; '.join(missing)}", file=sys.stderr)
        return 1
    print(file=out)
    print(f"✓ {REF} traced from merge to live in production in {o.steps} steps", file=out)
    print(f"✓ 1 drift incident opened a thread in {CHANNEL_NAME} and resolved in it", file=out)
    print(f"✓ the delivery exported as one OpenTelemetry trace of {o.spans} spans", file=out)
    print(f"✓ the daily digest posted in {CHANNEL_NAME}", file=out)
    print(
        f"Done in {seconds:.1f} s. `shiptrace demo --serve` keeps this sandbox running, to try "
        "`shiptrace where`, `drift`, `digest` and `serve` against it.",
        file=out,
    )
    return 0
