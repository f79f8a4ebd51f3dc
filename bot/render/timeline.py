"""The timeline of one change: stages, CI jobs and drift incidents placed on one time axis. Pure.

Positions only (pixels inside the plot, x from 0 at the axis start to ``width`` at ``now``);
:mod:`bot.render.html` draws them. Nothing is invented: a stage with no known start is a
labelled *marker* with no interval; a running stage runs to ``now`` and is ``open_ended``; a
continuous stage that held is a bar until it first held, then a *band* "holding since …" to
``now`` on which the environment's drift incidents are drawn.

Per stage, from its kind, status and known times (``start``/``end``):

- start and end: a bar (a continuous stage that held also gets its band from ``end``);
- start only: ``running`` -> a bar open-ended to now; anything else -> a mark at the start;
- end only: a mark at the end (or just the band, for a continuous stage that held);
- neither: a marker.

CI jobs get a row each (failed first, as the trace lists them). The model's items carry no
times today; an item that has ``started_at`` / ``finished_at`` (a subclass, or a later
model) gets a sub-bar, any other job a marker.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from bot.model import ChangeState, Item, Kind, Stage, Status, Trace
from bot.timefmt import format_time

PLOT_WIDTH = 760.0
ROW_HEIGHT = 26.0
BAR_HEIGHT = 14.0
BAND_HEIGHT = 10.0
MIN_WIDTH = 3.0  # px: a zero-length interval is still visible
MIN_TICK_SPACING = 80.0  # px: tick labels never touch
MIN_SPAN = timedelta(minutes=10)  # a span shorter than this is widened to the left
MAX_JOBS = 20
MAX_FAILED_NAMES = 3

# Tick steps, smallest first; past the last one whole days, as many as needed.
STEPS = tuple(
    timedelta(minutes=m)
    for m in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 20160)
)
# Ticks are aligned to whole steps counted from a Monday midnight: weekly ticks fall on Mondays,
# sub-day ticks on round clock times.
TICK_ANCHOR = datetime(1970, 1, 5, tzinfo=UTC)
DAY = timedelta(days=1)

NAMES = {"merge": "merge", "ci": "CI", "promote": "promote", "sync": "sync", "rollout": "rollout"}

ShapeKind = Literal["bar", "band", "mark", "marker", "incident"]


@dataclass(frozen=True)
class IncidentSpan:
    """One drift incident of one environment, as the page shows it. ``stages`` names the
    continuous stages that drift (a finding's ``stage``); empty means the whole environment."""

    environment: str
    detected_at: datetime
    resolved_at: datetime | None
    summary: str
    url: str | None = None
    stages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tick:
    at: datetime
    x: float
    label: str  # "09:05", or "2026-11-26" on a daily axis
    date: str | None = None  # the day under a clock-time tick, where the day changes


@dataclass(frozen=True)
class Axis:
    start: datetime
    end: datetime  # now
    width: float
    ticks: tuple[Tick, ...]

    def x(self, when: datetime) -> float:
        """Where ``when`` falls, clamped to the axis."""
        span = (self.end - self.start).total_seconds()
        pos = (when - self.start).total_seconds() / span * self.width
        return min(max(pos, 0.0), self.width)


@dataclass(frozen=True)
class Shape:
    """One drawn thing. ``x`` is None for a marker (no known time); ``width`` is 0 for a mark."""

    shape: ShapeKind
    kind: str  # "one-shot", "continuous" or "incident"
    stage: str  # stage id; "drift" for an incident
    environment: str | None
    status: str  # the stage vocabulary; "open" / "resolved" for an incident
    label: str  # the accessible name: what, status, when
    x: float | None
    width: float
    y: float
    height: float
    start: datetime | None = None
    end: datetime | None = None
    open_ended: bool = False
    url: str | None = None
    item: str | None = None  # the CI job's name
    detail: str = ""


@dataclass(frozen=True)
class Row:
    label: str
    y: float
    stage: str | None = None  # None for an environment's heading row
    environment: str | None = None
    item: str | None = None
    status_text: str = ""  # the status in words, shown beside the row
    url: str | None = None
    depth: int = 0  # 1 for a CI job


@dataclass(frozen=True)
class Timeline:
    axis: Axis
    rows: tuple[Row, ...]
    shapes: tuple[Shape, ...]
    height: float

    @property
    def now_x(self) -> float:
        return self.axis.width


def make_axis(start: datetime, now: datetime, width: float = PLOT_WIDTH) -> Axis:
    """An axis from ``start`` to ``now``, at least MIN_SPAN long, with readable ticks."""
    start = min(start, now - MIN_SPAN)
    step = tick_step(now - start, width)
    first = TICK_ANCHOR + step * math.ceil((start - TICK_ANCHOR) / step)
    axis = Axis(start, now, width, ())
    ticks: list[Tick] = []
    at, last_day = first, None
    while at <= now:
        if step >= DAY:
            ticks.append(Tick(at, axis.x(at), f"{at:%Y-%m-%d}"))
        else:
            day = f"{at:%Y-%m-%d}"
            ticks.append(Tick(at, axis.x(at), f"{at:%H:%M}", day if day != last_day else None))
            last_day = day
        at += step
    return Axis(start, now, width, tuple(ticks))


def tick_step(span: timedelta, width: float = PLOT_WIDTH) -> timedelta:
    """The smallest step that keeps ticks MIN_TICK_SPACING apart."""
    most = max(int(width // MIN_TICK_SPACING), 1)
    for step in STEPS:
        if span / step <= most:
            return step
    return DAY * math.ceil(span / DAY / most)


def is_settled(trace: Trace) -> bool:
    """Nothing more will happen on its own: live in every environment, or closed unmerged.
    A trace without environments is settled once no stage is pending or running."""
    if trace.change.state is ChangeState.CLOSED:
        return True
    envs = {s.environment for s in trace.stages if s.environment is not None}
    if envs:
        return all(trace.is_live_in(env) for env in envs)
    return all(s.status not in (Status.PENDING, Status.RUNNING) for s in trace.stages)


def layout(
    trace: Trace,
    *,
    now: datetime,
    incidents: Sequence[IncidentSpan] = (),
    width: float = PLOT_WIDTH,
) -> Timeline:
    """Rows in trace order (an environment's heading before its stages) and their shapes.
    Incidents of environments the trace does not show, or resolved before the axis starts,
    are left out; one that began earlier is drawn from the axis start."""
    now = now.astimezone(UTC)
    axis = make_axis(_earliest(trace, now), now, width)
    rows: list[Row] = []
    shapes: list[Shape] = []
    env: str | None = None
    for stage in trace.stages:
        if stage.environment is not None and stage.environment != env:
            live = "live" if trace.is_live_in(stage.environment) else "not live yet"
            rows.append(Row(stage.environment, len(rows) * ROW_HEIGHT, None, stage.environment,
                            status_text=live))  # fmt: skip
        env = stage.environment
        y = len(rows) * ROW_HEIGHT
        drawn = _stage_shapes(stage, axis, y)
        name = NAMES.get(stage.id, stage.id)
        rows.append(Row(name, y, stage.id, env, None, _status_text(stage, drawn), stage.url))
        shapes += drawn
        if stage.id == "ci":
            _add_jobs(stage, axis, rows, shapes)
    for incident in incidents:
        shape = _incident_shape(incident, axis, rows)
        if shape is not None:
            shapes.append(shape)
    return Timeline(axis, tuple(rows), tuple(shapes), len(rows) * ROW_HEIGHT)


# --- stages ------------------------------------------------------------------------------


def _earliest(trace: Trace, now: datetime) -> datetime:
    times = [trace.change.merged_at] + [t for s in trace.stages for t in _times(s)]
    known = [t.astimezone(UTC) for t in times if t is not None]
    return min(known, default=now)


def _times(stage: Stage) -> list[datetime | None]:
    return [stage.started_at, stage.finished_at] + [t for i in stage.items for t in item_times(i)]


def item_times(item: Item) -> tuple[datetime | None, datetime | None]:
    """A job's own start and end, when its item carries them."""
    start, end = getattr(item, "started_at", None), getattr(item, "finished_at", None)
    return (
        start if isinstance(start, datetime) else None,
        end if isinstance(end, datetime) else None,
    )


def _holds(stage: Stage) -> bool:
    """A continuous stage that reached its state at ``finished_at`` and is still in it."""
    return (
        stage.kind is Kind.CONTINUOUS
        and stage.finished_at is not None
        and stage.status in (Status.SUCCEEDED, Status.DRIFTED)
    )


def _name(stage: Stage) -> str:
    name = NAMES.get(stage.id, stage.id)
    return f"{name} in {stage.environment}" if stage.environment else name


def _status_words(stage: Stage) -> str:
    """The status, with the failed jobs named for a failed CI: "failed (test, lint)"."""
    if stage.id == "ci" and stage.status is Status.FAILED:
        failed = [i.name for i in stage.items if i.status is Status.FAILED]
        if failed:
            more = ", …" if len(failed) > MAX_FAILED_NAMES else ""
            return f"failed ({', '.join(failed[:MAX_FAILED_NAMES])}{more})"
    return stage.status.value


def _status_text(stage: Stage, drawn: list[Shape]) -> str:
    if _holds(stage) and stage.status is Status.SUCCEEDED:
        return f"holding since {format_time(stage.finished_at)}"
    if any(s.shape == "bar" and s.open_ended for s in drawn):
        return f"running since {format_time(stage.started_at)}"
    return _status_words(stage)


def _stage_shapes(stage: Stage, axis: Axis, y: float) -> list[Shape]:
    name, words = _name(stage), _status_words(stage)
    start, end = stage.started_at, stage.finished_at
    holds = _holds(stage)
    base = Shape("marker", stage.kind.value, stage.id, stage.environment, stage.status.value, "",
                 None, 0.0, y, 0.0, url=stage.url, detail=stage.detail)  # fmt: skip

    def put(shape: ShapeKind, label: str, t0: datetime | None, t1: datetime | None) -> Shape:
        return _placed(replace(base, shape=shape, label=label), axis, t0, t1)

    out: list[Shape] = []
    if start is not None and end is not None:
        # The bar of a stage that held is how it got there: it succeeded at ``end``.
        word = Status.SUCCEEDED.value if holds else words
        bar = put("bar", f"{name}: {word} {_between(start, end)}", start, end)
        out.append(replace(bar, status=Status.SUCCEEDED.value) if holds else bar)
    elif start is not None and stage.status is Status.RUNNING:
        label = f"{name}: running since {format_time(start)} (open-ended, to now)"
        out.append(replace(put("bar", label, start, axis.end), open_ended=True))
    elif start is not None:
        label = f"{name}: {words}; started {format_time(start)}, end unknown"
        out.append(put("mark", label, start, None))
    elif end is not None and not holds:
        out.append(put("mark", f"{name}: {words} at {format_time(end)}", end, None))
    elif end is None:
        why = "" if stage.status is Status.SKIPPED else "; no start time"
        out.append(put("marker", f"{name}: {words}{why}", None, None))
    if holds and end is not None:
        label = (
            f"{name}: holding since {format_time(end)}"
            if stage.status is Status.SUCCEEDED
            else f"{name}: {words}; held from {format_time(end)}"
        )
        out.append(replace(put("band", label, end, axis.end), open_ended=True))
    return out


def _between(start: datetime, end: datetime) -> str:
    return f"{format_time(start)}–{format_time(end)}"


def _add_jobs(stage: Stage, axis: Axis, rows: list[Row], shapes: list[Shape]) -> None:
    env = stage.environment
    for item in stage.items[:MAX_JOBS]:
        y = len(rows) * ROW_HEIGHT
        rows.append(Row(item.name, y, "ci", env, item.name, item.status.value, item.url, 1))
        shapes.append(_job_shape(item, axis, y, env))
    hidden = len(stage.items) - MAX_JOBS
    if hidden > 0:
        rows.append(
            Row(f"+{hidden} more jobs", len(rows) * ROW_HEIGHT, "ci", env, None, "", stage.url, 1)
        )


def _job_shape(item: Item, axis: Axis, y: float, env: str | None) -> Shape:
    start, end = item_times(item)
    name, word = f"CI job {item.name}", item.status.value
    base = Shape("marker", Kind.ONE_SHOT.value, "ci", env, word, "", None, 0.0, y, 0.0,
                 url=item.url, item=item.name, detail=item.conclusion or "")  # fmt: skip

    def put(shape: ShapeKind, label: str, t0: datetime | None, t1: datetime | None) -> Shape:
        return _placed(replace(base, shape=shape, label=label), axis, t0, t1)

    if start is not None and end is not None:
        return put("bar", f"{name}: {word} {_between(start, end)}", start, end)
    if start is not None and item.status is Status.RUNNING:
        label = f"{name}: running since {format_time(start)} (open-ended, to now)"
        return replace(put("bar", label, start, axis.end), open_ended=True)
    at = start or end
    if at is not None:
        return put("mark", f"{name}: {word} at {format_time(at)}", at, None)
    return put("marker", f"{name}: {word}; no times reported", None, None)


def _placed(shape: Shape, axis: Axis, start: datetime | None, end: datetime | None) -> Shape:
    """``shape`` (``y`` its row's top) placed: a point at ``start``, or from it to ``end``."""
    height = BAND_HEIGHT if shape.shape == "band" else BAR_HEIGHT
    x: float | None = None
    width = 0.0
    if start is not None:
        x = axis.x(start)
        if end is not None:
            x, width = _span(x, axis.x(end), axis.width)
    y = shape.y + (ROW_HEIGHT - height) / 2
    return replace(shape, x=x, width=width, y=y, height=height, start=start, end=end)


def _span(x0: float, x1: float, limit: float) -> tuple[float, float]:
    """At least MIN_WIDTH wide, kept inside the plot."""
    width = max(x1 - x0, MIN_WIDTH)
    return min(x0, max(limit - width, 0.0)), width


# --- incidents ---------------------------------------------------------------------------


def _incident_shape(incident: IncidentSpan, axis: Axis, rows: list[Row]) -> Shape | None:
    resolved = incident.resolved_at
    if resolved is not None and resolved < axis.start:
        return None
    env_rows = [
        r for r in rows if r.environment == incident.environment and r.stage in ("sync", "rollout")
    ]
    chosen = [r for r in env_rows if r.stage in incident.stages] or env_rows
    if not chosen:
        return None
    top = min(r.y for r in chosen)
    bottom = max(r.y for r in chosen) + ROW_HEIGHT
    x0 = axis.x(incident.detected_at)
    x, width = _span(x0, axis.x(resolved or axis.end), axis.width)
    where = f"drift in {incident.environment}"
    when = (
        f"detected {format_time(incident.detected_at)}, resolved {format_time(resolved)}"
        if resolved is not None
        else f"open since {format_time(incident.detected_at)}"
    )
    label = f"{where}: {when}" + (f" — {incident.summary}" if incident.summary else "")
    status = "resolved" if resolved is not None else "open"
    return Shape("incident", "incident", "drift", incident.environment, status, label, x, width,
                 top + 2, bottom - top - 4, incident.detected_at, resolved, resolved is None,
                 incident.url, detail=incident.summary)  # fmt: skip
