"""Drift: where a continuous stage's actual state no longer matches the desired state. Pure.

The scan lists each resource kind once per cluster (``bot.drift.scan``, the kinds from
:func:`kinds_needed`); :func:`find_drift` then matches the listed objects to every configured
environment and says what drifts (the rules are in :mod:`bot.drift.rules`). No grace period
here: every current finding is reported, with ``since`` when the objects record it.

- A configured GitOps object (through its tool, :mod:`bot.gitops`) or workload absent from its cluster's lists is
  a finding of kind ``missing`` (also when the cluster does not serve that kind at all).
- A workload's ReplicaSets and Pods are those of its namespace matching its selector and, when
  they carry ``ownerReferences``, owned by it (Pods: through its ReplicaSets).
- An environment is either judged whole or :class:`Unchecked`: when its cluster could not be
  read, or a kind it needs (its own, or one its GitOps object reads from) failed to list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from bot import gitops, kube
from bot.config import Environment, ServiceMap, Workload
from bot.drift.rules import workload_issues
from bot.errors import KubernetesError, KubernetesNotFound
from bot.gitops.state import GitOpsState
from bot.gitops.tool import ObjectRef, observe_listed
from bot.kube.kinds import VIA_REPLICASETS
from bot.kube.kinds import kinds_for as kube_kinds_for
from bot.kube.selectors import selects
from bot.kube.workloads import read_workload
from bot.model import Issue
from bot.timefmt import format_time, parse_time

Obj = dict[str, Any]

# Every kind a scan may list, in listing order (GitOps kinds first: one of them is the probe).
KINDS = (*gitops.KINDS, *kube.KINDS)


@dataclass(frozen=True)
class Snapshot:
    """One cluster's objects of the kinds the scan needs, listed once each (all namespaces)."""

    objects: Mapping[str, list[Obj]] = field(default_factory=dict)  # kind -> items
    failed: Mapping[str, str] = field(default_factory=dict)  # kind -> why it could not be listed
    unserved: frozenset[str] = frozenset()  # kinds the cluster does not serve: none exist
    error: str | None = None  # the whole cluster could not be read (then nothing else is set)


@dataclass(frozen=True)
class Finding:
    """One way one environment of one service drifts, as seen in one scan."""

    service: str
    environment: str
    stage: str  # "sync" or "rollout": the continuous stage that drifts
    kind: str  # out-of-sync | degraded | missing | not-ready | stalled | revision-lag |
    #            unavailable | crash-loop | image-pull | image-mismatch
    subject: str  # what drifts, in its tool's words, or "Deployment shop/shop"
    summary: str  # one line, e.g. "OutOfSync: 2 resources differ from Git"
    desired: str | None = None
    actual: str | None = None
    resources: tuple[str, ...] = ()  # the drifting resources / pods, sorted
    since: datetime | None = None  # when the object says it started, if it says
    links: tuple[tuple[str, str], ...] = ()  # (label, url)

    @property
    def key(self) -> str:
        """The incident this finding belongs to: one per service and environment."""
        return f"{self.service}/{self.environment}"


def finding_dict(f: Finding) -> dict[str, Any]:
    """A finding as plain JSON data (``shiptrace drift --json``, the incident store)."""
    return {
        "service": f.service,
        "environment": f.environment,
        "stage": f.stage,
        "kind": f.kind,
        "subject": f.subject,
        "summary": f.summary,
        "desired": f.desired,
        "actual": f.actual,
        "resources": list(f.resources),
        "since": format_time(f.since),
        "links": [{"label": label, "url": url} for label, url in f.links],
    }


def finding_from_dict(d: Mapping[str, Any]) -> Finding:
    return Finding(
        service=str(d["service"]),
        environment=str(d["environment"]),
        stage=str(d["stage"]),
        kind=str(d["kind"]),
        subject=str(d["subject"]),
        summary=str(d["summary"]),
        desired=d.get("desired"),
        actual=d.get("actual"),
        resources=tuple(d.get("resources") or ()),
        since=parse_time(d.get("since")),
        links=tuple((str(x["label"]), str(x["url"])) for x in d.get("links") or ()),
    )


@dataclass(frozen=True)
class Unchecked:
    """An environment the scan could not judge (its cluster or a kind could not be read)."""

    service: str
    environment: str
    message: str


