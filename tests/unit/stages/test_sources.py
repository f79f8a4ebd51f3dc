"""The registry of one-shot stage sources and the pure rules around it, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.model import Change, ChangeState, Item, Stage, Status
from bot.stages import SOURCES, Observation, combined
from bot.stages.github_ci import GitHubCI
from bot.stages.github_ci_rules import CIObservation

SHA = "3f2c1ab9" * 5
CHECKS = "https://github.com/acme/shop/pull/1/checks"


def at(minute: int) -> datetime:
    return datetime(2026, 11, 26, 9, minute, tzinfo=UTC)


def test_github_ci_is_registered_under_its_config_key() -> None:
    source = SOURCES["github"]
    assert isinstance(source, GitHubCI)
    assert (source.key, source.label, source.stage_id) == ("github", "GitHub CI", "ci")
    assert list(SOURCES) == ["github"]


def change(state: ChangeState) -> Change:
    return Change("acme/shop", SHA, "acme/shop#1", state, pr=1)


FAILED_CHECK = {
    "id": 1,
    "name": "test",
    "status": "completed",
    "conclusion": "failure",
    "html_url": "https://github.com/acme/shop/runs/1",
    "started_at": "2026-11-26T09:00:00Z",
    "completed_at": "2026-11-26T09:05:00Z",
}


@pytest.mark.parametrize(
    ("state", "reported", "status", "detail"),
    [
        (ChangeState.OPEN, CIObservation(), Status.PENDING, "no CI reported yet for 3f2c1ab"),
        (ChangeState.CLOSED, CIObservation(), Status.SKIPPED, "closed without CI"),
        (
            ChangeState.CLOSED,
            CIObservation(check_runs=[FAILED_CHECK]),
            Status.FAILED,
            "1 of 1 check failed: test",
        ),
    ],
    ids=["open-nothing-yet", "closed-nothing-is-skipped", "closed-with-ci-is-judged"],
)
def test_github_ci_stage(
    state: ChangeState, reported: CIObservation, status: Status, detail: str
) -> None:
    stage = GitHubCI().stage(Observation(change(state), CHECKS, reported))
    assert (stage.id, stage.status, stage.detail, stage.url) == ("ci", status, detail, CHECKS)


GITHUB_GREEN = Stage(
    "ci",
    Status.SUCCEEDED,
    "all 2 checks passed",
    started_at=at(1),
    finished_at=at(5),
    url=CHECKS,
    items=(Item("lint", Status.SUCCEEDED, "success"), Item("test", Status.SUCCEEDED, "success")),
)
JENKINS_FAILED = Stage(
    "ci",
    Status.FAILED,
    "1 of 1 job failed: deploy",
    started_at=at(0),
    finished_at=at(7),
    url="https://jenkins.example/job/shop",
    items=(Item("deploy", Status.FAILED, "FAILURE"),),
    failure="deploy",
)
JENKINS_PENDING = Stage("ci", Status.PENDING, "no build yet")
JENKINS_UNKNOWN = Stage("ci", Status.UNKNOWN, "could not read jenkins: Jenkins answered 503")
JENKINS_SKIPPED = Stage("ci", Status.SKIPPED, "closed without CI")


@pytest.mark.parametrize(
    ("second", "status", "detail", "names", "finished"),
    [
        (
            JENKINS_FAILED,
            Status.FAILED,
            "GitHub CI: all 2 checks passed; Jenkins: 1 of 1 job failed: deploy",
            ["deploy", "lint", "test"],
            at(7),
        ),
        (
            JENKINS_PENDING,
            Status.PENDING,
            "GitHub CI: all 2 checks passed; Jenkins: no build yet",
            ["lint", "test"],
            None,
        ),
        (
            JENKINS_UNKNOWN,
            Status.UNKNOWN,
            "GitHub CI: all 2 checks passed; Jenkins: could not read jenkins: Jenkins answered 503",
            ["lint", "test"],
            None,
        ),
        (
            JENKINS_SKIPPED,
            Status.SUCCEEDED,
            "GitHub CI: all 2 checks passed; Jenkins: closed without CI",
            ["lint", "test"],
            at(5),
        ),
    ],
    ids=["a-failure-wins", "pending-is-not-done", "unknown-is-honest", "skipped-does-not-count"],
)
def test_sources_sharing_a_stage_make_one_stage(
    second: Stage, status: Status, detail: str, names: list[str], finished: datetime | None
) -> None:
    stage = combined([("GitHub CI", GITHUB_GREEN), ("Jenkins", second)])
    assert (stage.id, stage.status, stage.detail) == ("ci", status, detail)
    assert [i.name for i in stage.items] == names  # failed first, then by name
    assert stage.url == CHECKS  # the first source's link
    assert stage.started_at == (at(0) if second.started_at else at(1))
    assert stage.finished_at == finished
    assert stage.failure == second.failure


def test_one_source_keeps_its_stage_as_it_is() -> None:
    assert combined([("GitHub CI", JENKINS_FAILED)]) is JENKINS_FAILED
