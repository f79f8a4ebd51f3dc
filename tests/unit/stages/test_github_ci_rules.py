"""The GitHub CI stage rules, table-driven."""

from datetime import datetime
from typing import Any

import pytest

from bot.model import Status
from bot.render.json import stage_dict
from bot.stages.github_ci_rules import CIObservation, FailedJob, ci_stage, failed_job, word_status

SHA = "3f2c1ab9" * 5


def run(
    name: str, status: str = "completed", conclusion: str | None = "success", **kw: Any
) -> dict[str, Any]:
    return {
        "id": kw.get("id", abs(hash(name)) % 10_000),
        "name": name,
        "status": status,
        "conclusion": conclusion,
        "html_url": f"https://github.com/acme/shop/runs/{name}",
        "started_at": kw.get("started_at", "2026-11-26T09:00:00Z"),
        "completed_at": kw.get(
            "completed_at", "2026-11-26T09:05:00Z" if status == "completed" else None
        ),
        "check_suite": {"id": kw.get("suite", 1)},
        "app": {"id": kw.get("app", 15368)},
    }


def status(context: str, state: str) -> dict[str, Any]:
    return {
        "context": context,
        "state": state,
        "target_url": None,
        "created_at": "2026-11-26T09:00:00Z",
        "updated_at": "2026-11-26T09:06:00Z",
    }


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("failure", Status.FAILED),
        ("timed_out", Status.FAILED),
        ("cancelled", Status.FAILED),
        ("action_required", Status.FAILED),
        ("startup_failure", Status.FAILED),
        ("error", Status.FAILED),
        ("queued", Status.RUNNING),
        ("in_progress", Status.RUNNING),
        ("waiting", Status.RUNNING),
        ("pending", Status.RUNNING),
        ("requested", Status.RUNNING),
        ("success", Status.SUCCEEDED),
        ("neutral", Status.SUCCEEDED),
        ("skipped", Status.SUCCEEDED),
        ("stale", Status.UNKNOWN),
        (None, Status.UNKNOWN),
    ],
)
def test_words(word: str | None, expected: Status) -> None:
    assert word_status(word) is expected


CASES = [
    pytest.param(
        CIObservation(), Status.PENDING, "no CI reported yet for 3f2c1ab", [], id="nothing-yet"
    ),
    pytest.param(
        CIObservation(check_runs=[run("lint"), run("test")]),
        Status.SUCCEEDED,
        "all 2 checks passed",
        ["lint", "test"],
        id="all-green",
    ),
    pytest.param(
        CIObservation(
            check_runs=[
                run("lint"),
                run("test", "completed", "neutral"),
                run("e2e", "completed", "skipped"),
            ]
        ),
        Status.SUCCEEDED,
        "all 3 checks passed",
        ["e2e", "lint", "test"],
        id="neutral-and-skipped-pass",
    ),
    pytest.param(
        CIObservation(check_runs=[run("lint"), run("test", "in_progress", None)]),
        Status.RUNNING,
        "1 of 2 checks running",
        ["test", "lint"],
        id="running",
    ),
    pytest.param(
        CIObservation(
            check_runs=[
                run("lint"),
                run("test", "completed", "failure"),
                run("e2e", "queued", None),
            ],
            failed_jobs=[FailedJob(1, "test", "pytest", None)],
        ),
        Status.FAILED,
        "1 of 3 checks failed: test (test failed at step 'pytest')",
        ["test", "e2e", "lint"],
        id="failed-beats-running-and-goes-first",
    ),
    pytest.param(
        CIObservation(
            combined_status={"state": "failure", "statuses": [status("ci/jenkins", "error")]}
        ),
        Status.FAILED,
        "1 of 1 check failed: ci/jenkins",
        ["ci/jenkins"],
        id="commit-status-error",
    ),
    pytest.param(
        CIObservation(
            combined_status={"state": "pending", "statuses": [status("ci/jenkins", "pending")]}
        ),
        Status.RUNNING,
        "1 of 1 check running",
        ["ci/jenkins"],
        id="commit-status-pending",
    ),
    pytest.param(
        CIObservation(combined_status={"state": "pending", "statuses": []}),
        Status.PENDING,
        "no CI reported yet for 3f2c1ab",
        [],
        id="combined-pending-with-no-statuses-is-nothing",
    ),
    pytest.param(
        CIObservation(
            check_runs=[run("build", suite=7)],
            workflow_runs=[
                {
                    "id": 1,
                    "name": "CI",
                    "status": "completed",
                    "conclusion": "success",
                    "check_suite_id": 7,
                },
                {
                    "id": 2,
                    "name": "Deploy",
                    "status": "waiting",
                    "conclusion": None,
                    "check_suite_id": 8,
                    "html_url": "https://github.com/acme/shop/actions/runs/2",
                    "created_at": "2026-11-26T09:00:00Z",
                },
            ],
        ),
        Status.RUNNING,
        "1 of 2 checks running",
        ["Deploy", "build"],
        id="workflow-run-without-checks-is-its-own-item",
    ),
    pytest.param(
        CIObservation(
            check_runs=[
                run("test", "completed", "failure", id=1),
                run("test", "completed", "success", id=2),
            ]
        ),
        Status.SUCCEEDED,
        "all 1 check passed",
        ["test"],
        id="a-rerun-replaces-the-earlier-run",
    ),
    pytest.param(
        CIObservation(check_runs=[run("test", "completed", "stale")]),
        Status.UNKNOWN,
        "GitHub reports an unclear result for 1 check",
        ["test"],
        id="stale-is-unknown",
    ),
]


