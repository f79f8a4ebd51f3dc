"""Block Kit rendering of traces and the bot's short replies. Pure: returns raw block dicts.

Slack rejects a whole message that breaks a Block Kit limit, so every limit from
reference/slack/FACTS.md is enforced here rather than hoped for: 50 blocks, 150-char
headers, 3,000-char section texts, unique block_ids.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.model import Change, Item, Stage, Status, Trace
from bot.render.mrkdwn import (
    MAX_NAME,
    clip,
    context,
    cut,
    date_token,
    escape,
    link,
    plain,
    section,
)
from bot.timefmt import parse_time

ACTION_REFRESH = "shiptrace_refresh"
ACTION_SHARE = "shiptrace_share"
ACTION_FOLLOW = "shiptrace_follow"
ACTION_UNFOLLOW = "shiptrace_unfollow"
ACTION_TIMELINE = "shiptrace_timeline"  # a link button: Slack opens the URL (and tells us)

EMOJI = {
    Status.SUCCEEDED: ":white_check_mark:",
    Status.FAILED: ":x:",
    Status.RUNNING: ":hourglass_flowing_sand:",
    Status.PENDING: ":white_circle:",
    Status.DRIFTED: ":warning:",
    Status.SKIPPED: ":heavy_minus_sign:",
    Status.UNKNOWN: ":grey_question:",
}
BUTTONS = {
    ACTION_REFRESH: "Refresh",
    ACTION_SHARE: "Share in channel",
    ACTION_FOLLOW: "Follow",
    ACTION_UNFOLLOW: "Stop following",
}
MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_TEXT = 3000
MAX_ITEMS = 8
MAX_URL = 3000  # a button's url
# Caps on single user-controlled pieces, so one long value cannot crowd out the rest.
MAX_DETAIL = 1000
FOLDED_DETAIL = 150


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[dict[str, Any]]

    def kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def change_ref(change: Change) -> str:
    """Canonical reference used as button value: 'acme/shop#412' or 'acme/shop@<40-hex sha>'."""
    return f"{change.repo}#{change.pr}" if change.pr is not None else f"{change.repo}@{change.sha}"


def trace_message(
    trace: Trace,
    *,
    buttons: Sequence[str] = (ACTION_REFRESH, ACTION_SHARE, ACTION_FOLLOW),
    note: str | None = None,
    timeline_url: str | None = None,
) -> Message:
    """The answer for ``trace``; ``timeline_url`` (a signed link to its timeline page, made by
    the caller for this channel) adds an "Open timeline" button after ``buttons``."""
    c = trace.change
    ref = _short_ref(c)
    title = " ".join(c.title.split()) if c.title else ""
    head: list[dict[str, Any]] = [
        {
            "type": "header",
            "block_id": "shiptrace_header",
            "text": plain(cut(f"{ref} · {title}" if title else ref, MAX_HEADER)),
        },
        context("shiptrace_change", _change_line(trace, ref)),
    ]
    tail: list[dict[str, Any]] = [
        section("shiptrace_where", f"*Where:* {clip(trace.where, MAX_TEXT - 10)}")
    ]
    if trace.errors:
        problems = "; ".join(
            f"{e.source} ({e.environment}): {e.message}"
            if e.environment
            else f"{e.source}: {e.message}"
            for e in trace.errors
        )
        tail.append(context("shiptrace_errors", "Could not read: " + clip(problems, MAX_TEXT - 20)))
    if note:
        tail.append(context("shiptrace_note", cut(note, MAX_TEXT)))
    if buttons or timeline_url:
        tail.append(_actions(buttons, change_ref(c), timeline_url))
    room = MAX_BLOCKS - len(head) - len(tail)
    body = _stage_blocks(trace.stages, room)
    text = f"{ref}: {clip(trace.where, MAX_TEXT - len(ref) - 2)}"
    return Message(text=text, blocks=head + body + tail)


def tracing_message(ref_text: str) -> Message:
    ref = clip(ref_text.strip(), MAX_NAME) or "your change"
    return Message(
        text=f"Tracing {ref}…", blocks=[section("shiptrace_tracing", f":mag: Tracing *{ref}*…")]
    )


USAGE = (
    "*Usage:* `/where REF` tells you where a change is: CI, GitOps sync, Kubernetes rollout.\n"
    "REF can be:\n"
    "• `owner/repo#123` or a pull request URL\n"
    "• `#123` (this channel's default repo)\n"
    "• `owner/repo@sha`, a bare SHA (7–40 hex) or a commit URL"
)


def usage_message(reason: str | None = None, commands: Sequence[tuple[str, str]] = ()) -> Message:
    """How to ask, after ``reason`` if given; ``commands`` are the other words ``/where``
    takes, each with what it does (the table in ``handlers.subcommands``)."""
    blocks = (
        [section("shiptrace_reason", f":warning: {clip(reason, MAX_NAME * 5)}")] if reason else []
    )
    lines = [USAGE, *(f"`/where {word}` {about}." for word, about in commands)]
    blocks.append(section("shiptrace_usage", "\n".join(lines)))
    plain = "Usage: /where owner/repo#123 | #123 | PR URL | owner/repo@sha | sha | commit URL"
    return Message(text=f"{escape(reason)} {plain}" if reason else plain, blocks=blocks)


def problem_message(reason: str, *, next_step: str, retry_ref: str | None = None) -> Message:
    problem, step = clip(reason, MAX_TEXT // 2), clip(next_step, MAX_TEXT // 2 - 20)
    blocks = [section("shiptrace_problem", f":warning: {problem}\n{step}")]
    if retry_ref is not None:
        blocks.append(_actions([ACTION_REFRESH], retry_ref))
    return Message(text=f"{problem} {step}", blocks=blocks)


def refusal_message(channel_id: str, target: str, next_step: str) -> Message:
    """This channel may not trace ``target``; the channel is a mention Slack renders by name."""
    channel = f"<#{channel_id}>" if _CHANNEL_ID.fullmatch(channel_id) else escape(channel_id)
    reason = f"{channel} may not trace {escape(cut(target, MAX_NAME))}."
    step = clip(next_step, MAX_TEXT // 2)
    blocks = [section("shiptrace_problem", f":no_entry: {reason}\n{step}")]
    return Message(text=f"{reason} {step}", blocks=blocks)


_CHANNEL_ID = re.compile(r"[A-Z0-9]{1,30}")


# --- stages -------------------------------------------------------------------------------


def _stage_blocks(stages: Sequence[Stage], room: int) -> list[dict[str, Any]]:
    """Stages without environment, then each environment's; fold environments to fit `room`."""
    loose = [s for s in stages if s.environment is None]
    envs: dict[str, list[Stage]] = {}
    for s in stages:
        if s.environment is not None:
            envs.setdefault(s.environment, []).append(s)
    groups = list(envs.items())
    blocks = [section(f"shiptrace_stage_{n}", _stage_text(s)) for n, s in enumerate(loose)]
    # Show as many environments in full as fit; pack the rest into as few sections as needed.
    for full in range(len(groups), -1, -1):
        expanded = [b for n, g in enumerate(groups[:full]) for b in _env_blocks(n, *g)]
        folded = _folded_blocks(groups[full:])
        if len(blocks) + len(expanded) + len(folded) <= room or full == 0:
            break
    blocks += expanded + folded
    if len(blocks) > room:  # only for absurd traces: say so rather than have Slack reject it
        blocks = blocks[: room - 1]
        blocks.append(context("shiptrace_cut", "Too many stages to show; run `shiptrace where`."))
    return blocks


