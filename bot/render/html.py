"""The timeline page of one change: one standalone HTML document with inline SVG and CSS. Pure.

No script, font or stylesheet is fetched: the page is one file that works offline and under a
strict Content-Security-Policy (hover details are SVG ``<title>`` tooltips and CSS). Every
string from GitHub or Kubernetes is escaped, and only http(s) URLs become links. Every drawn
bar, band and mark is a ``role="img"`` group with an ``aria-label`` saying what, status and
when, and ``data-stage`` / ``data-environment`` / ``data-kind`` / ``data-status`` /
``data-shape`` attributes; status is always written as text as well as shown in colour.
While the change is not settled (:func:`bot.render.timeline.is_settled`) and the caller asks
for it, a ``<meta http-equiv="refresh">`` reloads the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape

from bot.model import Change, Item, Stage, Status, Trace
from bot.render.timeline import (
    ROW_HEIGHT,
    IncidentSpan,
    Row,
    Shape,
    Timeline,
    is_settled,
    layout,
)
from bot.timefmt import format_time

LEFT = 200.0  # row labels
RIGHT = 320.0  # status in words
TOP = 44.0  # tick labels
BOTTOM = 8.0
MAX_ROW_LABEL = 28
MAX_STATUS = 42
MAX_DETAIL = 600

COLOURS = {
    Status.SUCCEEDED: "#2e7d32",
    Status.FAILED: "#c62828",
    Status.RUNNING: "#1565c0",
    Status.PENDING: "#9e9e9e",
    Status.DRIFTED: "#ef6c00",
    Status.SKIPPED: "#cfcfcf",
    Status.UNKNOWN: "#6d4c41",
}
# System fonts only: the page fetches nothing.
CSS = (
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:1.5rem;"
    "color:#1f2328;background:#fff}"
    "h1{font-size:1.3rem;margin:0 0 .3rem}h2{font-size:1rem;margin:1.2rem 0 .4rem}"
    "a{color:#0b57d0}.change,.as-of{color:#57606a}.errors{color:#8a1c1c}"
    ".timeline{margin:1rem 0;overflow-x:auto}.chart{max-width:100%;height:auto;font-size:12px}"
    ".tick{fill:#57606a;text-anchor:middle}.grid{stroke:#d8dee4;stroke-width:1}"
    ".stripe{fill:transparent}.row:hover .stripe{fill:#f3f6f9}.heading .stripe{fill:#eef1f4}"
    ".heading .label{font-weight:600}.label{fill:#1f2328}.status{fill:#1f2328}"
    ".shapes g:hover{opacity:.8}.band{fill-opacity:.35;stroke-opacity:.6}"
    ".open{fill-opacity:.35;stroke-dasharray:4 3;stroke-width:1.5}"
    ".incident rect{stroke:#ef6c00;stroke-width:1}.marker circle{fill:none;stroke-width:1.5}"
    ".marker-text{fill:#57606a;font-style:italic;stroke:none}"
    ".now line,.now-swatch{stroke:#d1242f;stroke-width:1.5;stroke-dasharray:2 2}"
    ".now text{fill:#d1242f}.band-swatch{fill-opacity:.35}"
    ".legend ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem 1.2rem}"
    ".legend svg{vertical-align:middle}table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #d8dee4;"
    "vertical-align:top}"
    ".items{margin:.2rem 0;padding-left:1.2rem}"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CHANGE_PATH = re.compile(r"(https?://[^/?#]+/[^/?#]+/[^/?#]+)/(?:pull/\d+|commit/[0-9a-fA-F]+)")


def render_html(
    trace: Trace,
    *,
    now: datetime,
    incidents: Sequence[IncidentSpan] = (),
    refresh_seconds: int | None = None,
    links: Sequence[tuple[str, str]] = (),
) -> str:
    """The page as of ``now`` (an aware datetime). ``refresh_seconds`` (when given and
    positive) makes it reload itself until the change is live in every environment (or
    closed). ``links`` are extra (label, URL) pairs for the header, e.g. the Slack message."""
    timeline = layout(trace, now=now, incidents=incidents)
    c = trace.change
    ref = _ref(c)
    refresh = refresh_seconds is not None and refresh_seconds > 0 and not is_settled(trace)
    reload = f'<meta http-equiv="refresh" content="{refresh_seconds}">\n' if refresh else ""
    head = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"{reload}<title>{_e(ref + (' · ' + c.title if c.title else ''))} — shiptrace</title>\n"
        f"<style>{_css()}</style>\n</head>\n<body>"
    )
    as_of = f'As of <time datetime="{format_time(now)}">{format_time(now)}</time> (UTC).'
    if refresh:
        as_of += f" Refreshes every {refresh_seconds} s until live everywhere."
    body = [
        head,
        _header(trace, ref, links),
        f'<p class="as-of">{as_of}</p>',
        "<main>",
        f'<figure class="timeline">{_svg(timeline, ref)}</figure>',
        _legend(),
        _stage_table(trace.stages),
        _incident_list(incidents),
        "</main>",
        "</body>",
        "</html>",
    ]
    return "\n".join(part for part in body if part) + "\n"


# --- the change ---------------------------------------------------------------------------


def _ref(change: Change) -> str:
    return (
        f"{change.repo}#{change.pr}" if change.pr is not None else f"{change.repo}@{change.sha[:7]}"
    )


def _header(trace: Trace, ref: str, links: Sequence[tuple[str, str]]) -> str:
    c = trace.change
    title = f" {_e(c.title)}" if c.title else ""
    facts = [f'<span class="state">{_e(c.state.value)}</span>']
    if c.author:
        facts.append(f"by {_e(c.author)}")
    if c.pr is not None:
        facts.append(_a(c.url, f"PR #{c.pr}"))
    facts.append("commit " + _a(commit_url(c), f"<code>{_e(c.sha[:7])}</code>", raw=True))
    if trace.service:
        facts.append(f"service {_e(trace.service)}")
    lines = [
        "<header>",
        f"<h1>{_a(c.url, ref)}{title}</h1>",
        f'<p class="change" title="{_e(c.sha)}">{" · ".join(facts)}</p>',
        f'<p class="where"><strong>Where:</strong> {_e(trace.where)}</p>',
    ]
    shown = [_a(url, label) for label, url in links if _safe(url)]
    if shown:
        lines.append(f'<nav aria-label="Links"><p>{" · ".join(shown)}</p></nav>')
    if trace.errors:
        problems = "".join(
            f"<li>{_e(e.source)}{' (' + _e(e.environment) + ')' if e.environment else ''}: "
            f"{_e(e.message)}</li>"
            for e in trace.errors
        )
        lines.append(f'<div class="errors"><p>Could not read:</p><ul>{problems}</ul></div>')
    lines.append("</header>")
    return "\n".join(lines)


def commit_url(change: Change) -> str | None:
    """The commit's page on GitHub, from the change's own link (a PR or a commit page)."""
    match = _CHANGE_PATH.match(change.url or "")
    return f"{match.group(1)}/commit/{change.sha}" if match else None


# --- the SVG ------------------------------------------------------------------------------


def _svg(timeline: Timeline, ref: str) -> str:
    width = LEFT + timeline.axis.width + RIGHT
    height = TOP + timeline.height + BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="group" class="chart" '
        f'aria-label="{_e("Timeline of " + ref)}" viewBox="0 0 {width:g} {height:g}" '
        f'width="{width:g}" height="{height:g}">',
        _defs(),
        _axis(timeline),
        f'<g transform="translate(0 {TOP:g})">',
        *(_row(r, timeline.axis.width) for r in timeline.rows),
        "</g>",
        f'<g class="shapes" transform="translate({LEFT:g} {TOP:g})">',
        *(_shape(s) for s in timeline.shapes if s.shape != "incident"),
        *(_shape(s) for s in timeline.shapes if s.shape == "incident"),
        "</g>",
        _now_line(timeline, height),
        "</svg>",
    ]
    return "\n".join(parts)


def _defs() -> str:
    return (
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ef6c00" '
        'fill-opacity="0.25"/><line x1="0" y1="0" x2="0" y2="6" stroke="#ef6c00" '
        'stroke-width="3"/></pattern></defs>'
    )


def _axis(timeline: Timeline) -> str:
    bottom = TOP + timeline.height
    out = ['<g class="axis" aria-hidden="true">']
    for tick in timeline.axis.ticks:
        x = LEFT + tick.x
        out.append(
            f'<line class="grid" x1="{x:.1f}" y1="{TOP - 4:g}" x2="{x:.1f}" y2="{bottom:g}"/>'
        )
        out.append(f'<text class="tick" x="{x:.1f}" y="{TOP - 8:g}">{_e(tick.label)}</text>')
        if tick.date:
            out.append(
                f'<text class="tick date" x="{x:.1f}" y="{TOP - 22:g}">{_e(tick.date)}</text>'
            )
    out.append("</g>")
    return "\n".join(out)


def _row(row: Row, plot_width: float) -> str:
    y = row.y + ROW_HEIGHT / 2 + 4
    cls = "row heading" if row.stage is None else f"row depth-{row.depth}"
    label = _e(_cut(row.label, MAX_ROW_LABEL))
    text = (
        f'<text class="label" x="{8 + 14 * row.depth:g}" y="{y:g}">'
        f"<title>{_e(row.label)}</title>{label}</text>"
    )
    if row.url and _safe(row.url):
        text = _a(row.url, text, raw=True)
    status = ""
    if row.status_text:
        status = (
            f'<text class="status" x="{LEFT + plot_width + 10:g}" y="{y:g}">'
            f"{_e(_cut(row.status_text, MAX_STATUS))}</text>"
        )
    stripe = f'<rect class="stripe" x="0" y="{row.y:g}" width="100%" height="{ROW_HEIGHT:g}"/>'
    return f'<g class="{cls}">{stripe}{text}{status}</g>'


def _shape(shape: Shape) -> str:
    attrs = (
        f'role="img" aria-label="{_e(shape.label)}" data-shape="{shape.shape}" '
        f'data-kind="{_e(shape.kind)}" data-stage="{_e(shape.stage)}" '
        f'data-environment="{_e(shape.environment or "")}" data-status="{_e(shape.status)}"'
    )
    if shape.item is not None:
        attrs += f' data-item="{_e(shape.item)}"'
    if shape.open_ended:
        attrs += ' data-open-ended="true"'
    tip = shape.label + (f"\n{_cut(shape.detail, MAX_DETAIL)}" if shape.detail else "")
    # A band always runs to now; "open" (dashed) marks what is still under way.
    under_way = shape.open_ended and shape.shape != "band"
    classes = f"{shape.shape} s-{_e(shape.status)}" + (" open" if under_way else "")
    group = f'<g class="{classes}" {attrs}><title>{_e(tip)}</title>{_drawing(shape)}</g>'
    return _a(shape.url, group, raw=True) if shape.url and _safe(shape.url) else group


def _drawing(shape: Shape) -> str:
    if shape.x is None:  # no known time: words, no bar
        words = f"{shape.status} — no {'times reported' if shape.item else 'start time'}"
        if shape.status == Status.SKIPPED.value:
            words = "skipped"
        return (
            f'<circle cx="6" cy="{shape.y + shape.height / 2:g}" r="4"/>'
            f'<text class="marker-text" x="16" y="{shape.y + shape.height / 2 + 4:g}">'
            f"{_e(words)}</text>"
        )
    if shape.shape == "mark":
        cx, cy, r = shape.x, shape.y + shape.height / 2, shape.height / 2
        return (
            f'<polygon points="{cx:.1f},{cy - r:g} {cx + r:.1f},{cy:g} {cx:.1f},{cy + r:g} '
            f'{cx - r:.1f},{cy:g}"/>'
        )
    fill = ' fill="url(#hatch)"' if shape.shape == "incident" else ""
    return (
        f'<rect x="{shape.x:.1f}" y="{shape.y:g}" width="{shape.width:.1f}" '
        f'height="{shape.height:g}" rx="2"{fill}/>'
    )


def _now_line(timeline: Timeline, height: float) -> str:
    x = LEFT + timeline.now_x
    when = format_time(timeline.axis.end)
    return (
        f'<g class="now" role="img" aria-label="now {when}" data-kind="now">'
        f"<title>now {when}</title>"
        f'<line x1="{x:.1f}" y1="{TOP - 36:g}" x2="{x:.1f}" y2="{height:g}"/>'
        f'<text x="{x + 4:.1f}" y="{TOP - 33:g}">now</text></g>'
    )


# --- legend, stages and incidents as text -------------------------------------------------


LEGEND = (
    ("one-shot", '<rect x="1" y="3" width="26" height="10" rx="2" class="s-succeeded"/>',
     "one-shot: a bar from start to end (merge, CI and each job, promote)"),
    ("continuous", '<rect x="1" y="3" width="12" height="10" rx="2" class="s-succeeded"/>'
     '<rect x="13" y="4" width="14" height="8" class="s-succeeded band-swatch"/>',
     "continuous: a bar until it first held, then a band “holding since …” to now "
     "(sync, rollout)"),
    ("running", '<rect x="1" y="3" width="26" height="10" rx="2" class="s-running open"/>',
     "running: dashed and open-ended, it runs to now"),
    ("mark", '<polygon points="14,2 20,8 14,14 8,8" class="s-succeeded"/>',
     "a moment: the merge, the promote commit"),
    ("marker", '<circle cx="14" cy="8" r="4" class="s-pending"/>',
     "no start time known: a marker, never an invented bar"),
    ("incident", '<rect x="1" y="2" width="26" height="12" fill="url(#hatch)"/>',
     "drift incident, detected → resolved; links to its Slack thread"),
    ("now", '<line x1="14" y1="0" x2="14" y2="16" class="now-swatch"/>', "now"),
)  # fmt: skip


def _legend() -> str:
    items = [
        f'<li data-legend="{key}"><svg width="28" height="16" aria-hidden="true">{art}'
        f"</svg> {_e(words)}</li>"
        for key, art, words in LEGEND
    ]
    items += [
        f'<li data-legend="status-{s.value}"><svg width="28" height="16" aria-hidden="true">'
        f'<rect x="1" y="3" width="26" height="10" rx="2" class="s-{s.value}"/></svg> '
        f"{s.value}</li>"
        for s in Status
    ]
    return (
        '<section class="legend" aria-label="Legend"><h2>Legend</h2>'
        f"<ul>{''.join(items)}</ul></section>"
    )


def _stage_table(stages: Iterable[Stage]) -> str:
    rows = []
    for s in stages:
        name = _a(s.url, s.id) if s.url else _e(s.id)
        rows.append(
            f'<tr data-stage="{_e(s.id)}" data-environment="{_e(s.environment or "")}" '
            f'data-kind="{s.kind.value}" data-status="{s.status.value}">'
            f"<td>{name}</td><td>{_e(s.environment or '')}</td><td>{s.kind.value}</td>"
            f'<td class="s-text-{s.status.value}">{s.status.value}</td>'
            f"<td>{_time(s.started_at)}</td><td>{_time(s.finished_at)}</td>"
            f"<td>{_e(_cut(s.detail, MAX_DETAIL))}{_items(s.items)}</td></tr>"
        )
    head = (
        "<tr><th>Stage</th><th>Environment</th><th>Kind</th><th>Status</th>"
        "<th>Started</th><th>Finished</th><th>Detail</th></tr>"
    )
    return (
        '<section class="stages" aria-label="Stages"><h2>Stages</h2>'
        f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _items(items: Sequence[Item]) -> str:
    if not items:
        return ""
    lines = "".join(
        f'<li data-item="{_e(i.name)}" data-status="{i.status.value}">'
        f"{_a(i.url, i.name) if i.url else _e(i.name)}: {i.status.value}"
        f"{' (' + _e(i.conclusion) + ')' if i.conclusion else ''}</li>"
        for i in items
    )
    return f'<ul class="items">{lines}</ul>'


def _incident_list(incidents: Sequence[IncidentSpan]) -> str:
    if not incidents:
        return ""
    lines = []
    for inc in incidents:
        state = "resolved" if inc.resolved_at is not None else "open"
        until = f", resolved {_time(inc.resolved_at)}" if inc.resolved_at else ", still open"
        link = f" — {_a(inc.url, 'Slack thread')}" if inc.url and _safe(inc.url) else ""
        lines.append(
            f'<li data-kind="incident" data-environment="{_e(inc.environment)}" '
            f'data-status="{state}">{_e(inc.environment)}: detected {_time(inc.detected_at)}'
            f"{until}: {_e(inc.summary)}{link}</li>"
        )
    return (
        '<section class="incidents" aria-label="Drift incidents"><h2>Drift incidents</h2>'
        f"<ul>{''.join(lines)}</ul></section>"
    )


# --- small pieces ---------------------------------------------------------------------------


def _e(text: str) -> str:
    """Text or attribute value: control characters dropped, markup escaped."""
    return escape(_CONTROL.sub("", text), quote=True)


def _cut(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _safe(url: str) -> bool:
    return url.lower().startswith(("https://", "http://")) and not _CONTROL.search(url)


def _a(url: str | None, content: str, *, raw: bool = False) -> str:
    """A link when ``url`` is http(s); else just the content. ``raw``: already markup."""
    inner = content if raw else _e(content)
    return f'<a href="{_e(url)}">{inner}</a>' if url and _safe(url) else inner


def _time(when: datetime | None) -> str:
    text = format_time(when)
    return f'<time datetime="{text}">{text}</time>' if text else "—"


def _css() -> str:
    colours = "".join(
        f".s-{s.value}{{fill:{c};stroke:{c}}}.s-text-{s.value}{{color:{c};font-weight:600}}"
        for s, c in COLOURS.items()
    )
    return CSS + colours