@pytest.mark.parametrize(("obs", "expected", "detail", "names"), CASES)
def test_ci_stage(obs: CIObservation, expected: Status, detail: str, names: list[str]) -> None:
    stage = ci_stage(obs, SHA, "https://github.com/acme/shop/pull/1/checks")
    assert stage.status is expected
    assert stage.detail == detail
    assert [i.name for i in stage.items] == names
    assert stage.kind.value == "one-shot"


def test_times_span_the_checks_and_end_only_when_done() -> None:
    done = ci_stage(
        CIObservation(
            check_runs=[
                run("a", started_at="2026-11-26T09:00:00Z", completed_at="2026-11-26T09:03:00Z"),
                run("b", started_at="2026-11-26T09:01:00Z", completed_at="2026-11-26T09:07:00Z"),
            ]
        ),
        SHA,
        None,
    )
    assert (done.started_at.isoformat(), done.finished_at.isoformat()) == (  # type: ignore[union-attr]
        "2026-11-26T09:00:00+00:00",
        "2026-11-26T09:07:00+00:00",
    )
    running = ci_stage(
        CIObservation(check_runs=[run("a"), run("b", "in_progress", None)]), SHA, None
    )
    assert running.finished_at is None


def test_failed_job_names_the_failing_step() -> None:
    jobs = [
        {"name": "lint", "conclusion": "success", "steps": []},
        {
            "name": "test",
            "conclusion": "failure",
            "html_url": "u",
            "steps": [
                {"name": "checkout", "conclusion": "success"},
                {"name": "pytest", "conclusion": "failure"},
            ],
        },
    ]
    assert failed_job(9, jobs) == [FailedJob(9, "test", "pytest", "u")]


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


@pytest.mark.parametrize(
    ("obs", "times"),
    [
        pytest.param(
            CIObservation(
                check_runs=[
                    run("a", started_at="2026-11-26T09:00:00Z", completed_at="2026-11-26T09:03:00Z")
                ]
            ),
            ("2026-11-26T09:00:00Z", "2026-11-26T09:03:00Z"),
            id="check-run",
        ),
        pytest.param(
            CIObservation(check_runs=[run("a", "in_progress", None, completed_at=None)]),
            ("2026-11-26T09:00:00Z", None),
            id="check-run-running",
        ),
        pytest.param(
            CIObservation(
                combined_status={"state": "success", "statuses": [status("ci/jenkins", "success")]}
            ),
            ("2026-11-26T09:00:00Z", "2026-11-26T09:06:00Z"),
            id="commit-status",
        ),
        pytest.param(
            CIObservation(
                combined_status={"state": "pending", "statuses": [status("ci/jenkins", "pending")]}
            ),
            ("2026-11-26T09:00:00Z", None),
            id="commit-status-pending",
        ),
        pytest.param(
            CIObservation(
                workflow_runs=[
                    {
                        "id": 2,
                        "name": "Deploy",
                        "status": "completed",
                        "conclusion": "startup_failure",
                        "check_suite_id": 8,
                        "created_at": "2026-11-26T08:59:00Z",
                        "run_started_at": "2026-11-26T09:00:00Z",
                        "updated_at": "2026-11-26T09:01:00Z",
                    }
                ]
            ),
            ("2026-11-26T09:00:00Z", "2026-11-26T09:01:00Z"),
            id="workflow-run",
        ),
    ],
)
def test_each_item_carries_githubs_own_times(
    obs: CIObservation, times: tuple[str | None, str | None]
) -> None:
    [item] = ci_stage(obs, SHA, None).items
    assert (item.started_at, item.finished_at) == tuple(_at(t) for t in times)


def test_item_times_stay_out_of_the_json() -> None:
    obs = CIObservation(check_runs=[run("a")])
    stage = ci_stage(obs, SHA, None)
    assert stage.items[0].finished_at is not None
    assert stage_dict(stage)["items"] == [
        {
            "name": "a",
            "status": "succeeded",
            "conclusion": "success",
            "url": "https://github.com/acme/shop/runs/a",
        }
    ]