def _env_blocks(n: int, env: str, stages: list[Stage]) -> list[dict[str, Any]]:
    label = context(f"shiptrace_env_{n}", f"*{clip(env, MAX_NAME)}*")
    return [label] + [
        section(f"shiptrace_env_{n}_stage_{i}", _stage_text(s)) for i, s in enumerate(stages)
    ]


def _folded_blocks(groups: list[tuple[str, list[Stage]]]) -> list[dict[str, Any]]:
    lines: list[str] = []
    for env, stages in groups:
        lines.append(f"*{clip(env, MAX_NAME)}*")
        lines += [_stage_head(s, clip(s.detail, FOLDED_DETAIL)) for s in stages]
    texts: list[str] = []
    for line in lines:  # every line is far below MAX_TEXT, so packing always terminates
        if texts and len(texts[-1]) + 1 + len(line) <= MAX_TEXT:
            texts[-1] += "\n" + line
        else:
            texts.append(line)
    return [section(f"shiptrace_folded_{n}", t) for n, t in enumerate(texts)]


def _stage_head(stage: Stage, detail: str = "") -> str:
    when = parse_time(stage.finished_at or stage.started_at)
    parts = [
        f"{EMOJI[stage.status]} *{escape(stage.id)}*",
        f"_{stage.kind.value}_",
        stage.status.value,
        date_token(when) if when else "",
        link(stage.url, "details") if stage.url else "",
        detail,
    ]
    return " · ".join(p for p in parts if p)


def _stage_text(stage: Stage) -> str:
    """One section: head line, detail, then items (failed first) within MAX_TEXT."""
    items = sorted(stage.items, key=lambda i: i.status is not Status.FAILED)
    head = _stage_head(stage)
    reserve = len(_more(len(items), stage.url)) + 1 if items else 0
    detail = clip(stage.detail, min(MAX_DETAIL, MAX_TEXT - len(head) - reserve - 1))
    text = f"{head}\n{detail}" if detail else head
    shown = 0
    for item in items[:MAX_ITEMS]:
        line = _item_line(item)
        if len(text) + 1 + len(line) + reserve > MAX_TEXT:
            break
        text += "\n" + line
        shown += 1
    if shown < len(items):
        text += "\n" + _more(len(items) - shown, stage.url)
    return text


def _item_line(item: Item) -> str:
    name = link(item.url, item.name) if item.url else clip(item.name, MAX_NAME)
    return f"• {EMOJI[item.status]} {name} — {clip(item.conclusion or item.status.value, 50)}"


def _more(hidden: int, url: str | None) -> str:
    return f"+{hidden} more — {link(url, 'see all')}" if url else f"+{hidden} more"


# --- small pieces ---------------------------------------------------------------------------


def _short_ref(change: Change) -> str:
    return (
        f"{change.repo}#{change.pr}" if change.pr is not None else f"{change.repo}@{change.sha[:7]}"
    )


def _change_line(trace: Trace, ref: str) -> str:
    c = trace.change
    parts = [
        f"*{c.state.value}*",
        f"by {clip(c.author, MAX_NAME)}" if c.author else "",
        link(c.url, ref) if c.url else escape(ref),
        f"service *{clip(trace.service, MAX_NAME)}*" if trace.service else "",
    ]
    return " · ".join(p for p in parts if p)


def _actions(actions: Sequence[str], value: str, url: str | None = None) -> dict[str, Any]:
    elements = []
    for action in actions:
        button: dict[str, Any] = {
            "type": "button",
            "action_id": action,
            "text": plain(BUTTONS[action]),
            "value": value,
        }
        if action == ACTION_FOLLOW:
            button["style"] = "primary"
        elements.append(button)
    if url and len(url) <= MAX_URL:
        elements.append(
            {
                "type": "button",
                "action_id": ACTION_TIMELINE,
                "text": plain("Open timeline"),
                "url": url,
            }
        )
    return {"type": "actions", "block_id": "shiptrace_actions", "elements": elements}
