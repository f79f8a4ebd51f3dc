"""Turning a reference into a trace, and a trace or a problem into a Slack message.

A reference is parsed and its channel's permission checked once, by :func:`check`, with no
GitHub request; the :class:`Checked` value it returns is what the ack answers and what
:func:`trace_checked` traces. ``/where`` and every button go through the same two steps.
Each answer is counted by its :func:`outcome` (``shiptrace_answers_total``) and logged in
one line.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from slack_bolt.async_app import AsyncRespond

from bot.access import ChannelPolicy, Refused, policy_for
from bot.errors import (
    BadInput,
    ChangeNotFound,
    GitHubAuthError,
    GitHubError,
    GitHubRateLimited,
    ShiptraceError,
    StoreBusy,
    StoreError,
)
from bot.follow.store import Follow, FollowState
from bot.model import Trace
from bot.observe.metrics import Metrics
from bot.refs import Ref
from bot.render.blocks import (
    ACTION_FOLLOW,
    ACTION_REFRESH,
    ACTION_UNFOLLOW,
    Message,
    problem_message,
    refusal_message,
    trace_message,
)
from handlers.clicks import Click
from handlers.deps import TraceDeps
from handlers.subcommands import usage

log = logging.getLogger("shiptrace")


@dataclass(frozen=True)
class Checked:
    """A reference as parsed, which its channel may trace."""

    ref: Ref
    policy: ChannelPolicy
    host_checked: bool  # False: a link that came before GitHub's web host was known


def check(deps: TraceDeps, ref_text: str, channel_id: str) -> Checked:
    """Parse ``ref_text`` and check ``channel_id`` may trace it, with no GitHub request;
    raises :class:`BadInput` (:class:`Refused` included)."""
    policy = policy_for(deps.services, channel_id)
    host_checked = deps.web.settled  # whether parse_known checks a link's host
    ref = deps.web.parse_known(ref_text)
    policy.check(ref)
    return Checked(ref, policy, host_checked or ref.host is None)


async def trace_checked(deps: TraceDeps, checked: Checked) -> Trace:
    """Trace a checked reference; raises the project's errors."""
    ref, policy = checked.ref, checked.policy
    if not checked.host_checked:
        # WebHost learns the host (one request, unless known meanwhile) only as it parses:
        # this link is parsed once more, to check it is on that host.
        await deps.web.parse(ref.text)
    return await deps.tracer.trace(ref, default_repo=policy.default_repo, allowed=policy.allows)


async def trace_for(deps: TraceDeps, ref_text: str, channel_id: str) -> Trace:
    """Check and trace ``ref_text`` as asked from ``channel_id``; raises the project's errors."""
    return await trace_checked(deps, check(deps, ref_text, channel_id))


async def traced(
    deps: TraceDeps, click: Click, respond: AsyncRespond, *, replace_original: bool
) -> Trace | None:
    """Trace what a button names; on a domain error tell the clicker and return None."""
    started = time.monotonic()
    try:
        trace = await trace_for(deps, click.ref, click.channel)
    except ShiptraceError as exc:
        answered(deps.metrics, "button", outcome(exc), started)
        await respond(replace_original=replace_original, **problem(exc, click.ref).kwargs())
        return None
    answered(deps.metrics, "button", "traced", started)
    return trace


def outcome(exc: ShiptraceError | None) -> str:
    """What an answer was, for ``shiptrace_answers_total{outcome}``: ``traced``, or which
    problem was answered instead (the same ladder as :func:`problem`)."""
    if exc is None:
        return "traced"
    for kind, word in (
        (Refused, "refused"),
        (BadInput, "bad_input"),
        (ChangeNotFound, "not_found"),
        (GitHubAuthError, "github_refused"),
        (GitHubRateLimited, "github_rate_limited"),
        (GitHubError, "github_unavailable"),
        (StoreBusy, "store_busy"),
        (StoreError, "store_error"),
    ):
        if isinstance(exc, kind):
            return word
    return "failed"


def answered(metrics: Metrics, surface: str, result: str, started: float) -> None:
    """Count one answer and log it: what was answered, how, how fast (never what was asked)."""
    metrics.answered(result)
    log.info("answered a %s: %s (%.2f s)", surface, result, time.monotonic() - started)


def problem(exc: ShiptraceError, ref_text: str) -> Message:
    """A friendly reply for a domain error: what happened and what to do next."""
    if isinstance(exc, Refused):  # usage would not help
        return refusal_message(exc.channel_id, exc.target, exc.next_step)
    if isinstance(exc, BadInput):
        return usage(exc.message)
    if isinstance(exc, ChangeNotFound):
        return problem_message(
            exc.message, next_step="Check the number or SHA; give owner/repo#123 for another repo."
        )
    if isinstance(exc, GitHubAuthError):
        return problem_message(
            f"GitHub refused shiptrace's credentials ({exc.message}).",
            next_step="Ask whoever runs shiptrace to check GITHUB_TOKEN or the GitHub App.",
            retry_ref=ref_text,
        )
    if isinstance(exc, GitHubRateLimited):
        return problem_message(
            f"GitHub's rate limit is used up ({exc.message}), so every stage is unknown for now.",
            next_step="Press Refresh in a few minutes.",
            retry_ref=ref_text,
        )
    if isinstance(exc, GitHubError):
        return problem_message(
            f"GitHub could not be read ({exc.message}), so every stage of {ref_text} is "
            "unknown for now.",
            next_step="Press Refresh in a minute.",
            retry_ref=ref_text,
        )
    if isinstance(exc, StoreBusy):
        return problem_message(
            "shiptrace's database is busy: another process is writing to it, so this could "
            "not be answered now.",
            next_step="Try again in a minute; if it stays busy, ask whoever runs shiptrace "
            "what else uses its database.",
            retry_ref=ref_text or None,
        )
    if isinstance(exc, StoreError):
        return problem_message(
            f"shiptrace cannot use its database ({exc.message}).",
            next_step="Ask whoever runs shiptrace to check its logs.",
        )
    return problem_message(exc.message, next_step="Ask whoever runs shiptrace to check its logs.")


def follow_note(follow: Follow, interval: timedelta) -> str:
    people = ", ".join(f"<@{u}>" for u in follow.followers)
    seconds = int(interval.total_seconds())
    if seconds % 60:
        every = f"every {seconds} s"
    else:
        every = "every minute" if seconds == 60 else f"every {seconds // 60} minutes"
    return (
        f"Followed by {people}: updates {every} until it is live everywhere, "
        "a stage fails or following times out."
    )


def shared_message(
    trace: Trace, follow: Follow | None, note: str | None, *, interval: timedelta
) -> Message:
    """The visible message of a followed change (or one that was): it updates itself every
    ``interval`` while followed."""
    if follow is not None and follow.state is FollowState.ACTIVE:
        # Follow stays offered: others can join; Stop following is for those who follow.
        return trace_message(
            trace,
            buttons=(ACTION_REFRESH, ACTION_FOLLOW, ACTION_UNFOLLOW),
            note=follow_note(follow, interval),
        )
    if follow is not None and follow.end_reason and follow.end_reason != "unfollowed":
        note = f"No longer followed: it {follow.end_reason}."
    return one_off_message(trace, note)


def one_off_message(trace: Trace, note: str | None) -> Message:
    """The visible message of a change nobody follows: anyone can Refresh or Follow it."""
    return trace_message(trace, buttons=(ACTION_REFRESH, ACTION_FOLLOW), note=note)


def message_fingerprint(message: Message) -> str:
    """A fingerprint of what a message shows, to skip updates that change nothing."""
    body = json.dumps([message.text, message.blocks], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()
