"""Reading workloads and judging their rollout like `kubectl rollout status`, table-driven."""

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from bot.kube.workloads import (
    WAITING_FOR_CONTROLLER,
    WorkloadState,
    read_workload,
    rollout_progress,
)
from bot.sandbox import REFERENCE

EXAMPLES = REFERENCE / "examples"
Obj = dict[str, Any]


def example(name: str, kind: str) -> Obj:
    docs = [d for d in yaml.safe_load_all((EXAMPLES / name).read_text()) if d]
    return dict(next(d for d in docs if d["kind"] == kind))


def t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def rs(name: str, revision: int | None, created: str, owner: str = "shop", uid: str = "u1") -> Obj:
    annotations = {} if revision is None else {"deployment.kubernetes.io/revision": str(revision)}
    return {
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "creationTimestamp": created,
            "annotations": annotations,
            "labels": {"pod-template-hash": name.rsplit("-", 1)[-1]},
            "ownerReferences": [{"kind": "Deployment", "name": owner, "uid": uid}],
        },
    }


def pod(
    name: str,
    owner_kind: str = "ReplicaSet",
    owner: str = "shop-new",
    labels: dict[str, str] | None = None,
    namespace: str = "shop",
    **status: Any,
) -> Obj:
    return {
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "creationTimestamp": "2026-11-26T10:00:30Z",
            "labels": labels or {},
            "ownerReferences": [{"kind": owner_kind, "name": owner}],
        },
        "status": {"phase": "Running"} | status,
    }


def container(restarts: int = 0, waiting: str | None = None, last: str | None = None) -> Obj:
    cs: Obj = {"name": "app", "restartCount": restarts, "state": {"running": {}}}
    if waiting:
        cs["state"] = {"waiting": {"reason": waiting}}
    if last:
        cs["lastState"] = {"terminated": {"reason": last}}
    return cs


def deployment(**status: Any) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "shop", "namespace": "shop", "uid": "u1", "generation": 4},
        "spec": {
            "replicas": 3,
            "template": {
                "spec": {
                    "containers": [
                        {"name": "app", "image": "ghcr.io/acme/shop:sha-3f2c1ab"},
                        {"name": "proxy", "image": "envoy:1.30"},
                    ]
                }
            },
        },
        "status": {
            "observedGeneration": 4,
            "replicas": 3,
            "updatedReplicas": 3,
            "readyReplicas": 3,
            "availableReplicas": 3,
        }
        | status,
    }


# --- real examples ---------------------------------------------------------------------------


def test_complete_deployment_example() -> None:
    obj = example("deployment-rollout-complete.yaml", "Deployment")
    new = rs("nginx-deployment-648fdd98d4", 1, "2018-07-05T09:30:00Z", owner="nginx-deployment")
    new["metadata"]["namespace"] = "default"
    new["metadata"]["ownerReferences"][0]["uid"] = obj["metadata"]["uid"]
    ws = read_workload(obj, [new], [])
    assert ws == WorkloadState(
        kind="Deployment",
        namespace="default",
        name="nginx-deployment",
        generation=1,
        observed_generation=1,
        desired=1,
        replicas=1,
        updated=1,
        ready=1,
        available=1,
        images=("nginx:1.7.9",),
        progressing_message='ReplicaSet "nginx-deployment-648fdd98d4" has successfully progressed.',
        started_at=t("2018-07-05T09:30:00Z"),
        strategy="RollingUpdate",
        new_revision="648fdd98d4",
        completed_at=t("2018-07-05T09:30:09Z"),
    )
    assert rollout_progress(ws) == ("complete", "successfully rolled out")


def test_in_progress_deployment_example() -> None:
    ws = read_workload(example("deployment-rollout-in-progress.yaml", "Deployment"), [], [])
    assert (ws.replicas, ws.updated, ws.completed_at, ws.started_at) == (2, 1, None, None)
    assert rollout_progress(ws) == ("progressing", "1 old replica pending termination")


