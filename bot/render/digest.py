"""The daily delivery digest, for Slack (Block Kit) and for a terminal. Pure.

Slack rejects a whole message that breaks a Block Kit limit, so the busiest day still fits:
one section per service with something to say, each list cut with "+N more", and the
services beyond 50 blocks folded into one section of one-line summaries.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from bot.digest.dora import Figures
from bot.digest.records import (
    Digest,
    IncidentLine,
    ServiceDigest,
    ShippedChange,
    StuckChange,
)
from bot.drift.incidents import duration_words
from bot.model import Status
from bot.render.blocks import EMOJI, MAX_BLOCKS, MAX_TEXT, Message
from bot.render.mrkdwn import MAX_NAME, clip, context, date_token, link, plain, section
from bot.render.text import SYMBOLS
from bot.timefmt import format_time

DIGEST_EVENT = "shiptrace_digest"
NOTE_EVENT = "shiptrace_digest_note"  # "the digest could not be built", posted instead
MAX_LINES = 10  # per list (merged, stuck, drift) in one service's section
MAX_BADGES = 6
MAX_ENVS = 10  # environments listed under deployment frequency
TITLE = 150
LABEL = 40
MORE = 40  # room for a "+N more …" line


def digest_metadata(channel: str, end: datetime) -> dict[str, Any]:
    """Names the digest's window in its message, so a restart can see it was posted."""
    return {
        "event_type": DIGEST_EVENT,
        "event_payload": {"channel": channel, "window_end": format_time(end)},
    }


def note_metadata(channel: str, end: datetime) -> dict[str, Any]:
    """Names the window of a "could not be built" note, so it is posted once."""
    return {
        "event_type": NOTE_EVENT,
        "event_payload": {"channel": channel, "window_end": format_time(end)},
    }


def note_message(start: datetime, end: datetime, why: str) -> Message:
    """Posted instead of a digest that could not be built within the grace: says why, and
    claims nothing about the window."""
    line = (
        f":warning: The delivery digest for {_when(start)} → {_when(end)} could not be built: "
        f"{clip(why, 2500)}. The next digest covers this window too."
    )
    return Message(
        f"Delivery digest could not be built: {clip(why, 200)}",
        [section("digest_unbuilt", line)],
    )


def digest_message(d: Digest) -> Message:
    title = "Delivery digest (late)" if d.late else "Delivery digest"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "block_id": "digest_header", "text": plain(title)}
    ]
    # What could not be read comes first: everything below is read in its light.
    if d.errors:
        blocks.append(
            context("digest_errors", "Could not read: " + clip("; ".join(d.errors), 2900))
        )
    if d.quiet:
        blocks.append(section("digest_quiet", _quiet_line(d, _when(d.start), ":zzz: ")))
        blocks.append(context("digest_dora", f"*Last 30 days:* {_compact(d.trailing, d)}"))
        return Message(_fallback(d), blocks)
    blocks.append(context("digest_window", f"Window: {_when(d.start)} → {_when(d.end)}"))
    tail: list[dict[str, Any]] = []
    idle = [clip(s.service, 50) for s in d.services if _idle(s)]
    if idle:
        tail.append(
            context("digest_idle", "Nothing shipped: " + _fit(idle, 2900, "services", ", "))
        )
    tail.append(_figures_block("digest_dora_window", "This window", d.window, d))
    tail.append(_figures_block("digest_dora_trailing", "Last 30 days", d.trailing, d))
    active = [s for s in d.services if _active(s)]
    room = MAX_BLOCKS - len(blocks) - len(tail)
    full = active if len(active) <= room else active[: room - 1]
    blocks += [section(f"digest_service_{n}", _service_text(s)) for n, s in enumerate(full)]
    if len(full) < len(active):
        folded = [f"*{clip(s.service, MAX_NAME)}* — {_counts(s)}" for s in active[len(full) :]]
        blocks.append(section("digest_folded", _fit(folded, MAX_TEXT, "services")))
    return Message(_fallback(d), blocks + tail)


