"""Flux: a Kustomization or a HelmRelease with its source, read for ``/where`` and judged for
drift. Pure.

Config: ``flux: {kind: Kustomization, name: shop, namespace: flux-system}``. The source is
the object's ``sourceRef`` (HelmRelease: ``spec.chart.spec.sourceRef`` or ``spec.chartRef``),
in its namespace when the ref names none, and only of a kind that object may read from.

Flux (any served version; v1 and the older betas read alike):

- desired: the GitRepository artifact's commit; for an OCIRepository its
  ``org.opencontainers.image.revision`` (and ``source_repo`` from ``…image.source``); a
  HelmRepository's artifact is its index, so no desired revision.
- applied: Kustomization ``lastAppliedRevision``, else the ``Ready=True`` message "Applied
  revision: …"; OCI: ``lastAppliedOriginRevision``, else the artifact metadata when the applied
  revision is the current artifact. HelmRelease: the newest ``history`` entry with status
  ``deployed``, else a legacy ``lastAppliedRevision``, else ``lastAttemptedRevision`` when
  ``Ready=True`` (no history before helm-controller v0.37). A chart version names a commit only
  when its ``+<12 hex>`` suffix prefixes the source's current commit / digest.
- applied_at: HelmRelease ``lastDeployed``; else ``Ready``'s ``lastTransitionTime`` when
  ``Ready=True``; else the Kustomization ``history`` entry of the applied commit.
- attempt (revision ``lastAttemptedRevision``): ``Stalled=True`` or ``Ready=False`` -> failed
  (also while ``Reconciling`` is ``ProgressingWithRetry``: a failure being retried);
  ``Reconciling=True`` or ``Ready=Unknown`` -> running; ``Ready=True`` -> succeeded.
- in_sync: True when ``Ready=True``, not reconciling and attempted == applied; False when
  ``Ready=False`` on the applied revision itself (no longer held), except
  ``HealthCheckFailed`` (health is the rollout's business); else None.
- drift (nothing while ``spec.suspend``): ``Stalled=True``; else ``Ready=False`` that is not a
  fresh reconciliation in progress (kind ``not-ready``); a Kustomization whose applied
  revision is not its source's artifact revision (kind ``revision-lag``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.gitops.revisions import parse_revision
from bot.gitops.state import (
    Attempt,
    GitOpsState,
    Obj,
    ToolWords,
    clip,
    part,
    repo_slug,
    short,
    source_path,
)
from bot.gitops.tool import ObjectRef, Observed
from bot.model import ApiKind, Issue
from bot.timefmt import parse_time

_APPLIED_MSG = re.compile(r"Applied revision: (\S+)")
_OCI_REVISION = "org.opencontainers.image.revision"
_OCI_SOURCE = "org.opencontainers.image.source"

_SOURCE_GROUP = "source.toolkit.fluxcd.io"
# The kinds each Flux object may read its source from.
SOURCES: dict[str, tuple[str, ...]] = {
    "Kustomization": ("GitRepository", "OCIRepository", "Bucket"),
    "HelmRelease": ("GitRepository", "OCIRepository", "HelmRepository", "HelmChart", "Bucket"),
}


class FluxRef(BaseModel):
    """``environments[].flux``: the Kustomization or HelmRelease that deploys it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["Kustomization", "HelmRelease"]
    name: str = Field(min_length=1)
    namespace: str = "flux-system"


