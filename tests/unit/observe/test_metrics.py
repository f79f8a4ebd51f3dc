"""The metrics: their labels, one registry per bot, the store read only when scraped."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.observe.metrics import Metrics, status_label


def values(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, _ = metrics.exposition()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (200, "200"),
        (304, "304"),
        (201, "2xx"),
        (302, "3xx"),
        (401, "4xx"),
        (403, "4xx"),
        (404, "4xx"),
        (422, "4xx"),
        (500, "5xx"),
        (502, "5xx"),
        (None, "error"),
    ],
)
def test_github_status_labels(status: int | None, label: str) -> None:
    assert status_label(status) == label


def test_each_bot_has_a_registry_of_its_own() -> None:
    one, two = Metrics(), Metrics()  # a global registry would refuse the second
    one.answered("traced")
    assert values(one)[("shiptrace_answers_total", (("outcome", "traced"),))] == 1
    assert ("shiptrace_answers_total", (("outcome", "traced"),)) not in values(two)


def test_every_name_is_prefixed_and_the_content_type_is_prometheus_text() -> None:
    body, content_type = Metrics().exposition()
    assert content_type.startswith("text/plain; version=")
    families = {f.name for f in text_string_to_metric_families(body.decode())}
    assert families >= {
        "shiptrace_github_rate_limit_remaining",
        "shiptrace_drift_scan_seconds",
    }
    assert all(name.startswith("shiptrace_") for name in families)


def test_github_responses_count_by_status_and_keep_the_rate_limit_left() -> None:
    m = Metrics()
    m.github_response(200, {"X-RateLimit-Remaining": "4999"})
    m.github_response(304, {"x-ratelimit-remaining": "4999"})
    m.github_response(502, {"x-ratelimit-remaining": "4998"})
    m.github_response(None, {})  # no answer: the last figure stands
    v = values(m)
    counts = {
        dict(labels)["status"]: n
        for (name, labels), n in v.items()
        if name == "shiptrace_github_requests_total"
    }
    assert counts == {"200": 1, "304": 1, "5xx": 1, "error": 1}
    assert v[("shiptrace_github_rate_limit_remaining", ())] == 4998


def test_kubernetes_requests_and_errors_by_cluster() -> None:
    m = Metrics()
    m.kubernetes_request("prod", failed=True)
    m.kubernetes_request("prod", failed=False)
    m.kubernetes_request("staging", failed=False)
    v = values(m)
    assert v[("shiptrace_kubernetes_requests_total", (("cluster", "prod"),))] == 2
    assert v[("shiptrace_kubernetes_requests_total", (("cluster", "staging"),))] == 1
    assert v[("shiptrace_kubernetes_errors_total", (("cluster", "prod"),))] == 1
    assert ("shiptrace_kubernetes_errors_total", (("cluster", "staging"),)) not in v


def test_the_store_is_counted_at_scrape_time_and_a_broken_one_skipped() -> None:
    m = Metrics()
    assert ("shiptrace_incidents_open", ()) not in values(m)  # nothing to read yet
    asked: list[str] = []
    open_now = [2]

    def incidents() -> int:
        asked.append("incidents")
        return open_now[0]

    def follows() -> int:
        raise RuntimeError("database is closed")

    m.watch_store(incidents, follows)
    assert asked == []  # registering reads nothing
    assert values(m)[("shiptrace_incidents_open", ())] == 2
    open_now[0] = 0
    v = values(m)
    assert v[("shiptrace_incidents_open", ())] == 0 and asked == ["incidents", "incidents"]
    assert ("shiptrace_follows_active", ()) not in v  # skipped, the rest still served


def test_slack_errors_by_method_and_error() -> None:
    m = Metrics()
    m.slack_error("chat.postMessage", "not_in_channel")
    m.slack_error("chat.postMessage", "not_in_channel")
    m.slack_error("response_url", "500")
    v = values(m)
    key = (("error", "not_in_channel"), ("method", "chat.postMessage"))
    assert v[("shiptrace_slack_api_errors_total", key)] == 2
    assert (
        v[("shiptrace_slack_api_errors_total", (("error", "500"), ("method", "response_url")))] == 1
    )
