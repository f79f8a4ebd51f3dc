"""merge stage, where summary and the JSON contract's shape. Pure, table-driven."""

from datetime import UTC, datetime

import pytest

from bot.model import Change, ChangeState, Item, SourceProblem, Stage, Status
from bot.render.json import trace_dict
from bot.render.text import render_text
from bot.trace.assemble import assemble, merge_stage, where_summary

SHA = "3f2c1ab9" * 5
MERGED_AT = datetime(2026, 11, 26, 9, 1, 2, tzinfo=UTC)


def change(state: ChangeState, on_main: bool | None = None) -> Change:
    return Change(
        repo="acme/shop",
        sha=SHA,
        head_sha=SHA,
        requested="acme/shop#412",
        state=state,
        pr=None if state is ChangeState.COMMIT else 412,
        title="Add cart",
        author="alice",
        url="https://github.com/acme/shop/pull/412",
        merged_at=MERGED_AT if state is ChangeState.MERGED else None,
        on_default_branch=on_main,
    )


@pytest.mark.parametrize(
    ("state", "on_main", "status", "detail"),
    [
        (ChangeState.MERGED, True, Status.SUCCEEDED, "merged as 3f2c1ab by alice"),
        (ChangeState.OPEN, None, Status.PENDING, "open, not merged yet"),
        (ChangeState.CLOSED, None, Status.SKIPPED, "closed without merging"),
        (ChangeState.COMMIT, True, Status.SUCCEEDED, "3f2c1ab is on main"),
        (ChangeState.COMMIT, False, Status.PENDING, "3f2c1ab is not on main"),
    ],
)
def test_merge_stage(state: ChangeState, on_main: bool | None, status: Status, detail: str) -> None:
    stage = merge_stage(change(state, on_main))
    assert (stage.status, stage.detail) == (status, detail)


def stage(
    id_: str, status: Status, env: str | None = None, detail: str = "", items: tuple[Item, ...] = ()
) -> Stage:
    return Stage(id=id_, status=status, detail=detail, environment=env, items=items)


def scaled(env: str, *names: str, running: int = 0) -> Stage:
    """A succeeded rollout whose workloads ``names`` are scaled to 0 (``running`` others)."""
    items = [Item(n, Status.SUCCEEDED, "scaled to 0 (sha-3f2c1ab)") for n in names]
    items += [Item(f"Deployment shop/w{i}", Status.SUCCEEDED, "3/3 pods") for i in range(running)]
    return stage("rollout", Status.SUCCEEDED, env, "scaled to 0 (sha-3f2c1ab)", tuple(items))


