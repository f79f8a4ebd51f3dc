"""The data shiptrace reasons about. Plain dataclasses, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Kind(StrEnum):
    ONE_SHOT = "one-shot"
    CONTINUOUS = "continuous"


class Status(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DRIFTED = "drifted"
    SKIPPED = "skipped"
    UNKNOWN = "unknown"


# How bad a status is, for "the stage takes the worst item".
SEVERITY: dict[Status, int] = {
    Status.FAILED: 6,
    Status.DRIFTED: 5,
    Status.UNKNOWN: 4,
    Status.RUNNING: 3,
    Status.PENDING: 2,
    Status.SUCCEEDED: 1,
    Status.SKIPPED: 0,
}


def worst(statuses: list[Status]) -> Status | None:
    return max(statuses, key=SEVERITY.__getitem__) if statuses else None


class ChangeState(StrEnum):
    OPEN = "open"
    MERGED = "merged"
    CLOSED = "closed"
    COMMIT = "commit"


STAGE_KINDS: dict[str, Kind] = {
    "merge": Kind.ONE_SHOT,
    "ci": Kind.ONE_SHOT,
    "promote": Kind.ONE_SHOT,
    "sync": Kind.CONTINUOUS,
    "rollout": Kind.CONTINUOUS,
}


@dataclass(frozen=True)
class Change:
    repo: str
    sha: str
    requested: str
    state: ChangeState
    head_sha: str | None = None
    pr: int | None = None
    title: str | None = None
    author: str | None = None
    url: str | None = None
    merged_at: datetime | None = None
    # True when the default branch contains the commit; None when not known.
    on_default_branch: bool | None = None
    # When the change began: the PR's creation, or a lone commit's authoring; None when not
    # known. Where a trace export's root span starts. Not in the JSON.
    opened_at: datetime | None = None


@dataclass(frozen=True)
class Item:
    name: str
    status: Status
    conclusion: str | None = None
    url: str | None = None
    # The item's own times (a check run's, a job's, a workload's), when its source says them;
    # trace export makes a child span of an item only when both are known. Not in the JSON.
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True)
class Stage:
    id: str
    status: Status
    detail: str
    environment: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    url: str | None = None
    items: tuple[Item, ...] = ()
    # A failed stage: what failed, in a few words, for the stages waiting on it to quote.
    # Not part of the JSON contract (the detail already says it).
    failure: str | None = None

    @property
    def kind(self) -> Kind:
        return STAGE_KINDS[self.id]


@dataclass(frozen=True)
class SourceProblem:
    """A source that could not be read: the `errors` entry of a trace."""

    source: str
    message: str
    environment: str | None = None


@dataclass(frozen=True)
class Trace:
    change: Change
    service: str | None
    stages: tuple[Stage, ...]
    where: str
    errors: tuple[SourceProblem, ...] = field(default=())

    def is_live_in(self, environment: str) -> bool:
        """Every stage of ``environment`` succeeded (and it has some)."""
        stages = [s for s in self.stages if s.environment == environment]
        return bool(stages) and all(s.status is Status.SUCCEEDED for s in stages)


@dataclass(frozen=True)
class ApiKind:
    """Where a Kubernetes kind lives in the API; ``version`` None: the newest one served."""

    group: str  # "" for the core group
    version: str | None
    plural: str


@dataclass(frozen=True)
class Issue:
    """One way a GitOps object or a workload drifts, before the scan adds its service,
    environment and links."""

    stage: str
    kind: str
    subject: str
    summary: str
    desired: str | None = None
    actual: str | None = None
    resources: tuple[str, ...] = ()
    since: datetime | None = None
