"""A Kubernetes API server emulator over real HTTP, for the official ``kubernetes`` client.

Why our own: ready-made emulators ignore selectors, paging, PUT, watch resourceVersions and
the status subresource, which is exactly what a delivery tracker reads. Built-in kinds: Namespace, Pod,
Service, ConfigMap, Deployment, ReplicaSet, StatefulSet, DaemonSet, Lease and
CustomResourceDefinition. Custom resources come from the vendored CRDs, validated against
their ``openAPIV3Schema`` (``kube_schema.py``); objects live in ``kube_store.py``. RBAC is
"everything allowed" unless a test ``deny()``s a verb on a resource: such requests get 403, and
SelfSubjectAccessReviews answer from the same rules.

    with KubeEmulator(name="staging") as emu:
        emu.add_yaml(EXAMPLES / "flux-kustomization-ready.yaml")
        api = client.CustomObjectsApi(client.ApiClient(client.Configuration(host=emu.url)))
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from os import PathLike
from pathlib import Path

import yaml

from .kube_http import Fault, HttpApi, LoggedRequest
from .kube_kinds import JSON, ResourceType, clone_json, format_time
from .kube_patch import merge_patch
from .kube_schema import (
    DEFAULT_CRDS,
    LEGACY_CRDS,
    LEGACY_HELMRELEASE_CRD,
    load_yaml_documents,
    restrict_served,
)
from .kube_store import Cluster, InvalidObject, KubeApiError, ObjectNotFound
from .threaded import ThreadedServer

__all__ = [
    "DEFAULT_CRDS",
    "LEGACY_CRDS",
    "LEGACY_HELMRELEASE_CRD",
    "InvalidObject",
    "KubeApiError",
    "KubeEmulator",
    "KubeFieldWarning",
    "LoggedRequest",
    "ObjectNotFound",
    "write_kubeconfig",
]

DEFAULT_NOW = "2026-11-26T09:00:00Z"
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class KubeFieldWarning(UserWarning):
    """``add()`` pruned a field the CRD schema does not know, as kube-apiserver would."""


class KubeEmulator(HttpApi):
    """An API server for one cluster. See the module docstring."""

    def __init__(
        self,
        name: str = "kube",
        *,
        crds: Iterable[str | PathLike[str] | JSON] | None = None,
        served: Mapping[str, Iterable[str]] | None = None,
        token: str | None = None,
        watch_history: int = 10_000,
        kube_version: str = "v1.31.0",
        system_namespaces: bool = True,
        strict: bool = False,
        watch_timeout_scale: float = 1.0,
    ) -> None:
        """``crds``: CRD files (or CRD dicts); a later CRD of the same name replaces an earlier
        one, so ``[*DEFAULT_CRDS, LEGACY_HELMRELEASE_CRD]`` swaps in the v1.3.0 HelmRelease.
        ``served``: ``{"helmreleases.helm.toolkit.fluxcd.io": ["v2beta2"]}`` serves only those
        versions of that CRD. ``token``: the bearer token required (any if None).
        ``watch_history``: events kept for watches from a resourceVersion (older → 410).
        ``strict``: ``add()`` raises on unknown fields instead of pruning them with a warning.
        ``watch_timeout_scale``: a watch's ``timeoutSeconds`` lasts that many seconds each
        (also settable later); a test whose watch ends by its timeout sets e.g. 0.02.
        """
        self.name = name
        self.token = token
        self.kube_version = kube_version
        self.strict = strict
        self.watch_timeout_scale = watch_timeout_scale
        self._now = DEFAULT_NOW
        self.cluster = Cluster(name, watch_history, lambda: self._now)
        self.requests: list[LoggedRequest] = []
        self._faults: list[Fault] = []
        self._denied: set[tuple[str, str, str]] = set()
        self._server: ThreadedServer | None = None
        restrict = {k: list(v) for k, v in (served or {}).items()}
        chosen: dict[str, JSON] = {}  # by CRD name: a later definition replaces an earlier one
        for source in DEFAULT_CRDS if crds is None else crds:
            docs = [source] if isinstance(source, dict) else load_yaml_documents(Path(source))
            for doc in docs:
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    chosen.pop(doc["metadata"]["name"], None)
                    chosen[doc["metadata"]["name"]] = doc
        for crd_name, doc in chosen.items():
            self._add_crd(doc, restrict.pop(crd_name, None))
        if restrict:
            raise ValueError(f"served= names CRDs that were not loaded: {sorted(restrict)}")
        if system_namespaces:
            for ns in SYSTEM_NAMESPACES:
                self.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})

    def _add_crd(self, crd: JSON, versions: list[str] | None) -> None:
        if versions is not None:
            crd = restrict_served(crd, versions)
        spec = crd["spec"]
        storage = [v["name"] for v in spec["versions"] if v.get("storage")]
        status = {
            "acceptedNames": {k: v for k, v in spec["names"].items()},
            "storedVersions": storage,
            "conditions": [
                {
                    "type": t,
                    "status": "True",
                    "reason": r,
                    "message": m,
                    "lastTransitionTime": self._now,
                }
                for t, r, m in (
                    ("NamesAccepted", "NoConflicts", "no conflicts found"),
                    ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
                )
            ],
        }
        # Shallow copies only: the parsed CRD files are cached and shared between emulators.
        body = {**crd, "metadata": dict(crd["metadata"]), "status": status}
        rt = self.cluster.by_gvk[("apiextensions.k8s.io", "v1", "CustomResourceDefinition")]
        self.cluster.write(rt, "", body, mode="seed")

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> KubeEmulator:
        if self._server is None:
            self._server = ThreadedServer(self._make_app).start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        for w in list(self.cluster.watchers):  # open watches would hold the runner's cleanup
            w.close()
        self._server.stop()
        self._server = None

    def __enter__(self) -> KubeEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("KubeEmulator is not started")
        return self._server.url

    @property
    def now(self) -> str:
        return self._now

    @now.setter
    def now(self, value: str | dt.datetime) -> None:
        self._now = format_time(value) if isinstance(value, dt.datetime) else value

    @property
    def resource_version(self) -> str:
        """The newest resourceVersion handed out (what a list now would report)."""
        return str(self.cluster.rv)

    # --- direct access to the store (no HTTP) -----------------------------------------------

    def add(self, obj: JSON) -> JSON:
        """Seed ``obj`` (create or replace), keeping any status and server fields it carries."""
        if not isinstance(obj, dict) or "apiVersion" not in obj or "kind" not in obj:
            raise ValueError(f"not a Kubernetes object (apiVersion and kind needed): {obj!r:.80}")
        body = clone_json(obj)
        rt = self.cluster.type_for(body["apiVersion"], body["kind"])
        meta: JSON = body["metadata"] if isinstance(body.get("metadata"), dict) else {}
        namespace = (meta.get("namespace") or "default") if rt.namespaced else ""
        label = f"{rt.kind} {namespace + '/' if namespace else ''}{meta.get('name')}"
        try:
            written = self.cluster.write(rt, namespace, body, mode="seed", strict=self.strict)
        except InvalidObject as err:  # name the object with its namespace: fixtures repeat names
            raise InvalidObject(
                err.code, err.reason, f"{label}: {err.message}", err.details
            ) from None
        for text in written.warnings:
            warnings.warn(f"{label}: {text} (pruned)", KubeFieldWarning, stacklevel=2)
        return clone_json(written.obj)

    def add_yaml(
        self, path_or_text: str | PathLike[str], *, skip_unknown: bool = False
    ) -> list[JSON]:
        """Seed every mapping document of a YAML file or text. ``skip_unknown`` ignores
        documents of kinds this emulator does not serve (e.g. a HelmChart without its CRD)."""
        source = Path(path_or_text) if isinstance(path_or_text, PathLike) else path_or_text
        added = []
        for doc in load_yaml_documents(source):
            if not isinstance(doc, dict):
                continue
            if skip_unknown:
                try:
                    self.cluster.type_for(str(doc.get("apiVersion")), str(doc.get("kind")))
                except ValueError:
                    continue
            added.append(self.add(doc))
        return added

    def _lookup(
        self, api_version: str, kind: str, namespace: str | None
    ) -> tuple[ResourceType, str]:
        rt = self.cluster.type_for(api_version, kind)
        return rt, (namespace or "") if rt.namespaced else ""

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> JSON | None:
        rt, ns = self._lookup(api_version, kind, namespace)
        try:
            return clone_json(self.cluster.get(rt, ns, name))
        except ObjectNotFound:
            return None

    def list_objects(self, api_version: str, kind: str, namespace: str | None = None) -> list[JSON]:
        """Objects of a kind, sorted by namespace and name (all namespaces if None)."""
        rt, ns = self._lookup(api_version, kind, namespace)
        return [clone_json(o) for o in self.cluster.select(rt, ns, (None, None))]

    def _direct(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        name: str,
        change: Callable[[JSON], JSON],
    ) -> JSON:
        rt, ns = self._lookup(api_version, kind, namespace)
        with self.cluster.lock:
            body = change(clone_json(self.cluster.get(rt, ns, name)))
            written = self.cluster.write(rt, ns, body, mode="direct", name=name)
        return clone_json(written.obj)

    def update_status(
        self, api_version: str, kind: str, namespace: str | None, name: str, status: JSON
    ) -> JSON:
        """Replace ``status`` as a controller would (works without a status subresource too)."""
        return self._direct(
            api_version, kind, namespace, name, lambda obj: {**obj, "status": clone_json(status)}
        )

    def patch(
        self, api_version: str, kind: str, namespace: str | None, name: str, patch: JSON
    ) -> JSON:
        """Apply a JSON merge patch to the whole object, status included."""
        return self._direct(
            api_version, kind, namespace, name, lambda obj: merge_patch(obj, clone_json(patch))
        )

    def delete(self, api_version: str, kind: str, namespace: str | None, name: str) -> None:
        """Remove the object now, finalizers or not."""
        rt, ns = self._lookup(api_version, kind, namespace)
        self.cluster.delete(rt, ns, name, force=True)

    # --- request log and faults -------------------------------------------------------------

    def clear_log(self) -> None:
        self.requests.clear()

    def fail(
        self,
        path_regex: str,
        status: int = 500,
        times: int | None = None,
        *,
        method: str | None = None,
        message: str | None = None,
        reason: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Answer requests whose path matches (``re.search``) with a Status error, ``times``
        times (forever if None). 429 carries ``Retry-After`` (1 s unless given)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        fault = Fault(
            re.compile(path_regex),
            status,
            times,
            method and method.upper(),
            message,
            reason,
            retry_after,
        )
        with self.cluster.lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self.cluster.lock:
            self._faults.clear()

    def deny(self, verb: str, resource: str, group: str = "") -> None:
        """RBAC does not allow ``verb`` ("*": any) on ``resource`` of ``group`` ("" is the
        core group), in any namespace: such requests get 403 and a SelfSubjectAccessReview
        says ``allowed: false``. Everything not denied is allowed."""
        with self.cluster.lock:
            self._denied.add((verb, group, resource))


def write_kubeconfig(
    path: str | PathLike[str],
    emulators: Mapping[str, KubeEmulator],
    current: str | None = None,
    token: str | None = None,
    namespace: str | None = None,
) -> Path:
    """A kubeconfig with one cluster, user and context per emulator, named by the mapping key.

    ``token``: the bearer token for every user; None uses each emulator's own ``token``, or
    "test-token" for emulators that accept any.
    """
    clusters, users, contexts = [], [], []
    for name, emu in emulators.items():
        secret = token if token is not None else (emu.token or "test-token")
        clusters.append({"name": name, "cluster": {"server": emu.url}})
        users.append({"name": name, "user": {"token": secret}})
        context: JSON = {"cluster": name, "user": name}
        if namespace:
            context["namespace"] = namespace
        contexts.append({"name": name, "context": context})
    if current is None:
        current = next(iter(emulators), None)
    config: JSON = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": clusters,
        "users": users,
        "contexts": contexts,
        "current-context": current,
    }
    out = Path(path)
    out.write_text(yaml.safe_dump(config, sort_keys=False))
    return out
