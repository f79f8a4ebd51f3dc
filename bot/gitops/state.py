"""What every GitOps tool's object is read into, and the helpers the tools share. Pure.

A tool (:mod:`bot.gitops.argocd`, :mod:`bot.gitops.flux`) reads its object into one
:class:`GitOpsState`; nothing is invented (unknown stays None). ``*_commit`` are full lower-case
Git SHAs of the *deciding* source; ``*_revision`` keep the tool's own string (chart version, OCI
digest) for messages. ``source_path`` is relative to the repo root without ``./`` (the root
itself is None: no path filter). ``source_repo`` is the "owner/name" of the Git repo the
manifests come from; ``same_repo`` compares it to the app repo. :attr:`GitOpsState.words` says
it all in the tool's own words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from bot.gitops.revisions import parse_revision

Obj = dict[str, Any]
Attempt = Literal["running", "succeeded", "failed"]

_SCP = re.compile(r"^[\w.-]+@(?P<host>[^:/]+):(?P<path>.+)$")
MAX_MESSAGE = 200


@dataclass(frozen=True)
class ToolWords:
    """How details name a tool's object and its work: "Argo CD app shop-prod synced …"."""

    label: str  # "Argo CD app shop-prod", "Flux Kustomization flux-system/shop"
    noun: str  # the kind of thing it is: "Argo CD app", "Flux Kustomization"
    done: str  # "synced" / "applied"
    doing: str  # "syncing" / "reconciling"
    run: str  # one run of it: "sync" / "reconcile"
    verb: str  # "failed to <verb> <revision>": "sync" / "apply"
    reporter: str  # who reports the app's health in rollout details: "Argo CD"
    not_holding: str  # why an applied revision no longer holds: "reports OutOfSync: …"


@dataclass(frozen=True)
class GitOpsState:
    tool: str  # the config key of the tool that read it (bot.gitops.TOOLS)
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

    @property
    def words(self) -> ToolWords:
        """How the tool's own words name this object and what it does."""
        from bot.gitops import TOOLS  # the registry imports this module: look up late

        return TOOLS[self.tool].words(self)


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


def source_path(value: object) -> str | None:
    # "./clusters/prod/" -> "clusters/prod"; the repo root ("." or "") is no filter at all.
    text = str(value or "").strip().strip("/")
    while text.startswith("./"):
        text = text[2:].lstrip("/")
    return None if text in ("", ".") else text


def git_commit(raw: str | None) -> str | None:
    return parse_revision(raw).commit if raw else None


def part(obj: Obj, key: str) -> Obj:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def show_revision(commit: str | None, raw: str | None) -> str:
    """A revision as details show it: 7 hex of a commit, else the tool's short form."""
    if commit:
        return commit[:7]
    if raw:
        return parse_revision(raw).short
    return "an unknown revision"


def short(revision: str | None) -> str | None:
    """7 hex of a commit, a chart version, or 12 hex of a digest."""
    return parse_revision(revision).short if revision else None


def clip(text: str, limit: int = MAX_MESSAGE) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def verb_for(n: int, verb: str) -> str:
    return f"{verb}s" if n == 1 else verb


def resource_ids(resources: Iterable[Obj]) -> tuple[str, ...]:
    """ "Kind namespace/name" (cluster-scoped: "Kind name"), sorted."""
    return tuple(
        sorted(
            f"{r.get('kind')} {r['namespace']}/{r.get('name')}"
            if r.get("namespace")
            else f"{r.get('kind')} {r.get('name')}"
            for r in resources
        )
    )