def kinds_needed(services: ServiceMap) -> dict[str | None, list[str]]:
    """Per kubeconfig context (first use order), the kinds a scan lists there, in
    :data:`KINDS` order: only what the configured environments use."""
    needed: dict[str | None, set[str]] = {}
    for service in services.services:
        for env in service.environments:
            kinds = _kinds(env)
            if kinds:
                needed.setdefault(env.cluster, set()).update(kinds)
    return {ctx: [k for k in KINDS if k in kinds] for ctx, kinds in needed.items()}


def find_drift(
    services: ServiceMap, snapshots: Mapping[str | None, Snapshot]
) -> tuple[list[Finding], list[Unchecked]]:
    """Every finding, in config order of services and environments, then the GitOps object
    before the workloads (in config order); ``snapshots`` is keyed by kubeconfig context (None =
    the current context / in-cluster). Environments with nothing configured are skipped."""
    findings: list[Finding] = []
    unchecked: list[Unchecked] = []
    views: dict[str | None, _View] = {}
    for service in services.services:
        for env in service.environments:
            if not _kinds(env):
                continue
            snapshot = snapshots.get(env.cluster)
            try:
                if snapshot is None:
                    raise _Unreadable(f"cluster '{env.cluster or 'current'}' was not scanned")
                if snapshot.error is not None:
                    raise _Unreadable(snapshot.error)
                if env.cluster not in views:
                    views[env.cluster] = _View(snapshot)
                issues, links = _judge(service.repo, env, views[env.cluster])
            except _Unreadable as exc:
                unchecked.append(Unchecked(service.name, env.name, exc.message))
                continue
            findings.extend(
                Finding(service=service.name, environment=env.name, links=links, **asdict(i))
                for i in issues
            )
    return findings, unchecked


def running_versions(
    services: ServiceMap, snapshots: Mapping[str | None, Snapshot]
) -> dict[str, str]:
    """What runs in each environment, keyed "service/environment": its workloads' pod
    template images. A change of it is a deployment. Environments without workloads, or
    whose workloads could not be read, are left out."""
    out: dict[str, str] = {}
    views = {context: _View(snap) for context, snap in snapshots.items()}  # indexed once
    for service in services.services:
        for env in service.environments:
            snap = snapshots.get(env.cluster)
            if snap is None or snap.error is not None or not env.workloads:
                continue
            view = views[env.cluster]
            images: set[str] = set()
            try:
                for w in env.workloads:
                    obj = view.get(w.kind, w.namespace, w.name)
                    if obj is None:
                        raise _Unreadable("missing")
                    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
                    images.update(str(c.get("image")) for c in spec.get("containers") or [])
            except _Unreadable:
                continue
            if images:
                out[f"{service.name}/{env.name}"] = " ".join(sorted(images))
    return out


def _kinds(env: Environment) -> set[str]:
    """The kinds one environment needs listed: its GitOps tool's and its workloads'."""
    kinds = env.gitops[0].scan_kinds(env.gitops[1]) if env.gitops is not None else set()
    for w in env.workloads:
        kinds |= kube_kinds_for(w.kind)
    return kinds


class _Unreadable(KubernetesError):
    """A kind the environment needs could not be listed: the environment is unchecked."""


