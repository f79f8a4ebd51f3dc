"""``serve`` with OTEL_EXPORTER_OTLP_ENDPOINT: every merged PR followed on its own, each span
exported once, when its stage ends, across restarts. The export job is run by the test, with
the bot's clock moved by the test; what arrives is decoded by a local OTLP receiver."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.github import GitHubEmulator
from bot.sandbox.kube import KubeEmulator
from bot.sandbox.otlp import OTLPReceiver, Span
from bot.sandbox.slack import SlackEmulator
from tests.scenarios import kubeobjs as k
from tests.scenarios import shop
from tests.scenarios.fleet import APP_URL, flux_prod, seed, tag
from tests.scenarios.otel import (
    label,
    ns,
    once_each,
    otel_env,
    receiver,
    span_id,
    trace_id,
    tree,
)
from tests.scenarios.slackbot import Clock, start_bot

__all__ = ["otel_env", "receiver"]  # fixtures

REPO = "acme/shop"
ROOT = "deliver acme/shop#12"
STAGING = {
    "merge": ROOT,
    "ci": ROOT,
    "lint": "ci",
    "test": "ci",
    "deploy staging": ROOT,
    "sync staging": "deploy staging",
    "rollout staging": "deploy staging",
}
PRODUCTION = {
    "deploy production": ROOT,
    "sync production": "deploy production",
    "rollout production": "deploy production",
}


@pytest.fixture
def s(shop_live_in_staging: shop.Shop, receiver: OTLPReceiver) -> shop.Shop:
    """acme/shop#12 merged with green CI, live in staging; production runs the base."""
    return shop_live_in_staging


def prod_live(fleet: dict[str, KubeEmulator], s: shop.Shop) -> None:
    flux_prod(fleet["prod"], f"main@sha1:{s.merged}")
    seed(fleet["prod"], *k.rolled_out("shop", "shop", tag(s.merged), pod_hash="8e1a"))


def names(spans: list[Span]) -> set[str]:
    return {label(sp) for sp in spans}


