"""Kubernetes API access, one client per kubeconfig context (or in-cluster config).

Objects come back as plain JSON dicts (camelCase, as the API serves them): the typed models
cost most of a list's time and the readers in :mod:`bot.gitops.objects` / :mod:`bot.kube.workloads` want
the API's own shape. The official client is synchronous, so every call runs in a bounded
thread pool. Retries of transient failures are urllib3's, configured on the client. Every
attempt, and whether it failed, goes to the :class:`RequestObserver` (metrics, readiness).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import json
import os
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from bot.errors import KubernetesError, KubernetesNotFound
from bot.model import ApiKind
from bot.sources.network import network_reason
from bot.sources.observer import NoObserver, NotedRetry, RequestObserver

TIMEOUT = (3.0, 10.0)  # connect, read seconds per request

PAGE_SIZE = 500


class NotFound(KubernetesNotFound):
    """The object does not exist (the cluster itself answered)."""


class Unreachable(KubernetesError):
    """The cluster did not answer at all (connection refused, timed out, TLS failure)."""


class ClusterClient:
    """Read-only access to one cluster."""

    def __init__(
        self,
        label: str,
        api: k8s.ApiClient,
        pool: ThreadPoolExecutor,
        source: str | None = None,
        kinds: Mapping[str, ApiKind] | None = None,
        observer: RequestObserver | None = None,
    ) -> None:
        self.label = label
        self.api = api
        self.observer: RequestObserver = observer or NoObserver()
        self.kinds: Mapping[str, ApiKind] = kinds or {}  # what it may read: kind -> where
        # Where its address and credentials come from, for errors: "kubeconfig context 'prod'".
        self.source = source or f"kubeconfig context '{label}'"
        self._pool = pool
        self._versions: dict[str, list[str]] = {}
        self._discovery_lock = asyncio.Lock()

    @property
    def server(self) -> str:
        return str(self.api.configuration.host)

    # -- reads ---------------------------------------------------------------------------
    async def get(self, path: str, what: str) -> dict[str, Any]:
        return await self._call(path, {}, what)

    async def list_objects(
        self, path: str, what: str, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        query = {"labelSelector": label_selector} if label_selector else {}
        body = await self._call(path, query, what)
        return list(body.get("items") or [])

    async def get_object(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        """One object of a known kind, at its version or the newest its group serves."""
        api = self._api_kind(kind)
        version = api.version or await self.preferred_version(api.group, kind)
        return await self.get(
            _path(api.group, version, api.plural, namespace, name), f"{kind} {namespace}/{name}"
        )

    async def replicasets(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        return await self.list_objects(
            _path("apps", "v1", "replicasets", namespace), f"ReplicaSets in {namespace}", selector
        )

    async def pods(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        return await self.list_objects(
            _path("", "v1", "pods", namespace), f"Pods in {namespace}", selector
        )

    async def list_kind(self, kind: str, page_size: int = PAGE_SIZE) -> list[dict[str, Any]]:
        """Every object of one kind in all namespaces, ``page_size`` per request (``limit`` /
        ``continue``). A GitOps kind is listed at the newest version of its group that serves
        it (a group's kinds may move to a new version at different times). Items carry
        ``apiVersion`` and ``kind`` (a built-in list leaves them out). A kind the cluster does
        not serve (CRD not installed) raises :class:`NotFound`."""
        api = self._api_kind(kind)
        group, plural = api.group, api.plural
        versions = [api.version] if api.version else await self.served_versions(group, kind)
        *newer, oldest = versions
        for v in newer:
            with contextlib.suppress(NotFound):
                return await self._list_all(group, v, plural, kind, page_size)
        return await self._list_all(group, oldest, plural, kind, page_size)

    async def _list_all(
        self, group: str, version: str, plural: str, kind: str, page_size: int
    ) -> list[dict[str, Any]]:
        api_version = f"{group}/{version}" if group else version
        path = f"/apis/{group}/{version}/{plural}" if group else f"/api/{version}/{plural}"
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            query = {"limit": str(page_size)} | ({"continue": token} if token else {})
            body = await self._call(path, query, f"{kind} objects")
            for item in body.get("items") or []:
                items.append({"apiVersion": api_version, "kind": kind, **item})
            token = (body.get("metadata") or {}).get("continue") or None
            if token is None:
                return items

    async def preferred_version(self, group: str, kind: str) -> str:
        """The newest served version of an API group (discovery, once per cluster)."""
        return (await self.served_versions(group, kind))[0]

    async def served_versions(self, group: str, kind: str) -> list[str]:
        """The versions an API group serves, newest first (discovery, once per cluster)."""
        async with self._discovery_lock:
            if not self._versions:
                body = await self._call("/apis", {}, "API discovery")
                for g in body.get("groups") or []:
                    versions = [str(v["version"]) for v in g.get("versions") or []]
                    self._versions[str(g["name"])] = sorted(versions, key=version_priority)
        versions = self._versions.get(group) or []
        if not versions:
            raise NotFound(
                f"cluster '{self.label}' does not serve {group} (is the {kind} CRD installed?)"
            )
        return list(versions)

    # -- what `shiptrace doctor` asks ----------------------------------------------------
    async def serving_version(self, kind: str) -> str | None:
        """The version the cluster serves ``kind`` at (its own, or the newest of its group
        that lists it), None when it serves no such resource (its CRD is not installed). A
        group can be served without the kind: Argo CD and Argo Rollouts share argoproj.io."""
        api = self._api_kind(kind)
        if api.group:
            try:
                versions = await self.served_versions(api.group, kind)
            except NotFound:
                return None
        else:
            versions = ["v1"]
        for version in versions if api.version is None else [api.version]:
            if version not in versions:
                continue
            path = f"/apis/{api.group}/{version}" if api.group else f"/api/{version}"
            try:
                body = await self.get(path, f"API discovery of {path}")
            except NotFound:
                continue
            if any(r.get("name") == api.plural for r in body.get("resources") or []):
                return version
        return None

    async def allowed(self, verb: str, group: str, resource: str) -> bool:
        """Whether these credentials may ``verb`` ``resource`` of ``group`` ("" is the core
        group) in every namespace: a SelfSubjectAccessReview, which any authenticated user may
        create."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._review, verb, group, resource)

    def _review(self, verb: str, group: str, resource: str) -> bool:
        attributes = k8s.V1ResourceAttributes(verb=verb, group=group, resource=resource)
        review = k8s.V1SelfSubjectAccessReview(
            spec=k8s.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes)
        )
        try:
            answer = k8s.AuthorizationV1Api(self.api).create_self_subject_access_review(
                review, _request_timeout=TIMEOUT
            )
        except ApiException as exc:
            raise self._api_error(exc.status, f"an access review of {verb} {resource}") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._unreachable(exc) from None
        return bool(answer.status is not None and answer.status.allowed)

    async def probe(self) -> None:
        """One cheap request (the API server's version, readable by any client): whether the
        cluster answers; raises :class:`KubernetesError`."""
        await self.get("/version", "the API server's version")

    def _api_kind(self, kind: str) -> ApiKind:
        try:
            return self.kinds[kind]
        except KeyError:
            raise KubernetesError(f"shiptrace does not read {kind} objects") from None

    # -- transport -----------------------------------------------------------------------
    async def _call(self, path: str, query: dict[str, str], what: str) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        # In the caller's context: a log line from the thread carries its request id.
        context = contextvars.copy_context()
        call = functools.partial(context.run, self._observed, path, query, what)
        return await loop.run_in_executor(self._pool, call)

    def _observed(self, path: str, query: dict[str, str], what: str) -> dict[str, Any]:
        try:
            body = self._request(path, query, what)
        except NotFound:
            self.observer.kubernetes_request(self.label, None)  # the cluster answered
            raise
        except KubernetesError as exc:
            self.observer.kubernetes_request(self.label, exc.message)
            raise
        self.observer.kubernetes_request(self.label, None)
        return body

    def _request(self, path: str, query: dict[str, str], what: str) -> dict[str, Any]:
        try:
            method, url, headers, body, post = self.api.param_serialize(
                "GET",
                path,
                query_params=list(query.items()),
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
            )
            response = self.api.call_api(method, url, headers, body, post, _request_timeout=TIMEOUT)
            data = response.read()
        except ApiException as exc:
            raise self._api_error(exc.status, what) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._unreachable(exc) from None
        if not 200 <= response.status <= 299:
            raise self._api_error(response.status, what)
        return dict(json.loads(data))

    def _unreachable(self, exc: BaseException) -> Unreachable:
        reason = network_reason(exc)
        if "certificate" in reason:
            fix = (
                f"give {self.source} the CA that signed the cluster's certificate "
                "(certificate-authority or certificate-authority-data in the kubeconfig)"
            )
        elif reason.startswith("TLS"):
            fix = f"check that the server of {self.source} is the cluster's HTTPS address"
        else:
            fix = f"check that the cluster is up and the server of {self.source}"
        return Unreachable(
            f"cluster '{self.label}' at {self.server} is unreachable ({reason}); {fix}"
        )

    def _api_error(self, status: int | None, what: str) -> KubernetesError:
        if status == 404:
            return NotFound(f"{what} not found in cluster '{self.label}'")
        if status in (401, 403):
            word = "refused our credentials" if status == 401 else "forbids reading"
            return KubernetesError(
                f"cluster '{self.label}' {word} {what} ({status}); "
                "grant get and list with the ClusterRole in deploy/kubernetes/base/rbac.yaml"
            )
        return KubernetesError(f"cluster '{self.label}' answered {status} for {what}")


