"""``shiptrace where REF --otlp`` and ``-o otlp-json``: the trace just computed, over the real
wire (the official OTLP exporter, configured by OTEL_*) to a local OTLP receiver."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from bot.sandbox.github import GitHubEmulator
from bot.sandbox.kube import KubeEmulator
from bot.sandbox.otlp import OTLPReceiver
from tests.scenarios import kubeobjs as k
from tests.scenarios import shop
from tests.scenarios.fleet import flux_prod, live_staging, seed, tag
from tests.scenarios.otel import ns, otel_env, receiver, span_id, trace_id, tree

__all__ = ["otel_env", "receiver"]  # fixtures

REPO = "acme/shop"


@pytest.fixture
def s(github: GitHubEmulator, clusters: dict[str, KubeEmulator]) -> shop.Shop:
    """acme/shop#12 merged with green CI, live in staging and production."""
    s = shop.build(github)
    shop.green_ci(github, s.merged)
    live_staging(clusters["staging"], s.merged)
    flux_prod(clusters["prod"], f"main@sha1:{s.merged}")
    seed(clusters["prod"], *k.rolled_out("shop", "shop", tag(s.merged), pod_hash="8e1a"))
    return s


LIVE_TREE = {
    "deliver acme/shop#12": None,
    "merge": "deliver acme/shop#12",
    "ci": "deliver acme/shop#12",
    "lint": "ci",
    "test": "ci",
    "deploy staging": "deliver acme/shop#12",
    "sync staging": "deploy staging",
    "rollout staging": "deploy staging",
    "deploy production": "deliver acme/shop#12",
    "sync production": "deploy production",
    "rollout production": "deploy production",
}


def test_where_otlp_delivers_one_trace_whose_id_is_the_documented_formula(
    cli: Any, s: shop.Shop, receiver: OTLPReceiver
) -> None:
    r = cli("where", "acme/shop#12", "--otlp")

    assert r.code == 0
    assert r.out.startswith("acme/shop#12  Add cart (alice) — merged")  # the answer, as ever
    spans = receiver.spans
    assert tree(spans) == LIVE_TREE
    assert {sp.trace_id for sp in spans} == {trace_id(REPO, s.merged)}
    assert r.err == (
        f"shiptrace: exported 11 spans of trace {trace_id(REPO, s.merged)} "
        f"to {receiver.traces_url}\n"
    )
    ids = {sp.name: sp.span_id for sp in spans}
    assert ids["deliver acme/shop#12"] == span_id(REPO, s.merged, "deliver")
    assert ids["lint"] == span_id(REPO, s.merged, "ci/lint")
    assert {sp.status for sp in spans} == {"STATUS_CODE_OK"}
    # GitHub's own times: the PR's creation, the merge, each check run.
    root = receiver.span("deliver acme/shop#12")
    assert root.start_ns == ns("2026-11-26T09:00:00Z")  # the PR was opened
    merge = receiver.span("merge")
    assert (merge.start_ns, merge.end_ns) == (
        ns("2026-11-26T09:00:00Z"),
        ns("2026-11-26T09:01:02Z"),
    )
    test = receiver.span("test")
    assert (test.start_ns, test.end_ns) == (ns("2026-11-26T09:02:00Z"), ns("2026-11-26T09:06:00Z"))
    assert test.attributes["cicd.pipeline.task.run.result"] == "success"
    sync = next(
        sp for sp in spans if sp.name == "sync" and sp.start_ns == ns("2026-11-26T09:08:00Z")
    )
    assert sync.end_ns == ns("2026-11-26T09:09:00Z")  # Argo CD's own operation times
    assert sync.attributes["shiptrace.stage.kind"] == "continuous"
    assert sync.attributes["deployment.environment.name"] == "staging"
    assert root.attributes["vcs.change.id"] == "12"
    assert root.attributes["vcs.ref.head.revision"] == s.head12
    assert root.attributes["shiptrace.where"] == "Live in staging, production"


