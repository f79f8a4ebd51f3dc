"""DORA figures (bot.digest.dora), table-driven: one case = records + a window -> the expected figures.

Times are hours after T0 (UTC) unless a case says otherwise; the window is [h(0), h(24)) and
the failure window 4 h. Services run staging then production.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.digest.dora import (
    ChangeRecord,
    DeploymentRecord,
    FailureRecord,
    Figures,
    IncidentRecord,
    figures,
    trailing,
)

T0 = datetime(2026, 11, 2, tzinfo=UTC)
T24 = T0 + timedelta(hours=24)
BERLIN = ZoneInfo("Europe/Berlin")
ENVS = ("staging", "production")
FW = timedelta(hours=4)
H = timedelta(hours=1)
US = timedelta(microseconds=1)
MIN = timedelta(minutes=1)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def change(
    n: int,
    merged: datetime,
    staging: datetime | None = None,
    production: datetime | None = None,
    revert_of: int | None = None,
    service: str = "shop",
) -> ChangeRecord:
    live = {env: at for env, at in (("staging", staging), ("production", production)) if at}
    return ChangeRecord(
        service=service,
        repo=f"acme/{service}",
        ref=f"acme/{service}#{n}",
        title=f"change {n}",
        merged_at=merged,
        live_at=live,
        environments=ENVS,
        revert_of=f"acme/{service}#{revert_of}" if revert_of else None,
    )


def deploy(env: str, at: datetime, service: str = "shop") -> DeploymentRecord:
    return DeploymentRecord(service=service, environment=env, version=f"v{at:%H%M}", at=at)


def deploys_of(*changes: ChangeRecord) -> list[DeploymentRecord]:
    """A deployment for every environment each change was first seen live in."""
    return [deploy(env, at, c.service) for c in changes for env, at in c.live_at.items()]


def failure(env: str, at: datetime, service: str = "shop") -> FailureRecord:
    return FailureRecord(service=service, environment=env, at=at, what="ProgressDeadlineExceeded")


def incident(
    opened: datetime, resolved: datetime | None, env: str = "production"
) -> IncidentRecord:
    return IncidentRecord(service="shop", environment=env, opened_at=opened, resolved_at=resolved)


# The drift scan has watched every environment since long before the window: its
# deployment records are the whole story (the cases below that do not say otherwise).
LONG_AGO = T0 - timedelta(days=365)
WATCHED: dict[tuple[str, str], datetime | None] = {
    (service, env): LONG_AGO for service in ("shop", "cart") for env in ENVS
}


@dataclass
class Case:
    changes: list[ChangeRecord] = field(default_factory=list)
    deployments: list[DeploymentRecord] | None = None  # None: deploys_of(*changes)
    failures: list[FailureRecord] = field(default_factory=list)
    incidents: list[IncidentRecord] = field(default_factory=list)
    start: datetime = T0
    end: datetime = T24
    watched: dict[tuple[str, str], datetime | None] = field(default_factory=lambda: WATCHED)
    expect: dict[str, Any] = field(default_factory=dict)


def run(case: Case) -> Figures:
    deployments = deploys_of(*case.changes) if case.deployments is None else case.deployments
    return figures(
        case.changes,
        deployments,
        case.failures,
        case.incidents,
        case.start,
        case.end,
        FW,
        watched=case.watched,
    )


EMPTY: dict[str, Any] = {
    "deployments": {},
    "deploys_per_day": {},
    "lead_time_median": None,
    "lead_time_p90": None,
    "lead_times": [],
    "change_failure_rate": None,
    "failed_deployments": 0,
    "total_deployments": 0,
    "time_to_restore_median": None,
    "restored": 0,
    "open_incidents": 0,
    "watched_since": LONG_AGO,
}

# Berlin falls back on 2026-10-25 at 03:00 CEST -> 02:00 CET: that local day lasts 25 h.
DST_DAY = datetime(2026, 10, 25, tzinfo=BERLIN), datetime(2026, 10, 26, tzinfo=BERLIN)


def berlin(hour: int, minute: int = 0, fold: int = 0) -> datetime:
    return datetime(2026, 10, 25, hour, minute, fold=fold, tzinfo=BERLIN)


CASES: dict[str, Case] = {
    "empty window": Case(expect=EMPTY),
    "records only outside the window": Case(
        changes=[change(1, h(-30), h(-28), h(-25)), change(2, h(20), h(23), h(24))],
        incidents=[incident(h(-5), h(-1))],
        expect={
            **EMPTY,
            "deployments": {"staging": 1},
            "deploys_per_day": {"staging": 1.0},
            "change_failure_rate": 0.0,
            "total_deployments": 1,
        },
    ),
    "a single change": Case(
        changes=[change(1, h(1), h(2), h(4))],
        expect={
            "deployments": {"production": 1, "staging": 1},
            "deploys_per_day": {"production": 1.0, "staging": 1.0},
            "lead_times": [("acme/shop#1", 3 * H)],
            "lead_time_median": 3 * H,
            "lead_time_p90": 3 * H,
            "change_failure_rate": 0.0,
            "total_deployments": 2,
        },
    ),
    "merged before the window, live inside it": Case(
        changes=[change(1, h(-10), h(-9), h(0))],
        expect={"lead_times": [("acme/shop#1", 10 * H)], "deployments": {"production": 1}},
    ),
    "ties: equal lead times, equal live times ordered by ref": Case(
        changes=[
            change(2, h(1), None, h(3)),
            change(1, h(1), None, h(3)),
            change(3, h(5), None, h(7)),
        ],
        expect={
            "lead_times": [("acme/shop#1", 2 * H), ("acme/shop#2", 2 * H), ("acme/shop#3", 2 * H)],
            "lead_time_median": 2 * H,
            "lead_time_p90": 2 * H,
            "deployments": {"production": 3},
        },
    ),
    "even count: median is the mean of the middle two": Case(
        changes=[change(n, h(0), None, h(lead)) for n, lead in enumerate([1, 4, 2, 10], 1)],
        expect={"lead_time_median": 3 * H, "lead_time_p90": 10 * H},
    ),
    "p90 is nearest rank: 10 changes -> the 9th": Case(
        changes=[change(n, h(0), None, h(n)) for n in range(1, 11)],
        expect={"lead_time_median": 5.5 * H, "lead_time_p90": 9 * H},
    ),
    "p90 is nearest rank: 11 changes -> the 10th": Case(
        changes=[change(n, h(0), None, h(n)) for n in range(1, 12)],
        expect={"lead_time_median": 6 * H, "lead_time_p90": 10 * H},
    ),
    "a change live in staging only": Case(
        changes=[change(1, h(1), h(2))],
        expect={
            "lead_times": [],
            "lead_time_median": None,
            "lead_time_p90": None,
            "deployments": {"staging": 1},
            "total_deployments": 1,
        },
    ),
    "a revert fails the deployments of the reverted change": Case(
        changes=[change(1, h(0), h(1), h(2)), change(2, h(3), h(4), h(5), revert_of=1)],
        expect={
            "failed_deployments": 2,
            "total_deployments": 4,
            "change_failure_rate": 0.5,
            "lead_times": [("acme/shop#1", 2 * H), ("acme/shop#2", 2 * H)],
        },
    ),
    "a revert only fails the deployment that carried the reverted change": Case(
        changes=[
            change(1, h(0), None, h(2)),
            change(2, h(0), None, h(2.5)),
            change(3, h(3), None, h(8), revert_of=1),
        ],
        expect={"failed_deployments": 1, "total_deployments": 3},
    ),
    "a revert matches the deployment the scan saw shortly before the trace's live time": Case(
        changes=[
            change(1, h(0), None, h(2)),
            # GitHub's revert body names the repo as its owner writes it.
            replace(change(2, h(3), None, None), revert_of="ACME/Shop#1"),
        ],
        deployments=[deploy("production", h(1.5)), deploy("production", h(2) - 10 * MIN)],
        expect={"failed_deployments": 1, "total_deployments": 2},
    ),
    "a revert merged after the failure window": Case(
        changes=[change(1, h(0), None, h(2)), change(2, h(6) + US, None, h(8), revert_of=1)],
        expect={"failed_deployments": 0, "change_failure_rate": 0.0},
    ),
    "a revert merged exactly at the end of the failure window": Case(
        changes=[change(1, h(0), None, h(2)), change(2, h(6), None, h(8), revert_of=1)],
        expect={"failed_deployments": 1},
    ),
    "a failed rollout within the failure window": Case(
        deployments=[deploy("production", h(2))],
        failures=[failure("production", h(3))],
        expect={"failed_deployments": 1, "total_deployments": 1, "change_failure_rate": 1.0},
    ),
    "a failed rollout exactly at the end of the failure window": Case(
        deployments=[deploy("production", h(2))],
        failures=[failure("production", h(6))],
        expect={"failed_deployments": 1},
    ),
    "a failed rollout just after the failure window": Case(
        deployments=[deploy("production", h(2))],
        failures=[failure("production", h(6) + US)],
        expect={"failed_deployments": 0, "change_failure_rate": 0.0},
    ),
    "a failed rollout at or before the deployment does not count": Case(
        deployments=[deploy("production", h(2))],
        failures=[failure("production", h(2)), failure("production", h(1))],
        expect={"failed_deployments": 0},
    ),
    "a failed rollout elsewhere does not count": Case(
        deployments=[deploy("production", h(2))],
        failures=[failure("staging", h(3)), failure("production", h(3), service="cart")],
        expect={"failed_deployments": 0},
    ),
    "an incident opened after a deployment": Case(
        deployments=[deploy("production", h(2)), deploy("staging", h(2))],
        incidents=[incident(h(3), h(5))],
        expect={
            "failed_deployments": 1,
            "total_deployments": 2,
            "change_failure_rate": 0.5,
            "time_to_restore_median": 2 * H,
            "restored": 1,
            "open_incidents": 0,
        },
    ),
    "time to restore: incidents resolved in the window": Case(
        incidents=[
            incident(h(1), h(2)),  # 1 h
            incident(h(-2), h(1)),  # 3 h, opened before the window
            incident(h(10), h(14)),  # 4 h
            incident(h(20), h(30)),  # 10 h, resolved after the end
            incident(h(-9), h(-8)),  # resolved before the window
            incident(h(-1), h(0)),  # 1 h, resolved exactly at the start
        ],
        expect={"time_to_restore_median": 2 * H, "restored": 4, "open_incidents": 1},
    ),
    "open incidents at the end": Case(
        incidents=[
            incident(h(-48), None),  # opened long ago, never resolved
            incident(h(23), None),
            incident(h(22), h(24)),  # resolved exactly at the end: still open then
            incident(h(24), None),  # opened at the end: not yet
            incident(h(30), None),
        ],
        expect={"open_incidents": 3, "restored": 0, "time_to_restore_median": None},
    ),
    "window boundaries: start included, end excluded": Case(
        deployments=[
            deploy("staging", h(0)),
            deploy("staging", h(24) - US),
            deploy("staging", h(24)),
        ],
        expect={"deployments": {"staging": 2}, "deploys_per_day": {"staging": 2.0}},
    ),
    "a window across a DST change lasts 25 h": Case(
        start=DST_DAY[0],
        end=DST_DAY[1],
        changes=[
            # merged 01:00 CEST, live 04:00 CET: 4 h elapsed, 3 h on the wall clock
            change(1, berlin(1), berlin(2, 30, fold=0), berlin(4)),
            change(2, berlin(5), berlin(6), berlin(23, 30)),
        ],
        deployments=[
            deploy("production", berlin(0)),
            deploy("production", berlin(2, 30, fold=0)),
            deploy("production", berlin(2, 30, fold=1)),
            deploy("production", berlin(4)),
            deploy("production", berlin(23, 30)),
            deploy("production", DST_DAY[1]),  # outside
        ],
        failures=[failure("production", berlin(3, 45))],
        expect={
            "deployments": {"production": 5},
            "deploys_per_day": {"production": 5 / (25 / 24)},
            "lead_times": [("acme/shop#1", 4 * H), ("acme/shop#2", 18.5 * H)],
            # 03:45 CET is within 4 h of 02:30 CEST (2 h 15 min), 02:30 CET (1 h 15 min) and
            # 04:00 is before it; it is 4 h 45 min after 00:00 CEST (3 h 45 min on the wall)
            "failed_deployments": 2,
        },
    ),
    "services are told apart": Case(
        changes=[
            change(1, h(0), None, h(3), service="cart"),
            change(1, h(0), None, h(3)),
            change(2, h(4), None, h(9), revert_of=1, service="cart"),
        ],
        # cart's deployment of cart#1 is not in the records: shop's at the same time did not fail
        deployments=[deploy("production", h(3)), deploy("production", h(9), service="cart")],
        expect={"failed_deployments": 0, "total_deployments": 2},
    ),
    "no scan history: a change the traces show going live is a deployment there": Case(
        changes=[change(1, h(1), h(2), h(4)), change(2, h(1), h(2), h(4))],  # one release
        deployments=[],
        watched={},
        expect={
            "deployments": {"production": 1, "staging": 1},
            "total_deployments": 2,
            "change_failure_rate": 0.0,
            "lead_times": [("acme/shop#1", 3 * H), ("acme/shop#2", 3 * H)],
            "watched_since": None,
        },
    ),
    "an environment the scan has not looked at yet: the traces count there": Case(
        changes=[change(1, h(1), h(2), h(4))],
        deployments=[deploy("staging", h(2) + MIN)],
        watched={("shop", "staging"): LONG_AGO, ("shop", "production"): None},
        expect={
            "deployments": {"production": 1, "staging": 1},  # the scan's own in staging
            "total_deployments": 2,
            "watched_since": None,
        },
    ),
    "the scan's records stand once it watches; before that, the traces'": Case(
        changes=[change(1, h(1), h(2), h(4))],
        deployments=[],  # the production rollout happened between two scans' records
        watched={("shop", "staging"): h(3), ("shop", "production"): h(3)},
        expect={"deployments": {"staging": 1}, "total_deployments": 1, "watched_since": h(3)},
    ),
    "a revert fails a deployment only the traces saw": Case(
        changes=[change(1, h(0), None, h(2)), change(2, h(3), None, h(5), revert_of=1)],
        deployments=[],
        watched={},
        expect={"failed_deployments": 1, "total_deployments": 2, "change_failure_rate": 0.5},
    ),
    "watched since: when the last of the environments was first looked at": Case(
        watched={("shop", "staging"): h(-5), ("shop", "production"): h(-2)},
        expect={"watched_since": h(-2)},
    ),
    "a revert of a change not in the records": Case(
        changes=[change(1, h(0), None, h(2)), change(2, h(3), None, h(5), revert_of=9)],
        expect={"failed_deployments": 0, "total_deployments": 2},
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_figures(case: Case) -> None:
    got = run(case)
    for name, want in case.expect.items():
        have = getattr(got, name)
        if name == "deploys_per_day":
            assert have == pytest.approx(want), name
            assert list(have) == list(want), name
        else:
            assert have == want, name


def test_empty_window_has_every_figure_empty() -> None:
    got = run(Case())
    assert {f.name for f in fields(Figures)} - {"start", "end"} == set(EMPTY)
    assert (got.start, got.end) == (h(0), h(24))


def test_environments_are_listed_by_name() -> None:
    got = run(Case(deployments=[deploy("staging", h(1)), deploy("production", h(2))]))
    assert list(got.deployments) == ["production", "staging"]
    assert list(got.deploys_per_day) == ["production", "staging"]


@pytest.mark.parametrize(
    ("end", "days", "elapsed"),
    [
        (h(0), 30, 30 * 24 * H),
        (h(0), 1, 24 * H),
        # 30 calendar days back from 10 Nov 09:00 CET crosses the end of summer time
        (datetime(2026, 11, 10, 9, tzinfo=BERLIN), 30, 30 * 24 * H + H),
        (datetime(2026, 11, 10, 9, tzinfo=BERLIN), 7, 7 * 24 * H),
    ],
)
def test_trailing(end: datetime, days: int, elapsed: timedelta) -> None:
    start = trailing(end, days)
    assert end.astimezone(UTC) - start.astimezone(UTC) == elapsed
    assert (start.hour, start.minute) == (end.hour, end.minute)


def test_trailing_defaults_to_30_days() -> None:
    assert trailing(h(0)) == h(-30 * 24)


@pytest.mark.parametrize(
    ("start", "end"),
    [(h(1), h(1)), (h(2), h(1)), (datetime(2026, 11, 2), h(24))],
    ids=["empty", "reversed", "naive"],
)
def test_bad_window(start: datetime, end: datetime) -> None:
    with pytest.raises(ValueError):
        figures([], [], [], [], start, end, FW, watched={})
