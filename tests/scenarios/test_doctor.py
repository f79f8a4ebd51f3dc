"""`shiptrace doctor` through the CLI against the Slack, GitHub and Kubernetes emulators: staging
runs Argo CD, prod runs Flux (tests/scenarios/fleet.py), everything configured."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.github import GitHubEmulator
from bot.sandbox.kube import DEFAULT_CRDS, KubeEmulator, write_kubeconfig
from bot.sandbox.slack import SlackEmulator
from tests.scenarios import kubeobjs as k
from tests.scenarios.fleet import TWO_ENVS, live_prod, live_staging, seed, tag
from tests.scenarios.test_github_app import rsa_key

A = "a" * 40
Rows = dict[str, dict[str, Any]]


@pytest.fixture
def sandbox(
    github: GitHubEmulator,
    clusters: dict[str, KubeEmulator],
    slack: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, KubeEmulator]:
    """Everything the TWO_ENVS config names exists, and the bot may read it."""
    github.add_repo("acme/shop")
    live_staging(clusters["staging"], A)
    live_prod(clusters["prod"], A)
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "test-signing-secret")
    return clusters


@pytest.fixture
def doctor(cli: Any) -> Callable[..., tuple[int, Rows]]:
    """Run `shiptrace doctor --json`: the exit code and the rows by check name."""

    def run(*args: str) -> tuple[int, Rows]:
        result = cli("doctor", "--json", *args)
        assert result.err == "", result.err
        rows = {row["check"]: row for row in result.json}
        assert len(rows) == len(result.json), "check names repeat"
        for row in result.json:
            assert set(row) == {"check", "ok", "detail", "hint"}
            assert (row["hint"] is None) == row["ok"], row  # one hint per ✗, none for a ✓
        return result.code, rows

    return run


def failed(rows: Rows) -> dict[str, str]:
    return {name: f"{r['detail']} — {r['hint']}" for name, r in rows.items() if not r["ok"]}


def test_everything_configured_passes(cli: Any, sandbox: dict[str, KubeEmulator]) -> None:
    result = cli("doctor")
    assert result.code == 0, result.out
    assert result.err == ""
    lines = result.out.splitlines()
    assert [line.split()[1] for line in lines[:-2]] == [
        "config",
        "slack",
        "slack",  # slack http
        "github",
        "github",  # github acme/shop
        "kube",  # kube staging
        "kube",
        "kube",
        "shop/staging",
        "kube",  # kube prod
        "kube",
        "kube",
        "shop/production",
    ]
    assert all(line.startswith("✓ ") for line in lines[:-2]), result.out
    assert lines[-1] == "all 13 checks passed"
    out = result.out
    assert "shiptrace.yaml: 1 service, 2 environments" in out
    assert "auth.test as @shiptrace in Shiptrace Test; scopes ok" in out
    assert "HTTP mode: SLACK_SIGNING_SECRET is set" in out
    assert "token accepted by http://127.0.0.1:" in out and "of 5,000 requests left" in out
    assert "readable (private, default branch main)" in out
    assert "(Kubernetes v1.31.0)" in out
    assert "served: Application (argoproj.io/v1alpha1)" in out
    assert "served: Kustomization (kustomize.toolkit.fluxcd.io/v1)" in out
    assert "found Argo CD app argocd/shop-staging and Deployment shop/shop" in out
    assert "found Flux Kustomization flux-system/shop and Deployment shop/shop" in out


def test_json_lists_the_same_checks(doctor: Any, sandbox: dict[str, KubeEmulator]) -> None:
    code, rows = doctor()
    assert code == 0
    assert list(rows) == [
        "config",
        "slack",
        "slack http",
        "github",
        "github acme/shop",
        "kube staging",
        "kube staging access",
        "kube staging crds",
        "shop/staging",
        "kube prod",
        "kube prod access",
        "kube prod crds",
        "shop/production",
    ]


def test_every_access_the_bot_needs_is_reviewed(
    doctor: Any, sandbox: dict[str, KubeEmulator]
) -> None:
    doctor()
    reviews = [
        r.body["spec"]["resourceAttributes"]
        for r in sandbox["prod"].requests
        if r.path.endswith("/selfsubjectaccessreviews")
    ]
    asked = {(a["verb"], a.get("group", ""), a["resource"]) for a in reviews}
    # Flux: the Kustomization and every source kind it may point at; the Deployment, its
    # ReplicaSets and Pods. Nothing of Argo CD: prod runs none.
    assert asked == {
        ("get", "kustomize.toolkit.fluxcd.io", "kustomizations"),
        ("list", "kustomize.toolkit.fluxcd.io", "kustomizations"),
        *(
            (verb, "source.toolkit.fluxcd.io", kind)
            for verb in ("get", "list")
            for kind in ("gitrepositories", "ocirepositories", "buckets")
        ),
        ("get", "apps", "deployments"),
        ("list", "apps", "deployments"),
        ("list", "apps", "replicasets"),
        ("list", "", "pods"),
    }
    assert all("namespace" not in a for a in reviews)  # the drift scan lists cluster-wide


def test_a_context_missing_from_the_kubeconfig_is_named(
    cli: Any, sandbox: dict[str, KubeEmulator], workdir: Path
) -> None:
    (workdir / "shiptrace.yaml").write_text(TWO_ENVS.replace("cluster: prod", "cluster: prod-eu"))
    result = cli("doctor")
    assert result.code == 1
    assert result.err == ""
    [row] = [line for line in result.out.splitlines() if line.startswith("✗")]
    assert row.startswith("✗ kube prod-eu ")
    assert "context 'prod-eu' is not in the kubeconfig" in row
    assert row.endswith("— add it, or fix services[0].environments[1].cluster")
    assert "✓ shop/staging" in result.out  # the other context is checked all the same
    assert "shop/production" not in result.out  # nothing more to say without its cluster
    assert result.out.splitlines()[-1] == "1 of 10 checks failed"


def test_a_denied_read_names_the_verb_and_the_resource(
    doctor: Any, sandbox: dict[str, KubeEmulator]
) -> None:
    sandbox["prod"].deny("list", "deployments", group="apps")
    sandbox["prod"].deny("*", "pods")
    code, rows = doctor()
    assert code == 1
    assert failed(rows) == {
        "kube prod access": "not allowed to list pods and list deployments.apps — grant get and "
        "list on them, cluster-wide: deploy/kubernetes has the read-only ClusterRole",
    }


@pytest.mark.parametrize(
    ("drop", "config", "message"),
    [
        (
            "kustomize.toolkit.fluxcd.io_kustomizations",
            TWO_ENVS,
            "not served: Kustomization (kustomizations.kustomize.toolkit.fluxcd.io) — install "
            "the CRD in cluster 'prod' (the tool's own install brings them), or fix "
            "services[0].environments[1].flux",
        ),
        (
            # Argo CD serves argoproj.io too: the group alone does not say Rollouts are there.
            "argo-rollouts-rollout-crd",
            TWO_ENVS.replace(
                "workloads: [{kind: Deployment, namespace: shop, name: shop}]\n      - name: production",
                "workloads: [{kind: Rollout, namespace: shop, name: shop}]\n      - name: production",
            ),
            "not served: Rollout (rollouts.argoproj.io) — install the CRD in cluster 'staging' "
            "(the tool's own install brings them), or fix services[0].environments[0].workloads[0]",
        ),
    ],
    ids=["flux", "rollouts"],
)
def test_a_missing_crd_is_named(
    doctor: Any,
    sandbox: dict[str, KubeEmulator],
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    drop: str,
    config: str,
    message: str,
) -> None:
    crds = [c for c in DEFAULT_CRDS if drop not in str(c)]
    assert len(crds) == len(DEFAULT_CRDS) - 1
    context = "prod" if "flux" in drop else "staging"
    (workdir / "shiptrace.yaml").write_text(config)
    with KubeEmulator(context, crds=crds) as bare:
        emus = {**sandbox, context: bare}
        write_kubeconfig(workdir / "kubeconfig", emus)
        seed(bare, *k.rolled_out("shop", "shop", tag(A)))
        if context == "prod":
            seed(bare, k.git_repository("shop", "https://github.com/acme/shop.git", A))
        else:
            seed(
                bare,
                k.argo_app("shop-staging", repo_url="https://github.com/acme/shop.git", revision=A),
            )
        code, rows = doctor()
    assert code == 1
    problems = failed(rows)
    assert problems[f"kube {context} crds"] == message
    env = "shop/production" if context == "prod" else "shop/staging"
    assert set(problems) == {f"kube {context} crds", env}  # the object cannot be found either


def test_a_missing_gitops_object_is_named_with_its_config_key(
    doctor: Any, sandbox: dict[str, KubeEmulator]
) -> None:
    sandbox["prod"].delete("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", "shop")
    sandbox["staging"].delete("apps/v1", "Deployment", "shop", "shop")
    code, rows = doctor()
    assert code == 1
    assert failed(rows) == {
        "shop/staging": "Deployment shop/shop not found in cluster 'staging' — create it in "
        "cluster 'staging', or fix services[0].environments[0].workloads[0]",
        "shop/production": "Kustomization flux-system/shop not found in cluster 'prod' — create "
        "it in cluster 'prod', or fix services[0].environments[1].flux",
    }


def test_a_missing_flux_source_is_named(doctor: Any, sandbox: dict[str, KubeEmulator]) -> None:
    sandbox["prod"].delete("source.toolkit.fluxcd.io/v1", "GitRepository", "flux-system", "shop")
    code, rows = doctor()
    assert code == 1
    assert failed(rows) == {
        "shop/production": "Flux Kustomization flux-system/shop: its source: GitRepository "
        "flux-system/shop not found in cluster 'prod' — create it in cluster 'prod', or fix "
        "services[0].environments[1].flux",
    }


def test_an_unreachable_cluster_says_so_and_nothing_more_about_it(
    doctor: Any, sandbox: dict[str, KubeEmulator], workdir: Path
) -> None:
    sandbox["prod"].stop()
    code, rows = doctor()
    assert code == 1
    problems = failed(rows)
    assert list(problems) == ["kube prod"]
    assert "cluster 'prod' at http://127.0.0.1:" in problems["kube prod"]
    assert (
        "is unreachable (connection refused) — check that the cluster is up"
        in problems["kube prod"]
    )
    assert "kube prod access" not in rows and "shop/production" not in rows


def test_refused_kube_credentials(
    doctor: Any, sandbox: dict[str, KubeEmulator], workdir: Path
) -> None:
    sandbox["prod"].token = "the-real-one"
    code, rows = doctor()
    assert code == 1
    assert list(failed(rows)) == ["kube prod"]
    assert rows["kube prod"]["detail"].endswith(
        "refused the credentials of kubeconfig context 'prod' (401)"
    )
    assert rows["kube prod"]["hint"].startswith("log in again")


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (
            "xoxb-wrong",
            "Slack refused SLACK_BOT_TOKEN (invalid_auth) — copy the Bot User OAuth Token",
        ),
        ("xapp-test", "SLACK_BOT_TOKEN is not a bot token (xoxb-…) — copy the Bot User OAuth"),
        (None, "SLACK_BOT_TOKEN is not set — copy the Bot User OAuth Token"),
    ],
    ids=["refused", "app-token", "unset"],
)
def test_a_bad_slack_token_fails(
    doctor: Any,
    sandbox: dict[str, KubeEmulator],
    monkeypatch: pytest.MonkeyPatch,
    token: str | None,
    message: str,
) -> None:
    if token is None:
        monkeypatch.delenv("SLACK_BOT_TOKEN")
    else:
        monkeypatch.setenv("SLACK_BOT_TOKEN", token)
    code, rows = doctor()
    assert code == 1
    problems = failed(rows)
    assert list(problems) == ["slack"]
    assert problems["slack"].startswith(message)
    if token is None:
        assert problems["slack"].endswith("(not needed for the CLI, only for the bot)")
        assert "slack http" not in rows


def test_missing_slack_scopes_are_named(
    doctor: Any, sandbox: dict[str, KubeEmulator], slack: SlackEmulator
) -> None:
    slack.scopes = ["commands", "chat:write"]
    code, rows = doctor()
    assert code == 1
    assert rows["slack"]["detail"] == (
        "auth.test as @shiptrace in Shiptrace Test; missing scopes: channels:history, "
        "groups:history, files:write"
    )
    assert "reinstall the app" in rows["slack"]["hint"]


def test_socket_mode_opens_a_connection_with_the_app_token(
    doctor: Any, sandbox: dict[str, KubeEmulator], slack: SlackEmulator, monkeypatch: Any
) -> None:
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    monkeypatch.setenv("SLACK_APP_TOKEN", slack.app_token)
    code, rows = doctor()
    assert code == 0
    assert rows["slack socket"]["detail"] == "Socket Mode: apps.connections.open ok"
    assert "slack http" not in rows
    [opened] = slack.calls_to("apps.connections.open")
    assert opened.token == slack.app_token
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-revoked")
    code, rows = doctor()
    assert code == 1
    assert failed(rows)["slack socket"].startswith(
        "Slack refused SLACK_APP_TOKEN (invalid_auth) — create an app-level token (xapp-…) "
        "with the connections:write scope"
    )


def test_http_mode_needs_the_signing_secret(
    doctor: Any, sandbox: dict[str, KubeEmulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    code, rows = doctor()
    assert code == 1
    assert list(failed(rows)) == ["slack http"]
    assert "or SLACK_APP_TOKEN for Socket Mode" in rows["slack http"]["hint"]


def test_a_repo_the_credentials_cannot_read_fails(
    doctor: Any, sandbox: dict[str, KubeEmulator], workdir: Path
) -> None:
    billing = "\n  - name: billing\n    repo: acme/billing\n    environments: [{name: staging}]\n"
    (workdir / "shiptrace.yaml").write_text(TWO_ENVS + billing)
    code, rows = doctor()
    assert code == 1
    assert failed(rows) == {
        "github acme/billing": "GitHub has no acme/billing, or the credentials cannot see it — "
        "fix services[1].repo, or give the token read access to acme/billing (a GitHub App: "
        "add the repo to its installation)",
    }
    assert rows["github acme/shop"]["ok"]


def test_a_refused_github_token_fails_once(
    doctor: Any, sandbox: dict[str, KubeEmulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_revoked")
    code, rows = doctor()
    assert code == 1
    assert failed(rows) == {
        "github": "GitHub refused the token (401 Bad credentials) — check GITHUB_TOKEN",
    }
    assert "github acme/shop" not in rows  # each repo would only say the same


def test_a_nearly_spent_rate_limit_fails(
    doctor: Any, sandbox: dict[str, KubeEmulator], github: GitHubEmulator
) -> None:
    github.use_rate_limit(4_950)
    code, rows = doctor()
    assert code == 1
    assert list(failed(rows)) == ["github"]
    assert rows["github"]["detail"].startswith("token accepted; only 50 of 5,000 requests left")
    assert rows["github"]["hint"].startswith("wait for the reset")


def test_no_github_credentials_reads_anonymously_but_fails(
    doctor: Any, sandbox: dict[str, KubeEmulator], github: GitHubEmulator, monkeypatch: Any
) -> None:
    github.token = None  # this GitHub answers anyone, as github.com does for public repos
    monkeypatch.delenv("GITHUB_TOKEN")
    code, rows = doctor()
    assert code == 1
    assert list(failed(rows)) == ["github"]
    assert rows["github"]["detail"].startswith("no credentials, so anonymous: public repos only")
    assert rows["github acme/shop"]["ok"]


def test_a_github_app_is_checked_through_its_installation_token(
    doctor: Any, sandbox: dict[str, KubeEmulator], github: GitHubEmulator, monkeypatch: Any
) -> None:
    private, public = rsa_key()
    github.add_app("123456", public, 7890, token="ghs_installationtoken")
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("GITHUB_APP_ID", "123456")
    monkeypatch.setenv("GITHUB_APP_PRIVATE_KEY", private)
    monkeypatch.setenv("GITHUB_APP_INSTALLATION_ID", "7890")
    code, rows = doctor()
    assert code == 0, failed(rows)
    assert rows["github"]["detail"].startswith("GitHub App 123456 (installation 7890) accepted")
    monkeypatch.setenv("GITHUB_APP_INSTALLATION_ID", "1")
    code, rows = doctor()
    assert code == 1
    assert failed(rows)["github"].startswith(
        "GitHub has no installation 1 of the GitHub App 123456 — check GITHUB_APP_INSTALLATION_ID"
    )


def test_a_stalled_github_fails_that_check_only(
    doctor: Any, sandbox: dict[str, KubeEmulator], github: GitHubEmulator
) -> None:
    github.stall("/repos/acme/shop$", seconds=30)
    code, rows = doctor()
    assert code == 1
    assert list(failed(rows)) == ["github acme/shop"]
    assert "did not answer (timed out)" in rows["github acme/shop"]["detail"]


@pytest.mark.parametrize(
    "config",
    ["services: []\n", "services:\n  - name: shop\n    repo: not-a-repo\n    environments: []\n"],
)
def test_a_bad_config_exits_2_before_any_check(
    cli: Any, sandbox: dict[str, KubeEmulator], workdir: Path, slack: SlackEmulator, config: str
) -> None:
    (workdir / "shiptrace.yaml").write_text(config)
    result = cli("doctor")
    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith("shiptrace: ") and "shiptrace.yaml" in result.err
    assert "Traceback" not in result.err
    assert slack.calls == []


def test_a_missing_config_file_exits_2(cli: Any, workdir: Path) -> None:
    result = cli("doctor", "--config", str(workdir / "nope.yaml"))
    assert result.code == 2
    assert "nope.yaml: no such file" in result.err


def test_bad_usage_exits_2(cli: Any, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli("doctor", "--colour")
    assert exc.value.code == 2