def test_deployment_without_status_example() -> None:
    ws = read_workload(example("flux-helmrelease-chain-ready.yaml", "Deployment"), [], [])
    assert (ws.images, ws.observed_generation) == (("busybox",), None)
    assert rollout_progress(ws) == ("progressing", WAITING_FOR_CONTROLLER)


# --- the new ReplicaSet and its pods ---------------------------------------------------------

REPLICASETS = [
    rs("shop-old", 3, "2026-11-25T10:00:00Z"),
    rs("shop-new", 4, "2026-11-26T10:00:00Z"),
    rs("other-x", 9, "2026-11-26T11:00:00Z", owner="other", uid="u2"),  # not ours
]


@pytest.mark.parametrize(
    ("pods", "problems", "restarts"),
    [
        pytest.param([pod("a", containerStatuses=[container(2)])], (), 2, id="healthy-restarted"),
        pytest.param(
            [pod("a", containerStatuses=[container(5, "CrashLoopBackOff")])],
            (("a", "CrashLoopBackOff"),),
            5,
            id="crashloop",
        ),
        pytest.param(
            [pod("a", containerStatuses=[container(3, "CrashLoopBackOff", last="OOMKilled")])],
            (("a", "CrashLoopBackOff (OOMKilled)"),),
            3,
            id="crashloop-oom",
        ),
        pytest.param(
            [pod("a", containerStatuses=[container(1, last="OOMKilled")])],
            (),
            1,
            id="oom-then-running-again",
        ),
        pytest.param(
            [pod("a", containerStatuses=[container(1, "ContainerCreating", last="OOMKilled")])],
            (("a", "OOMKilled"),),
            1,
            id="oom-restarting",
        ),
        pytest.param(
            [
                pod(
                    "a",
                    containerStatuses=[
                        {"restartCount": 0, "state": {"terminated": {"reason": "OOMKilled"}}}
                    ],
                )
            ],
            (("a", "OOMKilled"),),
            0,
            id="oom-now",
        ),
        pytest.param(
            [pod("a", initContainerStatuses=[container(0, "ImagePullBackOff")])],
            (("a", "ImagePullBackOff"),),
            0,
            id="init-image-pull",
        ),
        pytest.param(
            [pod("a", containerStatuses=[container(0, "ErrImagePull")])],
            (("a", "ErrImagePull"),),
            0,
            id="err-image-pull",
        ),
        pytest.param(
            [pod("a", containerStatuses=[container(0, "CreateContainerConfigError")])],
            (("a", "CreateContainerConfigError"),),
            0,
            id="config-error",
        ),
        pytest.param(
            [pod("a", phase="Failed", reason="Evicted")], (("a", "Evicted"),), 0, id="evicted"
        ),
        pytest.param([pod("a", phase="Failed")], (("a", "Failed"),), 0, id="failed-phase"),
        pytest.param(
            [pod("a", containerStatuses=[container(0, "ContainerCreating")])],
            (),
            0,
            id="creating-is-fine",
        ),
        pytest.param(
            [
                pod("old", owner="shop-old", containerStatuses=[container(7, "CrashLoopBackOff")]),
                pod("x", owner="other-x", containerStatuses=[container(1, "ImagePullBackOff")]),
                pod("elsewhere", namespace="dev", containerStatuses=[container(1, "ErrImagePull")]),
            ],
            (),
            0,
            id="old-foreign-and-other-namespace-pods-ignored",
        ),
        pytest.param(
            [
                pod(
                    "unowned",
                    labels={"pod-template-hash": "new"},
                    containerStatuses=[container(1, "CrashLoopBackOff")],
                )
                | {"metadata": {"name": "unowned", "labels": {"pod-template-hash": "new"}}}
            ],
            (("unowned", "CrashLoopBackOff"),),
            1,
            id="no-owner-references-matched-by-hash",
        ),
    ],
)
def test_deployment_new_pods(
    pods: list[Obj], problems: tuple[tuple[str, str], ...], restarts: int
) -> None:
    ws = read_workload(deployment(), REPLICASETS, pods)
    assert (ws.started_at, ws.new_revision) == (t("2026-11-26T10:00:00Z"), "new")
    assert (ws.pod_problems, ws.restarts) == (problems, restarts)