def test_otlp_json_prints_the_export_request_and_sends_nothing(
    cli: Any, s: shop.Shop, receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "delivery")

    r = cli("where", "acme/shop#12", "-o", "otlp-json")

    assert (r.code, r.err) == (0, "")
    assert receiver.requests == []
    [resource_spans] = json.loads(r.out)["resourceSpans"]
    resource = {
        a["key"]: a["value"]["stringValue"] for a in resource_spans["resource"]["attributes"]
    }
    assert resource["service.name"] == "delivery"
    spans = resource_spans["scopeSpans"][0]["spans"]
    assert {sp["traceId"] for sp in spans} == {trace_id(REPO, s.merged)}  # hex, as OTLP/JSON
    assert spans[0]["spanId"] == span_id(REPO, s.merged, "deliver")
    assert spans[0]["name"] == "deliver acme/shop#12"
    assert len(spans) == len(LIVE_TREE)


def test_json_stays_the_contract_with_otlp(cli: Any, s: shop.Shop, receiver: OTLPReceiver) -> None:
    plain = cli("where", "acme/shop#12", "--json")
    both = cli("where", "acme/shop#12", "-o", "json", "--otlp")

    assert both.code == 0
    assert _without_times(both.json) == _without_times(plain.json)
    assert set(both.json) == {"change", "service", "stages", "where", "errors"}
    assert len(receiver.spans) == len(LIVE_TREE)


def _without_times(data: dict[str, Any]) -> dict[str, Any]:
    """The rollouts' start, first seen by this run, is the one thing two runs may differ in."""
    return {**data, "stages": [{**st, "finished_at": None} for st in data["stages"]]}


def test_a_failed_ci_is_an_error_trace_with_the_failing_check(
    cli: Any, github: GitHubEmulator, workdir: Any, receiver: OTLPReceiver
) -> None:
    s = shop.build(github)
    shop.failed_ci(github, s.merged)

    r = cli("where", "acme/shop#12", "--otlp")

    assert r.code == 0
    spans = receiver.spans
    assert tree(spans) == {
        "deliver acme/shop#12": None,
        "merge": "deliver acme/shop#12",
        "ci": "deliver acme/shop#12",
        "lint": "ci",
        "test": "ci",
    }
    root = receiver.span("deliver acme/shop#12")
    assert root.status == "STATUS_CODE_ERROR"
    assert root.status_message.startswith("ci failed: 1 of 2 checks failed: test")
    assert root.attributes["cicd.pipeline.result"] == "failure"
    test = receiver.span("test")
    assert (test.status, test.status_message) == ("STATUS_CODE_ERROR", "failure")
    assert (test.start_ns, test.end_ns) == (ns("2026-11-26T09:02:00Z"), ns("2026-11-26T09:07:00Z"))
    assert receiver.span("lint").status == "STATUS_CODE_OK"


def test_nothing_ended_yet_says_so(
    cli: Any, github: GitHubEmulator, workdir: Any, receiver: OTLPReceiver
) -> None:
    s = shop.build(github)
    github.add_check_run(REPO, s.head13, name="test", status="in_progress", conclusion=None)

    r = cli("where", "acme/shop#13", "--otlp")

    assert r.code == 0
    assert r.err == "shiptrace: nothing to export yet: no stage of acme/shop#13 has ended\n"
    assert receiver.requests == []


def test_an_unsupported_protocol_is_bad_config_before_any_look_up(
    cli: Any, github: GitHubEmulator, workdir: Any, otel_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")

    r = cli("where", "acme/shop#12", "--otlp")

    assert r.code == 2
    assert r.err.startswith("shiptrace: OTEL_EXPORTER_OTLP_PROTOCOL='http/json' is not supported")
    assert "Traceback" not in r.err
    assert github.requests == []


def test_an_unreachable_collector_is_one_warning_after_the_answer(
    cli: Any,
    s: shop.Shop,
    otel_env: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with OTLPReceiver() as gone:
        dead = gone.url
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", dead)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20s3cret")

    r = cli("where", "acme/shop#12", "--otlp")

    assert r.code == 0
    assert "Where: Live in staging, production" in r.out
    [warning] = [x for x in caplog.records if x.levelno >= logging.WARNING]
    assert warning.getMessage().startswith(f"trace export to {dead}/v1/traces failed: ")
    assert "s3cret" not in r.err + caplog.text
    assert "Traceback" not in r.err
