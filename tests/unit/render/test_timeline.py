"""Timeline layout: the time axis, its ticks, and where each stage, job and incident goes. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from bot.model import Change, ChangeState, Item, Stage, Status, Trace
from bot.render.timeline import (
    BAND_HEIGHT,
    MAX_JOBS,
    MIN_SPAN,
    MIN_TICK_SPACING,
    MIN_WIDTH,
    PLOT_WIDTH,
    ROW_HEIGHT,
    IncidentSpan,
    Shape,
    Timeline,
    is_settled,
    layout,
    make_axis,
    tick_step,
)

SHA = "3f2c1ab9" * 5
T0 = datetime(2026, 11, 26, 9, 0, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@dataclass(frozen=True)
class TimedItem(Item):
    """A CI job with GitHub's own times (the model's items do not carry them yet)."""

    started_at: datetime | None = None
    finished_at: datetime | None = None


def change(**kw: Any) -> Change:
    fields: dict[str, Any] = {
        "repo": "acme/shop",
        "sha": SHA,
        "requested": "acme/shop#412",
        "state": ChangeState.MERGED,
        "pr": 412,
        "title": "Add cart",
        "merged_at": T0,
    }
    return Change(**(fields | kw))


def trace(*stages: Stage, **kw: Any) -> Trace:
    return Trace(change=change(**kw), service="shop", stages=stages, where="somewhere")


def stage(id_: str, env: str | None = None, status: Status = Status.SUCCEEDED, **kw: Any) -> Stage:
    return Stage(
        id=id_, status=status, detail=kw.pop("detail", f"{id_} detail"), environment=env, **kw
    )


def shapes(tl: Timeline, stage_id: str, env: str | None = None) -> list[Shape]:
    return [s for s in tl.shapes if s.stage == stage_id and s.environment == env and s.item is None]


def only(tl: Timeline, stage_id: str, env: str | None = None) -> Shape:
    (found,) = shapes(tl, stage_id, env)
    return found


# --- the axis -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "x"),
    [(0, 0.0), (30, PLOT_WIDTH / 2), (60, PLOT_WIDTH), (-5, 0.0), (90, PLOT_WIDTH)],
)
def test_axis_maps_start_to_zero_and_now_to_the_width_clamped(minutes: float, x: float) -> None:
    axis = make_axis(T0, at(60))
    assert axis.x(at(minutes)) == pytest.approx(x)


def test_a_zero_length_span_is_widened_to_the_minimum() -> None:
    axis = make_axis(T0, T0)
    assert (axis.start, axis.end) == (T0 - MIN_SPAN, T0)
    assert axis.x(T0) == PLOT_WIDTH


@pytest.mark.parametrize(
    ("span", "step"),
    [
        (timedelta(minutes=10), timedelta(minutes=2)),
        (timedelta(hours=1), timedelta(minutes=10)),
        (timedelta(hours=6), timedelta(hours=1)),
        (timedelta(days=3), timedelta(hours=12)),
        (timedelta(days=8), timedelta(days=1)),
        (timedelta(days=10), timedelta(days=2)),
        (timedelta(days=30), timedelta(days=7)),
        (timedelta(days=200), timedelta(days=23)),  # past the ladder: whole days
    ],
)
def test_tick_step_keeps_ticks_apart(span: timedelta, step: timedelta) -> None:
    assert tick_step(span) == step
    assert span / step <= PLOT_WIDTH // MIN_TICK_SPACING


@pytest.mark.parametrize(
    ("start", "now", "labels", "dates"),
    [
        (at(1), at(41), ["09:05", "09:10", "09:15", "09:20", "09:25", "09:30", "09:35", "09:40"],
         ["2026-11-26", None, None, None, None, None, None, None]),
        (datetime(2026, 11, 26, 20, 30, tzinfo=UTC), datetime(2026, 11, 27, 3, tzinfo=UTC),
         ["21:00", "22:00", "23:00", "00:00", "01:00", "02:00", "03:00"],
         ["2026-11-26", None, None, "2026-11-27", None, None, None]),
        (T0 - timedelta(days=10), T0,
         ["2026-11-17", "2026-11-19", "2026-11-21", "2026-11-23", "2026-11-25"], [None] * 5),
        (T0 - timedelta(days=30), T0,  # weekly ticks fall on Mondays
         ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"], [None] * 4),
    ],
)  # fmt: skip
def test_ticks_are_round_times_with_the_day_where_it_changes(
    start: datetime, now: datetime, labels: list[str], dates: list[str | None]
) -> None:
    axis = make_axis(start, now)
    assert [t.label for t in axis.ticks] == labels
    assert [t.date for t in axis.ticks] == dates
    xs = [t.x for t in axis.ticks]
    assert all(0 <= x <= PLOT_WIDTH for x in xs)
    assert all(b - a >= MIN_TICK_SPACING for a, b in pairwise(xs))
    assert all(axis.x(t.at) == t.x for t in axis.ticks)


# --- stages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("st", "shape", "x", "width", "open_ended", "label"),
    [
        (stage("ci", started_at=at(2), finished_at=at(6)), "bar", 2, 4, False,
         "CI: succeeded 2026-11-26T09:02:00Z–2026-11-26T09:06:00Z"),
        (stage("ci", status=Status.RUNNING, started_at=at(2)), "bar", 2, 58, True,
         "CI: running since 2026-11-26T09:02:00Z (open-ended, to now)"),
        (stage("ci", status=Status.FAILED, started_at=at(2)), "mark", 2, 0, False,
         "CI: failed; started 2026-11-26T09:02:00Z, end unknown"),
        (stage("promote", "prod", finished_at=at(10)), "mark", 10, 0, False,
         "promote in prod: succeeded at 2026-11-26T09:10:00Z"),
        (stage("ci", status=Status.PENDING), "marker", None, 0, False,
         "CI: pending; no start time"),
        (stage("sync", "prod", Status.UNKNOWN), "marker", None, 0, False,
         "sync in prod: unknown; no start time"),
        (stage("sync", "prod", Status.SKIPPED), "marker", None, 0, False, "sync in prod: skipped"),
        (stage("sync", "prod", Status.FAILED, started_at=at(10), finished_at=at(12)), "bar", 10, 2,
         False, "sync in prod: failed 2026-11-26T09:10:00Z–2026-11-26T09:12:00Z"),
        (stage("rollout", "prod", Status.RUNNING, started_at=at(30)), "bar", 30, 30, True,
         "rollout in prod: running since 2026-11-26T09:30:00Z (open-ended, to now)"),
        (stage("rollout", "prod", Status.DRIFTED, started_at=at(30)), "mark", 30, 0, False,
         "rollout in prod: drifted; started 2026-11-26T09:30:00Z, end unknown"),
    ],
)  # fmt: skip
def test_one_shape_per_stage_from_its_known_times(
    st: Stage, shape: str, x: float | None, width: float, open_ended: bool, label: str
) -> None:
    # One minute is one twelfth of the 60-minute axis: positions in minutes times that.
    px = PLOT_WIDTH / 60
    tl = layout(trace(st), now=at(60))
    drawn = only(tl, st.id, st.environment)
    assert (drawn.shape, drawn.open_ended, drawn.label) == (shape, open_ended, label)
    assert drawn.x == (None if x is None else pytest.approx(x * px))
    assert drawn.width == pytest.approx(width * px)
    assert drawn.kind == st.kind.value
    assert drawn.status == st.status.value


def test_a_running_stage_is_labelled_running_in_its_row() -> None:
    tl = layout(trace(stage("rollout", "prod", Status.RUNNING, started_at=at(30))), now=at(60))
    (row,) = [r for r in tl.rows if r.stage == "rollout"]
    assert row.status_text == "running since 2026-11-26T09:30:00Z"


@pytest.mark.parametrize(
    ("status", "band_label", "row_text"),
    [
        (Status.SUCCEEDED, "sync in prod: holding since 2026-11-26T09:20:00Z",
         "holding since 2026-11-26T09:20:00Z"),
        (Status.DRIFTED, "sync in prod: drifted; held from 2026-11-26T09:20:00Z", "drifted"),
    ],
)  # fmt: skip
def test_a_continuous_stage_that_held_is_a_bar_then_a_band_to_now(
    status: Status, band_label: str, row_text: str
) -> None:
    st = stage("sync", "prod", status, started_at=at(15), finished_at=at(20))
    tl = layout(trace(st), now=at(60))
    bar, band = shapes(tl, "sync", "prod")
    px = PLOT_WIDTH / 60
    assert (bar.shape, bar.status, bar.open_ended) == ("bar", "succeeded", False)
    assert (bar.x, bar.width) == (pytest.approx(15 * px), pytest.approx(5 * px))
    assert (band.shape, band.status, band.open_ended, band.label) == (
        "band", status.value, True, band_label
    )  # fmt: skip
    assert (band.x, band.x + band.width) == (pytest.approx(20 * px), pytest.approx(PLOT_WIDTH))
    assert band.height == BAND_HEIGHT
    assert band.kind == "continuous"
    (row,) = [r for r in tl.rows if r.stage == "sync"]
    assert row.status_text == row_text


def test_a_held_stage_with_no_start_has_only_its_band() -> None:
    tl = layout(trace(stage("rollout", "prod", finished_at=at(20))), now=at(60))
    (band,) = shapes(tl, "rollout", "prod")
    assert (band.shape, band.start) == ("band", at(20))


def test_a_change_older_than_a_week_compresses_and_keeps_short_stages_visible() -> None:
    old = T0 - timedelta(days=9)
    t = trace(
        stage("merge", finished_at=old),
        stage("ci", started_at=old + timedelta(minutes=1), finished_at=old + timedelta(minutes=5)),
        stage("sync", "prod", started_at=old + timedelta(hours=1),
              finished_at=old + timedelta(hours=1, minutes=1)),
        merged_at=old,
    )  # fmt: skip
    tl = layout(t, now=T0)
    assert (tl.axis.start, tl.axis.end) == (old, T0)
    assert [t.label for t in tl.axis.ticks][:2] == ["2026-11-18", "2026-11-19"]
    assert len(tl.axis.ticks) <= PLOT_WIDTH // MIN_TICK_SPACING
    ci = only(tl, "ci")
    assert ci.width == MIN_WIDTH  # 4 minutes of 9 days is a fraction of a pixel
    bar, band = shapes(tl, "sync", "prod")
    assert bar.width == MIN_WIDTH
    assert band.x + band.width == pytest.approx(PLOT_WIDTH)


def test_a_zero_length_stage_at_now_stays_inside_the_plot() -> None:
    tl = layout(trace(stage("ci", started_at=T0, finished_at=T0)), now=T0)
    ci = only(tl, "ci")
    assert ci.width == MIN_WIDTH
    assert ci.x == PLOT_WIDTH - MIN_WIDTH


def test_the_axis_starts_at_the_earliest_known_time() -> None:
    t = trace(stage("ci", started_at=at(-30), finished_at=at(-20)), merged_at=at(-10))
    assert layout(t, now=at(60)).axis.start == at(-30)
    assert (
        layout(trace(stage("ci", Status.PENDING), merged_at=None), now=T0).axis.start
        == T0 - MIN_SPAN
    )


def test_rows_put_each_environment_heading_before_its_stages() -> None:
    t = trace(
        stage("merge", finished_at=T0),
        stage("ci", started_at=at(1), finished_at=at(5)),
        stage("sync", "staging"),
        stage("rollout", "staging"),
        stage("sync", "prod", Status.PENDING),
    )
    tl = layout(t, now=at(60))
    headings = [(r.label, r.status_text) for r in tl.rows if r.stage is None]
    assert headings == [("staging", "live"), ("prod", "not live yet")]
    assert [(r.label, r.stage, r.environment) for r in tl.rows] == [
        ("merge", "merge", None),
        ("CI", "ci", None),
        ("staging", None, "staging"),
        ("sync", "sync", "staging"),
        ("rollout", "rollout", "staging"),
        ("prod", None, "prod"),
        ("sync", "sync", "prod"),
    ]
    assert [r.y for r in tl.rows] == [n * ROW_HEIGHT for n in range(7)]
    assert tl.height == 7 * ROW_HEIGHT
    assert all(any(r.y <= s.y < r.y + ROW_HEIGHT for r in tl.rows if r.stage) for s in tl.shapes)


# --- CI jobs ------------------------------------------------------------------------------


def test_overlapping_jobs_get_a_row_and_a_bar_each_failed_named_in_the_ci_label() -> None:
    jobs = (
        TimedItem("test", Status.FAILED, "failure", "https://gh/test", at(2), at(6)),
        TimedItem("lint", Status.SUCCEEDED, "success", None, at(3), at(4)),
        TimedItem("build", Status.RUNNING, None, None, at(2)),
    )
    ci = stage("ci", status=Status.FAILED, started_at=at(2), finished_at=at(6), items=jobs)
    tl = layout(trace(ci), now=at(60))
    assert only(tl, "ci").label == "CI: failed (test) 2026-11-26T09:02:00Z–2026-11-26T09:06:00Z"
    bars = [s for s in tl.shapes if s.item is not None]
    px = PLOT_WIDTH / 60
    assert [(b.item, b.status, b.open_ended) for b in bars] == [
        ("test", "failed", False), ("lint", "succeeded", False), ("build", "running", True)
    ]  # fmt: skip
    assert [(b.x, b.width) for b in bars] == [
        (pytest.approx(2 * px), pytest.approx(4 * px)),
        (pytest.approx(3 * px), pytest.approx(1 * px)),
        (pytest.approx(2 * px), pytest.approx(58 * px)),
    ]
    assert len({b.y for b in bars}) == 3  # overlapping in time, never on top of each other
    assert bars[0].label == "CI job test: failed 2026-11-26T09:02:00Z–2026-11-26T09:06:00Z"
    assert bars[0].url == "https://gh/test"
    assert [(r.label, r.depth, r.status_text) for r in tl.rows[1:]] == [
        ("test", 1, "failed"), ("lint", 1, "succeeded"), ("build", 1, "running")
    ]  # fmt: skip


def test_jobs_without_times_are_markers_not_invented_bars() -> None:
    ci = stage("ci", started_at=at(2), finished_at=at(6), items=(Item("test", Status.SUCCEEDED),))
    (job,) = [s for s in layout(trace(ci), now=at(60)).shapes if s.item == "test"]
    assert (job.shape, job.x, job.label) == (
        "marker",
        None,
        "CI job test: succeeded; no times reported",
    )


def test_many_jobs_are_cut_with_a_more_row() -> None:
    items = tuple(Item(f"job{n}", Status.SUCCEEDED) for n in range(MAX_JOBS + 5))
    tl = layout(trace(stage("ci", items=items, url="https://gh/checks")), now=at(60))
    assert sum(1 for s in tl.shapes if s.item) == MAX_JOBS
    assert (tl.rows[-1].label, tl.rows[-1].url) == ("+5 more jobs", "https://gh/checks")


def test_more_than_three_failed_jobs_are_cut_in_the_label() -> None:
    items = tuple(Item(n, Status.FAILED) for n in "abcd")
    tl = layout(trace(stage("ci", status=Status.FAILED, items=items)), now=at(60))
    assert only(tl, "ci").label == "CI: failed (a, b, c, …); no start time"


# --- incidents ----------------------------------------------------------------------------


ENV_STAGES = (
    stage("sync", "prod", started_at=at(10), finished_at=at(12)),
    stage("rollout", "prod", started_at=at(12), finished_at=at(20)),
)


@pytest.mark.parametrize(
    ("incident", "x", "right", "rows", "label"),
    [
        (IncidentSpan("prod", at(30), at(40), "pods crash-looping", "https://slack/t"), 30, 40,
         ("sync", "rollout"),
         "drift in prod: detected 2026-11-26T09:30:00Z, resolved 2026-11-26T09:40:00Z"
         " — pods crash-looping"),
        (IncidentSpan("prod", at(45), None, "out of sync", stages=("sync",)), 45, 60, ("sync",),
         "drift in prod: open since 2026-11-26T09:45:00Z — out of sync"),
        (IncidentSpan("prod", at(-100), at(15), "", stages=("rollout",)), 0, 15, ("rollout",),
         "drift in prod: detected 2026-11-26T07:20:00Z, resolved 2026-11-26T09:15:00Z"),
    ],
)  # fmt: skip
def test_an_incident_is_drawn_over_its_environments_rows_detected_to_resolved(
    incident: IncidentSpan, x: float, right: float, rows: tuple[str, ...], label: str
) -> None:
    tl = layout(trace(*ENV_STAGES), now=at(60), incidents=[incident])
    (drawn,) = [s for s in tl.shapes if s.kind == "incident"]
    px = PLOT_WIDTH / 60
    assert (drawn.x, drawn.x + drawn.width) == (pytest.approx(x * px), pytest.approx(right * px))
    covered = [
        r.stage for r in tl.rows if drawn.y < r.y + ROW_HEIGHT and r.y < drawn.y + drawn.height
    ]
    assert tuple(covered) == rows
    assert drawn.label == label
    assert (drawn.url, drawn.environment, drawn.stage) == (incident.url, "prod", "drift")
    assert drawn.status == ("open" if incident.resolved_at is None else "resolved")
    assert drawn.open_ended is (incident.resolved_at is None)


@pytest.mark.parametrize(
    "incident",
    [
        IncidentSpan("prod", at(-300), at(-200), "long gone"),  # resolved before the axis
        IncidentSpan("staging", at(30), None, "not on this page"),  # environment not shown
    ],
)
def test_incidents_outside_the_page_are_left_out(incident: IncidentSpan) -> None:
    tl = layout(trace(*ENV_STAGES), now=at(60), incidents=[incident])
    assert [s for s in tl.shapes if s.kind == "incident"] == []


# --- settled ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stages", "kw", "settled"),
    [
        ((stage("sync", "a"), stage("rollout", "a"), stage("sync", "b")), {}, True),
        ((stage("sync", "a"), stage("sync", "b", Status.RUNNING)), {}, False),
        ((stage("sync", "a"), stage("sync", "b", Status.DRIFTED)), {}, False),
        ((stage("sync", "a", Status.SKIPPED),), {"state": ChangeState.CLOSED}, True),
        ((stage("ci", status=Status.RUNNING),), {}, False),
        ((stage("ci", status=Status.FAILED),), {}, True),
    ],
)
def test_settled_means_live_everywhere_or_closed(
    stages: tuple[Stage, ...], kw: dict[str, Any], settled: bool
) -> None:
    assert is_settled(trace(*stages, **kw)) is settled
