"""Every overlay under deploy/kubernetes builds with `kubectl kustomize` as it is, fits the API
schemas, and runs shiptrace the way the code expects: the env vars Settings reads, the Secret
keys its mode needs (and the README's `kubectl create secret` names), the health routes, a
writable HOME and database, read-only access to exactly what the code reads."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from aiohttp import web

from bot.app import _web_routes
from bot.config import Settings, parse_service_map
from bot.engine import cluster_reads
from tests.deploy.manifests import (
    KUBERNETES,
    OVERLAYS,
    ROOT,
    build,
    build_components,
    container,
    env,
    grants,
    kinds,
    one,
    schema_errors,
    secret_keys,
    workload,
)

SECRET = "shiptrace"
# The keys of the Secret each mode reads: nothing another mode needs.
SECRET_KEYS = {
    "http": {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "GITHUB_TOKEN"},
    "socket-mode": {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "GITHUB_TOKEN"},
    "github-app": {
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "GITHUB_APP_ID",
        "GITHUB_APP_INSTALLATION_ID",
        "github-app.pem",
    },
    "ha": {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "GITHUB_TOKEN"},
}
HTTP_MODE = ("http", "github-app", "ha")
# LeaseClient reads (get), creates (create) and replaces (update) its one Lease.
LEASE_VERBS = {"get", "create", "update"}

Object = dict[str, Any]


def volumes(work: Object) -> dict[str, Object]:
    return {v["name"]: v for v in work["spec"]["template"]["spec"].get("volumes") or []}


def mounts(work: Object) -> dict[str, Object]:
    """mountPath → volumeMount."""
    return {m["mountPath"]: m for m in container(work).get("volumeMounts") or []}


def mounted_at(work: Object, path: str) -> tuple[Object, Object | None]:
    """The volumeMount holding ``path`` and its pod volume (None: a volumeClaimTemplate)."""
    mount = mounts(work).get(str(PurePosixPath(path).parent)) or mounts(work).get(path)
    assert mount is not None, f"nothing is mounted at {path}"
    return mount, volumes(work).get(mount["name"])


def value(work: Object, name: str) -> str:
    return str(env(work)[name]["value"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_fits_the_api_schemas(overlay: str) -> None:
    errors = [e for obj in build(overlay) for e in schema_errors(obj)]
    assert errors == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_cluster_role_grants_exactly_what_the_code_reads(overlay: str) -> None:
    objects = build(overlay)
    role = one(objects, "ClusterRole")
    assert grants(role) == cluster_reads()
    binding = one(objects, "ClusterRoleBinding")
    account = one(objects, "ServiceAccount")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {
            "kind": "ServiceAccount",
            "name": account["metadata"]["name"],
            "namespace": account["metadata"]["namespace"],
        }
    ]
    assert (
        workload(objects)["spec"]["template"]["spec"]["serviceAccountName"]
        == (account["metadata"]["name"])
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_everything_namespaced_is_in_the_namespace_it_creates(overlay: str) -> None:
    objects = build(overlay)
    namespace = one(objects, "Namespace")["metadata"]["name"]
    cluster_wide = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] not in cluster_wide} == {
        namespace
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_pod_reads_only_its_modes_keys_of_one_secret(overlay: str) -> None:
    assert secret_keys(workload(build(overlay))) == {SECRET: SECRET_KEYS[overlay]}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_readme_creates_the_secret_with_exactly_those_keys(overlay: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    apply = f"kubectl apply -k deploy/kubernetes/overlays/{overlay}\n"
    blocks = [b for b in re.findall(r"```sh\n(.*?)```", readme, re.S) if apply in b]
    assert len(blocks) == 1, f"README: one sh block should end with {apply!r}"
    assert f"create secret generic {SECRET} " in blocks[0]
    keys = set(re.findall(r"--from-(?:literal|file)=([\w.-]+)=", blocks[0]))
    assert keys == SECRET_KEYS[overlay]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_env_var_is_one_settings_reads(overlay: str) -> None:
    known = {name.upper() for name in Settings.model_fields} | {"HOME"}
    assert set(env(workload(build(overlay)))) - known == set()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_pod_runs_as_non_root_on_a_read_only_root(overlay: str) -> None:
    work = workload(build(overlay))
    pod = work["spec"]["template"]["spec"]["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] != 0
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    own = container(work)["securityContext"]
    assert own["readOnlyRootFilesystem"] is True
    assert own["allowPrivilegeEscalation"] is False
    assert own["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_what_the_process_writes_is_on_writable_volumes(overlay: str) -> None:
    work = workload(build(overlay))
    # HOME: matplotlib's config and font cache; /tmp: temporary files.
    for path in (value(work, "HOME"), "/tmp"):
        mount = mounts(work).get(path)
        assert mount is not None, f"nothing is mounted at {path}"
        assert not mount.get("readOnly")
        assert "emptyDir" in volumes(work)[mount["name"]]
    mount, volume = mounted_at(work, value(work, "SHIPTRACE_DB"))
    assert not mount.get("readOnly")
    claims = [t["metadata"]["name"] for t in work["spec"].get("volumeClaimTemplates") or []]
    # The database outlives the pod: its claim, or its replica's claim.
    assert mount["name"] in claims if volume is None else "persistentVolumeClaim" in volume


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_service_map_is_the_generated_config_map(overlay: str) -> None:
    objects = build(overlay)
    work = workload(objects)
    path = PurePosixPath(value(work, "SHIPTRACE_CONFIG"))
    mount, volume = mounted_at(work, str(path))
    assert mount["readOnly"] is True
    assert volume is not None
    config_map = one(objects, "ConfigMap", volume["configMap"]["name"])
    source = (KUBERNETES / "base" / "shiptrace.yaml").read_text(encoding="utf-8")
    assert config_map["data"] == {path.name: source}


def test_the_shipped_service_map_is_valid() -> None:
    source = KUBERNETES / "base" / "shiptrace.yaml"
    assert parse_service_map(source.read_text(encoding="utf-8"), str(source)).services


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_ask_the_health_routes_on_the_served_port(overlay: str) -> None:
    app = web.Application()
    _web_routes(app, [])
    routes = {resource.canonical for resource in app.router.resources()}
    own = container(workload(build(overlay)))
    ports = {p["name"]: p["containerPort"] for p in own["ports"]}
    want = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
    for probe, path in want.items():
        get = own[probe]["httpGet"]
        assert get["path"] == path and path in routes, probe
        assert ports[get["port"]] == Settings.model_fields["shiptrace_port"].default, probe


@pytest.mark.parametrize("overlay", ["http", "socket-mode", "github-app"])
def test_one_replica_keeps_its_database_on_a_claim_of_its_own(overlay: str) -> None:
    objects = build(overlay)
    work = one(objects, "Deployment")
    assert work["spec"]["replicas"] == 1
    # A ReadWriteOnce volume has one user at a time: the old pod goes before the new starts.
    assert work["spec"]["strategy"] == {"type": "Recreate"}
    _, volume = mounted_at(work, value(work, "SHIPTRACE_DB"))
    assert volume is not None
    claim = one(objects, "PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]


@pytest.mark.parametrize("overlay", HTTP_MODE)
def test_http_mode_has_the_signing_secret_a_service_and_an_ingress(overlay: str) -> None:
    objects = build(overlay)
    work = workload(objects)
    assert "SLACK_SIGNING_SECRET" in env(work)
    assert "SLACK_APP_TOKEN" not in env(work)
    service = one(objects, "Service", "shiptrace")
    labels = work["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert work["spec"]["selector"]["matchLabels"].items() <= labels.items()
    named = {p["name"] for p in container(work)["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= named
    ingress = one(objects, "Ingress")
    paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert [(p["path"], p["backend"]["service"]["name"]) for p in paths] == [
        ("/slack/events", "shiptrace")
    ]
    port = paths[0]["backend"]["service"]["port"]["name"]
    assert port in {p["name"] for p in service["spec"]["ports"]}


def test_socket_mode_has_the_app_token_and_nothing_inbound() -> None:
    objects = build("socket-mode")
    assert "SLACK_APP_TOKEN" in env(workload(objects))
    assert "SLACK_SIGNING_SECRET" not in env(workload(objects))
    assert "Service" not in kinds(objects) and "Ingress" not in kinds(objects)


def test_github_app_mode_mounts_the_private_key_as_a_file() -> None:
    work = workload(build("github-app"))
    assert "GITHUB_TOKEN" not in env(work)
    for name in ("GITHUB_APP_ID", "GITHUB_APP_INSTALLATION_ID"):
        assert env(work)[name]["valueFrom"]["secretKeyRef"] == {"name": SECRET, "key": name}
    path = PurePosixPath(value(work, "GITHUB_APP_PRIVATE_KEY"))
    mount, volume = mounted_at(work, str(path))
    assert mount["readOnly"] is True
    assert volume is not None
    assert volume["secret"]["items"] == [{"key": "github-app.pem", "path": path.name}]


def test_ha_runs_two_replicas_each_with_its_own_database() -> None:
    objects = build("ha")
    work = one(objects, "StatefulSet")
    assert work["spec"]["replicas"] == 2
    assert "PersistentVolumeClaim" not in kinds(objects)
    mount, volume = mounted_at(work, value(work, "SHIPTRACE_DB"))
    assert volume is None
    claims = work["spec"]["volumeClaimTemplates"]
    assert [c["metadata"]["name"] for c in claims] == [mount["name"]]
    assert claims[0]["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_ha_elects_a_leader_through_one_lease_it_may_write() -> None:
    objects = build("ha")
    work = workload(objects)
    lease = value(work, "SHIPTRACE_LEASE_NAME")
    for name, field in (("POD_NAMESPACE", "metadata.namespace"), ("POD_NAME", "metadata.name")):
        assert env(work)[name]["valueFrom"] == {"fieldRef": {"fieldPath": field}}
    role = one(objects, "Role")
    rules = role["rules"]
    assert all(r["apiGroups"] == ["coordination.k8s.io"] for r in rules)
    assert all(r["resources"] == ["leases"] for r in rules)
    # create cannot be limited to a name (the object does not exist yet); the rest is.
    assert {v for r in rules for v in r["verbs"]} == LEASE_VERBS
    assert [r["verbs"] for r in rules if not r.get("resourceNames")] == [["create"]]
    assert all(r["resourceNames"] == [lease] for r in rules if r.get("resourceNames"))
    binding = one(objects, "RoleBinding")
    account = one(objects, "ServiceAccount")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["metadata"]["name"]}
        | {"namespace": account["metadata"]["namespace"]}
    ]


@pytest.mark.parametrize("overlay", ["http", "socket-mode", "github-app"])
def test_one_replica_needs_no_lease(overlay: str) -> None:
    objects = build(overlay)
    assert "Role" not in kinds(objects)
    assert "SHIPTRACE_LEASE_NAME" not in env(workload(objects))


def test_the_components_combine_into_other_overlays(tmp_path: Path) -> None:
    objects = build_components(tmp_path, ["socket-mode", "github-app", "ha"])
    assert [e for obj in objects for e in schema_errors(obj)] == []
    work = one(objects, "StatefulSet")
    assert secret_keys(work) == {
        SECRET: SECRET_KEYS["socket-mode"] - {"GITHUB_TOKEN"}
        | SECRET_KEYS["github-app"] - {"SLACK_SIGNING_SECRET"}
    }
    assert "SHIPTRACE_LEASE_NAME" in env(work)
    assert "Service" not in kinds(objects)
