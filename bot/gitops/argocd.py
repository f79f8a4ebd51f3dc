"""Argo CD: an Application, read for ``/where`` and judged for drift. Pure.

Config: ``argocd: {application: shop-prod, namespace: argocd}``.

Argo CD (``argoproj.io/v1alpha1`` Application):

- deciding source: ``spec.source``; of ``spec.sources`` the one naming the app repo, else the
  first Git source (no ``chart``, not ``oci://``), else the first. A ``ref:`` source has no
  path filter: its values files may sit anywhere in the repo.
- desired: ``status.sync.revision`` / ``revisions[i]``. applied: the newer of ``history[-1]``
  (``deployedAt``) and a ``Succeeded`` ``operationState.syncResult`` (``finishedAt``; ties go
  to the operation). attempt: ``operationState.phase`` Running -> running, Succeeded ->
  succeeded, Failed/Error -> failed, Terminating -> failed ("terminated": it will not finish),
  revision from ``syncResult`` else ``operation.sync``, else (a sync of no named revision
  syncs what the source resolves to) the desired revision; a top-level ``operation`` beside a
  finished state is a requested sync that has not started -> running.
- multi-source ``revisions`` lists are indexed by matching each record's own ``sources``
  (``comparedTo.sources`` for ``sync``) to the deciding source; the spec may have changed since.
- in_sync: Synced -> True, OutOfSync -> False, else None. ``health`` is recorded for the
  rollout; it plays no part here.
- drift: ``sync.status`` OutOfSync (the OutOfSync ``status.resources``); health Degraded
  (kind ``degraded``) or Missing (kind ``missing``), with the resources in that health.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from bot.gitops.state import (
    Attempt,
    GitOpsState,
    Obj,
    ToolWords,
    clip,
    count,
    git_commit,
    part,
    repo_slug,
    resource_ids,
    same_repo,
    short,
    show_revision,
    source_path,
    verb_for,
)
from bot.gitops.tool import ObjectRef, Observed
from bot.model import ApiKind, Issue
from bot.timefmt import parse_time

_PHASES: dict[str, Attempt] = {"Running": "running", "Terminating": "failed"}
_PHASES |= {"Succeeded": "succeeded", "Failed": "failed", "Error": "failed"}


class ArgoCDRef(BaseModel):
    """``environments[].argocd``: the Application that deploys the environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    application: str = Field(min_length=1)
    namespace: str = "argocd"


class ArgoCD:
    key: ClassVar[str] = "argocd"
    name: ClassVar[str] = "Argo CD"
    config: ClassVar[type[BaseModel]] = ArgoCDRef
    kinds: ClassVar[Mapping[str, ApiKind]] = {
        "Application": ApiKind("argoproj.io", None, "applications"),
    }
    # Argo CD Image Updater's write-back names the app commit it promotes.
    trailers: ClassVar[tuple[str, ...]] = ("Argocd-reference-commit-sha",)

    def target(self, ref: ArgoCDRef) -> ObjectRef:
        return ObjectRef("Application", ref.namespace, ref.application)

    def related(self, ref: ArgoCDRef, obj: Obj) -> Mapping[str, ObjectRef | None]:
        return {}

    def scan_kinds(self, ref: ArgoCDRef) -> set[str]:
        return {"Application"}

    def read(self, obj: Obj, related: Mapping[str, Obj | None], app_repo: str) -> GitOpsState:
        return read_argocd(obj, app_repo)

    def subject(self, ref: ArgoCDRef) -> str:
        return f"Argo CD app {ref.namespace}/{ref.application}"

    def issues(self, observed: Observed) -> list[Issue]:
        return argocd_issues(observed.obj, observed.state)

    def words(self, state: GitOpsState) -> ToolWords:
        return ToolWords(
            label=f"Argo CD app {state.name}",
            noun="Argo CD app",
            done="synced",
            doing="syncing",
            run="sync",
            verb="sync",
            reporter="Argo CD",
            not_holding=_not_holding(state),
        )