def test_replicasets_without_revision_annotation_name_no_new_one() -> None:
    ws = read_workload(deployment(), [rs("shop-new", None, "2026-11-26T10:00:00Z")], [])
    assert (ws.started_at, ws.new_revision) == (None, None)


# --- kubectl rollout status ------------------------------------------------------------------

DEADLINE = {
    "type": "Progressing",
    "status": "False",
    "reason": "ProgressDeadlineExceeded",
    "message": 'ReplicaSet "shop-new" has timed out progressing.',
}

DEPLOYMENT_CASES = [
    pytest.param(deployment(), ("complete", "successfully rolled out"), id="complete"),
    pytest.param(
        deployment(observedGeneration=3), ("progressing", WAITING_FOR_CONTROLLER), id="not-observed"
    ),
    pytest.param(
        deployment(updatedReplicas=1, replicas=4),
        ("progressing", "1 of 3 new replicas updated"),
        id="updating",
    ),
    pytest.param(
        deployment(replicas=4),
        ("progressing", "1 old replica pending termination"),
        id="old-replicas",
    ),
    pytest.param(
        deployment(availableReplicas=2),
        ("progressing", "2 of 3 updated replicas available"),
        id="not-available",
    ),
    pytest.param(
        deployment(updatedReplicas=1, conditions=[DEADLINE]),
        ("failed", 'ProgressDeadlineExceeded: ReplicaSet "shop-new" has timed out progressing.'),
        id="deadline",
    ),
    pytest.param(
        deployment(updatedReplicas=1) | {"spec": deployment()["spec"] | {"paused": True}},
        ("paused", "paused"),
        id="paused",
    ),
    pytest.param(
        deployment() | {"spec": deployment()["spec"] | {"paused": True}},
        ("complete", "successfully rolled out"),
        id="paused-after-finishing",
    ),
]


@pytest.mark.parametrize(("obj", "expected"), DEPLOYMENT_CASES)
def test_deployment_progress(obj: Obj, expected: tuple[str, str]) -> None:
    assert rollout_progress(read_workload(obj, [], [])) == expected


def rollout(status: Obj, paused: bool = False) -> Obj:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "shop", "namespace": "shop", "uid": "r1", "generation": 7},
        "spec": {
            "replicas": 5,
            "paused": paused,
            "strategy": {
                "canary": {
                    "steps": [
                        {"setWeight": 20},
                        {"pause": {}},
                        {"setWeight": 60},
                        {"pause": {"duration": "10m"}},
                        {"setWeight": 100},
                    ]
                }
            },
            "template": {"spec": {"containers": [{"name": "app", "image": "shop:sha-3f2c1ab"}]}},
        },
        "status": {
            "observedGeneration": "7",  # a string in the Rollout CRD
            "currentPodHash": "new",
            "stableRS": "new",
            "replicas": 5,
            "updatedReplicas": 5,
            "readyReplicas": 5,
            "availableReplicas": 5,
            "phase": "Healthy",
        }
        | status,
    }


CANARY_PAUSED = {
    "currentStepIndex": 1,
    "stableRS": "old",
    "replicas": 6,
    "updatedReplicas": 1,
    "availableReplicas": 6,
    "phase": "Paused",
    "message": "CanaryPauseStep",
    "controllerPause": True,
    "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-11-26T10:05:00Z"}],
}

