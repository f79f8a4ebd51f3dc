"""What a one-shot stage source is to shiptrace, and how several make one stage.

A source reads once per change (:meth:`StageSource.observe`, all I/O, through the clients in
the :class:`StageContext` it is handed) and then judges what it read with a pure rule
(:meth:`StageSource.stage`), so the rules are tested as tables and the reading against the
emulators. What could not be read comes back as :class:`Unreadable`, never raised and never
appended to a list somebody else owns: the Tracer turns it into an ``unknown`` stage and an
``errors`` entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Generic, Protocol, TypeVar

from bot.model import SEVERITY, Change, SourceProblem, Stage, Status, worst
from bot.sources.github import GitHubClient

T = TypeVar("T")


@dataclass(frozen=True)
class StageContext:
    """What a source is handed to read one change."""

    change: Change
    github: GitHubClient
    web_url: str  # GitHub's web host, for links GitHub itself does not give


@dataclass(frozen=True)
class Observation(Generic[T]):
    """What a source read for one change, and where its stage links to."""

    change: Change
    url: str | None
    reported: T


@dataclass(frozen=True)
class Unreadable:
    """The source could not be read: its stage is ``unknown`` and ``problem`` says why."""

    problem: SourceProblem


class StageSource(Protocol[T]):
    key: str  # the config key it is registered under, e.g. "github"
    label: str  # how a shared stage's detail names it, e.g. "GitHub CI"
    stage_id: str  # the one-shot stage it reports ("ci"); ids are the JSON contract

    async def observe(self, ctx: StageContext) -> Observation[T] | Unreadable:
        """Read what the source says about ``ctx.change``."""

    def stage(self, observation: Observation[T]) -> Stage:
        """Judge what was read (pure)."""


def combined(parts: Sequence[tuple[str, Stage]]) -> Stage:
    """One stage from the sources reporting the same stage id, as (label, stage) in registry
    order. A lone source's stage stays as it is. Several: the worst status (a source that
    reported nothing keeps the stage pending; a skipped one does not count), every item
    failed first, each detail under its source's label, the first source's link."""
    if len(parts) == 1:
        return parts[0][1]
    stages = [stage for _, stage in parts]
    counted = [s for s in stages if s.status is not Status.SKIPPED] or stages
    status = worst([s.status for s in counted]) or Status.UNKNOWN
    items = sorted(
        (item for s in stages for item in s.items),
        key=lambda i: (-SEVERITY[i.status], i.name.lower()),
    )
    starts = [s.started_at for s in stages if s.started_at]
    ends = [s.finished_at for s in counted if s.finished_at]
    done = status in (Status.SUCCEEDED, Status.FAILED)
    return replace(
        stages[0],
        status=status,
        detail="; ".join(f"{label}: {stage.detail}" for label, stage in parts),
        started_at=min(starts, default=None),
        finished_at=max(ends, default=None) if done else None,
        url=next((s.url for s in stages if s.url), None),
        items=tuple(items),
        failure=next((s.failure for s in stages if s.status is Status.FAILED), None),
    )
