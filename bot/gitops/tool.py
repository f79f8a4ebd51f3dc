"""What a GitOps tool is to shiptrace, and the one way its objects are read.

A tool is one module (:mod:`bot.gitops.argocd`, :mod:`bot.gitops.flux`) with one
:class:`GitOpsTool` registered in :data:`bot.gitops.TOOLS` under its config key. It owns its
config section, the kinds it reads, reading its object (and the objects it points at, such as
a Flux source) into a :class:`~bot.gitops.state.GitOpsState`, judging it for drift, and its
words. The reading is split into pure steps — which object, which related objects, what they
say — so that ``/where`` (live reads) and the drift scan (a snapshot of lists) run the very same
code over different getters (:func:`observe`, :func:`observe_listed`) and cannot disagree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from bot.errors import KubernetesError, KubernetesNotFound
from bot.gitops.state import GitOpsState, ToolWords
from bot.model import ApiKind, Issue

Obj = dict[str, Any]


@dataclass(frozen=True)
class ObjectRef:
    kind: str
    namespace: str
    name: str


# Getters return the object or raise KubernetesNotFound (missing) / KubernetesError (unreadable).
LiveGetter = Callable[[ObjectRef], Awaitable[Obj]]
ListedGetter = Callable[[ObjectRef], Obj]


@dataclass(frozen=True)
class Observed:
    """A tool's object with the objects it points at, and what they say."""

    obj: Obj
    related: Mapping[str, Obj | None]  # e.g. {"source": …}; None: missing or unreadable
    state: GitOpsState
    problems: tuple[str, ...] = field(default=())  # related objects that could not be read


class GitOpsTool(Protocol):
    key: ClassVar[str]  # the config key, e.g. "argocd"
    name: ClassVar[str]  # "Argo CD"
    config: ClassVar[type[BaseModel]]  # the config section's model
    kinds: ClassVar[Mapping[str, ApiKind]]  # every kind it may read
    # Commit-message trailers that name the app commit a config commit promotes.
    trailers: ClassVar[tuple[str, ...]]

    def target(self, ref: Any) -> ObjectRef:
        """The configured object."""

    def related(self, ref: Any, obj: Obj) -> Mapping[str, ObjectRef | None]:
        """The objects it points at that its state depends on (None: none to read)."""

    def scan_kinds(self, ref: Any) -> set[str]:
        """The kinds a drift scan lists to judge this configured object."""

    def read(self, obj: Obj, related: Mapping[str, Obj | None], app_repo: str) -> GitOpsState:
        """What the objects say (pure)."""

    def subject(self, ref: Any) -> str:
        """How a drift finding names the configured object."""

    def issues(self, observed: Observed) -> list[Issue]:
        """How it drifts (pure)."""

    def words(self, state: GitOpsState) -> ToolWords: ...


async def observe(tool: GitOpsTool, ref: Any, get: LiveGetter, app_repo: str) -> Observed:
    """Read the configured object and what it points at, live. Raises what ``get`` raises for
    the object itself; a related object that is missing or unreadable is None (unreadable:
    also in ``problems``)."""
    obj = await get(tool.target(ref))
    targets = tool.related(ref, obj)
    found = await asyncio.gather(*(_fetch(get, t) for t in targets.values()))
    return _settle(tool, obj, dict(zip(targets, found, strict=True)), app_repo)


def observe_listed(tool: GitOpsTool, ref: Any, get: ListedGetter, app_repo: str) -> Observed:
    """The same as :func:`observe`, over objects already listed (the drift scan)."""
    obj = get(tool.target(ref))
    found: dict[str, Obj | KubernetesError | None] = {}
    for role, target in tool.related(ref, obj).items():
        try:
            found[role] = get(target) if target is not None else None
        except KubernetesError as exc:
            found[role] = exc
    return _settle(tool, obj, found, app_repo)


async def _fetch(get: LiveGetter, target: ObjectRef | None) -> Obj | KubernetesError | None:
    if target is None:
        return None
    try:
        return await get(target)
    except KubernetesError as exc:
        return exc


def _settle(
    tool: GitOpsTool,
    obj: Obj,
    found: Mapping[str, Obj | KubernetesError | None],
    app_repo: str,
) -> Observed:
    related: dict[str, Obj | None] = {}
    problems: list[str] = []
    for role, got in found.items():
        related[role] = got if isinstance(got, dict) else None
        if isinstance(got, KubernetesError) and not isinstance(got, KubernetesNotFound):
            problems.append(got.message)
    return Observed(obj, related, tool.read(obj, related, app_repo), tuple(problems))