ROLLOUT_CASES = [
    pytest.param(rollout({}), ("complete", "successfully rolled out"), None, id="healthy"),
    pytest.param(rollout(CANARY_PAUSED), ("paused", "paused at step 2/5"), (2, 5), id="canary"),
    pytest.param(
        rollout({**CANARY_PAUSED, "pauseConditions": None, "controllerPause": None}, paused=True),
        ("paused", "paused at step 2/5"),
        (2, 5),
        id="user-paused",
    ),
    pytest.param(
        rollout({"stableRS": "old", "updatedReplicas": 2, "replicas": 7, "phase": "Progressing"}),
        ("progressing", "2 of 5 new replicas updated"),
        None,
        id="progressing",
    ),
    pytest.param(
        rollout({"stableRS": "old"}),
        ("progressing", "waiting for the new version to be promoted to stable"),
        None,
        id="not-promoted",
    ),
    pytest.param(
        rollout({"abort": True, "message": "RolloutAborted: metric failed", "phase": "Degraded"}),
        ("failed", "aborted: RolloutAborted: metric failed"),
        None,
        id="aborted",
    ),
    pytest.param(
        rollout({"phase": "Degraded", "message": "ProgressDeadlineExceeded"}),
        ("failed", "Degraded: ProgressDeadlineExceeded"),
        None,
        id="degraded",
    ),
    pytest.param(
        rollout({"observedGeneration": "6"}),
        ("progressing", WAITING_FOR_CONTROLLER),
        None,
        id="not-observed",
    ),
    pytest.param(
        rollout({"observedGeneration": "6b7b4d8c9f"}),
        ("complete", "successfully rolled out"),
        None,
        id="legacy-hash-generation-skipped",
    ),
]


@pytest.mark.parametrize(("obj", "expected", "step"), ROLLOUT_CASES)
def test_rollout_progress(
    obj: Obj, expected: tuple[str, str], step: tuple[int, int] | None
) -> None:
    ws = read_workload(obj, [], [])
    assert (rollout_progress(ws), ws.paused_step) == (expected, step)


def test_rollout_new_replicaset_and_pods() -> None:
    def rrs(name: str, hash_: str, created: str) -> Obj:
        return {
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": "shop",
                "creationTimestamp": created,
                "labels": {"rollouts-pod-template-hash": hash_},
                "ownerReferences": [{"kind": "Rollout", "name": "shop", "uid": "r1"}],
            },
        }

    sets = [
        rrs("shop-old", "old", "2026-11-20T00:00:00Z"),
        rrs("shop-new", "new", "2026-11-26T10:00:00Z"),
    ]
    pods = [
        pod("shop-new-a", owner="shop-new", containerStatuses=[container(4, "CrashLoopBackOff")]),
        pod("shop-old-a", owner="shop-old", containerStatuses=[container(9, "CrashLoopBackOff")]),
    ]
    ws = read_workload(rollout(CANARY_PAUSED), sets, pods)
    assert (ws.observed_generation, ws.strategy, ws.current_revision) == (7, "Canary", "old")
    assert ws.started_at == t("2026-11-26T10:00:00Z")
    assert (ws.pod_problems, ws.restarts) == ((("shop-new-a", "CrashLoopBackOff"),), 4)


def statefulset(**status: Any) -> Obj:
    return {
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "shop", "uid": "s1", "generation": 2},
        "spec": {
            "replicas": 3,
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {"spec": {"containers": [{"name": "db", "image": "db:sha-3f2c1ab"}]}},
        },
        "status": {
            "observedGeneration": 2,
            "replicas": 3,
            "updatedReplicas": 3,
            "readyReplicas": 3,
            "availableReplicas": 3,
            "currentRevision": "db-new",
            "updateRevision": "db-new",
        }
        | status,
    }


STATEFULSET_CASES = [
    pytest.param(statefulset(), ("complete", "successfully rolled out"), id="complete"),
    pytest.param(
        statefulset(readyReplicas=2), ("progressing", "2 of 3 pods ready"), id="not-ready"
    ),
    pytest.param(
        statefulset(currentRevision="db-old", updatedReplicas=1),
        ("progressing", "1 of 3 pods at revision db-new"),
        id="rolling",
    ),
    pytest.param(
        statefulset(observedGeneration=1), ("progressing", WAITING_FOR_CONTROLLER), id="stale"
    ),
    pytest.param(
        statefulset(currentRevision="db-old", updatedReplicas=1)
        | {
            "spec": statefulset()["spec"]
            | {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}}
        },
        ("complete", "successfully rolled out"),
        id="partition-reached",
    ),
    pytest.param(
        statefulset(currentRevision="db-old", updatedReplicas=0)
        | {
            "spec": statefulset()["spec"]
            | {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}}
        },
        ("progressing", "partitioned roll out: 0 of 1 new pods updated"),
        id="partition-waiting",
    ),
]