TOOL = ArgoCD()


def _not_holding(state: GitOpsState) -> str:
    parts = []
    if state.out_of_sync:
        shown = ", ".join(state.out_of_sync[:3])
        more = len(state.out_of_sync) - 3
        parts.append(f"{shown}{f' +{more} more' if more > 0 else ''} differ")
    if state.desired_revision and state.desired_revision != state.applied_revision:
        desired = show_revision(state.desired_commit, state.desired_revision)
        parts.append(f"{desired} is not synced yet")
    return "reports OutOfSync" + (f": {'; '.join(parts)}" if parts else "")


def read_argocd(app: Obj, app_repo: str) -> GitOpsState:
    """Normalise an Argo CD Application (see the module docstring for the rules)."""
    meta, spec, status = part(app, "metadata"), part(app, "spec"), part(app, "status")
    sources: list[Obj] = list(spec.get("sources") or [])
    multi = bool(sources)
    if not multi and spec.get("source"):
        sources = [spec["source"]]
    index = _deciding_source(sources, app_repo)
    src = sources[index] if index is not None else {}

    def pick(record: Obj, record_sources: list[Obj] | None = None) -> str | None:
        if not multi:
            return record.get("revision") or None
        revs = record.get("revisions") or []
        if record_sources is None:
            record_sources = record.get("sources") or []
        i = _record_index(record_sources, src, index)
        return revs[i] if i is not None and i < len(revs) and revs[i] else None

    sync = part(status, "sync")
    history = [h for h in status.get("history") or [] if isinstance(h, dict)]
    op = part(status, "operationState")
    phase = op.get("phase")
    result = part(op, "syncResult")
    requested = part(part(op, "operation"), "sync")

    applied, applied_at = None, None
    if history:
        applied, applied_at = pick(history[-1]), parse_time(history[-1].get("deployedAt"))
    op_finished = parse_time(op.get("finishedAt"))
    op_is_newer = applied_at is None or (op_finished is not None and op_finished >= applied_at)
    if phase == "Succeeded" and pick(result) and (applied is None or op_is_newer):
        applied, applied_at = pick(result), op_finished or applied_at

    desired = pick(sync, part(sync, "comparedTo").get("sources") or [])
    attempt = _PHASES.get(str(phase))
    attempted = pick(result) or pick(requested)
    if attempted is None and attempt in ("running", "failed"):
        attempted = desired  # a sync of no named revision syncs what the source resolves to
    started, finished, message = parse_time(op.get("startedAt")), op_finished, op.get("message")
    if phase == "Terminating":
        message = message or "terminated"
    pending_op = part(part(app, "operation"), "sync")
    if app.get("operation") and attempt != "running":
        # Requested (by a user or auto-sync) but not started: operationState is the old one.
        attempt, attempted = "running", pick(pending_op) or desired
        started = finished = message = None

    git = src.get("chart") is None and not str(src.get("repoURL", "")).startswith("oci://")
    url = src.get("repoURL") or None
    return GitOpsState(
        tool="argocd",
        kind=app.get("kind") or "Application",
        namespace=meta.get("namespace"),
        name=meta.get("name") or "",
        source_kind=("Git" if git else "Helm" if src.get("chart") else "OCI") if src else None,
        source_url=url,
        source_repo=repo_slug(url) if git else None,
        source_path=None if src.get("ref") else source_path(src.get("path")),
        same_repo=git and same_repo(url, app_repo),
        desired_commit=git_commit(desired) if git else None,
        desired_revision=desired,
        applied_commit=git_commit(applied) if git else None,
        applied_revision=applied,
        applied_at=applied_at,
        attempted_commit=git_commit(attempted) if git else None,
        attempted_revision=attempted,
        attempt=attempt,
        attempt_message=message,
        attempt_started_at=started,
        attempt_finished_at=finished if attempt in ("succeeded", "failed") else None,
        in_sync={"Synced": True, "OutOfSync": False}.get(str(sync.get("status"))),
        health=part(status, "health").get("status"),
        images=tuple(part(status, "summary").get("images") or ()),
        out_of_sync=tuple(
            _resource_id(r)
            for r in status.get("resources") or []
            if isinstance(r, dict) and r.get("status") == "OutOfSync"
        ),
        history=tuple(
            (commit, parse_time(h.get("deployedAt")))
            for h in history
            if git and (commit := git_commit(pick(h)))
        ),
    )


