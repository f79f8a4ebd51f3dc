"""What the config needs of each cluster and of Slack, derived from the registries."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.config import Settings, parse_service_map
from bot.doctor.github import credentials_row
from bot.doctor.needs import SLACK_SCOPES, and_more, context_needs, resource_name
from bot.engine import cluster_reads

ROOT = Path(__file__).resolve().parents[3]

CONFIG = """
services:
  - name: shop
    repo: acme/shop
    environments:
      - name: staging
        cluster: staging
        argocd: {application: shop-staging}
        workloads: [{kind: Rollout, namespace: shop, name: shop}]
      - name: production
        cluster: prod
        flux: {kind: HelmRelease, name: shop}
        workloads: [{kind: StatefulSet, namespace: shop, name: db}]
      - name: edge
  - name: billing
    repo: acme/billing
    environments:
      - name: staging
        cluster: staging
        workloads: [{kind: Deployment, namespace: billing, name: billing}]
      - name: local
        workloads: [{kind: DaemonSet, namespace: kube-system, name: agent}]
"""


def test_each_context_in_first_use_order_with_its_config_keys() -> None:
    needs = context_needs(parse_service_map(CONFIG))
    assert [(n.context, n.label, n.keys) for n in needs] == [
        (
            "staging",
            "staging",
            ("services[0].environments[0].cluster", "services[1].environments[0].cluster"),
        ),
        ("prod", "prod", ("services[0].environments[1].cluster",)),
        (None, "current", ("services[1].environments[1].cluster",)),
    ]
    staging, prod, current = needs
    # Only kinds outside the groups every cluster serves need a CRD.
    assert staging.crds == {
        "Application": "services[0].environments[0].argocd",
        "Rollout": "services[0].environments[0].workloads[0]",
    }
    assert prod.crds == {"HelmRelease": "services[0].environments[1].flux"}
    assert current.crds == {}
    assert [e.name for e in staging.environments] == ["shop/staging", "billing/staging"]
    assert [(w.what, w.key) for w in staging.environments[0].objects] == [
        ("Argo CD app argocd/shop-staging", "services[0].environments[0].argocd"),
        ("Rollout shop/shop", "services[0].environments[0].workloads[0]"),
    ]


def test_the_reads_are_those_of_the_kinds_scanned_there() -> None:
    _, prod, current = context_needs(parse_service_map(CONFIG))
    assert current.reads == {
        ("apps", "daemonsets"): {"get", "list"},
        ("", "pods"): {"list"},
    }
    # A HelmRelease may point at any source kind: all of them are read.
    assert prod.reads == cluster_reads(
        [
            "HelmRelease",
            "GitRepository",
            "OCIRepository",
            "HelmRepository",
            "HelmChart",
            "Bucket",
            "StatefulSet",
            "Pod",
        ]
    )
    assert prod.reads[("source.toolkit.fluxcd.io", "helmcharts")] == {"get", "list"}


def test_every_kind_read_is_the_cluster_role() -> None:
    every = cluster_reads()
    assert every[("apps", "replicasets")] == {"list"}  # read by selector, never one by name
    assert every[("argoproj.io", "rollouts")] == {"get", "list"}
    assert all(verbs <= {"get", "list"} for verbs in every.values())  # nothing watches


@pytest.mark.parametrize(
    "manifest", ["slack-app-manifest.yaml", "slack-app-manifest.socket-mode.yaml"]
)
def test_the_scopes_checked_are_the_app_manifests(manifest: str) -> None:
    data = yaml.safe_load((ROOT / "deploy" / manifest).read_text(encoding="utf-8"))
    assert sorted(data["oauth_config"]["scopes"]["bot"]) == sorted(SLACK_SCOPES)


@pytest.mark.parametrize(
    ("items", "text"),
    [
        (["a"], "a"),
        (["a", "b"], "a and b"),
        (["a", "b", "c"], "a, b and c"),
        (["a", "b", "c", "d", "e"], "a, b, c and 2 more"),
    ],
)
def test_and_more(items: list[str], text: str) -> None:
    assert and_more(items) == text


def test_resource_names_are_kubectls() -> None:
    assert resource_name("", "pods") == "pods"
    assert resource_name("apps", "deployments") == "deployments.apps"


RESET = 1795770000  # 2026-11-27 09:00 UTC


@pytest.mark.parametrize(
    ("env", "limit", "ok", "detail"),
    [
        (
            {"GITHUB_TOKEN": "ghp_x"},
            {"limit": 5000, "remaining": 4990, "reset": RESET},
            True,
            "token accepted by https://api.github.com; 4,990 of 5,000 requests left until "
            "09:00 UTC",
        ),
        (
            {"GITHUB_TOKEN": "ghp_x"},
            {"limit": 5000, "remaining": 99, "reset": RESET},
            False,
            "token accepted; only 99 of 5,000 requests left until 09:00 UTC",
        ),
        (
            {"GITHUB_TOKEN": "ghp_x"},
            {"limit": 5000, "remaining": 100, "reset": RESET},
            True,
            "token accepted by https://api.github.com; 100 of 5,000 requests left until 09:00 UTC",
        ),
        (
            {},
            {"limit": 60, "remaining": 60, "reset": RESET},
            False,
            "no credentials, so anonymous: public repos only, 60 of 60 requests left until "
            "09:00 UTC",
        ),
    ],
)
def test_credentials_and_the_rate_limit(
    env: dict[str, str],
    limit: dict[str, int],
    ok: bool,
    detail: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in (
        "GITHUB_TOKEN",
        "GITHUB_APP_ID",
        "GITHUB_APP_PRIVATE_KEY",
        "GITHUB_APP_INSTALLATION_ID",
        "GITHUB_API_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    row = credentials_row(Settings(), limit)
    assert (row.ok, row.detail) == (ok, detail)
    assert (row.hint is None) == ok