async def test_stages_are_exported_as_they_end_and_a_restart_loses_or_repeats_none(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    s: shop.Shop,
    fleet: dict[str, KubeEmulator],
    receiver: OTLPReceiver,
    github: GitHubEmulator,
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        await bot.jobs["export"]()  # as the scheduler runs it
        first = receiver.spans
        # The root and production wait until they end; the rest name the root as parent.
        assert tree(first, {span_id(REPO, s.merged, "deliver"): ROOT}) == STAGING
        await bot.jobs["export"]()  # nothing ended since
        assert len(receiver.requests) == 1
    # Production goes live while the bot is down.
    prod_live(fleet, s)
    clock.advance(minutes=5)
    async with start_bot(workdir, slack, clock) as bot:  # the same database
        await bot.jobs["export"]()
        github.clear_log()
        clock.advance(minutes=1)
        await bot.jobs["export"]()  # done: not traced again
    spans = receiver.spans
    assert len(receiver.requests) == 2
    assert once_each(spans), "a span was sent twice"
    assert tree(spans) == {ROOT: None, **STAGING, **PRODUCTION}
    assert names(spans[len(first) :]) == {ROOT, *PRODUCTION}
    assert {sp.trace_id for sp in spans} == {trace_id(REPO, s.merged)}
    assert receiver.span(ROOT).span_id == span_id(REPO, s.merged, "deliver")
    assert not [r for r in github.requests if "/pulls/12" in r.path or "/commits/" in r.path]
    # Times: the PR's creation, GitHub's check runs, Argo CD's operation; a rollout without
    # an end of its own ends when shiptrace first saw it rolled out (production: after the
    # restart).
    root = receiver.span(ROOT)
    by_label = {label(sp): sp for sp in spans}
    assert root.start_ns == ns("2026-11-26T09:00:00Z")
    assert root.end_ns == ns("2026-11-26T10:05:00Z")
    assert (by_label["test"].start_ns, by_label["test"].end_ns) == (
        ns("2026-11-26T09:02:00Z"),
        ns("2026-11-26T09:06:00Z"),
    )
    assert (by_label["sync staging"].start_ns, by_label["sync staging"].end_ns) == (
        ns("2026-11-26T09:08:00Z"),
        ns("2026-11-26T09:09:00Z"),
    )
    assert by_label["rollout staging"].end_ns == ns("2026-11-26T10:00:00Z")
    assert by_label["rollout production"].end_ns == ns("2026-11-26T10:05:00Z")
    assert {sp.status for sp in spans} == {"STATUS_CODE_OK"}
    assert root.attributes["cicd.pipeline.result"] == "success"
    assert by_label["rollout production"].attributes["k8s.deployment.name"] == "shop"
    assert by_label["sync production"].attributes["shiptrace.stage.kind"] == "continuous"
    assert by_label["sync production"].attributes["cicd.pipeline.action.name"] == "SYNC"


async def test_a_failed_ci_is_exported_and_its_rerun_too(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    github: GitHubEmulator,
    fleet: dict[str, KubeEmulator],
    receiver: OTLPReceiver,
) -> None:
    s = shop.build(github)
    for name, conclusion, end in (("lint", "success", "03"), ("test", "failure", "07")):
        github.add_check_run(
            REPO,
            s.merged,
            name=name,
            conclusion=conclusion,
            started_at="2026-11-26T09:02:00Z",
            completed_at=f"2026-11-26T09:{end}:00Z",
        )
    async with start_bot(workdir, slack, clock) as bot:
        await bot.jobs["export"]()
        failed = receiver.spans
        assert tree(failed) == {ROOT: None, "merge": ROOT, "ci": ROOT, "lint": "ci", "test": "ci"}
        root = receiver.span(ROOT)
        assert root.status == "STATUS_CODE_ERROR"
        assert root.status_message == "ci failed: 1 of 2 checks failed: test"
        test = receiver.span("test")
        assert (test.status, test.status_message) == ("STATUS_CODE_ERROR", "failure")
        assert (test.start_ns, test.end_ns) == (
            ns("2026-11-26T09:02:00Z"),
            ns("2026-11-26T09:07:00Z"),
        )
        clock.advance(minutes=1)
        await bot.jobs["export"]()  # still failed: nothing new, but still followed
        assert len(receiver.requests) == 1

        github.add_check_run(
            REPO,
            s.merged,
            name="test",
            conclusion="success",
            started_at="2026-11-26T09:20:00Z",
            completed_at="2026-11-26T09:24:00Z",
        )
        clock.advance(minutes=1)
        await bot.jobs["export"]()
    rerun = receiver.spans[len(failed) :]
    assert {(sp.name, sp.status) for sp in rerun} == {
        ("ci", "STATUS_CODE_OK"),
        ("test", "STATUS_CODE_OK"),
    }  # the same spans with their new outcome; the root waits for the environments now
    test = next(sp for sp in rerun if sp.name == "test")
    assert test.span_id == span_id(REPO, s.merged, "ci/test")
    assert (test.start_ns, test.end_ns) == (ns("2026-11-26T09:20:00Z"), ns("2026-11-26T09:24:00Z"))


def drift_staging(fleet: dict[str, KubeEmulator], s: shop.Shop, drifted: bool) -> None:
    app = k.argo_app(
        "shop-staging",
        repo_url=APP_URL,
        revision=s.merged,
        history=[s.merged],
        images=[tag(s.merged)],
        sync="OutOfSync" if drifted else "Synced",
    )
    app["status"]["resources"] = (
        [k.argo_resource("Deployment", "shop", "OutOfSync", group="apps")] if drifted else []
    )
    seed(fleet["staging"], app)


async def test_a_drift_incident_is_a_span_of_the_changes_trace(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    s: shop.Shop,
    fleet: dict[str, KubeEmulator],
    receiver: OTLPReceiver,
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        await bot.jobs["export"]()  # staging
        drift_staging(fleet, s, drifted=True)
        clock.advance(minutes=1)
        await bot.drift_job.run()
        clock.advance(minutes=2)
        await bot.drift_job.run()  # past the grace: an incident
        await bot.jobs["export"]()  # still drifting: not yet
        drift_staging(fleet, s, drifted=False)
        clock.advance(minutes=2)
        await bot.drift_job.run()
        [incident] = bot.deps.incidents.current()
        assert incident.resolved_at is not None
        prod_live(fleet, s)
        clock.advance(minutes=1)
        await bot.jobs["export"]()
    spans = receiver.spans
    assert once_each(spans)
    assert tree(spans) == {ROOT: None, **STAGING, **PRODUCTION, "drift staging": "deploy staging"}
    drift = receiver.span("drift staging")
    assert drift.trace_id == trace_id(REPO, s.merged)
    first_seen = incident.first_seen.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert drift.span_id == span_id(REPO, s.merged, f"drift/staging/{first_seen}")
    assert (drift.start_ns, drift.end_ns) == (
        ns(first_seen),
        ns(incident.resolved_at.strftime("%Y-%m-%dT%H:%M:%SZ")),
    )
    assert drift.status == "STATUS_CODE_ERROR"
    assert "OutOfSync" in drift.status_message
    assert [(link.span_id, link.attributes) for link in drift.links] == [
        (span_id(REPO, s.merged, "deploy/staging/sync"), {"shiptrace.link.type": "broke"})
    ]


async def test_a_refusing_collector_loses_nothing_and_is_logged_once(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    s: shop.Shop,
    receiver: OTLPReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver.fail(status=400, times=2)
    async with start_bot(workdir, slack, clock) as bot:
        await bot.jobs["export"]()
        clock.advance(minutes=1)
        await bot.jobs["export"]()
        assert receiver.spans == []
        clock.advance(minutes=1)
        await bot.jobs["export"]()  # it accepts again
        clock.advance(minutes=1)
        await bot.jobs["export"]()
    assert tree(receiver.spans, {span_id(REPO, s.merged, "deliver"): ROOT}) == STAGING
    assert once_each(receiver.spans)
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.getMessage().startswith(f"trace export to {receiver.traces_url} failed: ")


async def test_a_pr_merged_before_the_limit_is_not_followed(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, receiver: OTLPReceiver
) -> None:
    # Merged at 09:01, the clock says 10:00: more than half an hour ago.
    async with start_bot(workdir, slack, clock, shiptrace_export_max_days=0.5 / 24) as bot:
        await bot.jobs["export"]()
    assert receiver.requests == []


async def test_without_a_collector_nothing_is_followed(
    workdir: Path, slack: SlackEmulator, clock: Clock, otel_env: None, shop_live_in_staging: Any
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        assert bot.export_job is None
        assert "export" not in bot.jobs
