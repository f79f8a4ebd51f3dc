"""A trace as span records: the ids, which spans exist, their times and attributes. Pure."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from opentelemetry.semconv._incubating.attributes import (
    cicd_attributes,
    deployment_attributes,
    k8s_attributes,
    vcs_attributes,
)

from bot.drift.findings import Finding
from bot.drift.incidents import Incident, IncidentState
from bot.export.spans import (
    SpanRecord,
    SpanStatus,
    build_spans,
    span_id_for,
    span_key,
    span_tree_text,
    trace_id_for,
)
from bot.model import Change, ChangeState, Item, Stage, Status, Trace

REPO = "Acme/Shop"
SHA = "3f2c1ab9" * 5
T = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
NOW = T + timedelta(hours=5)


def at(minutes: int) -> datetime:
    return T + timedelta(minutes=minutes)


def check(
    name: str, start: int, end: int, conclusion: str = "success", url: str | None = None
) -> Item:
    status = Status.SUCCEEDED if conclusion in ("success", "neutral", "skipped") else Status.FAILED
    return Item(name, status, conclusion, url, started_at=at(start), finished_at=at(end))


def stage(
    stage_id: str, status: Status = Status.SUCCEEDED, env: str | None = None, **kw: object
) -> Stage:
    return Stage(stage_id, status, kw.pop("detail", f"{stage_id} detail"), env, **kw)  # type: ignore[arg-type]


def env_stages(env: str, offset: int = 0, **overrides: Stage) -> list[Stage]:
    stages = {
        "promote": stage("promote", env=env, finished_at=at(offset + 20)),
        "sync": stage("sync", env=env, started_at=at(offset + 21), finished_at=at(offset + 22)),
        "rollout": stage(
            "rollout",
            env=env,
            started_at=at(offset + 22),
            finished_at=at(offset + 25),
            items=(Item("Deployment shop/shop", Status.SUCCEEDED, "3/3 pods on sha-3f2c1ab"),),
        ),
    }
    stages.update(overrides)
    return list(stages.values())


def live_trace(
    *, envs: tuple[str, ...] = ("staging",), pr: int | None = 412, **kw: object
) -> Trace:
    change = Change(
        repo=REPO,
        sha=SHA,
        requested=f"{REPO}#{pr}" if pr else f"{REPO}@{SHA[:7]}",
        state=ChangeState.MERGED if pr else ChangeState.COMMIT,
        head_sha="aa" * 20 if pr else None,
        pr=pr,
        title="Faster checkout",
        url=f"https://github.com/{REPO}/pull/{pr}"
        if pr
        else f"https://github.com/{REPO}/commit/{SHA}",
        merged_at=at(10),
    )
    ci = stage(
        "ci",
        started_at=at(1),
        finished_at=at(8),
        url=f"https://github.com/{REPO}/commit/{SHA}/checks",
        items=(
            check("build", 1, 5, url=f"https://github.com/{REPO}/actions/runs/77/job/901"),
            check("lint", 2, 8, url=f"https://github.com/{REPO}/runs/555"),
        ),
    )
    stages = [stage("merge", finished_at=at(10)), ci]
    for i, env in enumerate(envs):
        stages.extend(env_stages(env, offset=30 * i))
    return Trace(change, "shop", tuple(kw.get("stages", stages)), "Live in staging")  # type: ignore[arg-type]


def by_path(records: list[SpanRecord]) -> dict[str, SpanRecord]:
    return {r.path: r for r in records}


def with_stage(trace: Trace, new: Stage) -> Trace:
    stages = tuple(
        new if (s.id, s.environment) == (new.id, new.environment) else s for s in trace.stages
    )
    return replace(trace, stages=stages)


# -- ids ---------------------------------------------------------------------------------------


def test_the_ids_are_the_documented_formula() -> None:
    trace_digest = hashlib.sha256(f"shiptrace/v1 acme/shop {SHA}".encode()).digest()
    span_digest = hashlib.sha256(
        f"shiptrace/v1 acme/shop {SHA} deploy/staging/sync".encode()
    ).digest()
    assert trace_id_for(REPO, SHA) == int.from_bytes(trace_digest[:16], "big")
    assert span_id_for(REPO, SHA, "deploy/staging/sync") == int.from_bytes(span_digest[:8], "big")
    # Pinned, so the scheme cannot change by accident (also computable with sha256sum):
    #   printf 'shiptrace/v1 acme/shop <sha>' | sha256sum | cut -c1-32
    assert f"{trace_id_for('acme/shop', SHA):032x}" == "635b0e8b5a2123ee248cd8d6430412c5"
    assert f"{span_id_for('acme/shop', SHA, 'deliver'):016x}" == "7d1d083ddf22a5ae"


def test_the_readme_states_the_formula_and_an_example_that_holds() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    assert (
        'trace id = first 16 bytes of SHA-256("shiptrace/v1 " + lowercase(repo) + " " + sha)'
        in readme
    )
    assert (
        'span id  = first 8 bytes of SHA-256("shiptrace/v1 " + lowercase(repo) + " " + sha '
        '+ " " + path)' in readme
    )
    assert f"printf 'shiptrace/v1 %s %s' acme/shop {SHA} | sha256sum | cut -c1-32" in readme
    assert f"# {trace_id_for('acme/shop', SHA):032x}\n" in readme


def test_every_span_has_the_trace_id_and_the_id_of_its_path() -> None:
    records = build_spans(live_trace(), now=NOW)
    assert {r.trace_id for r in records} == {trace_id_for("acme/shop", SHA)}
    for r in records:
        assert r.span_id == span_id_for("acme/shop", SHA, r.path)
    assert len({r.span_id for r in records}) == len(records)


def test_building_again_later_gives_the_same_ids_and_keys() -> None:
    first = build_spans(live_trace(), now=NOW)
    again = build_spans(live_trace(), now=NOW + timedelta(days=1))
    assert [span_key(r) for r in first] == [span_key(r) for r in again]
    assert span_key(first[0]) == f"{first[0].trace_id:032x}/{first[0].span_id:016x}/ok"


# -- the tree ----------------------------------------------------------------------------------


def test_a_live_change_is_the_whole_tree() -> None:
    records = build_spans(live_trace(envs=("staging", "production")), now=NOW)
    spans = by_path(records)
    parent_of = {
        path: next((p for p, r in spans.items() if r.span_id == rec.parent_id), None)
        for path, rec in spans.items()
    }
    assert parent_of == {
        "deliver": None,
        "merge": "deliver",
        "ci": "deliver",
        "ci/build": "ci",
        "ci/lint": "ci",
        "deploy/staging": "deliver",
        "deploy/staging/promote": "deploy/staging",
        "deploy/staging/sync": "deploy/staging",
        "deploy/staging/rollout": "deploy/staging",
        "deploy/production": "deliver",
        "deploy/production/promote": "deploy/production",
        "deploy/production/sync": "deploy/production",
        "deploy/production/rollout": "deploy/production",
    }
    assert records[0].path == "deliver"
    assert {r.status for r in records} == {SpanStatus.OK}
    names = {p: r.name for p, r in spans.items()}
    assert names["deliver"] == "deliver Acme/Shop#412"
    assert names["deploy/production"] == "deploy production"
    assert names["ci/build"] == "build"
    # From the first thing that happened until live in the last environment.
    assert (spans["deliver"].start, spans["deliver"].end) == (at(1), at(55))
    assert (spans["deploy/production"].start, spans["deploy/production"].end) == (at(50), at(55))
    assert (spans["ci/lint"].start, spans["ci/lint"].end) == (at(2), at(8))


def test_the_root_of_a_commit_is_named_by_its_short_sha_and_starts_when_it_was_opened() -> None:
    records = build_spans(live_trace(pr=None), now=NOW, opened_at=T - timedelta(days=1))
    spans = by_path(records)
    assert spans["deliver"].name == "deliver Acme/Shop@3f2c1ab"
    assert spans["deliver"].start == T - timedelta(days=1)
    assert spans["merge"].start == T - timedelta(days=1)  # from opened to merged


@pytest.mark.parametrize(
    ("status", "exported"),
    [
        (Status.SUCCEEDED, True),
        (Status.FAILED, True),
        (Status.RUNNING, False),
        (Status.PENDING, False),
        (Status.UNKNOWN, False),
        (Status.SKIPPED, False),
    ],
)
def test_a_stage_is_exported_once_it_ended(status: Status, exported: bool) -> None:
    trace = with_stage(live_trace(), stage("ci", status, started_at=at(1), finished_at=at(8)))
    spans = by_path(build_spans(trace, now=NOW))
    assert ("ci" in spans) is exported


def test_a_running_stage_holds_back_its_environment_and_the_root() -> None:
    rollout = stage("rollout", Status.RUNNING, "staging", started_at=at(22))
    spans = by_path(build_spans(with_stage(live_trace(), rollout), now=NOW))
    assert "deploy/staging/rollout" not in spans
    assert "deploy/staging" not in spans
    assert "deliver" not in spans
    assert {"merge", "ci", "deploy/staging/promote", "deploy/staging/sync"} <= set(spans)


def test_a_failed_ci_ends_the_delivery_with_its_reason() -> None:
    trace = live_trace(
        stages=[
            stage("merge", finished_at=at(10)),
            stage(
                "ci",
                Status.FAILED,
                detail="1 of 2 checks failed: test",
                started_at=at(1),
                finished_at=at(9),
                items=(check("test", 1, 9, "failure"), check("lint", 2, 4)),
            ),
            stage("sync", Status.PENDING, "staging", detail="waiting for CI (failed: test)"),
            stage("rollout", Status.PENDING, "staging"),
        ]
    )
    spans = by_path(build_spans(trace, now=NOW))
    assert set(spans) == {"deliver", "merge", "ci", "ci/test", "ci/lint"}
    assert (spans["deliver"].status, spans["deliver"].description) == (
        SpanStatus.ERROR,
        "ci failed: 1 of 2 checks failed: test",
    )
    assert spans["deliver"].attributes["cicd.pipeline.result"] == "failure"
    assert (spans["ci"].status, spans["ci"].description) == (
        SpanStatus.ERROR,
        "1 of 2 checks failed: test",
    )
    assert (spans["ci/test"].status, spans["ci/test"].description) == (SpanStatus.ERROR, "failure")
    assert spans["ci/test"].attributes["cicd.pipeline.task.run.result"] == "failure"
    assert spans["ci/lint"].status is SpanStatus.OK
    assert spans["deliver"].end == at(10)


def test_a_failed_rollout_fails_its_environment_and_the_delivery() -> None:
    rollout = stage(
        "rollout",
        Status.FAILED,
        "staging",
        detail="pod shop-1: CrashLoopBackOff",
        started_at=at(22),
    )
    spans = by_path(build_spans(with_stage(live_trace(), rollout), now=NOW))
    assert spans["deploy/staging"].description == "rollout failed: pod shop-1: CrashLoopBackOff"
    assert spans["deliver"].description == "rollout in staging failed: pod shop-1: CrashLoopBackOff"
    assert spans["deploy/staging/rollout"].end == NOW  # first seen failed: as read


def test_a_closed_pr_is_an_unset_root_over_what_ran() -> None:
    trace = live_trace(
        stages=[
            stage("merge", Status.SKIPPED, detail="closed without merging"),
            stage("ci", started_at=at(1), finished_at=at(8)),
            stage("sync", Status.SKIPPED, "staging"),
        ]
    )
    trace = replace(trace, change=replace(trace.change, state=ChangeState.CLOSED))
    spans = by_path(build_spans(trace, now=NOW))
    assert set(spans) == {"deliver", "ci"}
    assert spans["deliver"].status is SpanStatus.UNSET
    assert spans["deliver"].attributes["cicd.pipeline.result"] == "skip"


# -- times -------------------------------------------------------------------------------------

SEEN_SYNCED = at(40)


def seen(env: str, stage_id: str, status: Status) -> datetime | None:
    return SEEN_SYNCED if (env, stage_id, status) == ("staging", "sync", Status.SUCCEEDED) else None


@pytest.mark.parametrize(
    ("sync", "lookup", "end"),
    [
        # The tool's own end first, then when shiptrace first saw it holding, then as read.
        (stage("sync", env="staging", started_at=at(21), finished_at=at(22)), seen, at(22)),
        (stage("sync", env="staging", started_at=at(21)), seen, SEEN_SYNCED),
        (stage("sync", env="staging", started_at=at(21)), None, NOW),
        # Drifted now: the span is the holding it did before.
        (stage("sync", Status.DRIFTED, "staging", started_at=at(21)), seen, SEEN_SYNCED),
        (stage("sync", Status.DRIFTED, "staging", started_at=at(21)), None, at(21)),
    ],
)
def test_a_continuous_stage_ends_when_it_held(sync: Stage, lookup: object, end: datetime) -> None:
    spans = by_path(build_spans(with_stage(live_trace(), sync), now=NOW, seen=lookup))  # type: ignore[arg-type]
    assert spans["deploy/staging/sync"].end == end
    assert spans["deploy/staging/sync"].status is SpanStatus.OK


def test_a_drifted_stage_without_any_time_has_no_span() -> None:
    sync = stage("sync", Status.DRIFTED, "staging")
    spans = by_path(build_spans(with_stage(live_trace(), sync), now=NOW))
    assert "deploy/staging/sync" not in spans


def test_a_one_shot_stage_without_an_end_has_no_span_but_does_not_hold_back_the_root() -> None:
    spans = by_path(build_spans(with_stage(live_trace(), stage("merge")), now=NOW))
    assert "merge" not in spans
    assert "deliver" in spans


def test_a_stage_without_a_start_is_a_point_at_its_end() -> None:
    spans = by_path(build_spans(live_trace(), now=NOW))
    assert spans["deploy/staging/promote"].start == spans["deploy/staging/promote"].end == at(20)


# -- items -------------------------------------------------------------------------------------


def ci_with(*items: Item) -> Trace:
    return with_stage(live_trace(), stage("ci", started_at=at(1), finished_at=at(8), items=items))


def test_an_item_needs_its_own_times_and_an_end() -> None:
    items = (
        check("timed", 1, 5),
        Item("untimed", Status.SUCCEEDED, "success"),
        Item("running", Status.RUNNING, "in_progress", started_at=at(1)),
        replace(check("half", 1, 5), started_at=None),
    )
    spans = by_path(build_spans(ci_with(*items), now=NOW))
    assert {p for p in spans if p.startswith("ci/")} == {"ci/timed"}


@pytest.mark.parametrize(
    ("conclusion", "result"),
    [
        ("success", "success"),
        ("neutral", "success"),
        ("skipped", "skip"),
        ("failure", "failure"),
        ("cancelled", "cancellation"),
        ("timed_out", "timeout"),
        ("startup_failure", "error"),
        ("error", "error"),
        ("action_required", "failure"),
    ],
)
def test_an_items_result_is_in_the_semantic_conventions_words(conclusion: str, result: str) -> None:
    spans = by_path(build_spans(ci_with(check("job", 1, 5, conclusion)), now=NOW))
    assert spans["ci/job"].attributes["cicd.pipeline.task.run.result"] == result


@pytest.mark.parametrize(
    ("url", "ids"),
    [
        (
            "https://github.com/acme/shop/actions/runs/77/job/901",
            {"cicd.pipeline.run.id": "77", "cicd.pipeline.task.run.id": "901"},
        ),
        ("https://github.com/acme/shop/actions/runs/77", {"cicd.pipeline.run.id": "77"}),
        ("https://github.com/acme/shop/runs/555", {"cicd.pipeline.task.run.id": "555"}),
        ("https://ci.example.com/build/9", {}),
    ],
)
def test_a_ci_item_carries_githubs_run_and_job_ids(url: str, ids: dict[str, str]) -> None:
    attrs = by_path(build_spans(ci_with(check("job", 1, 5, url=url)), now=NOW))["ci/job"].attributes
    found = {
        k: v for k, v in attrs.items() if k in ("cicd.pipeline.run.id", "cicd.pipeline.task.run.id")
    }
    assert found == ids
    assert attrs["cicd.pipeline.task.run.url.full"] == url
    assert attrs["cicd.pipeline.task.name"] == "job"


def test_two_items_of_one_name_are_told_apart_by_their_links() -> None:
    a, b = (check("test", 1, 5, url=f"https://github.com/acme/shop/runs/{n}") for n in (1, 2))
    spans = by_path(build_spans(ci_with(a, b), now=NOW))
    assert {p for p in spans if p.startswith("ci/")} == {
        "ci/test https://github.com/acme/shop/runs/1",
        "ci/test https://github.com/acme/shop/runs/2",
    }


def test_a_rollout_names_its_workload_in_kubernetes_terms() -> None:
    spans = by_path(build_spans(live_trace(), now=NOW))
    attrs = spans["deploy/staging/rollout"].attributes
    assert attrs["k8s.namespace.name"] == "shop"
    assert attrs["k8s.deployment.name"] == "shop"
    assert attrs["deployment.environment.name"] == "staging"


def test_timed_workloads_are_children_of_the_rollout() -> None:
    items = (
        Item(
            "Deployment shop/shop", Status.SUCCEEDED, "3/3", started_at=at(22), finished_at=at(24)
        ),
        Item(
            "Rollout shop/shop-canary",
            Status.SUCCEEDED,
            "1/1",
            started_at=at(22),
            finished_at=at(25),
        ),
    )
    rollout = stage("rollout", env="staging", started_at=at(22), finished_at=at(25), items=items)
    spans = by_path(build_spans(with_stage(live_trace(), rollout), now=NOW))
    assert "k8s.deployment.name" not in spans["deploy/staging/rollout"].attributes
    assert spans["deploy/staging/rollout"].attributes["k8s.namespace.name"] == "shop"
    canary = spans["deploy/staging/rollout/Rollout shop/shop-canary"].attributes
    assert (canary["shiptrace.workload.kind"], canary["shiptrace.workload.name"]) == (
        "Rollout",
        "shop-canary",
    )
    assert "k8s.deployment.name" not in canary


# -- attributes --------------------------------------------------------------------------------


def test_every_stage_span_says_its_kind() -> None:
    records = build_spans(live_trace(), now=NOW)
    kinds = {r.path: r.attributes.get("shiptrace.stage.kind") for r in records}
    assert kinds["merge"] == kinds["ci"] == kinds["deploy/staging/promote"] == "one-shot"
    assert kinds["deploy/staging/sync"] == kinds["deploy/staging/rollout"] == "continuous"
    assert kinds["deliver"] is None


def test_the_root_carries_the_vcs_and_pipeline_attributes() -> None:
    attrs = by_path(build_spans(live_trace(), now=NOW))["deliver"].attributes
    assert {k: v for k, v in attrs.items() if not k.startswith("shiptrace.")} == {
        "cicd.pipeline.name": "shop",
        "cicd.pipeline.run.id": "Acme/Shop#412",
        "cicd.pipeline.action.name": "RUN",
        "cicd.pipeline.result": "success",
        "vcs.provider.name": "github",
        "vcs.owner.name": "Acme",
        "vcs.repository.name": "Shop",
        "vcs.repository.url.full": "https://github.com/Acme/Shop",
        "vcs.ref.head.revision": "aa" * 20,
        "vcs.change.id": "412",
        "vcs.change.state": "merged",
        "vcs.change.title": "Faster checkout",
    }


@pytest.mark.parametrize(
    ("path", "action"),
    [
        ("ci", "BUILD"),
        ("deploy/staging/sync", "SYNC"),
        ("deploy/staging/rollout", "RUN"),
        ("merge", "RUN"),
    ],
)
def test_each_stage_says_its_pipeline_action(path: str, action: str) -> None:
    assert (
        by_path(build_spans(live_trace(), now=NOW))[path].attributes["cicd.pipeline.action.name"]
        == action
    )


def _semconv_names() -> set[str]:
    names = set()
    for module in (cicd_attributes, vcs_attributes, deployment_attributes, k8s_attributes):
        names |= {v for k, v in vars(module).items() if k.isupper() and isinstance(v, str)}
    return names


def test_attribute_names_are_the_semantic_conventions_or_shiptraces_own() -> None:
    records = build_spans(
        live_trace(envs=("staging", "production")), [resolved_incident()], now=NOW
    )
    used = {k for r in records for k in r.attributes} | {
        k for r in records for link in r.links for k in link.attributes
    }
    assert {k for k in used if not k.startswith("shiptrace.")} <= _semconv_names()


# -- drift incidents ---------------------------------------------------------------------------


def resolved_incident(**kw: object) -> Incident:
    finding = Finding(
        "shop",
        "staging",
        "sync",
        "out-of-sync",
        "Argo CD app argocd/shop-staging",
        "OutOfSync: 1 resource differs from Git",
    )
    fields: dict[str, object] = {
        "id": 7,
        "key": "shop/staging",
        "service": "shop",
        "environment": "staging",
        "state": IncidentState.RESOLVED,
        "first_seen": at(100),
        "findings": (finding,),
        "fingerprint": "f",
        "resolved_at": at(130),
        **kw,
    }
    return Incident(**fields)  # type: ignore[arg-type]


def test_a_resolved_incident_is_a_span_linked_to_the_stage_it_broke() -> None:
    spans = by_path(build_spans(live_trace(), [resolved_incident()], now=NOW))
    drift = spans["drift/staging/2026-11-26T10:40:00Z"]
    assert drift.name == "drift staging"
    assert drift.parent_id == spans["deploy/staging"].span_id
    assert (drift.start, drift.end) == (at(100), at(130))
    assert drift.status is SpanStatus.ERROR
    assert (
        drift.description
        == "Argo CD app argocd/shop-staging: OutOfSync: 1 resource differs from Git"
    )
    assert [(link.trace_id, link.span_id) for link in drift.links] == [
        (drift.trace_id, spans["deploy/staging/sync"].span_id)
    ]
    assert drift.attributes["deployment.environment.name"] == "staging"


@pytest.mark.parametrize(
    "incident",
    [
        resolved_incident(state=IncidentState.OPEN, resolved_at=None),  # still drifting
        resolved_incident(service="billing"),
        resolved_incident(environment="production", key="shop/production"),  # never deployed there
        resolved_incident(first_seen=at(1), resolved_at=at(3)),  # over before it was live
    ],
)
def test_only_a_resolved_incident_of_this_deployment_is_exported(incident: Incident) -> None:
    assert not [
        r for r in build_spans(live_trace(), [incident], now=NOW) if r.path.startswith("drift/")
    ]


# -- the trace as an indented tree -------------------------------------------------------------


def test_the_tree_text_shows_each_span_under_its_parent_with_offset_duration_and_status() -> None:
    trace = with_stage(
        live_trace(),
        stage("rollout", Status.FAILED, env="staging", started_at=at(22), finished_at=at(85),
              detail="pod shop-7d9-abc: CrashLoopBackOff"),
    )  # fmt: skip
    records = build_spans(trace, [resolved_incident(first_seen=at(86), resolved_at=at(90))],
                          now=NOW, opened_at=T)  # fmt: skip
    assert span_tree_text(records).splitlines() == [
        f"trace {trace_id_for(REPO, SHA):032x}  from 2026-11-26T09:00:00Z",
        "deliver Acme/Shop#412  +0s      1h 25m  error: rollout in staging failed: "
        "pod shop-7d9-abc: CrashLoopBackOff",
        "  merge                +0s      10m     ok",
        "  ci                   +1m      7m      ok",
        "    build              +1m      4m      ok",
        "    lint               +2m      6m      ok",
        "  deploy staging       +20m     1h 5m   error: rollout failed: "
        "pod shop-7d9-abc: CrashLoopBackOff",
        "    promote            +20m     0s      ok",
        "    sync               +21m     1m      ok",
        "    rollout            +22m     1h 3m   error: pod shop-7d9-abc: CrashLoopBackOff",
        "    drift staging      +1h 26m  4m      error: Argo CD app argocd/shop-staging: "
        "OutOfSync: 1 resource differs from Git",
    ]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (240, "4m"), (270, "4m 30s"), (4440, "1h 14m"), (3600, "1h"),
     (183600, "2d 3h"), (86401, "1d")],
)  # fmt: skip
def test_durations_are_short(seconds: int, text: str) -> None:
    records = build_spans(live_trace(), now=NOW)
    first = replace(records[0], start=T, end=T + timedelta(seconds=seconds))
    assert f"+0s  {text}  ok" in span_tree_text([first])


def test_a_span_whose_parent_is_not_there_yet_is_shown_at_the_top() -> None:
    trace = with_stage(
        live_trace(envs=("staging", "production")),
        stage("rollout", Status.RUNNING, env="production", started_at=at(52)),
    )
    records = [r for r in build_spans(trace, now=NOW) if r.path.startswith("deploy/staging")]
    lines = span_tree_text(records).splitlines()[1:]
    assert [line[: len(line) - len(line.lstrip())] + line.split()[0] for line in lines] == [
        "deploy",
        "  promote",
        "  sync",
        "  rollout",
    ]


def test_no_spans_is_said_so() -> None:
    assert span_tree_text([]) == "no finished spans yet"