class Clusters:
    """One :class:`ClusterClient` per kubeconfig context, created on first use."""

    def __init__(
        self,
        kubeconfig: str | None = None,
        concurrency: int = 8,
        kinds: Mapping[str, ApiKind] | None = None,
        observer: RequestObserver | None = None,
    ) -> None:
        self.kubeconfig = kubeconfig or os.environ.get("KUBECONFIG") or None
        self.kinds: Mapping[str, ApiKind] = kinds or {}  # the kinds the bot reads
        self.observer: RequestObserver = observer or NoObserver()
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="kube")
        self._clients: dict[str | None, ClusterClient] = {}

    def client(self, context: str | None) -> ClusterClient:
        if context not in self._clients:
            in_cluster = self._use_in_cluster(context)
            source = (
                "the in-cluster service account"
                if in_cluster
                else None
                if context
                else "the kubeconfig's current context"
            )
            label = context or "current"
            self._clients[context] = ClusterClient(
                label, self._api_client(context), self._pool, source, self.kinds, self.observer
            )
        return self._clients[context]

    def contexts(self) -> list[str] | None:
        """The context names of the kubeconfig (every file of KUBECONFIG, merged); None when
        it cannot be read or the in-cluster service account is used instead."""
        if self._use_in_cluster(None):
            return None
        files = self.kubeconfig or str(Path("~/.kube/config").expanduser())
        try:
            found, _ = k8s_config.list_kube_config_contexts(config_file=files)
        except (ConfigException, OSError, TypeError, KeyError):
            return None
        return [str(c["name"]) for c in found or [] if isinstance(c, dict) and "name" in c]

    @property
    def opened(self) -> int:
        """How many clusters have been reached for so far (the CLI's progress line)."""
        return len(self._clients)

    def close(self) -> None:
        for c in self._clients.values():
            c.api.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _api_client(self, context: str | None) -> k8s.ApiClient:
        configuration = k8s.Configuration()
        in_cluster = self._use_in_cluster(context)
        files = self.kubeconfig or str(Path("~/.kube/config").expanduser())
        where = f"context '{context}'" if context else "the current context"
        try:
            if in_cluster:
                k8s_config.load_incluster_config(client_configuration=configuration)
            else:
                self._check_files(files)
                k8s_config.load_kube_config(
                    config_file=self.kubeconfig,
                    context=context,
                    client_configuration=configuration,
                    persist_config=False,
                )
        except ConfigException as exc:
            reason = _first_line(exc)
            if in_cluster:
                raise KubernetesError(
                    f"cannot use the in-cluster service account ({reason}); "
                    "set KUBECONFIG or run in a pod with a service account"
                ) from None
            if context and "Expected object with name" in reason:
                raise KubernetesError(
                    f"cannot use context '{context}' of the kubeconfig {files}: it has no such "
                    "context; add it, or fix the environment's cluster: (or KUBECONFIG)"
                ) from None
            raise KubernetesError(
                f"cannot use {where} of the kubeconfig {files} ({reason}); "
                "check KUBECONFIG and the environment's cluster:"
            ) from None
        except OSError as exc:
            name = exc.filename or files
            raise KubernetesError(
                f"cannot read the kubeconfig {name} ({exc.strerror}); check KUBECONFIG"
            ) from None
        # Connection failures are retried briefly; a TLS failure ("other") would fail again.
        label = context or "current"

        def retried(response: urllib3.BaseHTTPResponse | None, error: Exception | None) -> None:
            if response is not None:
                problem = f"cluster '{label}' answered {response.status}"
            else:
                reason = network_reason(error) if error is not None else "no answer"
                problem = f"cluster '{label}' did not answer ({reason})"
            self.observer.kubernetes_request(label, problem)

        configuration.retries = NotedRetry(
            total=2, other=0, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)
        ).noted(f"Kubernetes '{label}'", retried)
        return k8s.ApiClient(configuration)

    @staticmethod
    def _check_files(files: str) -> None:
        """The client skips kubeconfig files that do not exist and then says only "No
        configuration found": name the missing file instead."""
        paths = [p for p in files.split(os.pathsep) if p]
        if paths and not any(Path(p).expanduser().exists() for p in paths):
            missing = paths[0] if len(paths) == 1 else ", ".join(paths)
            raise KubernetesError(
                f"cannot read the kubeconfig {missing} (no such file); set KUBECONFIG to your "
                "kubeconfig's path"
            )

    def _use_in_cluster(self, context: str | None) -> bool:
        if context is not None or self.kubeconfig:
            return False
        default = Path.home() / ".kube" / "config"
        return not default.exists() and "KUBERNETES_SERVICE_HOST" in os.environ


def version_priority(version: str) -> tuple[int, int, int]:
    """Sort key putting the newest Kubernetes API version first: v2 > v2beta2 > v2beta1 > v1."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (1, 0, 0)  # unknown shapes last
    major, stage, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    rank = {"alpha": 2, "beta": 1, None: 0}[stage]
    return (rank, -major, -minor)


def _path(group: str, version: str, plural: str, namespace: str, name: str | None = None) -> str:
    base = f"/api/{version}" if group == "" else f"/apis/{group}/{version}"
    path = f"{base}/namespaces/{namespace}/{plural}"
    return f"{path}/{name}" if name else path


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def selector_string(match_labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(match_labels.items()))