def _deciding_source(sources: list[Obj], app_repo: str) -> int | None:
    for i, s in enumerate(sources):
        if same_repo(s.get("repoURL"), app_repo):
            return i
    for i, s in enumerate(sources):
        if not s.get("chart") and not str(s.get("repoURL", "")).startswith("oci://"):
            return i
    return 0 if sources else None


def _record_index(record_sources: list[Obj], src: Obj, fallback: int | None) -> int | None:
    def key(s: Obj, full: bool) -> tuple[str, ...]:
        url = str(s.get("repoURL") or "").lower().removesuffix("/").removesuffix(".git")
        if not full:
            return (url,)
        return (url, str(s.get("path") or ""), str(s.get("chart") or ""), str(s.get("ref") or ""))

    for full in (True, False):
        for i, s in enumerate(record_sources):
            if isinstance(s, dict) and key(s, full) == key(src, full):
                return i
    return fallback


def _resource_id(r: Obj) -> str:
    # Cluster-scoped resources have no namespace: "Kind/name".
    ns = r.get("namespace")
    return f"{r.get('kind')}/{ns}/{r.get('name')}" if ns else f"{r.get('kind')}/{r.get('name')}"


def argocd_issues(app: Obj, state: GitOpsState) -> list[Issue]:
    """OutOfSync (sync) and health Degraded / Missing (the rollout's) of one Application."""
    subject = f"Argo CD app {state.namespace or ''}/{state.name}"
    status = part(app, "status")
    resources = [r for r in status.get("resources") or [] if isinstance(r, dict)]
    out: list[Issue] = []
    if state.in_sync is False:
        drifting = resource_ids(r for r in resources if r.get("status") == "OutOfSync")
        summary = "OutOfSync with Git"
        if drifting:
            n = len(drifting)
            summary = f"OutOfSync: {count(n, 'resource')} {verb_for(n, 'differ')} from Git"
        failed = state.attempt == "failed"
        if failed:
            summary += "; the last sync failed"
        actual = "live state differs"
        if state.applied_revision and state.applied_revision != state.desired_revision:
            actual = f"synced {short(state.applied_revision)}"
        if failed and state.attempt_message:
            actual += f"; sync failed: {clip(state.attempt_message)}"
        running_or_failed = state.attempt in ("running", "failed")
        out.append(
            Issue(
                "sync",
                "out-of-sync",
                subject,
                summary,
                desired=short(state.desired_revision),
                actual=actual,
                resources=drifting,
                # Drifted no later than the sync that tries to fix it; otherwise unknown.
                since=state.attempt_started_at if running_or_failed else None,
            )
        )
    health = state.health
    if health in ("Degraded", "Missing"):
        words = {"Degraded": "degraded", "Missing": "not in the cluster"}
        affected = resource_ids(r for r in resources if part(r, "health").get("status") == health)
        summary = f"health {health}"
        if affected:
            summary += f": {count(len(affected), 'resource')} {words[health]}"
        out.append(
            Issue(
                "rollout",  # application health belongs to the rollout stage (DESIGN §4)
                "degraded" if health == "Degraded" else "missing",
                subject,
                summary,
                desired="Healthy",
                actual=health,
                resources=affected,
                since=parse_time(part(status, "health").get("lastTransitionTime")),
            )
        )
    return out
