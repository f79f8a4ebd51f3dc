"""Reading Argo CD Applications and Flux objects into GitOpsState, table-driven."""

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from bot.gitops.argocd import read_argocd
from bot.gitops.flux import read_flux
from bot.gitops.state import GitOpsState, repo_slug, same_repo
from bot.sandbox import REFERENCE

EXAMPLES = REFERENCE / "examples"
A = "a" * 40
B = "b" * 40
C = "c0ffee" + "1" * 34
DIGEST = "f105fc5f3b58605631dc25497773d0a392b807cb220f32635fada3ce0dd81ad6"
Obj = dict[str, Any]


def example(name: str, kind: str, obj_name: str | None = None) -> Obj:
    for doc in yaml.safe_load_all((EXAMPLES / name).read_text()):
        if doc and doc["kind"] == kind and obj_name in (None, doc["metadata"]["name"]):
            return dict(doc)
    raise LookupError(f"{kind} {obj_name} not in {name}")


def t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# A real Application (../shared/reference/examples/argocd-application-synced-healthy.yaml, from
# pluhin/sa.it-academy.by): only syncResult.resources and status.resources are shortened.
ARGO_EXAMPLE = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: jenkins, namespace: argocd, generation: 29}
spec:
  destination: {namespace: ci-cd, server: https://kubernetes.default.svc}
  project: default
  source: {path: ./ci-cd, repoURL: https://github.com/NEM1GA/jenkins-helm.git,
           targetRevision: HEAD}
  syncPolicy: {automated: {}}
status:
  health: {status: Healthy}
  history:
  - deployStartedAt: "2022-06-08T10:51:35Z"
    deployedAt: "2022-06-08T10:51:36Z"
    id: 0
    revision: 578ef7c7c990b797df41e57663f878a6ca4893c0
    source: {path: ./ci-cd, repoURL: https://github.com/NEM1GA/jenkins-helm.git,
             targetRevision: HEAD}
  - deployStartedAt: "2022-06-08T11:00:54Z"
    deployedAt: "2022-06-08T11:00:54Z"
    id: 1
    revision: 578ef7c7c990b797df41e57663f878a6ca4893c0
    source: {path: ./ci-cd, repoURL: https://github.com/NEM1GA/jenkins-helm.git,
             targetRevision: HEAD}
  operationState:
    finishedAt: "2022-06-08T11:00:54Z"
    message: successfully synced (all tasks run)
    operation:
      initiatedBy: {username: admin}
      retry: {}
      sync: {revision: 578ef7c7c990b797df41e57663f878a6ca4893c0, syncStrategy: {hook: {}}}
    phase: Succeeded
    startedAt: "2022-06-08T11:00:54Z"
    syncResult:
      resources:
      - {group: apps, hookPhase: Running, kind: Deployment, message: deployment.apps/jenkins
         configured, name: jenkins, namespace: ci-cd, status: Synced, syncPhase: Sync,
         version: v1}
      revision: 578ef7c7c990b797df41e57663f878a6ca4893c0
      source: {path: ./ci-cd, repoURL: https://github.com/NEM1GA/jenkins-helm.git,
               targetRevision: HEAD}
  reconciledAt: "2022-06-08T11:00:54Z"
  resources:
  - {kind: ConfigMap, name: basic-security, namespace: ci-cd, status: Synced, version: v1}
  - {group: apps, health: {status: Healthy}, kind: Deployment, name: jenkins,
     namespace: ci-cd, status: Synced, version: v1}
  sourceType: Directory
  summary:
    externalURLs: [http://jenkins.k8s-9.sa/]
    images: [jfrog.it-academy.by/public/jenkins-ci:ibombel]
  sync:
    comparedTo:
      destination: {namespace: ci-cd, server: https://kubernetes.default.svc}
      source: {path: ./ci-cd, repoURL: https://github.com/NEM1GA/jenkins-helm.git,
               targetRevision: HEAD}
    revision: 578ef7c7c990b797df41e57663f878a6ca4893c0
    status: Synced
"""
JENKINS = "578ef7c7c990b797df41e57663f878a6ca4893c0"


# --- same_repo -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("https://github.com/acme/shop", True, id="https"),
        pytest.param("https://github.com/Acme/Shop.git", True, id="case-and-dot-git"),
        pytest.param("https://github.com/acme/shop/", True, id="trailing-slash"),
        pytest.param("https://github.com/acme/shop.git/", True, id="dot-git-and-slash"),
        pytest.param("http://ghe.example.com/acme/shop", True, id="enterprise-host"),
        pytest.param("https://x-access-token:t@github.com/acme/shop.git", True, id="credentials"),
        pytest.param("git@github.com:acme/shop.git", True, id="scp-like"),
        pytest.param("git@github.com:acme/shop", True, id="scp-like-no-suffix"),
        pytest.param("ssh://git@github.com/acme/shop", True, id="ssh-url"),
        pytest.param("ssh://git@git.example.com:2222/acme/shop.git", True, id="ssh-port"),
        pytest.param("https://gitlab.com/acme/shop", True, id="host-not-compared"),
        pytest.param("github.com/acme/shop", True, id="no-scheme"),
        pytest.param("https://github.com/acme/shop-config", False, id="other-repo"),
        pytest.param("https://github.com/acme/shop/tree/main", False, id="deeper-path"),
        pytest.param("https://github.com/shop", False, id="no-owner"),
        pytest.param("oci://ghcr.io/acme/shop", False, id="oci-is-not-git"),
        pytest.param("", False, id="empty"),
        pytest.param(None, False, id="none"),
    ],
)
def test_same_repo(url: str | None, expected: bool) -> None:
    assert same_repo(url, "acme/shop") is expected


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        pytest.param("ssh://git@github.com/example/repo", "example/repo", id="flux-example"),
        pytest.param("https://stefanprodan.github.io/podinfo", None, id="helm-repo"),
        pytest.param("https://gitlab.com/g/sub/name.git", "g/sub/name", id="subgroups"),
    ],
)
def test_repo_slug(url: str, slug: str | None) -> None:
    assert repo_slug(url) == slug


# --- Argo CD ---------------------------------------------------------------------------------


def argo(**status: Any) -> Obj:
    app: Obj = yaml.safe_load(ARGO_EXAMPLE)
    app["status"].update(status)
    return app


def test_argocd_real_example() -> None:
    state = read_argocd(yaml.safe_load(ARGO_EXAMPLE), "nem1ga/JENKINS-helm")
    assert state == GitOpsState(
        tool="argocd",
        kind="Application",
        namespace="argocd",
        name="jenkins",
        source_kind="Git",
        source_url="https://github.com/NEM1GA/jenkins-helm.git",
        source_repo="NEM1GA/jenkins-helm",
        source_path="ci-cd",
        same_repo=True,
        desired_commit=JENKINS,
        desired_revision=JENKINS,
        applied_commit=JENKINS,
        applied_revision=JENKINS,
        applied_at=t("2022-06-08T11:00:54Z"),
        attempted_commit=JENKINS,
        attempted_revision=JENKINS,
        attempt="succeeded",
        attempt_message="successfully synced (all tasks run)",
        attempt_started_at=t("2022-06-08T11:00:54Z"),
        attempt_finished_at=t("2022-06-08T11:00:54Z"),
        in_sync=True,
        health="Healthy",
        images=("jfrog.it-academy.by/public/jenkins-ci:ibombel",),
        history=(
            (JENKINS, t("2022-06-08T10:51:36Z")),
            (JENKINS, t("2022-06-08T11:00:54Z")),
        ),
    )


def op(phase: str, revision: str, **kw: Any) -> Obj:
    state: Obj = {
        "phase": phase,
        "startedAt": "2026-11-26T10:00:00Z",
        "message": kw.get("message", "..."),
        "operation": {"sync": {"revision": revision}},
        "syncResult": {"revision": revision},
    }
    if phase not in ("Running", "Terminating"):
        state["finishedAt"] = kw.get("finished", "2026-11-26T10:01:00Z")
    return state


HIST_A = [{"id": 3, "revision": A, "deployedAt": "2026-11-26T09:00:00Z"}]

ARGO_CASES = [
    pytest.param(
        argo(operationState=op("Running", B), history=HIST_A),
        {
            "applied_commit": A,
            "attempted_commit": B,
            "attempt": "running",
            "attempt_finished_at": None,
            "applied_at": t("2026-11-26T09:00:00Z"),
        },
        id="running-newer",
    ),
    pytest.param(
        argo(operationState=op("Terminating", B, message=""), history=HIST_A),
        {"attempt": "failed", "attempted_commit": B, "attempt_message": "terminated"},
        id="terminating-is-a-failed-sync",
    ),
    pytest.param(
        argo(
            operationState={**op("Error", B, message="ComparisonError: boom"), "syncResult": {}},
            history=HIST_A,
        ),
        {"attempt": "failed", "attempted_commit": B, "attempt_message": "ComparisonError: boom"},
        id="error-before-any-sync-result",
    ),
    pytest.param(
        argo(
            sync={"status": "OutOfSync", "revision": B},
            operationState={**op("Error", "", message="boom"), "syncResult": {}},
            history=HIST_A,
        ),
        {"attempt": "failed", "attempted_commit": B, "applied_commit": A},
        id="a-sync-of-no-named-revision-is-of-the-resolved-one",
    ),
    pytest.param(
        argo(operationState=op("Failed", B, message="one or more objects failed"), history=HIST_A),
        {
            "applied_commit": A,
            "attempted_commit": B,
            "attempt": "failed",
            "attempt_message": "one or more objects failed",
            "attempt_finished_at": t("2026-11-26T10:01:00Z"),
        },
        id="failed-newer",
    ),
    pytest.param(
        argo(operationState=op("Error", B), history=HIST_A),
        {"attempt": "failed", "applied_commit": A},
        id="error-is-failed",
    ),
    pytest.param(
        argo(operationState=op("Succeeded", B), history=HIST_A),
        {"applied_commit": B, "applied_at": t("2026-11-26T10:01:00Z"), "attempt": "succeeded"},
        id="succeeded-op-newer-than-history",
    ),
    pytest.param(
        argo(operationState=op("Succeeded", B, finished="2026-11-26T08:00:00Z"), history=HIST_A),
        {"applied_commit": A, "applied_at": t("2026-11-26T09:00:00Z")},
        id="history-newer-than-op",
    ),
    pytest.param(
        argo(operationState=op("Failed", B), history=[]),
        {"applied_commit": None, "applied_revision": None, "applied_at": None, "history": ()},
        id="never-applied",
    ),
    pytest.param(
        argo(
            sync={"status": "OutOfSync", "revision": B},
            resources=[
                {"kind": "Deployment", "namespace": "shop", "name": "shop", "status": "OutOfSync"},
                {"kind": "Service", "namespace": "shop", "name": "shop", "status": "Synced"},
                {"kind": "ClusterRole", "name": "shop-read", "status": "OutOfSync"},
            ],
        ),
        {
            "in_sync": False,
            "desired_commit": B,
            "out_of_sync": ("Deployment/shop/shop", "ClusterRole/shop-read"),
        },
        id="out-of-sync",
    ),
    pytest.param(
        argo(sync={"status": "Unknown"}, health={"status": "Degraded"}),
        {"in_sync": None, "desired_commit": None, "health": "Degraded"},
        id="unknown-sync",
    ),
    pytest.param(
        {"kind": "Application", "metadata": {"name": "bare"}, "spec": {}},
        {"name": "bare", "attempt": None, "in_sync": None, "source_kind": None, "same_repo": False},
        id="no-status",
    ),
]


@pytest.mark.parametrize(("app", "expected"), ARGO_CASES)
def test_argocd_cases(app: Obj, expected: dict[str, Any]) -> None:
    state = read_argocd(app, "NEM1GA/jenkins-helm")
    assert {k: getattr(state, k) for k in expected} == expected


def test_argocd_requested_operation_is_running() -> None:
    app = argo()
    app["operation"] = {"sync": {"revision": B}, "initiatedBy": {"automated": True}}
    state = read_argocd(app, "NEM1GA/jenkins-helm")
    assert (state.attempt, state.attempted_commit, state.attempt_started_at) == ("running", B, None)
    assert state.applied_commit == JENKINS


CHART = {"repoURL": "https://charts.example.com", "chart": "shop", "targetRevision": "1.*"}
VALUES = {"repoURL": "https://github.com/acme/shop-config.git", "ref": "values"}
APP_SRC = {"repoURL": "git@github.com:acme/shop.git", "path": "./deploy/prod"}
OTHER = {"repoURL": "https://github.com/acme/platform", "path": "base"}
CONFIG = "https://github.com/acme/config"
VALUES_AND_PATH = {"repoURL": CONFIG, "ref": "values", "path": "envs", "targetRevision": "main"}
CONFIG_PATH = {"repoURL": CONFIG, "path": "envs/prod", "targetRevision": "release"}


def multi(
    sources: list[Obj], revisions: list[str], history_sources: list[Obj] | None = None
) -> Obj:
    hist = history_sources or sources
    return {
        "kind": "Application",
        "metadata": {"name": "shop-prod", "namespace": "argocd"},
        "spec": {"sources": sources},
        "status": {
            "sync": {
                "status": "Synced",
                "revisions": revisions,
                "comparedTo": {"sources": sources},
            },
            "history": [
                {
                    "id": 1,
                    "revisions": [revisions[sources.index(s)] for s in hist],
                    "sources": hist,
                    "deployedAt": "2026-11-26T09:00:00Z",
                }
            ],
        },
    }


MULTI_CASES = [
    pytest.param(
        multi([CHART, VALUES, APP_SRC], ["1.4.0", B, A]),
        {
            "source_url": APP_SRC["repoURL"],
            "source_repo": "acme/shop",
            "source_path": "deploy/prod",
            "same_repo": True,
            "desired_commit": A,
            "applied_commit": A,
        },
        id="app-repo-source-decides",
    ),
    pytest.param(
        multi([CHART, VALUES, APP_SRC], ["1.4.0", B, A], history_sources=[APP_SRC, CHART, VALUES]),
        {"applied_commit": A, "history": ((A, t("2026-11-26T09:00:00Z")),)},
        id="history-sources-in-another-order",
    ),
    pytest.param(
        multi([CHART, VALUES], ["1.4.0", B]),
        {
            "source_repo": "acme/shop-config",
            "source_path": None,  # a ref: source has no path filter
            "same_repo": False,
            "desired_commit": B,
            "applied_commit": B,
        },
        id="ref-source-is-config-repo",
    ),
    pytest.param(
        multi(
            [CHART, VALUES_AND_PATH, CONFIG_PATH],
            ["1.4.0", B, A],
            history_sources=[CONFIG_PATH, CHART, VALUES_AND_PATH],
        ),
        {"source_path": None, "desired_commit": B, "applied_commit": B},
        id="same-url-twice-matched-on-path-and-ref",
    ),
    pytest.param(
        multi([CHART, OTHER, VALUES], ["1.4.0", A, B]),
        {"source_repo": "acme/platform", "source_path": "base", "applied_commit": A},
        id="first-git-source",
    ),
    pytest.param(
        multi([CHART], ["1.4.0"]),
        {
            "source_kind": "Helm",
            "source_repo": None,
            "desired_commit": None,
            "desired_revision": "1.4.0",
            "applied_commit": None,
            "applied_revision": "1.4.0",
            "history": (),
        },
        id="chart-only",
    ),
]


@pytest.mark.parametrize(("app", "expected"), MULTI_CASES)
def test_argocd_multi_source(app: Obj, expected: dict[str, Any]) -> None:
    state = read_argocd(app, "acme/shop")
    assert {k: getattr(state, k) for k in expected} == expected


def test_argocd_single_chart_source() -> None:
    app = {
        "kind": "Application",
        "metadata": {"name": "x"},
        "spec": {"source": CHART},
        "status": {"sync": {"status": "Synced", "revision": "0.1.0"}},
    }
    state = read_argocd(app, "acme/shop")
    assert (state.source_kind, state.desired_commit, state.desired_revision) == (
        "Helm",
        None,
        "0.1.0",
    )


# --- Flux ------------------------------------------------------------------------------------

GR_READY = example("flux-gitrepository-ready-failed-unknown.yaml", "GitRepository", "gr-ready")
FLUX_SHA = "696f056df216eea4f9401adbee0ff744d4df390f"


def test_flux_kustomization_real_example() -> None:
    ks = example("flux-kustomization-ready.yaml", "Kustomization")
    state = read_flux(ks, GR_READY, "example/repo")
    assert state == GitOpsState(
        tool="flux",
        kind="Kustomization",
        namespace="flux-system",
        name="podinfo",
        source_kind="GitRepository",
        source_url="ssh://git@github.com/example/repo",
        source_repo="example/repo",
        source_path="clusters/production",
        same_repo=True,
        desired_commit=FLUX_SHA,
        desired_revision=f"main@sha1:{FLUX_SHA}",
        applied_commit=FLUX_SHA,
        applied_revision=f"main@sha1:{FLUX_SHA}",
        applied_at=t("2021-08-01T04:52:56Z"),
        attempt="succeeded",
        attempt_finished_at=t("2021-08-01T04:52:56Z"),
        in_sync=True,
        ready=True,
        ready_reason="ReconciliationSucceeded",
        ready_message=f"Applied revision: main@sha1:{FLUX_SHA}",
    )


def test_flux_applied_revision_from_ready_message() -> None:
    # The chain example's Kustomization has no lastAppliedRevision, only the Ready message.
    ks = example("flux-helmrelease-chain-ready.yaml", "Kustomization")
    state = read_flux(ks, None, "acme/shop")
    assert (state.applied_commit, state.desired_commit, state.source_path) == (
        FLUX_SHA,
        None,  # the source was not read
        "infrastructure",  # the path comes from the Kustomization itself
    )


def test_flux_helmrelease_real_example() -> None:
    hr = example("flux-helmrelease-chain-ready.yaml", "HelmRelease")
    repo = example("flux-helmrelease-chain-ready.yaml", "HelmRepository")
    state = read_flux(hr, repo, "acme/shop")
    expected = {
        "source_kind": "HelmRepository",
        "source_url": "https://stefanprodan.github.io/podinfo",
        "source_repo": None,
        "same_repo": False,
        "desired_revision": None,  # a HelmRepository's artifact is its index
        "applied_revision": "6.3.5",  # no history: Ready=True vouches for the attempt
        "applied_commit": None,
        "attempted_revision": "6.3.5",
        "attempt": "succeeded",
        "in_sync": True,
        "applied_at": t("2021-07-16T15:42:20Z"),
    }
    assert {k: getattr(state, k) for k in expected} == expected


def ks(status: Obj, **spec: Any) -> Obj:
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "shop", "namespace": "flux-system", "generation": 3},
        "spec": {"path": "./apps/shop", "sourceRef": {"kind": "GitRepository", "name": "c"}} | spec,
        "status": status,
    }


def cond(
    kind: str, status: str, reason: str, message: str = "", at: str = "2026-11-26T10:00:00Z"
) -> Obj:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": at,
    }


def git_source(sha: str) -> Obj:
    return {
        "kind": "GitRepository",
        "spec": {"url": "https://github.com/acme/shop-config"},
        "status": {"artifact": {"revision": f"main@sha1:{sha}"}},
    }


FLUX_CASES = [
    pytest.param(
        ks(
            {
                "lastAppliedRevision": f"main@sha1:{A}",
                "lastAttemptedRevision": f"main@sha1:{B}",
                "conditions": [
                    cond("Ready", "False", "ReconciliationFailed", "kustomize build failed"),
                    cond("Reconciling", "True", "ProgressingWithRetry"),
                ],
            }
        ),
        git_source(B),
        {
            "applied_commit": A,
            "attempted_commit": B,
            "desired_commit": B,
            "attempt": "failed",
            "attempt_message": "kustomize build failed",
            "in_sync": None,
            "applied_at": None,
            "reconciling": True,
        },
        id="newer-revision-failing-with-retry",
    ),
    pytest.param(
        ks(
            {
                "lastAppliedRevision": f"main@sha1:{A}",
                "lastAttemptedRevision": f"main@sha1:{B}",
                "conditions": [
                    cond("Ready", "Unknown", "Progressing", "Reconciliation in progress"),
                    cond("Reconciling", "True", "Progressing"),
                ],
            }
        ),
        git_source(B),
        {
            "attempt": "running",
            "attempted_commit": B,
            "attempt_started_at": t("2026-11-26T10:00:00Z"),
            "in_sync": None,
            "ready": None,
        },
        id="reconciling-newer",
    ),
    pytest.param(
        ks(
            {
                "lastAppliedRevision": f"main@sha1:{A}",
                "lastAttemptedRevision": f"main@sha1:{A}",
                "conditions": [cond("Ready", "False", "HealthCheckFailed", "timeout")],
            }
        ),
        git_source(A),
        {"attempt": "failed", "in_sync": None, "ready_reason": "HealthCheckFailed"},
        id="health-check-is-not-sync",
    ),
    pytest.param(
        ks(
            {
                "lastAppliedRevision": f"main@sha1:{A}",
                "lastAttemptedRevision": f"main@sha1:{A}",
                "conditions": [cond("Ready", "False", "ReconciliationFailed", "apply failed")],
            }
        ),
        git_source(A),
        {"attempt": "failed", "in_sync": False, "attempted_commit": A},
        id="applied-revision-no-longer-held",
    ),
    pytest.param(
        ks(
            {
                "lastAppliedRevision": f"main@sha1:{A}",
                "conditions": [
                    cond("Ready", "True", "ReconciliationSucceeded"),
                    cond("Stalled", "True", "InvalidSpec"),
                ],
            }
        ),
        None,
        {"stalled": True, "attempt": "failed"},
        id="stalled",
    ),
    pytest.param(
        ks({"lastAppliedRevision": f"main/{A}"}, suspend=True),
        None,
        {"applied_commit": A, "suspended": True, "attempt": None, "in_sync": None},
        id="old-format-suspended-no-conditions",
    ),
    pytest.param(
        ks(
            {
                "lastAppliedRevision": f"main@sha1:{A}",
                "lastAttemptedRevision": f"main@sha1:{B}",
                "conditions": [cond("Ready", "False", "ReconciliationFailed", "boom")],
                "history": [
                    {
                        "digest": "sha256:2",
                        "firstReconciled": "2026-11-26T09:50:00Z",
                        "lastReconciledStatus": "ReconciliationFailed",
                        "metadata": {"revision": f"main@sha1:{B}"},
                    },
                    {
                        "digest": "sha256:1",
                        "firstReconciled": "2026-11-26T08:00:00Z",
                        "lastReconciledStatus": "ReconciliationSucceeded",
                        "metadata": {"revision": f"main@sha1:{A}"},
                    },
                ],
            }
        ),
        None,
        {"applied_at": t("2026-11-26T08:00:00Z"), "history": ((A, t("2026-11-26T08:00:00Z")),)},
        id="applied-at-from-history",
    ),
    pytest.param(
        ks(
            {"lastAppliedRevision": f"sha256:{DIGEST}"},
            sourceRef={"kind": "Bucket", "name": "b"},
        ),
        None,
        {"applied_commit": None, "applied_revision": f"sha256:{DIGEST}", "source_path": None},
        id="bucket-names-no-commit",
    ),
    pytest.param(
        ks({"lastAppliedRevision": A}, sourceRef={"kind": "Bucket", "name": "b"}),
        None,
        {"applied_commit": None, "applied_revision": A},
        id="old-bucket-sha1-checksum-is-no-commit",
    ),
]


@pytest.mark.parametrize(("obj", "source", "expected"), FLUX_CASES)
def test_flux_cases(obj: Obj, source: Obj | None, expected: dict[str, Any]) -> None:
    state = read_flux(obj, source, "acme/shop")
    assert {k: getattr(state, k) for k in expected} == expected


def oci_source(metadata: bool = True) -> Obj:
    artifact: Obj = {"revision": f"latest@sha256:{DIGEST}"}
    if metadata:
        artifact["metadata"] = {
            "org.opencontainers.image.revision": f"main@sha1:{C}",
            "org.opencontainers.image.source": "https://github.com/acme/shop",
        }
    return {
        "kind": "OCIRepository",
        "spec": {"url": "oci://ghcr.io/acme/shop-manifests"},
        "status": {"artifact": artifact},
    }


OCI_CASES = [
    pytest.param(
        {
            "lastAppliedRevision": f"latest@sha256:{DIGEST}",
            "lastAppliedOriginRevision": f"main@sha1:{C}",
        },
        oci_source(),
        {"applied_commit": C, "desired_commit": C, "source_repo": "acme/shop", "same_repo": True},
        id="origin-revision",
    ),
    pytest.param(
        {"lastAppliedRevision": f"latest@sha256:{DIGEST}"},
        oci_source(),
        {"applied_commit": C, "source_url": "oci://ghcr.io/acme/shop-manifests"},
        id="artifact-metadata-when-digest-matches",
    ),
    pytest.param(
        {"lastAppliedRevision": "latest@sha256:" + "0" * 64},
        oci_source(),
        {"applied_commit": None, "desired_commit": C},
        id="older-artifact-names-no-commit",
    ),
    pytest.param(
        {"lastAppliedRevision": "latest@sha256:" + "0" * 64, "lastAppliedOriginRevision": A},
        oci_source(),
        {"applied_commit": A, "desired_commit": C},
        id="origin-revision-of-an-older-artifact",
    ),
    pytest.param(
        {"lastAppliedRevision": f"latest@sha256:{DIGEST}"},
        oci_source(metadata=False),
        {"applied_commit": None, "desired_commit": None, "source_repo": None, "same_repo": False},
        id="no-metadata",
    ),
]


@pytest.mark.parametrize(("status", "source", "expected"), OCI_CASES)
def test_flux_oci(status: Obj, source: Obj, expected: dict[str, Any]) -> None:
    obj = ks(status, sourceRef={"kind": "OCIRepository", "name": "shop"})
    state = read_flux(obj, source, "acme/shop")
    assert {k: getattr(state, k) for k in expected} == expected


def helmrelease(status: Obj, api: str = "v2") -> Obj:
    return {
        "apiVersion": f"helm.toolkit.fluxcd.io/{api}",
        "kind": "HelmRelease",
        "metadata": {"name": "shop", "namespace": "shop"},
        "spec": {
            "chart": {
                "spec": {
                    "chart": "./charts/shop",
                    "reconcileStrategy": "Revision",
                    "sourceRef": {"kind": "GitRepository", "name": "shop"},
                }
            }
        },
        "status": status,
    }


def snapshot(version: str, status: str, at: str) -> Obj:
    return {"chartName": "shop", "chartVersion": version, "status": status, "lastDeployed": at}


HELM_CASES = [
    pytest.param(
        helmrelease(
            {
                "history": [snapshot(f"0.1.0+{C[:12]}", "deployed", "2026-11-26T10:02:00Z")],
                "lastAttemptedRevision": f"0.1.0+{C[:12]}",
                "conditions": [cond("Ready", "True", "UpgradeSucceeded")],
            }
        ),
        {
            "desired_commit": C,
            "applied_commit": C,
            "attempted_commit": C,
            "applied_at": t("2026-11-26T10:02:00Z"),
            "source_path": "charts/shop",
            "source_repo": "acme/shop-config",
            "in_sync": True,
        },
        id="git-chart-revision-strategy",
    ),
    pytest.param(
        helmrelease(
            {
                "history": [
                    snapshot(f"0.1.0+{C[:12]}", "failed", "2026-11-26T10:02:00Z"),
                    snapshot(f"0.1.0+{A[:12]}", "superseded", "2026-11-26T09:02:00Z"),
                    snapshot(f"0.1.0+{B[:12]}", "deployed", "2026-11-26T08:02:00Z"),
                ],
                "lastAttemptedRevision": f"0.1.0+{C[:12]}",
                "conditions": [cond("Ready", "False", "UpgradeFailed", "timed out waiting")],
            }
        ),
        {
            "applied_revision": f"0.1.0+{B[:12]}",
            "applied_commit": None,  # only the source's current commit can be matched
            "applied_at": t("2026-11-26T08:02:00Z"),
            "attempted_commit": C,
            "attempt": "failed",
            "attempt_message": "timed out waiting",
        },
        id="upgrade-failed",
    ),
    pytest.param(
        helmrelease(
            {
                "lastAppliedRevision": "0.1.0",
                "lastAttemptedRevision": "0.1.0",
                "conditions": [cond("Ready", "True", "ReconciliationSucceeded")],
            },
            api="v2beta1",
        ),
        {"applied_revision": "0.1.0", "applied_commit": None, "desired_commit": C},
        id="legacy-last-applied-revision",
    ),
]


@pytest.mark.parametrize(("obj", "expected"), HELM_CASES)
def test_flux_helmrelease(obj: Obj, expected: dict[str, Any]) -> None:
    state = read_flux(obj, git_source(C), "acme/shop")
    assert {k: getattr(state, k) for k in expected} == expected


def test_readers_do_not_modify_their_input() -> None:
    app, kustomization = argo(), example("flux-kustomization-ready.yaml", "Kustomization")
    before = copy.deepcopy((app, kustomization))
    read_argocd(app, "acme/shop")
    read_flux(kustomization, GR_READY, "acme/shop")
    assert (app, kustomization) == before