def digest_dict(d: Digest) -> dict[str, Any]:
    """The digest's record as plain data (``shiptrace digest -o json|yaml``): the fields of
    ``Digest`` and its parts, in their order; times RFC 3339 UTC, durations in whole seconds,
    statuses by name, and a figure's lead times as ``{"ref", "seconds"}`` in the order the
    changes went live."""
    data: dict[str, Any] = _plain(dataclasses.asdict(d))
    for figures in (data["window"], data["trailing"]):
        figures["lead_times"] = [{"ref": r, "seconds": s} for r, s in figures["lead_times"]]
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, timedelta):
        return round(value.total_seconds())
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def digest_text(d: Digest) -> str:
    lines = ["Delivery digest (late)" if d.late else "Delivery digest"]
    if d.errors:
        lines += ["Could not read: " + "; ".join(d.errors), ""]
    if d.quiet:
        lines.append(_quiet_line(d, _utc(d.start)))
        lines.append(f"Last 30 days: {_compact(d.trailing, d, mrkdwn=False)}")
    else:
        lines += [f"{_utc(d.start)} – {_utc(d.end)}", ""]
        for s in (s for s in d.services if _active(s)):
            lines.append(f"{s.service} ({s.repo})")
            lines += [f"  merged  {_shipped_plain(c)}" for c in s.shipped]
            lines += [f"  stuck   {_stuck_plain(c)}" for c in s.stuck]
            lines += [f"  drift   {_incident_plain(i)}" for i in s.incidents]
        idle = [s.service for s in d.services if _idle(s)]
        if idle:
            lines.append("Nothing shipped: " + ", ".join(idle))
        for name, f in (("This window", d.window), ("Last 30 days", d.trailing)):
            lines += ["", f"DORA, {name.lower()}:"]
            lines += [f"  {label}: {', '.join(values)}" for label, values in _figures(f, d)]
    return "\n".join(lines)


def _quiet_line(d: Digest, since: str, emoji: str = "") -> str:
    """Nothing shipped and nothing stuck (GitHub was read); "no drift" only when the drift
    scan watched the whole window."""
    gap = _scan_gap(d.window)
    if gap is None:
        return f"{emoji}Nothing shipped since {since}: nothing stuck, no drift."
    return f"{emoji}Nothing shipped since {since}, nothing stuck; drift not measured yet: {gap}."


# --- per service ----------------------------------------------------------------------------


def _active(s: ServiceDigest) -> bool:
    return bool(s.shipped or s.stuck or s.incidents)


def _idle(s: ServiceDigest) -> bool:
    """Nothing to say, and known to be so (its PRs were read)."""
    return not _active(s) and s.unread is None


def _service_text(s: ServiceDigest) -> str:
    """The service's name, then its merged, stuck and drift lists, sharing MAX_TEXT fairly."""
    lists = [
        ([_shipped_line(c) for c in s.shipped], "merged"),
        ([_stuck_line(c) for c in s.stuck], "stuck"),
        ([_incident_line(i) for i in s.incidents], "drift incidents"),
    ]
    lists = [(lines, noun) for lines, noun in lists if lines]
    head = f"*{clip(s.service, MAX_NAME)}* · {clip(s.repo, MAX_NAME)}"
    wants = [
        len("\n".join(lines[:MAX_LINES])) + 1 + (MORE if len(lines) > MAX_LINES else 0)
        for lines, _ in lists
    ]
    shares = _shares(wants, MAX_TEXT - len(head))
    parts = [
        _fit(lines[:MAX_LINES], share - 1, noun, total=len(lines))
        for (lines, noun), share in zip(lists, shares, strict=True)
    ]
    return "\n".join([head, *parts])


