"""The doctor's table and JSON: pure rendering of what the checks found."""

from __future__ import annotations

import json

import pytest

from bot.doctor.report import Check, exit_code, failed, render_json, render_table

OK_CONFIG = Check("config", True, "shiptrace.yaml: 2 services, 4 environments")
OK_SLACK = Check("slack", True, "auth.test as @shiptrace; scopes ok")
NO_PROD = Check(
    "kube prod",
    False,
    "context 'prod' is not in the kubeconfig",
    "add it or fix services[0].environments[1].cluster",
)


@pytest.mark.parametrize(
    ("checks", "table"),
    [
        (
            [OK_CONFIG, OK_SLACK],
            "✓ config  shiptrace.yaml: 2 services, 4 environments\n"
            "✓ slack   auth.test as @shiptrace; scopes ok\n"
            "\n"
            "all 2 checks passed",
        ),
        (
            [OK_CONFIG, OK_SLACK, NO_PROD],
            "✓ config     shiptrace.yaml: 2 services, 4 environments\n"
            "✓ slack      auth.test as @shiptrace; scopes ok\n"
            "✗ kube prod  context 'prod' is not in the kubeconfig — add it or fix "
            "services[0].environments[1].cluster\n"
            "\n"
            "1 of 3 checks failed",
        ),
        (
            # A failure always has a hint; one without a detail still says something.
            [Check("github", False, "", None)],
            "✗ github  failed — rerun with SHIPTRACE_LOG_LEVEL=DEBUG to see why\n\n1 of 1 check failed",
        ),
        ([], "no checks ran"),
    ],
)
def test_table(checks: list[Check], table: str) -> None:
    assert render_table(checks) == table


def test_a_long_check_name_does_not_push_every_row() -> None:
    long = Check("shop-with-a-long-name/production-eu-west-1", True, "found")
    rows = render_table([OK_CONFIG, long]).splitlines()
    assert rows[0].startswith("✓ config  ")
    assert rows[0].index("shiptrace.yaml") <= 2 + 28
    assert rows[1] == "✓ shop-with-a-long-name/production-eu-west-1  found"


@pytest.mark.parametrize(
    ("checks", "code"),
    [([OK_CONFIG, OK_SLACK], 0), ([OK_CONFIG, NO_PROD], 1), ([NO_PROD], 1), ([], 0)],
)
def test_exit_code(checks: list[Check], code: int) -> None:
    assert exit_code(checks) == code


def test_json_is_a_list_of_checks() -> None:
    assert json.loads(render_json([OK_CONFIG, NO_PROD])) == [
        {
            "check": "config",
            "ok": True,
            "detail": "shiptrace.yaml: 2 services, 4 environments",
            "hint": None,
        },
        {
            "check": "kube prod",
            "ok": False,
            "detail": "context 'prod' is not in the kubeconfig",
            "hint": "add it or fix services[0].environments[1].cluster",
        },
    ]


@pytest.mark.parametrize(
    ("message", "detail", "hint"),
    [
        (
            "cluster 'prod' at https://10.0.0.1:6443 is unreachable (timed out); check that the "
            "cluster is up and the server of kubeconfig context 'prod'",
            "cluster 'prod' at https://10.0.0.1:6443 is unreachable (timed out)",
            "check that the cluster is up and the server of kubeconfig context 'prod'",
        ),
        (
            "GitHub refused the token (401 Bad credentials): check GITHUB_TOKEN",
            "GitHub refused the token (401 Bad credentials)",
            "check GITHUB_TOKEN",
        ),
        (
            "GitHub rate limit exceeded until 10:00:00 UTC; try again later",
            "GitHub rate limit exceeded until 10:00:00 UTC",
            "try again later",
        ),
        (
            "GitHub refused access to acme/shop (403 Forbidden): the token needs read access",
            "GitHub refused access to acme/shop (403 Forbidden): the token needs read access",
            "the fallback",
        ),
    ],
)
def test_an_error_message_splits_into_detail_and_hint(message: str, detail: str, hint: str) -> None:
    assert failed("x", message, "the fallback") == Check("x", False, detail, hint)
