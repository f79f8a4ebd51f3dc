"""Normalise an Argo CD Application or a Flux Kustomization / HelmRelease. Pure.

Both are read into one :class:`GitOpsState`; nothing is invented (unknown stays None).
``*_commit`` are full lower-case Git SHAs of the *deciding* source; ``*_revision`` keep the
tool's own string (chart version, OCI digest) for messages. ``source_path`` is relative to the
repo root without ``./`` (the root itself is None: no path filter). ``source_repo`` is the
"owner/name" of the Git repo the manifests come from; ``same_repo`` compares it to the app repo.

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from bot.gitops.revisions import parse_revision
from bot.timefmt import parse_time

Obj = dict[str, Any]
Attempt = Literal["running", "succeeded", "failed"]

_SCP = re.compile(r"^[\w.-]+@(?P<host>[^:/]+):(?P<path>.+)$")
_APPLIED_MSG = re.compile(r"Applied revision: (\S+)")
_OCI_REVISION = "org.opencontainers.image.revision"
_OCI_SOURCE = "org.opencontainers.image.source"
_ARGO_PHASES: dict[str, Attempt] = {"Running": "running", "Terminating": "failed"}
_ARGO_PHASES |= {"Succeeded": "succeeded", "Failed": "failed", "Error": "failed"}


@dataclass(frozen=True)
class GitOpsState:
    tool: Literal["argocd", "flux"]
    kind: str
    namespace: str | None
    name: str
    source_kind: str | None = None  # Git / Helm / OCI (Argo); GitRepository / ... (Flux)
    source_url: str | None = None
    source_repo: str | None = None  # "owner/name" of the Git repo the manifests come from
    source_path: str | None = None
    same_repo: bool = False  # the manifests live in the app repo
    desired_commit: str | None = None
    desired_revision: str | None = None
    applied_commit: str | None = None
    applied_revision: str | None = None
    applied_at: datetime | None = None
    attempted_commit: str | None = None
    attempted_revision: str | None = None
    attempt: Attempt | None = None
    attempt_message: str | None = None
    attempt_started_at: datetime | None = None
    attempt_finished_at: datetime | None = None
    in_sync: bool | None = None
    health: str | None = None
    ready: bool | None = None
    ready_reason: str | None = None
    ready_message: str | None = None
    stalled: bool = False
    reconciling: bool = False
    suspended: bool = False  # Flux spec.suspend: nothing will be applied until resumed
    images: tuple[str, ...] = ()
    out_of_sync: tuple[str, ...] = ()
    history: tuple[tuple[str, datetime | None], ...] = ()  # (commit, applied at), oldest first


def repo_slug(url: str | None) -> str | None:
    """The repository path of a Git URL ("owner/name"), or None; ``oci://`` is not Git.

    https, http, ``ssh://git@host[:port]/owner/name``, scp-like ``git@host:owner/name.git``,
    ``git://`` and ``host/owner/name`` all work; ``.git`` and trailing slashes are dropped.
    """
    if not url:
        return None
    text = url.strip()
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme.lower() not in {"https", "http", "ssh", "git", "git+ssh", "ssh+git"}:
            return None
        path = parts.path
    elif m := _SCP.match(text):
        path = m.group("path")
    else:
        segments = text.strip("/").split("/")
        path = "/".join(segments[1:] if len(segments) > 2 and "." in segments[0] else segments)
    path = path.strip("/")
    path = path.removesuffix(".git").strip("/")
    segments = [s for s in path.split("/") if s]
    return "/".join(segments) if len(segments) >= 2 else None


def same_repo(url: str | None, repo: str) -> bool:
    """True when a Git URL names the repo "owner/name" (case-insensitive; host not compared)."""
    slug = repo_slug(url)
    return slug is not None and slug.lower() == repo.strip().strip("/").lower()


# --- Argo CD ---------------------------------------------------------------------------------


def read_argocd(app: Obj, app_repo: str) -> GitOpsState:
    """Normalise an Argo CD Application (see the module docstring for the rules)."""
    meta, spec, status = _part(app, "metadata"), _part(app, "spec"), _part(app, "status")
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

    sync = _part(status, "sync")
    history = [h for h in status.get("history") or [] if isinstance(h, dict)]
    op = _part(status, "operationState")
    phase = op.get("phase")
    result = _part(op, "syncResult")
    requested = _part(_part(op, "operation"), "sync")

    applied, applied_at = None, None
    if history:
        applied, applied_at = pick(history[-1]), parse_time(history[-1].get("deployedAt"))
    op_finished = parse_time(op.get("finishedAt"))
    op_is_newer = applied_at is None or (op_finished is not None and op_finished >= applied_at)
    if phase == "Succeeded" and pick(result) and (applied is None or op_is_newer):
        applied, applied_at = pick(result), op_finished or applied_at

    desired = pick(sync, _part(sync, "comparedTo").get("sources") or [])
    attempt = _ARGO_PHASES.get(str(phase))
    attempted = pick(result) or pick(requested)
    if attempted is None and attempt in ("running", "failed"):
        attempted = desired  # a sync of no named revision syncs what the source resolves to
    started, finished, message = parse_time(op.get("startedAt")), op_finished, op.get("message")
    if phase == "Terminating":
        message = message or "terminated"
    pending_op = _part(_part(app, "operation"), "sync")
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
        source_path=None if src.get("ref") else _path(src.get("path")),
        same_repo=git and same_repo(url, app_repo),
        desired_commit=_git_commit(desired) if git else None,
        desired_revision=desired,
        applied_commit=_git_commit(applied) if git else None,
        applied_revision=applied,
        applied_at=applied_at,
        attempted_commit=_git_commit(attempted) if git else None,
        attempted_revision=attempted,
        attempt=attempt,
        attempt_message=message,
        attempt_started_at=started,
        attempt_finished_at=finished if attempt in ("succeeded", "failed") else None,
        in_sync={"Synced": True, "OutOfSync": False}.get(str(sync.get("status"))),
        health=_part(status, "health").get("status"),
        images=tuple(_part(status, "summary").get("images") or ()),
        out_of_sync=tuple(
            _resource_id(r)
            for r in status.get("resources") or []
            if isinstance(r, dict) and r.get("status") == "OutOfSync"
        ),
        history=tuple(
            (commit, parse_time(h.get("deployedAt")))
            for h in history
            if git and (commit := _git_commit(pick(h)))
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


# --- Flux ------------------------------------------------------------------------------------


def read_flux(obj: Obj, source: Obj | None, app_repo: str) -> GitOpsState:
    """Normalise a Flux Kustomization or HelmRelease with its source object (if it was read)."""
    meta, spec, status = _part(obj, "metadata"), _part(obj, "spec"), _part(obj, "status")
    kind = obj.get("kind") or ""
    helm = kind == "HelmRelease"
    chart_spec = _part(_part(spec, "chart"), "spec")
    if helm:
        ref = _part(chart_spec, "sourceRef") or _part(spec, "chartRef")
    else:
        ref = _part(spec, "sourceRef")
    source_kind: str | None = (source or {}).get("kind") or ref.get("kind") or None
    src_spec = _part(source or {}, "spec")
    artifact = _part(_part(source or {}, "status"), "artifact")
    metadata = _part(artifact, "metadata")
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
        path = _path(chart_spec.get("chart") if helm else spec.get("path"))
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
        return _commit_from_origin(_part(artifact, "metadata").get(_OCI_REVISION))
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


def _path(value: object) -> str | None:
    # "./clusters/prod/" -> "clusters/prod"; the repo root ("." or "") is no filter at all.
    text = str(value or "").strip().strip("/")
    while text.startswith("./"):
        text = text[2:].lstrip("/")
    return None if text in ("", ".") else text


def _git_commit(raw: str | None) -> str | None:
    return parse_revision(raw).commit if raw else None


def _part(obj: Obj, key: str) -> Obj:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}