@pytest.mark.parametrize(("obj", "expected"), STATEFULSET_CASES)
def test_statefulset_progress(obj: Obj, expected: tuple[str, str]) -> None:
    assert rollout_progress(read_workload(obj, [], [])) == expected


def test_statefulset_revision_and_pods() -> None:
    revision = {
        "kind": "ControllerRevision",
        "metadata": {
            "name": "db-new",
            "namespace": "shop",
            "creationTimestamp": "2026-11-26T09:59:00Z",
        },
    }
    pods = [
        pod("db-2", "StatefulSet", "db", {"controller-revision-hash": "db-new"},
            containerStatuses=[container(1, "CrashLoopBackOff")]),
        pod("db-1", "StatefulSet", "db", {"controller-revision-hash": "db-old"},
            containerStatuses=[container(1, "CrashLoopBackOff")]),
    ]  # fmt: skip
    ws = read_workload(statefulset(currentRevision="db-old"), [revision], pods)
    assert (ws.started_at, ws.pod_problems) == (
        t("2026-11-26T09:59:00Z"),
        (("db-2", "CrashLoopBackOff"),),
    )
    # Without the ControllerRevision, the first new pod's creation is the best known start.
    assert read_workload(statefulset(), [], pods).started_at == t("2026-11-26T10:00:30Z")


def daemonset(**status: Any) -> Obj:
    return {
        "kind": "DaemonSet",
        "metadata": {
            "name": "edge",
            "namespace": "shop",
            "generation": 5,
            "annotations": {"deprecated.daemonset.template.generation": "3"},
        },
        "spec": {
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {"spec": {"containers": [{"name": "e", "image": "edge:sha-3f2c1ab"}]}},
        },
        "status": {
            "observedGeneration": 5,
            "desiredNumberScheduled": 4,
            "currentNumberScheduled": 4,
            "updatedNumberScheduled": 4,
            "numberReady": 4,
            "numberAvailable": 4,
        }
        | status,
    }


DAEMONSET_CASES = [
    pytest.param(daemonset(), ("complete", "successfully rolled out"), id="complete"),
    pytest.param(
        daemonset(updatedNumberScheduled=1),
        ("progressing", "1 of 4 new replicas updated"),
        id="updating",
    ),
    pytest.param(
        daemonset(numberAvailable=3),
        ("progressing", "3 of 4 updated pods available"),
        id="not-available",
    ),
    pytest.param(
        daemonset(observedGeneration=4), ("progressing", WAITING_FOR_CONTROLLER), id="stale"
    ),
]


@pytest.mark.parametrize(("obj", "expected"), DAEMONSET_CASES)
def test_daemonset_progress(obj: Obj, expected: tuple[str, str]) -> None:
    ws = read_workload(obj, [], [])
    assert (ws.desired, ws.started_at) == (4, None)
    assert rollout_progress(ws) == expected


def test_daemonset_new_pods_by_template_generation() -> None:
    pods = [
        pod("edge-a", "DaemonSet", "edge", {"pod-template-generation": "3"},
            containerStatuses=[container(2, "ErrImagePull")]),
        pod("edge-b", "DaemonSet", "edge", {"pod-template-generation": "2"},
            containerStatuses=[container(2, "ErrImagePull")]),
        pod("other", "DaemonSet", "other", {"pod-template-generation": "3"},
            containerStatuses=[container(2, "ErrImagePull")]),
    ]  # fmt: skip
    ws = read_workload(daemonset(), [], pods)
    assert (ws.pod_problems, ws.restarts, ws.new_revision) == (
        (("edge-a", "ErrImagePull"),),
        2,
        "3",
    )