@pytest.mark.parametrize(
    ("state", "stages", "envs", "where"),
    [
        (ChangeState.MERGED, [stage("ci", Status.SUCCEEDED)], [], "Merged; CI passed"),
        (ChangeState.MERGED, [stage("ci", Status.FAILED)], [], "CI failed"),
        (ChangeState.OPEN, [stage("ci", Status.RUNNING)], [], "Open, not merged; CI running"),
        (
            ChangeState.CLOSED,
            [stage("ci", Status.FAILED)],
            [],
            "Closed without merging; not deployed",
        ),
        (
            ChangeState.MERGED,
            [
                stage("ci", Status.SUCCEEDED),
                stage("sync", Status.SUCCEEDED, "staging"),
                stage("rollout", Status.SUCCEEDED, "staging"),
                stage("sync", Status.SUCCEEDED, "production"),
                stage("rollout", Status.RUNNING, "production", "2/3 pods on sha-3f2c1ab"),
            ],
            ["staging", "production"],
            "Live in staging; production rolling out (2/3 pods)",
        ),
        (
            ChangeState.MERGED,
            [
                stage("ci", Status.SUCCEEDED),
                stage("sync", Status.PENDING, "staging"),
                stage("rollout", Status.PENDING, "staging"),
            ],
            ["staging"],
            "Staging pending",
        ),
        (
            ChangeState.MERGED,
            [
                stage("ci", Status.SUCCEEDED),
                stage("sync", Status.FAILED, "prod"),
                stage("rollout", Status.PENDING, "prod"),
            ],
            ["prod"],
            "Prod sync failed",
        ),
        (
            ChangeState.MERGED,
            [
                stage("ci", Status.SUCCEEDED),
                stage("sync", Status.SUCCEEDED, "staging"),
                scaled("staging", "Deployment shop/shop"),
                stage("sync", Status.SUCCEEDED, "prod"),
                stage("rollout", Status.SUCCEEDED, "prod"),
            ],
            ["staging", "prod"],
            "Live in staging (scaled to 0), prod",
        ),
        (
            ChangeState.MERGED,
            [
                stage("ci", Status.SUCCEEDED),
                stage("sync", Status.SUCCEEDED, "prod"),
                scaled("prod", "Deployment shop/worker", running=1),
            ],
            ["prod"],
            "Live in prod (Deployment shop/worker scaled to 0)",
        ),
        (
            ChangeState.MERGED,
            [
                stage("ci", Status.SUCCEEDED),
                stage("sync", Status.SUCCEEDED, "prod"),
                scaled("prod", "Deployment shop/a", "Deployment shop/b", running=1),
            ],
            ["prod"],
            "Live in prod (2 of 3 workloads scaled to 0)",
        ),
        (
            ChangeState.MERGED,
            [
                stage("ci", Status.SUCCEEDED),
                stage(
                    "sync", Status.DRIFTED, "prod", "rolled back to 1a2b3c4 at 2026-11-26T10:30:00Z"
                ),
                stage("rollout", Status.PENDING, "prod"),
            ],
            ["prod"],
            "Prod rolled back to 1a2b3c4",
        ),
        (
            ChangeState.MERGED,
            [
                stage("ci", Status.SUCCEEDED),
                stage("sync", Status.PENDING, "prod", "Flux ... yet; it is suspended"),
                stage("rollout", Status.PENDING, "prod"),
            ],
            ["prod"],
            "Prod sync suspended",
        ),
    ],
)
def test_where(state: ChangeState, stages: list[Stage], envs: list[str], where: str) -> None:
    assert where_summary(change(state), stages, envs) == where


def test_json_contract_has_every_key_and_nulls() -> None:
    trace = assemble(
        change(ChangeState.MERGED, True),
        "shop",
        [
            merge_stage(change(ChangeState.MERGED, True)),
            Stage(
                "ci",
                Status.FAILED,
                "1 of 1 check failed: test",
                items=(Item("test", Status.FAILED, "failure", None),),
            ),
        ],
        [SourceProblem("kubernetes", "cluster prod unreachable", "production")],
    )
    data = trace_dict(trace)
    assert set(data) == {"change", "service", "stages", "where", "errors"}
    assert set(data["change"]) == {
        "repo",
        "pr",
        "sha",
        "head_sha",
        "requested",
        "title",
        "author",
        "url",
        "state",
        "merged_at",
    }
    assert data["change"]["merged_at"] == "2026-11-26T09:01:02Z"
    assert data["change"]["state"] == "merged"
    merge, ci = data["stages"]
    assert set(merge) == {
        "id",
        "kind",
        "environment",
        "status",
        "started_at",
        "finished_at",
        "url",
        "detail",
        "items",
    }
    assert merge["kind"] == "one-shot" and merge["finished_at"] == "2026-11-26T09:01:02Z"
    assert merge["started_at"] is None
    assert ci["items"] == [
        {"name": "test", "status": "failed", "conclusion": "failure", "url": None}
    ]
    assert data["errors"] == [
        {"source": "kubernetes", "environment": "production", "message": "cluster prod unreachable"}
    ]


def test_text_shows_status_kind_and_items() -> None:
    trace = assemble(
        change(ChangeState.MERGED, True),
        "shop",
        [
            Stage(
                "ci",
                Status.FAILED,
                "1 of 12 checks failed: test",
                items=tuple(Item(f"check-{i}", Status.SUCCEEDED) for i in range(12)),
            )
        ],
        [],
    )
    text = render_text(trace)
    assert "ci       one-shot   failed" in text
    assert "+2 more" in text
    assert "Where: CI failed" in text