class Flux:
    key: ClassVar[str] = "flux"
    name: ClassVar[str] = "Flux"
    config: ClassVar[type[BaseModel]] = FluxRef
    kinds: ClassVar[Mapping[str, ApiKind]] = {
        "Kustomization": ApiKind("kustomize.toolkit.fluxcd.io", None, "kustomizations"),
        "HelmRelease": ApiKind("helm.toolkit.fluxcd.io", None, "helmreleases"),
        "GitRepository": ApiKind(_SOURCE_GROUP, None, "gitrepositories"),
        "OCIRepository": ApiKind(_SOURCE_GROUP, None, "ocirepositories"),
        "HelmRepository": ApiKind(_SOURCE_GROUP, None, "helmrepositories"),
        "HelmChart": ApiKind(_SOURCE_GROUP, None, "helmcharts"),
        "Bucket": ApiKind(_SOURCE_GROUP, None, "buckets"),
    }
    trailers: ClassVar[tuple[str, ...]] = ()

    def target(self, ref: FluxRef) -> ObjectRef:
        return ObjectRef(ref.kind, ref.namespace, ref.name)

    def related(self, ref: FluxRef, obj: Obj) -> Mapping[str, ObjectRef | None]:
        spec = part(obj, "spec")
        source = (
            part(spec, "sourceRef")
            or part(part(part(spec, "chart"), "spec"), "sourceRef")
            or part(spec, "chartRef")
        )
        kind = source.get("kind")
        if kind not in SOURCES.get(str(obj.get("kind")), ()):
            return {"source": None}
        # A sourceRef without a namespace is in the object's own namespace (Flux's rule).
        namespace = source.get("namespace") or part(obj, "metadata").get("namespace")
        return {
            "source": ObjectRef(
                str(kind), str(namespace or ref.namespace), str(source.get("name") or "")
            )
        }

    def scan_kinds(self, ref: FluxRef) -> set[str]:
        return {ref.kind, *SOURCES[ref.kind]}

    def read(self, obj: Obj, related: Mapping[str, Obj | None], app_repo: str) -> GitOpsState:
        return read_flux(obj, related.get("source"), app_repo)

    def subject(self, ref: FluxRef) -> str:
        return f"Flux {ref.kind} {ref.namespace}/{ref.name}"

    def issues(self, observed: Observed) -> list[Issue]:
        return flux_issues(observed.obj, observed.related.get("source"), observed.state)

    def words(self, state: GitOpsState) -> ToolWords:
        where = f"{state.namespace}/{state.name}" if state.namespace else state.name
        why = state.ready_message or state.ready_reason or "no message"
        return ToolWords(
            label=f"Flux {state.kind} {where}",
            noun=f"Flux {state.kind}",
            done="applied",
            doing="reconciling",
            run="reconcile",
            verb="apply",
            reporter="Flux",
            not_holding=f"is not Ready: {why}",
        )


TOOL = Flux()


