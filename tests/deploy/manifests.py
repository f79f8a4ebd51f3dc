"""The Kubernetes overlays as `kubectl kustomize` builds them, validated offline (what the code
reads of a cluster, which the read-only ClusterRole must grant exactly, is
:func:`bot.engine.cluster_reads`).

kubectl is a system package (`.ci/run` installs it): without it the tests skip locally and fail
in CI. The schemas are the ones `kubernetes-validate` bundles, strict (an unknown field fails).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bot.engine import Grants

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAYS = ("http", "socket-mode", "github-app", "ha")
# The oldest and the newest API schemas the validator ships: the manifests must fit both.
SCHEMA_VERSIONS = (
    "1.25",
    kubernetes_validate.utils.major_minor(kubernetes_validate.latest_version()),
)
WORKLOAD_KINDS = ("Deployment", "StatefulSet")

Object = dict[str, Any]


def grants(role: Object) -> Grants:
    """A Role's or ClusterRole's rules as (apiGroup, resource) → verbs. Rules limited to
    resource names or granting non-resource URLs are refused: the read-only role has none."""
    out: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    for rule in role.get("rules") or []:
        assert not rule.get("resourceNames"), rule
        assert not rule.get("nonResourceURLs"), rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out[(group, resource)].update(rule["verbs"])
    return {key: frozenset(verbs) for key, verbs in out.items()}


def kubectl() -> str:
    path = shutil.which(os.environ.get("KUBECTL", "kubectl"))
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("kubectl is not installed: .ci/run installs it (apt-get install kubectl)")
        pytest.skip(
            "kubectl is not installed: the overlays are built with it (kubectl 1.27 or newer)"
        )
    return path


def build(overlay: str) -> tuple[Object, ...]:
    """The objects ``kubectl kustomize deploy/kubernetes/overlays/<overlay>`` prints."""
    return build_dir(str(KUBERNETES / "overlays" / overlay))


def build_components(where: Path, components: list[str]) -> tuple[Object, ...]:
    """An overlay of the base and ``components`` (in that order), written in ``where``."""
    up = Path(os.path.relpath(KUBERNETES, where))  # kustomize refuses absolute paths
    overlay = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": "shiptrace",
        "resources": [str(up / "base")],
        "components": [str(up / "components" / c) for c in components],
    }
    (where / "kustomization.yaml").write_text(yaml.safe_dump(overlay), encoding="utf-8")
    return build_dir(str(where))


@functools.cache
def build_dir(path: str) -> tuple[Object, ...]:
    exe = kubectl()
    done = subprocess.run(
        [exe, "kustomize", path],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0 or done.stderr.strip():
        pytest.fail(
            f"kubectl kustomize {path} ({_version(exe)}; the overlays need "
            f"kustomize v5, kubectl 1.27 or newer):\n{done.stderr}"
        )
    return tuple(o for o in yaml.safe_load_all(done.stdout) if o)


def _version(exe: str) -> str:
    done = subprocess.run(
        [exe, "version", "--client", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    try:
        info = json.loads(done.stdout)
    except ValueError:
        return "kubectl of unknown version"
    kubectl_version = info.get("clientVersion", {}).get("gitVersion", "?")
    return f"kubectl {kubectl_version}, kustomize {info.get('kustomizeVersion', 'older than v4')}"


def schema_errors(obj: Object) -> list[str]:
    """What the strict API schemas of each of SCHEMA_VERSIONS refuse in ``obj``."""
    errors = []
    for version in SCHEMA_VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path)
            errors.append(
                f"{version}: {obj['kind']}/{obj['metadata']['name']} {where}: {exc.message}"
            )
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(exc.message)
    return errors


def one(objects: tuple[Object, ...], kind: str, name: str | None = None) -> Object:
    found = [
        o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
    return found[0]


def kinds(objects: tuple[Object, ...]) -> list[str]:
    return sorted(o["kind"] for o in objects)


def workload(objects: tuple[Object, ...]) -> Object:
    found = [o for o in objects if o["kind"] in WORKLOAD_KINDS]
    assert len(found) == 1, f"expected one workload, got {[o['kind'] for o in found]}"
    return found[0]


def container(work: Object) -> Object:
    containers = work["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def env(work: Object) -> dict[str, Object]:
    return {e["name"]: e for e in container(work).get("env") or []}


def secret_keys(work: Object) -> dict[str, set[str]]:
    """Secret name → the keys the pod reads from it (env ``secretKeyRef`` and volume items)."""
    keys: defaultdict[str, set[str]] = defaultdict(set)
    for e in env(work).values():
        ref = (e.get("valueFrom") or {}).get("secretKeyRef")
        if ref:
            keys[ref["name"]].add(ref["key"])
    for volume in work["spec"]["template"]["spec"].get("volumes") or []:
        secret = volume.get("secret")
        if secret:
            assert secret.get("items"), f"volume {volume['name']} must name the keys it mounts"
            keys[secret["secretName"]].update(i["key"] for i in secret["items"])
    return dict(keys)
