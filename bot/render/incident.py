"""Slack messages for drift incidents: the parent, its thread replies, and ``/where drift``. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.drift.findings import Finding
from bot.drift.incidents import Incident, duration_words, fingerprint
from bot.render.blocks import Message
from bot.render.mrkdwn import MAX_NAME, clip, context, cut, date_token, link, plain, section

INCIDENT_EVENT = "shiptrace_drift_incident"
MAX_FINDINGS = 10
MAX_RESOURCES = 8


def incident_metadata(
    inc: Incident, findings: Sequence[Finding], *, resolved: bool = False
) -> dict[str, Any]:
    """Names the incident in the parent message, so a restart (or another replica taking
    over) finds what was posted instead of posting it again."""
    return {
        "event_type": INCIDENT_EVENT,
        "event_payload": {
            "incident": inc.id,
            "key": inc.key,
            "state": "resolved" if resolved else "open",
            "fingerprint": fingerprint(findings),  # what the message shows
        },
    }


def incident_message(
    inc: Incident,
    findings: Sequence[Finding],
    *,
    resolved_after: timedelta | None = None,
    timeline_url: str | None = None,
) -> Message:
    """The parent message: open (what drifts, desired vs actual, since when) or resolved.
    ``timeline_url``: the signed timeline page of what runs there, linked after the status."""
    where = f"{inc.service} in {inc.environment}"
    if resolved_after is not None:
        head = f"Resolved: {where}"
        status = f":white_check_mark: Reconciled after {duration_words(resolved_after)}."
        fallback = f"Drift resolved: {where}, reconciled after {duration_words(resolved_after)}"
    else:
        head = f"Drift: {where}"
        status = f":warning: Drifting since {date_token(inc.first_seen)}."
        fallback = f"Drift: {where}: " + "; ".join(f.summary for f in findings[:3])
    if timeline_url:
        status += f" · {link(timeline_url, 'Open timeline')}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "block_id": "drift_header", "text": plain(cut(head, 150))},
        section("drift_status", status),
    ]
    shown = list(findings[:MAX_FINDINGS])
    for n, finding in enumerate(shown):
        blocks.append(section(f"drift_finding_{n}", _finding_text(finding, resolved_after)))
    if len(findings) > len(shown):
        blocks.append(context("drift_more", f"+{len(findings) - len(shown)} more findings"))
    blocks.append(
        context(
            "drift_context",
            f"Continuous stages drift when the cluster no longer matches what Git says; "
            f"incident {inc.id} · `{clip(inc.key, MAX_NAME)}`",
        )
    )
    return Message(text=cut(fallback, 3000), blocks=blocks)


def _finding_text(f: Finding, resolved_after: timedelta | None) -> str:
    emoji = ":white_check_mark:" if resolved_after is not None else ":warning:"
    lines = [
        f"{emoji} *{clip(f.stage, 40)}* · _continuous_ · {clip(f.subject, MAX_NAME)}",
        clip(f.summary, 500),
    ]
    if f.desired or f.actual:
        lines.append(
            f"Desired: {clip(f.desired or 'unknown', 300)} · Actual: {clip(f.actual or 'unknown', 300)}"
        )
    if f.resources:
        names = ", ".join(clip(r, 150) for r in f.resources[:MAX_RESOURCES])
        more = len(f.resources) - MAX_RESOURCES
        lines.append(f"Resources: {names}" + (f" (+{more} more)" if more > 0 else ""))
    if f.links:
        lines.append(" · ".join(link(url, label) for label, url in f.links[:5]))
    return "\n".join(lines)[:3000]


def update_text(before: Sequence[Finding], now: Sequence[Finding]) -> str:
    """One thread reply for a material change: what is new, what is gone."""

    def keyed(findings: Sequence[Finding]) -> dict[tuple[str, str], Finding]:
        return {(f.kind, f.subject): f for f in findings}

    old, new = keyed(before), keyed(now)
    lines = ["Changed:"]
    for key, f in new.items():
        prior = old.get(key)
        if prior is None:
            lines.append(f"• now: {clip(f.summary, 300)} ({clip(f.subject, 150)})")
            continue
        if prior.summary != f.summary:
            lines.append(f"• {clip(f.subject, 150)}: {clip(f.summary, 300)}")
        added = sorted(set(f.resources) - set(prior.resources))
        gone = sorted(set(prior.resources) - set(f.resources))
        if added:
            lines.append(f"• also drifting in {clip(f.subject, 150)}: {_names(added)}")
        if gone:
            lines.append(f"• no longer drifting in {clip(f.subject, 150)}: {_names(gone)}")
    for key, f in old.items():
        if key not in new:
            lines.append(f"• resolved: {clip(f.summary, 300)} ({clip(f.subject, 150)})")
    return "\n".join(lines)[:3000]


def _names(resources: Sequence[str]) -> str:
    shown = ", ".join(clip(r, 150) for r in resources[:10])
    return shown + (f" (+{len(resources) - 10} more)" if len(resources) > 10 else "")


def still_text(findings: Sequence[Finding]) -> str:
    summary = "; ".join(clip(f.summary, 300) for f in findings[:5])
    return f":warning: Still drifting, now: {summary}"[:3000]


def reopened_text(findings: Sequence[Finding]) -> str:
    summary = "; ".join(clip(f.summary, 300) for f in findings[:5])
    return f":warning: Drifting again: {summary}"[:3000]


def reconciled_text(after: timedelta) -> str:
    return f":white_check_mark: Reconciled after {duration_words(after)}."


def drift_list_message(
    incidents: Sequence[Incident], now: datetime, permalink: Any = None
) -> Message:
    """``/where drift``: the open incidents this channel may see."""
    if not incidents:
        return Message(
            text="No open drift incidents.",
            blocks=[section("drift_none", ":white_check_mark: No open drift incidents.")],
        )
    lines = []
    for inc in incidents[:40]:
        summary = "; ".join(f.summary for f in inc.findings[:2]) or "drifting"
        thread = permalink(inc) if permalink is not None else None
        where = link(thread, "thread") if thread else ""
        lines.append(
            f":warning: *{clip(inc.key, MAX_NAME)}* — {clip(summary, 300)} — since "
            f"{date_token(inc.first_seen)} ({duration_words(now - inc.first_seen)}) {where}".rstrip()
        )
    if len(incidents) > 40:
        lines.append(f"+{len(incidents) - 40} more")
    blocks = [section("drift_list_head", f"*{len(incidents)} open drift incident(s)*")]
    chunk: list[str] = []
    for text in lines:  # as many lines per section as fit in Slack's 3,000 characters
        if chunk and len("\n".join([*chunk, text])) > 3000:
            blocks.append(section(f"drift_list_{len(blocks)}", "\n".join(chunk)))
            chunk = []
        chunk.append(text[:3000])
    if chunk:
        blocks.append(section(f"drift_list_{len(blocks)}", "\n".join(chunk)))
    return Message(text=f"{len(incidents)} open drift incident(s)", blocks=blocks)
