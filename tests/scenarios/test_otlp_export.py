"""Trace export over the real wire: the official OTLP exporter, configured by the OTEL_*
environment, sends to a local OTLP/HTTP receiver that decodes what arrives with
opentelemetry-proto. The traces are built from real Trace objects."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.drift.findings import Finding
from bot.drift.incidents import Incident, IncidentState
from bot.errors import ConfigError
from bot.export.otlp import (
    ExportResult,
    SpanSink,
    export_configured,
    export_spans,
    exporter_from_env,
    otlp_json,
)
from bot.export.spans import SpanRecord, build_spans, span_key
from bot.model import Change, ChangeState, Item, Stage, Status, Trace
from bot.sandbox.otlp import OTLPReceiver, Span

REPO = "acme/shop"
SHA = "9c1e2f0a" * 5
T = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
NOW = T + timedelta(hours=3)
STAGING_LIVE = T + timedelta(minutes=30)
PROD_LIVE = T + timedelta(minutes=75)


def at(minutes: float) -> datetime:
    return T + timedelta(minutes=minutes)


def ns(when: datetime) -> int:
    return int((when - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 1_000_000_000


def trace_id() -> str:
    return hashlib.sha256(f"shiptrace/v1 {REPO} {SHA}".encode()).digest()[:16].hex()


def span_id(path: str) -> str:
    return hashlib.sha256(f"shiptrace/v1 {REPO} {SHA} {path}".encode()).digest()[:8].hex()


def change(**kw: object) -> Change:
    fields: dict[str, object] = {
        "repo": REPO,
        "sha": SHA,
        "requested": "acme/shop#412",
        "state": ChangeState.MERGED,
        "head_sha": "b7" * 20,
        "pr": 412,
        "title": "Faster checkout",
        "author": "dev",
        "url": "https://github.com/acme/shop/pull/412",
        "merged_at": at(10),
        **kw,
    }
    return Change(**fields)  # type: ignore[arg-type]


def ci(failed: bool = False) -> Stage:
    test = Item(
        "test",
        Status.FAILED if failed else Status.SUCCEEDED,
        "failure" if failed else "success",
        "https://github.com/acme/shop/actions/runs/4001/job/9001",
        started_at=at(1),
        finished_at=at(6),
    )
    lint = Item(
        "lint",
        Status.SUCCEEDED,
        "success",
        "https://github.com/acme/shop/runs/7001",
        started_at=at(1.5),
        finished_at=at(3),
    )
    return Stage(
        "ci",
        Status.FAILED if failed else Status.SUCCEEDED,
        "1 of 2 checks failed: test (test failed at step 'pytest')"
        if failed
        else "all 2 checks passed",
        started_at=at(1),
        finished_at=at(6),
        url=f"https://github.com/acme/shop/commit/{SHA}/checks",
        items=(test, lint) if failed else (lint, test),
    )


def env_stages(env: str, start: float, rollout: Status = Status.SUCCEEDED) -> list[Stage]:
    done = rollout is Status.SUCCEEDED
    return [
        Stage(
            "promote", Status.SUCCEEDED, f"deploy repo commit for {env}", env, finished_at=at(start)
        ),
        Stage(
            "sync",
            Status.SUCCEEDED,
            f"Argo CD app shop-{env} synced 9c1e2f0 (contains 9c1e2f0)",
            env,
            started_at=at(start + 1),
            finished_at=at(start + 2),
        ),
        Stage(
            "rollout",
            rollout,
            "3/3 pods on sha-9c1e2f0" if done else "1/3 pods on sha-9c1e2f0",
            env,
            started_at=at(start + 2),
            finished_at=at(start + 5) if done else None,
            items=(Item("Deployment shop/shop", rollout, "3/3 pods on sha-9c1e2f0"),),
        ),
    ]


def live_trace(prod: Status | None = None) -> Trace:
    stages = [
        Stage("merge", Status.SUCCEEDED, "merged as 9c1e2f0 by dev", finished_at=at(10)),
        ci(),
    ]
    stages += env_stages("staging", 25)
    if prod is not None:
        stages += env_stages("production", 70, prod)
    return Trace(change(), "shop", tuple(stages), "Live in staging")


def failed_ci_trace() -> Trace:
    stages = (
        Stage(
            "merge",
            Status.PENDING,
            "open, not merged yet",
            url="https://github.com/acme/shop/pull/412",
        ),
        ci(failed=True),
        Stage("sync", Status.PENDING, "waiting for CI (failed: test)", "staging"),
        Stage("rollout", Status.PENDING, "waiting for CI (failed: test)", "staging"),
    )
    return Trace(
        change(state=ChangeState.OPEN, sha="b7" * 20, merged_at=None), "shop", stages, "CI failed"
    )


@pytest.fixture(autouse=True)
def otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_SDK_DISABLED",
        "OTEL_TRACES_EXPORTER",
    ):
        monkeypatch.delenv(name, raising=False)
    # Small but real: a dead collector must cost a test well under a second.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "0.5")


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as emu:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", emu.url)
        yield emu
        assert emu.rejected == []


def tree(spans: list[Span]) -> dict[str, str | None]:
    """Each span's name -> its parent's name (by the ids that arrived)."""
    names = {s.span_id: s.name for s in spans}
    return {s.name: names.get(s.parent_span_id) if s.parent_span_id else None for s in spans}


# -- a live change -----------------------------------------------------------------------------


def test_a_live_change_arrives_as_one_tree_with_computable_ids(receiver: OTLPReceiver) -> None:
    result = export_spans(build_spans(live_trace(), now=NOW))

    assert result.ok
    spans = receiver.spans
    assert tree(spans) == {
        "deliver acme/shop#412": None,
        "merge": "deliver acme/shop#412",
        "ci": "deliver acme/shop#412",
        "test": "ci",
        "lint": "ci",
        "deploy staging": "deliver acme/shop#412",
        "promote": "deploy staging",
        "sync": "deploy staging",
        "rollout": "deploy staging",
    }
    assert {s.trace_id for s in spans} == {trace_id()}
    ids = {s.name: s.span_id for s in spans}
    assert ids["deliver acme/shop#412"] == span_id("deliver")
    assert ids["test"] == span_id("ci/test")
    assert ids["sync"] == span_id("deploy/staging/sync")
    assert {s.status for s in spans} == {"STATUS_CODE_OK"}
    assert {s.kind for s in spans} == {"SPAN_KIND_INTERNAL"}
    # GitHub's own times for the checks; the root until live in the last environment.
    assert (receiver.span("test").start_ns, receiver.span("test").end_ns) == (ns(at(1)), ns(at(6)))
    assert (receiver.span("lint").start_ns, receiver.span("lint").end_ns) == (
        ns(at(1.5)),
        ns(at(3)),
    )
    root = receiver.span("deliver acme/shop#412")
    assert (root.start_ns, root.end_ns) == (ns(at(1)), ns(STAGING_LIVE))
    assert receiver.span("deploy staging").end_ns == ns(STAGING_LIVE)
    assert {s.resource["service.name"] for s in spans} == {"shiptrace"}
    assert {s.scope for s in spans} == {"shiptrace"}
    assert [r.content_type for r in receiver.requests] == ["application/x-protobuf"]
    assert result.keys == tuple(f"{trace_id()}/{s}/ok" for s in (ids[n] for n in _record_order()))


def _record_order() -> list[str]:
    return [r.name for r in build_spans(live_trace(), now=NOW)]


def test_the_spans_carry_the_cicd_and_vcs_attributes(receiver: OTLPReceiver) -> None:
    export_spans(build_spans(live_trace(), now=NOW))

    root = receiver.span("deliver acme/shop#412").attributes
    assert root["vcs.repository.url.full"] == "https://github.com/acme/shop"
    assert root["vcs.ref.head.revision"] == "b7" * 20
    assert root["vcs.change.id"] == "412"
    assert root["cicd.pipeline.name"] == "shop"
    assert root["cicd.pipeline.run.id"] == "acme/shop#412"
    assert root["cicd.pipeline.result"] == "success"
    test = receiver.span("test").attributes
    assert test["cicd.pipeline.task.name"] == "test"
    assert test["cicd.pipeline.run.id"] == "4001"
    assert test["cicd.pipeline.task.run.id"] == "9001"
    assert test["cicd.pipeline.action.name"] == "BUILD"
    assert receiver.span("sync").attributes["cicd.pipeline.action.name"] == "SYNC"
    rollout = receiver.span("rollout").attributes
    assert rollout["deployment.environment.name"] == "staging"
    assert rollout["k8s.namespace.name"] == "shop"
    assert rollout["k8s.deployment.name"] == "shop"
    kinds = {s.name: s.attributes.get("shiptrace.stage.kind") for s in receiver.spans}
    assert (kinds["merge"], kinds["ci"], kinds["promote"]) == ("one-shot",) * 3
    assert (kinds["sync"], kinds["rollout"]) == ("continuous",) * 2


# -- a failed CI -------------------------------------------------------------------------------


def test_a_failed_ci_is_an_error_with_its_reason(receiver: OTLPReceiver) -> None:
    export_spans(build_spans(failed_ci_trace(), now=NOW))

    assert tree(receiver.spans) == {
        "deliver acme/shop#412": None,
        "ci": "deliver acme/shop#412",
        "test": "ci",
        "lint": "ci",
    }
    root = receiver.span("deliver acme/shop#412")
    assert root.status == "STATUS_CODE_ERROR"
    assert (
        root.status_message
        == "ci failed: 1 of 2 checks failed: test (test failed at step 'pytest')"
    )
    assert root.end_ns == ns(at(6))
    assert receiver.span("ci").status == "STATUS_CODE_ERROR"
    test = receiver.span("test")
    assert (test.status, test.status_message) == ("STATUS_CODE_ERROR", "failure")
    assert test.attributes["cicd.pipeline.task.run.result"] == "failure"
    assert receiver.span("lint").status == "STATUS_CODE_OK"
    # An open PR's trace is its head SHA's.
    expected = hashlib.sha256(f"shiptrace/v1 {REPO} {'b7' * 20}".encode()).digest()[:16].hex()
    assert {s.trace_id for s in receiver.spans} == {expected}


# -- two environments --------------------------------------------------------------------------


def test_two_environments_the_rest_follows_when_it_ended_without_repeats(
    receiver: OTLPReceiver,
) -> None:
    exported: set[str] = set()  # what the store would keep

    def export(trace: Trace, now: datetime) -> None:
        new = [r for r in build_spans(trace, now=now) if span_key(r) not in exported]
        result = export_spans(new)
        assert result.ok
        exported.update(result.keys)

    export(live_trace(prod=Status.RUNNING), NOW)
    first = {s.name for s in receiver.spans}
    assert "deliver acme/shop#412" not in first  # not live everywhere yet
    assert "deploy production" not in first
    assert {"deploy staging", "promote", "sync"} <= first

    export(live_trace(prod=Status.SUCCEEDED), NOW + timedelta(minutes=5))
    export(live_trace(prod=Status.SUCCEEDED), NOW + timedelta(minutes=10))  # nothing new

    spans = receiver.spans
    ids = [s.span_id for s in spans]
    assert len(ids) == len(set(ids)), "a span was sent twice"
    assert len(receiver.requests) == 2  # the third export had nothing to send
    assert {s.trace_id for s in spans} == {trace_id()}
    prod = next(s for s in spans if s.name == "deploy production")
    assert prod.span_id == span_id("deploy/production")
    assert prod.attributes["deployment.environment.name"] == "production"
    parents = {s.span_id: s for s in spans}
    prod_children = {s.name for s in spans if s.parent_span_id == prod.span_id}
    assert prod_children == {"promote", "sync", "rollout"}
    root = receiver.span("deliver acme/shop#412")
    assert parents[prod.parent_span_id or ""].name == root.name
    assert root.end_ns == ns(PROD_LIVE)


# -- a drift incident --------------------------------------------------------------------------


def test_a_drift_incident_is_a_span_of_the_same_trace_linked_to_the_stage_it_broke(
    receiver: OTLPReceiver,
) -> None:
    finding = Finding(
        "shop",
        "staging",
        "sync",
        "out-of-sync",
        "Argo CD app argocd/shop-staging",
        "OutOfSync: 1 resource differs from Git",
        resources=("Deployment shop/shop",),
    )
    incident = Incident(
        3,
        "shop/staging",
        "shop",
        "staging",
        IncidentState.RESOLVED,
        at(120),
        (finding,),
        "fp",
        opened_at=at(122),
        resolved_at=at(150),
    )
    export_spans(build_spans(live_trace(), [incident], now=NOW))

    drift = receiver.span("drift staging")
    assert drift.trace_id == trace_id()
    assert drift.span_id == span_id("drift/staging/2026-11-26T11:00:00Z")
    assert drift.parent_span_id == span_id("deploy/staging")
    assert (drift.start_ns, drift.end_ns) == (ns(at(120)), ns(at(150)))
    assert drift.status == "STATUS_CODE_ERROR"
    assert (
        drift.status_message
        == "Argo CD app argocd/shop-staging: OutOfSync: 1 resource differs from Git"
    )
    assert [(link.trace_id, link.span_id) for link in drift.links] == [
        (trace_id(), span_id("deploy/staging/sync"))
    ]
    assert drift.links[0].attributes == {"shiptrace.link.type": "broke"}
    assert drift.attributes["shiptrace.drift.kinds"] == ("out-of-sync",)


# -- configuration -----------------------------------------------------------------------------


def test_the_standard_environment_names_the_service_resource_and_headers(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "delivery")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "team=platform,service.namespace=ops")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20s3cret,x-tenant=acme")

    assert export_spans(build_spans(live_trace(), now=NOW)).ok

    resource = receiver.spans[0].resource
    assert resource["service.name"] == "delivery"
    assert (resource["team"], resource["service.namespace"]) == ("platform", "ops")
    headers = receiver.requests[0].headers
    assert headers["authorization"] == "Bearer s3cret"
    assert headers["x-tenant"] == "acme"


def test_a_traces_endpoint_of_its_own_is_used_as_given(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # not this one
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.traces_url)

    assert export_spans(build_spans(live_trace(), now=NOW)).ok
    assert len(receiver.spans) == 9


def test_a_compressed_export_arrives_whole(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")

    assert export_spans(build_spans(live_trace(), now=NOW)).ok
    assert receiver.requests[0].headers["content-encoding"] == "gzip"
    assert len(receiver.spans) == 9


def test_a_disabled_sdk_sends_nothing_and_counts_nothing_as_exported(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")

    assert export_spans(build_spans(live_trace(), now=NOW)) == ExportResult(True, ())
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("env", "configured"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
    ],
)
def test_export_is_configured_by_a_collector_endpoint(
    env: dict[str, str], configured: bool
) -> None:
    assert export_configured(env) is configured


def test_an_unsupported_protocol_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    with pytest.raises(ConfigError, match="http/protobuf or grpc"):
        exporter_from_env()


def _grpc_installed() -> bool:
    try:
        import opentelemetry.exporter.otlp.proto.grpc.trace_exporter  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(_grpc_installed(), reason="the gRPC exporter is installed")
def test_grpc_without_the_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    with pytest.raises(ConfigError, match=r"shiptrace\[grpc\]"):
        exporter_from_env()


@pytest.mark.skipif(not _grpc_installed(), reason="the gRPC exporter is not installed")
def test_grpc_picks_the_grpc_exporter(monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    assert isinstance(exporter_from_env(), OTLPSpanExporter)


# -- a collector that fails --------------------------------------------------------------------


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def records() -> list[SpanRecord]:
    return build_spans(live_trace(), now=NOW)


def test_an_unreachable_collector_is_logged_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with OTLPReceiver() as gone:
        dead = gone.url
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", dead)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20s3cret")
    caplog.set_level(logging.DEBUG)

    with SpanSink() as sink:
        first, second = sink.export(records()), sink.export(records())

    assert (first.ok, first.keys, second.ok) == (False, (), False)
    logged = warnings_logged(caplog)
    assert len(logged) == 1, [r.getMessage() for r in logged]
    line = logged[0].getMessage()
    assert logged[0].name == "bot.export.otlp"
    assert line.startswith(f"trace export to {dead}/v1/traces failed: ")
    assert "s3cret" not in caplog.text


def test_a_refusing_collector_is_logged_once_and_its_recovery_too(
    receiver: OTLPReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.fail(status=400, times=2)
    caplog.set_level(logging.INFO, logger="bot.export.otlp")

    with SpanSink() as sink:
        results = [sink.export(records()) for _ in range(3)]

    assert [r.ok for r in results] == [False, False, True]
    assert len(results[2].keys) == 9
    logged = warnings_logged(caplog)
    assert [r.getMessage() for r in logged] == [
        f"trace export to {receiver.traces_url} failed: Failed to export spans batch code: 400, "
        "reason: Bad Request (not logged again until an export succeeds)"
    ]
    assert f"trace export to {receiver.traces_url} works again" in caplog.messages
    assert len(receiver.spans) == 9


def test_a_busy_collector_is_retried_by_the_exporter(
    receiver: OTLPReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.fail(status=503, times=1, retry_after="0")

    result = export_spans(records())

    assert result.ok
    assert [r.status for r in receiver.requests] == [503, 200]
    assert len(receiver.spans) == 9
    assert warnings_logged(caplog) == []


def test_a_hung_collector_costs_at_most_the_exporter_timeout(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "0.3")
    receiver.stall()

    result = export_spans(records())

    assert not result.ok
    assert len(warnings_logged(caplog)) == 1


async def test_an_export_never_holds_up_the_event_loop(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "0.3")
    receiver.stall()
    order: list[str] = []

    async def answer() -> None:
        await asyncio.sleep(0)  # one turn of the loop: only free if the export is elsewhere
        order.append("answered")

    async def export() -> None:
        result = await sink.export_async(records())
        order.append(f"exported ok={result.ok}")

    with SpanSink() as sink:
        await asyncio.gather(export(), answer())

    assert order == ["answered", "exported ok=False"]


# -- OTLP JSON ---------------------------------------------------------------------------------


def test_otlp_json_is_what_a_collector_decodes_as_the_same_spans(receiver: OTLPReceiver) -> None:
    spans = build_spans(live_trace(prod=Status.SUCCEEDED), now=NOW)
    body = otlp_json(spans)
    request = urllib.request.Request(
        receiver.traces_url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as reply:
        assert reply.status == 200
    from_json = receiver.spans

    assert export_spans(spans).ok
    from_protobuf = receiver.spans[len(from_json) :]

    assert from_json == from_protobuf
    first = body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert first["traceId"] == trace_id()  # hex, as OTLP/JSON specifies
    assert first["spanId"] == span_id("deliver")
    assert first["kind"] == 1  # enums as numbers
