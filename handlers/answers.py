"""Turning a reference into a trace, and a trace or a problem into a Slack message."""

from __future__ import annotations

import hashlib
import json

from slack_bolt.async_app import AsyncRespond

from bot.access import Refused, policy_for
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
from bot.render.blocks import (
    ACTION_FOLLOW,
    ACTION_REFRESH,
    ACTION_UNFOLLOW,
    Message,
    problem_message,
    refusal_message,
    trace_message,
    usage_message,
)
from handlers.clicks import Click
from handlers.deps import Deps


async def trace_for(deps: Deps, ref_text: str, channel_id: str) -> Trace:
    """Trace ``ref_text`` as asked from ``channel_id``; raises the project's errors."""
    ref = await deps.web.parse(ref_text)
    policy = policy_for(deps.services, channel_id)
    policy.check(ref)
    return await deps.tracer.trace(ref, default_repo=policy.default_repo, allowed=policy.allows)


async def traced(
    deps: Deps, click: Click, respond: AsyncRespond, *, replace_original: bool
) -> Trace | None:
    """Trace what a button names; on a domain error tell the clicker and return None."""
    try:
        return await trace_for(deps, click.ref, click.channel)
    except ShiptraceError as exc:
        await respond(replace_original=replace_original, **problem(exc, click.ref).kwargs())
        return None


def problem(exc: ShiptraceError, ref_text: str) -> Message:
    """A friendly reply for a domain error: what happened and what to do next."""
    if isinstance(exc, Refused):  # usage would not help
        return refusal_message(exc.channel_id, exc.target, exc.next_step)
    if isinstance(exc, BadInput):
        return usage_message(exc.message)
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


def follow_note(follow: Follow, deps: Deps) -> str:
    people = ", ".join(f"<@{u}>" for u in follow.followers)
    seconds = int(deps.follow_interval.total_seconds())
    if seconds % 60:
        every = f"every {seconds} s"
    else:
        every = "every minute" if seconds == 60 else f"every {seconds // 60} minutes"
    return (
        f"Followed by {people}: updates {every} until it is live everywhere, "
        "a stage fails or following times out."
    )


def shared_message(trace: Trace, deps: Deps, follow: Follow | None, note: str | None) -> Message:
    """The visible message in a channel: followed (updates itself) or a one-off share."""
    if follow is not None and follow.state is FollowState.ACTIVE:
        # Follow stays offered: others can join; Stop following is for those who follow.
        return trace_message(
            trace,
            buttons=(ACTION_REFRESH, ACTION_FOLLOW, ACTION_UNFOLLOW),
            note=follow_note(follow, deps),
        )
    if follow is not None and follow.end_reason and follow.end_reason != "unfollowed":
        note = f"No longer followed: it {follow.end_reason}."
    return trace_message(trace, buttons=(ACTION_REFRESH, ACTION_FOLLOW), note=note)


def message_fingerprint(message: Message) -> str:
    """A fingerprint of what a message shows, to skip updates that change nothing."""
    body = json.dumps([message.text, message.blocks], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()