def _shares(wants: Sequence[int], room: int) -> list[int]:
    """Split `room` evenly; what one wants less than its share is left to the others."""
    shares = [0] * len(wants)
    for k, i in enumerate(sorted(range(len(wants)), key=lambda i: wants[i])):
        shares[i] = min(wants[i], room // (len(wants) - k))
        room -= shares[i]
    return shares


def _shipped_line(c: ShippedChange) -> str:
    if not c.badges:  # not traced: where it is is not known
        return f"• {_ref(c.ref, c.url)} {_title(c.title)} — {EMOJI[Status.UNKNOWN]} {c.where}"
    badges = "  ".join(f"{EMOJI[b.status]} {clip(b.label, LABEL)}" for b in c.badges[:MAX_BADGES])
    more = f"  +{len(c.badges) - MAX_BADGES}" if len(c.badges) > MAX_BADGES else ""
    return f"• {_ref(c.ref, c.url)} {_title(c.title)} — {badges}{more}"


def _stuck_line(c: StuckChange) -> str:
    stage = clip(c.stage, LABEL * 2)
    return (
        f"{EMOJI[c.status]} {_ref(c.ref, c.url)} {_title(c.title)} — "
        f"stuck at {stage} for {duration_words(c.stuck_for)}"
    )


def _incident_line(i: IncidentLine) -> str:
    ttr = i.time_to_restore
    emoji = ":white_check_mark:" if ttr is not None else ":warning:"
    state = f"restored in {duration_words(ttr)}" if ttr is not None else "still open"
    thread = f" · {link(i.thread_url, 'thread')}" if i.thread_url else ""
    return (
        f"{emoji} drift in *{clip(i.key, MAX_NAME)}* since {_when(i.opened_at)}: "
        f"{clip(i.summary, 300)} — {state}{thread}"
    )


def _counts(s: ServiceDigest) -> str:
    parts = [
        f"{len(s.shipped)} merged" if s.shipped else "",
        f"{len(s.stuck)} stuck" if s.stuck else "",
        _n(len(s.incidents), "drift incident") if s.incidents else "",
    ]
    return ", ".join(p for p in parts if p)


def _ref(ref: str, url: str | None) -> str:
    return link(url, ref) if url else clip(ref, MAX_NAME)


def _title(title: str) -> str:
    return clip(" ".join(title.split()), TITLE)


# --- terminal lines ---------------------------------------------------------------------------


def _shipped_plain(c: ShippedChange) -> str:
    badges = "  ".join(f"{SYMBOLS[b.status]} {b.label}" for b in c.badges)
    badges = badges or f"{SYMBOLS[Status.UNKNOWN]} {c.where}"
    return f"{c.ref}  {c.title} — {badges}" + (f"  {c.url}" if c.url else "")


def _stuck_plain(c: StuckChange) -> str:
    stuck = f"stuck at {c.stage} for {duration_words(c.stuck_for)}"
    return f"{SYMBOLS[c.status]} {c.ref}  {c.title} — {stuck}" + (f"  {c.url}" if c.url else "")


def _incident_plain(i: IncidentLine) -> str:
    ttr = i.time_to_restore
    state = f"restored in {duration_words(ttr)}" if ttr is not None else "still open"
    thread = f"  {i.thread_url}" if i.thread_url else ""
    return f"{i.key} since {_utc(i.opened_at)}: {i.summary} — {state}{thread}"


# --- DORA -------------------------------------------------------------------------------------


def _figures(f: Figures, d: Digest) -> list[tuple[str, list[str]]]:
    """The four figures as (name, value lines), plain text. An empty figure is a fact ("no
    deployments") only when its source saw the whole window; else "not measured yet" and why."""
    gap = _scan_gap(f)
    unmeasured = f"not measured yet: {gap}"
    envs = [
        f"{env[:50]} {n} ({_per_day(f.deploys_per_day.get(env, 0.0))}/day)"
        for env, n in list(f.deployments.items())[:MAX_ENVS]
    ]
    if len(f.deployments) > MAX_ENVS:
        envs.append(f"+{len(f.deployments) - MAX_ENVS} more")
    if envs and gap:
        envs.append(f"partial: {gap}")
    lead = ["not measured yet: GitHub could not be read" if d.unread else "no change went live"]
    if f.lead_time_median is not None and f.lead_time_p90 is not None:
        median, p90 = duration_words(f.lead_time_median), duration_words(f.lead_time_p90)
        lead = [f"median {median}, p90 {p90} over {_n(len(f.lead_times), 'change')}"]
    cfr = (
        [f"{f.change_failure_rate:.0%} ({f.failed_deployments}/{f.total_deployments})"]
        if f.change_failure_rate is not None
        else [unmeasured if gap else "no deployments"]
    )
    ttr = (
        [f"median {duration_words(f.time_to_restore_median)} over {_n(f.restored, 'incident')}"]
        if f.time_to_restore_median is not None
        else [unmeasured if gap else "no incident resolved"]
    )
    if f.open_incidents:
        ttr.append(f"{f.open_incidents} still open")
    return [
        ("Deployment frequency", envs or [unmeasured if gap else "no deployments"]),
        ("Lead time", lead),
        ("Change failure rate", cfr),
        ("Time to restore", ttr),
    ]


def _scan_gap(f: Figures) -> str | None:
    """Why the drift scan's figures do not cover the window (None: they do). Deployments and
    incidents are what its scans record; without them "none" would be a guess."""
    if f.scan_covers:
        return None
    if f.watched_since is None:
        return "the drift scan (shiptrace serve) has not watched these environments"
    return f"the drift scan has watched only since {_utc(f.watched_since)}"


def _figures_block(block_id: str, title: str, f: Figures, d: Digest) -> dict[str, Any]:
    block = section(block_id, f"*{title}*")
    block["fields"] = [
        {"type": "mrkdwn", "text": f"*{name}*\n" + "\n".join(clip(v, 100) for v in values)}
        for name, values in _figures(f, d)
    ]
    return block


def _compact(f: Figures, d: Digest, *, mrkdwn: bool = True) -> str:
    """The four figures on one line."""
    parts = (f"{name}: {', '.join(values)}" for name, values in _figures(f, d))
    return " · ".join(clip(p, 1000) if mrkdwn else p for p in parts)


def _per_day(rate: float) -> str:
    return f"{rate:.1f}" if rate >= 1 else f"{rate:.2f}"


# --- small pieces -----------------------------------------------------------------------------


def _fit(
    parts: Sequence[str],
    room: int,
    noun: str,
    sep: str = "\n",
    total: int | None = None,
) -> str:
    """Join as many of `parts` as fit in `room` chars, then "+N more <noun>" for the rest of
    the `total` (by default, all of `parts`)."""
    total = len(parts) if total is None else total
    more = len(f"{sep}+{total} more {noun}")
    shown: list[str] = []
    used = 0
    for n, part in enumerate(parts):
        need = len(part) + (len(sep) if shown else 0)
        if used + need + (more if n + 1 < total else 0) > room:
            break
        shown.append(part)
        used += need
    rest = total - len(shown)
    return sep.join(shown + ([f"+{rest} more {noun}"] if rest else []))


def _fallback(d: Digest) -> str:
    shipped = sum(len(s.shipped) for s in d.services)
    stuck = sum(len(s.stuck) for s in d.services)
    drift = sum(len(s.incidents) for s in d.services)
    parts = ["some sources could not be read"] if d.errors else []  # said first, as above
    if shipped or not d.unread:
        parts += [f"{_n(shipped, 'change')} shipped" if shipped else "nothing shipped"]
    parts += [f"{stuck} stuck"] if stuck else []
    parts += [_n(drift, "drift incident")] if drift else []
    return f"Delivery digest{' (late)' if d.late else ''}: {', '.join(parts)}"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _when(when: datetime) -> str:
    return date_token(when.astimezone(UTC))  # its fallback text says UTC


def _utc(when: datetime) -> str:
    return f"{when.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