def read_flux(obj: Obj, source: Obj | None, app_repo: str) -> GitOpsState:
    """Normalise a Flux Kustomization or HelmRelease with its source object (if it was read)."""
    meta, spec, status = part(obj, "metadata"), part(obj, "spec"), part(obj, "status")
    kind = obj.get("kind") or ""
    helm = kind == "HelmRelease"
    chart_spec = part(part(spec, "chart"), "spec")
    if helm:
        ref = part(chart_spec, "sourceRef") or part(spec, "chartRef")
    else:
        ref = part(spec, "sourceRef")
    source_kind: str | None = (source or {}).get("kind") or ref.get("kind") or None
    src_spec = part(source or {}, "spec")
    artifact = part(part(source or {}, "status"), "artifact")
    metadata = part(artifact, "metadata")
    oci = source_kind == "OCIRepository"

    url = src_spec.get("url") or None
    # An OCI artifact names the Git repo it was built from in its metadata.
    git_url = url if source_kind == "GitRepository" else metadata.get(_OCI_SOURCE) if oci else None
    repo = repo_slug(git_url)

    def commit_of(raw: str | None) -> str | None:
        return _flux_commit(raw, source_kind, artifact)

    conditions = {c.get("type"): c for c in status.get("conditions") or [] if isinstance(c, dict)}
    ready_c = conditions.get("Ready") or {}
    ready = {"True": True, "False": False}.get(str(ready_c.get("status")))
    reconciling = conditions.get("Reconciling", {}).get("status") == "True"
    stalled = conditions.get("Stalled", {}).get("status") == "True"

    applied_at = parse_time(ready_c.get("lastTransitionTime")) if ready is True else None
    if helm:
        deployed = next(
            (h for h in status.get("history") or [] if h.get("status") == "deployed"), None
        )
        applied_rev = (deployed or {}).get("chartVersion") or status.get("lastAppliedRevision")
        if not applied_rev and ready is True and not reconciling:
            # No history (helm-controller before v0.37): Ready=True says the last attempt
            # was released.
            applied_rev = status.get("lastAttemptedRevision")
        applied_at = parse_time((deployed or {}).get("lastDeployed")) or applied_at
        applied = commit_of(applied_rev)
    else:
        applied_rev = status.get("lastAppliedRevision")
        if not applied_rev and ready is True:
            m = _APPLIED_MSG.search(str(ready_c.get("message") or ""))
            applied_rev = m.group(1) if m else None
        applied = _commit_from_origin(status.get("lastAppliedOriginRevision")) if oci else None
        applied = applied or commit_of(applied_rev)
    attempted_rev = status.get("lastAttemptedRevision") or None
    attempted = applied if attempted_rev and attempted_rev == applied_rev else None
    attempted = attempted or commit_of(attempted_rev)

    # After a failure Flux keeps Ready=False with Reconciling=True/ProgressingWithRetry: that
    # is a failure being retried, not a fresh run.
    retrying = conditions.get("Reconciling", {}).get("reason") == "ProgressingWithRetry"
    attempt: Attempt | None
    if stalled or (ready is False and (retrying or not reconciling)):
        attempt = "failed"
    elif reconciling or (ready_c and ready is None):
        attempt = "running"
    elif ready is True:
        attempt = "succeeded"
    else:
        attempt = None
    same_rev = attempted_rev is None or attempted_rev == applied_rev
    in_sync: bool | None = None
    if ready is True and same_rev and not reconciling:
        in_sync = True
    elif ready is False and same_rev and ready_c.get("reason") != "HealthCheckFailed":
        in_sync = False

    # A HelmRepository's artifact is its index: it says nothing about the release's chart.
    desired_rev = None if source_kind == "HelmRepository" else artifact.get("revision") or None
    desired = _commit_from_origin(metadata.get(_OCI_REVISION)) if oci else commit_of(desired_rev)
    ready_time = parse_time(ready_c.get("lastTransitionTime"))
    path = None
    if source_kind == "GitRepository":  # a chart from Git lives at spec.chart.spec.chart
        path = source_path(chart_spec.get("chart") if helm else spec.get("path"))
    history = () if helm else _kustomization_history(status, oci)
    if applied_at is None and applied:
        applied_at = next((at for c, at in reversed(history) if c == applied), None)
    return GitOpsState(
        tool="flux",
        kind=kind,
        namespace=meta.get("namespace"),
        name=meta.get("name") or "",
        source_kind=source_kind,
        source_url=url,
        source_repo=repo,
        source_path=path,
        same_repo=repo is not None and repo.lower() == app_repo.lower(),
        desired_commit=desired,
        desired_revision=desired_rev,
        applied_commit=applied,
        applied_revision=applied_rev,
        applied_at=applied_at,
        attempted_commit=attempted,
        attempted_revision=attempted_rev,
        attempt=attempt,
        attempt_message=ready_c.get("message") if attempt != "succeeded" else None,
        attempt_started_at=ready_time if attempt == "running" else None,
        attempt_finished_at=ready_time if attempt in ("succeeded", "failed") else None,
        in_sync=in_sync,
        ready=ready,
        ready_reason=ready_c.get("reason"),
        ready_message=ready_c.get("message"),
        stalled=stalled,
        reconciling=reconciling,
        suspended=bool(spec.get("suspend")),
        history=history,
    )


def _flux_commit(raw: str | None, source_kind: str | None, artifact: Obj) -> str | None:
    """The Git commit a Flux revision names, given what its source is."""
    if not raw:
        return None
    rev = parse_revision(raw)
    if source_kind in (None, "GitRepository") and rev.commit:
        return rev.commit
    current = parse_revision(str(artifact.get("revision") or ""))
    if rev.kind == "chart" and rev.digest and current.digest:
        # "1.2.3+<12 hex>": only the current artifact can be matched on a 12-hex prefix.
        matched = current.digest.startswith(rev.digest)
    else:
        matched = rev.digest is not None and rev.digest == current.digest
    if not matched:
        return None
    if source_kind == "OCIRepository":
        return _commit_from_origin(part(artifact, "metadata").get(_OCI_REVISION))
    return current.commit if source_kind in (None, "GitRepository") else None