class _View:
    """One snapshot, indexed on first use by (namespace, name) and by namespace."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._named: dict[str, dict[tuple[str, str], Obj]] = {}
        self._spaced: dict[str, dict[str, list[Obj]]] = {}

    def items(self, kind: str) -> list[Obj]:
        snap = self.snapshot
        if kind in snap.failed:
            raise _Unreadable(snap.failed[kind])
        if kind in snap.unserved:
            return []
        if kind not in snap.objects:
            raise _Unreadable(f"{kind} objects were not listed")
        return snap.objects[kind]

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        if kind not in self._named:
            self._named[kind] = {
                (_meta(o, "namespace"), _meta(o, "name")): o for o in self.items(kind)
            }
        return self._named[kind].get((namespace, name))

    def in_namespace(self, kind: str, namespace: str) -> list[Obj]:
        if kind not in self._spaced:
            grouped: dict[str, list[Obj]] = {}
            for o in self.items(kind):
                grouped.setdefault(_meta(o, "namespace"), []).append(o)
            self._spaced[kind] = grouped
        return self._spaced[kind].get(namespace, [])

    def fetch(self, target: ObjectRef) -> Obj:
        """The getter a GitOps tool reads through (:func:`bot.gitops.tool.observe_listed`)."""
        obj = self.get(target.kind, target.namespace, target.name)
        if obj is None:
            raise KubernetesNotFound(self.not_found(target.kind))
        return obj

    def not_found(self, kind: str) -> str:
        if kind in self.snapshot.unserved:
            return f"not found: the cluster does not serve {kind}"
        return "not found"


def _judge(
    repo: str, env: Environment, view: _View
) -> tuple[list[Issue], tuple[tuple[str, str], ...]]:
    issues: list[Issue] = []
    state: GitOpsState | None = None
    lister = "GitOps app"
    if env.gitops is not None:
        tool, ref = env.gitops
        try:
            observed = observe_listed(tool, ref, view.fetch, repo)
        except _Unreadable:
            raise
        except KubernetesNotFound as exc:
            issues.append(Issue("sync", "missing", tool.subject(ref), exc.message))
        else:
            if observed.problems:  # a kind its source needs could not be listed
                raise _Unreadable(observed.problems[0])
            state = observed.state
            lister = state.words.noun
            issues += tool.issues(observed)
    app_images = state.images if state is not None else ()
    for w in env.workloads:
        issues += _workload(view, w, app_images, lister)
    return issues, _links(state)


def _workload(view: _View, w: Workload, app_images: tuple[str, ...], lister: str) -> list[Issue]:
    obj = view.get(w.kind, w.namespace, w.name)
    if obj is None:
        return [
            Issue("rollout", "missing", f"{w.kind} {w.namespace}/{w.name}", view.not_found(w.kind))
        ]
    selector = (obj.get("spec") or {}).get("selector") or {}
    pods = [p for p in view.in_namespace("Pod", w.namespace) if selects(selector, p)]
    replicasets: list[Obj] = []
    if w.kind in VIA_REPLICASETS:
        replicasets = [
            rs
            for rs in view.in_namespace("ReplicaSet", w.namespace)
            if selects(selector, rs) and _owned_by(rs, obj)
        ]
        owners = {_meta(rs, "name") for rs in replicasets}
        pods = [p for p in pods if _owned_by_any(p, "ReplicaSet", owners)]
    else:
        pods = [p for p in pods if _owned_by(p, obj)]
    return workload_issues(obj, read_workload(obj, replicasets, pods), pods, app_images, lister)


def _owned_by(child: Obj, owner: Obj) -> bool:
    """Owned by ``owner`` (matched by uid, else by name); a child without
    ``ownerReferences`` is judged by its labels alone."""
    refs = _owner_refs(child)
    uid = (owner.get("metadata") or {}).get("uid")
    for ref in refs:
        if ref.get("kind") != owner.get("kind"):
            continue
        if uid and ref.get("uid"):
            if ref.get("uid") == uid:
                return True
        elif ref.get("name") == _meta(owner, "name"):
            return True
    return not refs


def _owned_by_any(child: Obj, kind: str, names: set[str]) -> bool:
    refs = _owner_refs(child)
    return not refs or any(r.get("kind") == kind and r.get("name") in names for r in refs)


def _owner_refs(obj: Obj) -> list[Obj]:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return [r for r in refs if isinstance(r, dict)]


def _links(state: GitOpsState | None) -> tuple[tuple[str, str], ...]:
    """The GitOps source repo, as an https link, when it is known."""
    if state is None or not state.source_url:
        return ()
    url = state.source_url.strip()
    if state.source_repo:
        host = _host(url)
        if host:
            return ((state.source_repo, f"https://{host}/{state.source_repo}"),)
    if url.startswith("https://"):
        return ((url.removeprefix("https://").rstrip("/"), url),)
    return ()


def _host(url: str) -> str | None:
    """The host of an https / ssh / scp-like (``git@host:owner/name``) Git URL."""
    text = url.split("://", 1)[-1]
    host = text.split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
    return host if "." in host or host == "localhost" else None


def _meta(obj: Obj, key: str) -> str:
    return str((obj.get("metadata") or {}).get(key) or "")
