"""Terminal rendering of a trace. Pure: returns the text to print."""

from __future__ import annotations

from bot.model import Stage, Status, Trace
from bot.timefmt import format_time

SYMBOLS = {
    Status.SUCCEEDED: "✓",
    Status.FAILED: "✗",
    Status.RUNNING: "…",
    Status.PENDING: "·",
    Status.DRIFTED: "~",
    Status.SKIPPED: "-",
    Status.UNKNOWN: "?",
}
MAX_ITEMS = 10


def render_text(trace: Trace) -> str:
    c = trace.change
    name = f"{c.repo}#{c.pr}" if c.pr is not None else f"{c.repo}@{c.sha[:7]}"
    title = f"  {c.title}" if c.title else ""
    by = f" ({c.author})" if c.author else ""
    lines = [f"{name}{title}{by} — {c.state.value}"]
    if c.url:
        lines.append(c.url)
    lines.append("")
    current_env: str | None = None
    for stage in trace.stages:
        if stage.environment != current_env and stage.environment is not None:
            lines.append(f"  [{stage.environment}]")
        current_env = stage.environment
        lines.extend(_stage_lines(stage))
    lines.append("")
    lines.append(f"Where: {trace.where}")
    if trace.errors:
        lines.append("Could not read:")
        for e in trace.errors:
            env = f" ({e.environment})" if e.environment else ""
            lines.append(f"  {e.source}{env}: {e.message}")
    return "\n".join(lines)


def _stage_lines(stage: Stage) -> list[str]:
    when = format_time(stage.finished_at or stage.started_at) or ""
    head = (
        f"  {SYMBOLS[stage.status]} {stage.id:<8} {stage.kind.value:<10} "
        f"{stage.status.value:<9} {when:<20} {stage.detail}"
    )
    lines = [head.rstrip()]
    if stage.url:
        lines.append(f"      {stage.url}")
    shown = stage.items[:MAX_ITEMS]
    for item in shown:
        word = item.conclusion or item.status.value
        link = f"  {item.url}" if item.url else ""
        lines.append(f"      {SYMBOLS[item.status]} {item.name} ({word}){link}")
    if len(stage.items) > MAX_ITEMS:
        lines.append(f"      +{len(stage.items) - MAX_ITEMS} more")
    return lines


def progress_text(*, github: bool, clusters: int, elapsed: float) -> str:
    """The CLI's progress line on a terminal: what is being read, and for how long."""
    parts = ["reading GitHub…"] if github else []
    if clusters:
        parts.append(f"{clusters} cluster{'s' if clusters != 1 else ''}…")
    elif not github:
        parts.append("the clusters…")
    text = " ".join(parts)
    if not github:
        text = f"reading {text}"
    if elapsed >= 1:
        text += f" {int(elapsed)}s"
    return f"shiptrace: {text}"