def _commit_from_origin(raw: object) -> str | None:
    # An origin revision is a Git revision in any Flux format ("main@sha1:…" or a bare SHA).
    return parse_revision(str(raw)).commit if raw else None


def _kustomization_history(status: Obj, oci: bool) -> tuple[tuple[str, datetime | None], ...]:
    out = []
    for h in reversed(status.get("history") or []):  # stored newest first
        if not isinstance(h, dict) or h.get("lastReconciledStatus") != "ReconciliationSucceeded":
            continue
        meta = h.get("metadata") or {}
        raw = meta.get("originRevision") if oci else meta.get("revision")
        commit = _commit_from_origin(raw)
        if commit:
            out.append((commit, parse_time(h.get("firstReconciled"))))
    return tuple(out)


def flux_issues(obj: Obj, source: Obj | None, state: GitOpsState) -> list[Issue]:
    """The Flux object and the source it reads (a source that cannot fetch stops delivery)."""
    if state.suspended:
        return []  # suspended on purpose: nothing is applied, nothing is expected to be
    out = [
        issue
        for o in (obj, source)
        if o is not None
        and not part(o, "spec").get("suspend")
        and (issue := _failing(o)) is not None
    ]
    artifact = part(part(source or {}, "status"), "artifact")
    latest = str(artifact.get("revision") or "")
    applied = state.applied_revision
    if state.kind == "Kustomization" and latest and not same_revision(applied or "", latest):
        out.append(
            Issue(
                "sync",
                "revision-lag",
                _subject(obj),
                "applied revision is not the source's latest",
                desired=short(latest),
                actual=short(applied) if applied else "nothing applied",
                since=parse_time(artifact.get("lastUpdateTime")),  # the source moved on then
            )
        )
    return out


def _failing(obj: Obj) -> Issue | None:
    """``Stalled=True``, or ``Ready=False`` unless a fresh reconciliation is under way
    (``Reconciling=True`` other than ``ProgressingWithRetry``, a failure being retried): the
    same rule as :func:`read_flux`'s failed attempt."""
    conditions = {
        c.get("type"): c for c in part(obj, "status").get("conditions") or [] if isinstance(c, dict)
    }
    stalled = conditions.get("Stalled") or {}
    ready = conditions.get("Ready") or {}
    reconciling = conditions.get("Reconciling") or {}
    fresh = (
        reconciling.get("status") == "True" and reconciling.get("reason") != "ProgressingWithRetry"
    )
    if stalled.get("status") == "True":
        cond, word, kind = stalled, "Stalled", "stalled"
    elif ready.get("status") == "False" and not fresh:
        cond, word, kind = ready, "Ready=False", "not-ready"
    else:
        return None
    reason = cond.get("reason")
    return Issue(
        "rollout" if reason == "HealthCheckFailed" else "sync",  # health is the rollout's
        kind,
        _subject(obj),
        f"{word}: {reason}" if reason else word,
        desired="Ready",
        actual=clip(cond["message"]) if cond.get("message") else reason,
        since=parse_time(cond.get("lastTransitionTime")),
    )


def same_revision(a: str, b: str) -> bool:
    """Two Flux revisions name the same thing (old and new formats alike)."""
    ra, rb = parse_revision(a), parse_revision(b)
    if ra.digest and rb.digest:
        return ra.digest == rb.digest
    return a.strip() == b.strip()


# --- workloads -------------------------------------------------------------------------------


def _subject(obj: Obj) -> str:
    meta = part(obj, "metadata")
    return f"Flux {obj.get('kind') or ''} {meta.get('namespace') or ''}/{meta.get('name') or ''}"
