"""A trace as span records: one OpenTelemetry trace per change, with ids anyone can compute.
Pure: no OpenTelemetry import here either (``bot.export.otlp`` turns records into SDK spans).

**Ids** (the ``shiptrace/v1`` scheme), with ``repo`` the change's ``owner/name`` and ``sha``
the change's SHA (``change.sha``: the merge SHA of a merged PR, the head SHA of an open one)::

    trace id = first 16 bytes of SHA-256("shiptrace/v1 " + repo.lower() + " " + sha)
    span id  = first 8 bytes of SHA-256("shiptrace/v1 " + repo.lower() + " " + sha + " " + path)

(UTF-8, single spaces), where ``path`` names the span:

    deliver                                the root
    merge, ci                              the change's own stages
    ci/<item>                              one check run, Actions job or commit status
    deploy/<environment>                   one environment
    deploy/<environment>/<stage>           its promote, sync, rollout
    deploy/<environment>/<stage>/<item>    one workload of its rollout
    drift/<environment>/<first seen>       one drift incident (first seen as 2026-11-26T09:01:02Z)

``<item>`` is the item's name; a name that appears twice in one stage is followed by " " and
the item's url. So exporting a span again gives it the same ids.

**Which spans, with which times.** A span is made once what it describes has ended:

- a stage that ``succeeded`` or ``failed`` (``running``, ``pending``, ``unknown`` and ``skipped``
  stages have none yet). A ``drifted`` continuous stage held before it drifted: its span is
  the holding one (status OK), the drift is an incident.
- start = the stage's ``started_at`` (``merge``: ``opened_at``), else its end. End = its
  ``finished_at``; a one-shot stage without one has no span (its time is not known). A
  continuous stage without one ends when shiptrace first saw it holding (``seen``), else
  ``now`` (it holds as this trace was read).
- an item (a check, a workload) once it ended and has both of its own times.
- ``deploy <environment>`` once each of its stages ended (or one failed): from the earliest
  start to the latest end of its stages.
- the root ``deliver <repo>#<pr>`` (``<repo>@<sha7>``) once every stage ended ("live in the
  last environment") or one failed: from ``opened_at`` (PR creation or first commit, when the
  caller knows it) or the earliest stage start, to the latest end.
- a drift incident once resolved, in an environment that has its ``deploy`` span: a child of
  it from first seen to resolved, status ERROR, linked to the stage span(s) it broke.

A failed stage or item has status ERROR with the reason (the stage's detail, the check's
conclusion). Attributes follow the OpenTelemetry CI/CD and VCS semantic conventions, plus
``shiptrace.stage.kind`` (``one-shot`` / ``continuous``) on every stage span.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from bot.drift.incidents import Incident, IncidentState
from bot.model import ChangeState, Item, Kind, Stage, Status, Trace
from bot.timefmt import format_time

ID_PREFIX = "shiptrace/v1"

AttrValue = str | int | bool | tuple[str, ...]
Attributes = Mapping[str, AttrValue]
# When shiptrace first saw (environment, stage id) in a status; None when it does not know.
SeenLookup = Callable[[str, str, Status], datetime | None]


class SpanStatus(StrEnum):
    OK = "ok"
    ERROR = "error"
    UNSET = "unset"


@dataclass(frozen=True)
class SpanLink:
    trace_id: int
    span_id: int
    attributes: Attributes = field(default_factory=dict)


@dataclass(frozen=True)
class SpanRecord:
    """One finished span, ready to hand to an exporter."""

    path: str  # what the span id is derived from (see the module docstring)
    trace_id: int  # 128 bits
    span_id: int  # 64 bits
    parent_id: int | None
    name: str
    start: datetime
    end: datetime
    status: SpanStatus
    description: str | None = None  # the reason, for ERROR
    attributes: Attributes = field(default_factory=dict)
    links: tuple[SpanLink, ...] = ()

    @property
    def trace_id_hex(self) -> str:
        return f"{self.trace_id:032x}"

    @property
    def span_id_hex(self) -> str:
        return f"{self.span_id:016x}"


def trace_id_for(repo: str, sha: str) -> int:
    digest = hashlib.sha256(f"{ID_PREFIX} {repo.lower()} {sha}".encode()).digest()
    return int.from_bytes(digest[:16], "big")


def span_id_for(repo: str, sha: str, path: str) -> int:
    digest = hashlib.sha256(f"{ID_PREFIX} {repo.lower()} {sha} {path}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def span_key(record: SpanRecord) -> str:
    """What a store keeps to know a span was exported: its ids and outcome. A span whose
    outcome changes (a failed CI re-run that passes) has a new key and is exported again;
    one whose outcome stays is not, whatever time it is read at."""
    return f"{record.trace_id_hex}/{record.span_id_hex}/{record.status.value}"


def build_spans(
    trace: Trace,
    incidents: Iterable[Incident] = (),
    *,
    now: datetime,
    opened_at: datetime | None = None,
    seen: SeenLookup | None = None,
) -> list[SpanRecord]:
    """The finished spans of ``trace``, parents before children (rules in the docstring).

    ``incidents`` are the drift incidents of the time this change ran; only resolved ones of
    this service, in an environment it was deployed to, become spans. ``opened_at`` is when
    the change began (PR creation, first commit); ``seen`` says when shiptrace first saw a
    stage in a status (the store's record), for continuous stages without an end of their own.
    """
    return _Builder(trace, now, opened_at, seen or _never_seen).build(incidents)


def _never_seen(_env: str, _stage: str, _status: Status) -> datetime | None:
    return None


# -- building -----------------------------------------------------------------------------------

_ACTION = {"merge": "RUN", "ci": "BUILD", "promote": "RUN", "sync": "SYNC", "rollout": "RUN"}
# GitHub's conclusion words in the cicd.pipeline.task.run.result vocabulary.
_RESULT = {
    "success": "success",
    "neutral": "success",
    "skipped": "skip",
    "failure": "failure",
    "action_required": "failure",
    "cancelled": "cancellation",
    "timed_out": "timeout",
    "startup_failure": "error",
    "error": "error",
}
# The Kubernetes semantic conventions name these workload kinds; others (an Argo Rollout)
# keep only shiptrace.workload.
_K8S_NAME = {
    "Deployment": "k8s.deployment.name",
    "StatefulSet": "k8s.statefulset.name",
    "DaemonSet": "k8s.daemonset.name",
}
_WORKLOAD = re.compile(r"^(?P<kind>\w+) (?P<namespace>[^/\s]+)/(?P<name>\S+)$")
_ACTIONS_JOB = re.compile(r"/actions/runs/(?P<run>\d+)/job/(?P<job>\d+)")
_ACTIONS_RUN = re.compile(r"/actions/runs/(?P<run>\d+)(?:/|$)")
_CHECK_RUN = re.compile(r"/runs/(?P<check>\d+)(?:/|$)")


@dataclass(frozen=True)
class _Timed:
    stage: Stage
    start: datetime
    end: datetime


_ENDED = (Status.SUCCEEDED, Status.FAILED, Status.DRIFTED)


class _Builder:
    def __init__(
        self, trace: Trace, now: datetime, opened_at: datetime | None, seen: SeenLookup
    ) -> None:
        self.trace = trace
        self.change = trace.change
        self.now = now
        self.opened_at = opened_at
        self.seen = seen
        self.trace_id = trace_id_for(self.change.repo, self.change.sha)
        repo, pr = self.change.repo, self.change.pr
        self.run_id = f"{repo}#{pr}" if pr is not None else f"{repo}@{self.change.sha}"
        self.pipeline = trace.service or repo

    def span_id(self, path: str) -> int:
        return span_id_for(self.change.repo, self.change.sha, path)

    def record(
        self,
        path: str,
        parent: str | None,
        name: str,
        start: datetime,
        end: datetime,
        status: SpanStatus,
        description: str | None,
        attributes: Attributes,
        links: tuple[SpanLink, ...] = (),
    ) -> SpanRecord:
        return SpanRecord(
            path=path,
            trace_id=self.trace_id,
            span_id=self.span_id(path),
            parent_id=self.span_id(parent) if parent is not None else None,
            name=name,
            start=min(start, end),
            end=end,
            status=status,
            description=description,
            attributes=attributes,
            links=links,
        )

    # -- the tree ---------------------------------------------------------------------------

    def build(self, incidents: Iterable[Incident]) -> list[SpanRecord]:
        out: list[SpanRecord] = []
        timed: list[_Timed] = []
        for stage in self.trace.stages:
            if stage.environment is None and (t := self._times(stage)) is not None:
                timed.append(t)
                out.extend(self._stage_spans(t, stage.id, "deliver"))
        deployed: dict[str, SpanRecord] = {}
        envs = dict.fromkeys(s.environment for s in self.trace.stages if s.environment)
        for env in envs:
            stages = [s for s in self.trace.stages if s.environment == env]
            env_timed = []
            for stage in stages:
                if (t := self._times(stage)) is not None:
                    env_timed.append(t)
                    out.extend(self._stage_spans(t, f"deploy/{env}/{stage.id}", f"deploy/{env}"))
            timed.extend(env_timed)
            if (deploy := self._deploy_span(env, stages, env_timed)) is not None:
                out.append(deploy)
                deployed[env] = deploy
        root = self._root_span(timed)
        return [*([root] if root else []), *out, *self._incident_spans(incidents, deployed)]

    def _times(self, stage: Stage) -> _Timed | None:
        """The span times of a stage that ended; None while it has not (or has no known end)."""
        if stage.status not in _ENDED:
            return None
        end = stage.finished_at
        if end is None and stage.kind is Kind.CONTINUOUS and stage.environment is not None:
            held = Status.SUCCEEDED if stage.status is Status.DRIFTED else stage.status
            end = self.seen(stage.environment, stage.id, held)
            if end is None:
                # It holds as this trace was read; a drifted one held at some time before.
                end = stage.started_at if stage.status is Status.DRIFTED else self.now
        if end is None:
            return None
        start = stage.started_at or (self.opened_at if stage.id == "merge" else None) or end
        return _Timed(stage, start, end)

    def _stage_spans(self, timed: _Timed, path: str, parent: str) -> list[SpanRecord]:
        stage = timed.stage
        failed = stage.status is Status.FAILED
        attrs: dict[str, AttrValue] = {
            **self._common(),
            "cicd.pipeline.action.name": _ACTION[stage.id],
            "cicd.pipeline.task.name": stage.id,
            "cicd.pipeline.task.run.result": "failure" if failed else "success",
            "shiptrace.stage.id": stage.id,
            "shiptrace.stage.kind": stage.kind.value,
            "shiptrace.stage.status": stage.status.value,
            "shiptrace.stage.detail": stage.detail,
        }
        if stage.url:
            attrs["cicd.pipeline.task.run.url.full"] = stage.url
        if stage.environment is not None:
            attrs["deployment.environment.name"] = stage.environment
        if stage.id == "rollout":
            attrs.update(_workloads_attrs(stage.items))
        status = SpanStatus.ERROR if failed else SpanStatus.OK
        spans = [
            self.record(
                path,
                parent,
                stage.id,
                timed.start,
                timed.end,
                status,
                stage.detail if failed else None,
                attrs,
            )
        ]
        for item in stage.items:
            span = self._item_span(item, _item_path(path, item, stage.items), path, stage)
            if span is not None:
                spans.append(span)
        return spans

    def _item_span(self, item: Item, path: str, parent: str, stage: Stage) -> SpanRecord | None:
        if item.status not in (Status.SUCCEEDED, Status.FAILED):
            return None
        if item.started_at is None or item.finished_at is None:
            return None  # no invented times: the item's own (GitHub's, the workload's) or none
        failed = item.status is Status.FAILED
        # A CI item belongs to its own pipeline (an Actions run), not to the delivery.
        attrs: dict[str, AttrValue] = {} if stage.id == "ci" else self._common()
        attrs.update(
            {
                "cicd.pipeline.action.name": _ACTION[stage.id],
                "cicd.pipeline.task.name": item.name,
                "cicd.pipeline.task.run.result": _RESULT.get(
                    item.conclusion or "", "failure" if failed else "success"
                ),
            }
        )
        if item.url:
            attrs["cicd.pipeline.task.run.url.full"] = item.url
            if stage.id == "ci":
                attrs.update(_github_run_ids(item.url))
        if stage.environment is not None:
            attrs["deployment.environment.name"] = stage.environment
        if stage.id == "rollout":
            attrs.update(_workloads_attrs((item,)))
        status = SpanStatus.ERROR if failed else SpanStatus.OK
        reason = (item.conclusion or "failed") if failed else None
        return self.record(
            path, parent, item.name, item.started_at, item.finished_at, status, reason, attrs
        )

    def _deploy_span(self, env: str, stages: list[Stage], timed: list[_Timed]) -> SpanRecord | None:
        failed = next((t.stage for t in timed if t.stage.status is Status.FAILED), None)
        done = all(s.status in _ENDED or s.status is Status.SKIPPED for s in stages)
        if not timed or not (failed or done):
            return None
        attrs: dict[str, AttrValue] = {
            **self._common(),
            "cicd.pipeline.action.name": "RUN",
            "deployment.environment.name": env,
        }
        status = SpanStatus.ERROR if failed else SpanStatus.OK
        reason = f"{failed.id} failed: {failed.detail}" if failed else None
        start, end = min(t.start for t in timed), max(t.end for t in timed)
        return self.record(
            f"deploy/{env}", "deliver", f"deploy {env}", start, end, status, reason, attrs
        )

    def _root_span(self, timed: list[_Timed]) -> SpanRecord | None:
        failed = next((t.stage for t in timed if t.stage.status is Status.FAILED), None)
        done = all(s.status in _ENDED or s.status is Status.SKIPPED for s in self.trace.stages)
        if not timed or not (failed or done):
            return None
        change = self.change
        closed = change.state is ChangeState.CLOSED
        owner, _, name = change.repo.partition("/")
        attrs: dict[str, AttrValue] = {
            **self._common(),
            "cicd.pipeline.action.name": "RUN",
            "cicd.pipeline.result": "failure" if failed else "skip" if closed else "success",
            "vcs.provider.name": "github",
            "vcs.owner.name": owner,
            "vcs.repository.name": name,
            "vcs.ref.head.revision": change.head_sha or change.sha,
            "shiptrace.change.sha": change.sha,
            "shiptrace.change.requested": change.requested,
            "shiptrace.where": self.trace.where,
        }
        if change.pr is not None:
            attrs["vcs.change.id"] = str(change.pr)
        if change.state is not ChangeState.COMMIT:
            attrs["vcs.change.state"] = change.state.value
        if change.title:
            attrs["vcs.change.title"] = change.title
        if self.trace.service:
            attrs["shiptrace.service"] = self.trace.service
        if url := _repository_url(change.url):
            attrs["vcs.repository.url.full"] = url
        status = SpanStatus.ERROR if failed else SpanStatus.UNSET if closed else SpanStatus.OK
        reason = None
        if failed is not None:
            where = f" in {failed.environment}" if failed.environment else ""
            reason = f"{failed.id}{where} failed: {failed.detail}"
        ref = f"#{change.pr}" if change.pr is not None else f"@{change.sha[:7]}"
        start = min([t.start for t in timed] + ([self.opened_at] if self.opened_at else []))
        end = max(t.end for t in timed)
        return self.record(
            "deliver", None, f"deliver {change.repo}{ref}", start, end, status, reason, attrs
        )

    def _incident_spans(
        self, incidents: Iterable[Incident], deployed: Mapping[str, SpanRecord]
    ) -> list[SpanRecord]:
        out = []
        for inc in sorted(incidents, key=lambda i: (i.environment, i.first_seen, i.id)):
            deploy = deployed.get(inc.environment)
            if inc.service != self.trace.service or deploy is None:
                continue
            if inc.state is not IncidentState.RESOLVED or inc.resolved_at is None:
                continue  # still drifting: exported once it ends
            if inc.resolved_at < deploy.end:
                continue  # over before this change was live there: not this change's
            env = inc.environment
            broke = sorted(
                {f.stage for f in inc.findings}
                & {s.id for s in self.trace.stages if s.environment == env}
            )
            links = tuple(
                SpanLink(
                    self.trace_id,
                    self.span_id(f"deploy/{env}/{stage}"),
                    {"shiptrace.link.type": "broke"},
                )
                for stage in broke
            )
            summary = "; ".join(sorted({f"{f.subject}: {f.summary}" for f in inc.findings}))
            attrs: dict[str, AttrValue] = {
                **self._common(),
                "deployment.environment.name": env,
                "shiptrace.incident.key": inc.key,
                "shiptrace.drift.stages": tuple(sorted({f.stage for f in inc.findings})),
                "shiptrace.drift.kinds": tuple(sorted({f.kind for f in inc.findings})),
            }
            path = f"drift/{env}/{format_time(inc.first_seen)}"
            out.append(
                self.record(
                    path,
                    f"deploy/{env}",
                    f"drift {env}",
                    inc.first_seen,
                    inc.resolved_at,
                    SpanStatus.ERROR,
                    summary or "drifted",
                    attrs,
                    links,
                )
            )
        return out

    def _common(self) -> dict[str, AttrValue]:
        """On the delivery's own spans: which delivery they belong to."""
        return {"cicd.pipeline.name": self.pipeline, "cicd.pipeline.run.id": self.run_id}


def _item_path(stage_path: str, item: Item, siblings: tuple[Item, ...]) -> str:
    twice = sum(1 for other in siblings if other.name == item.name) > 1
    return f"{stage_path}/{item.name}" + (f" {item.url}" if twice and item.url else "")


def _workloads_attrs(items: Iterable[Item]) -> dict[str, AttrValue]:
    """Kubernetes attributes when the items name one namespace (and one workload)."""
    found = [m for m in (_WORKLOAD.match(i.name) for i in items) if m]
    attrs: dict[str, AttrValue] = {}
    if found and len({m["namespace"] for m in found}) == 1:
        attrs["k8s.namespace.name"] = found[0]["namespace"]
    if len(found) == 1:
        kind, name = found[0]["kind"], found[0]["name"]
        attrs["shiptrace.workload.kind"] = kind
        attrs["shiptrace.workload.name"] = name
        if kind in _K8S_NAME:
            attrs[_K8S_NAME[kind]] = name
    return attrs


def _github_run_ids(url: str) -> dict[str, AttrValue]:
    """GitHub's run and job ids, from an Actions job, Actions run or check run link."""
    if m := _ACTIONS_JOB.search(url):
        return {"cicd.pipeline.run.id": m["run"], "cicd.pipeline.task.run.id": m["job"]}
    if m := _ACTIONS_RUN.search(url):
        return {"cicd.pipeline.run.id": m["run"]}
    if m := _CHECK_RUN.search(url):
        return {"cicd.pipeline.task.run.id": m["check"]}
    return {}


def _repository_url(change_url: str | None) -> str | None:
    """``https://github.com/acme/shop`` from the change's PR or commit link."""
    if not change_url:
        return None
    m = re.match(r"^(https?://[^?#]+?)/(?:pull/\d+|commit/[0-9a-fA-F]+)(?:[/?#]|$)", change_url)
    return m.group(1) if m else None


# -- the trace as an indented tree --------------------------------------------------------------


def span_tree_text(records: Sequence[SpanRecord]) -> str:
    """The spans as people read a trace view: each under its parent (a span whose parent is
    not among ``records`` at the top), siblings by start, with when each started after the
    first, how long it took, and its status (with the reason of an error)::

        trace 635b0e8b5a2123ee248cd8d6430412c5  from 2026-11-26T09:00:00Z
        deliver acme/shop#412  +0s   25m  ok
          merge                +0s   10m  ok
          ci                   +1m   7m   ok
    """
    if not records:
        return "no finished spans yet"
    out: list[str] = []
    for trace_id in dict.fromkeys(r.trace_id for r in records):
        spans = [r for r in records if r.trace_id == trace_id]
        out.extend(_tree_lines(spans))
    return "\n".join(out)


def _tree_lines(spans: list[SpanRecord]) -> list[str]:
    first = min(r.start for r in spans)
    ids = {r.span_id for r in spans}
    order = {id(r): i for i, r in enumerate(spans)}
    children: dict[int | None, list[SpanRecord]] = {}
    for r in spans:
        parent = r.parent_id if r.parent_id in ids else None
        children.setdefault(parent, []).append(r)
    rows: list[tuple[str, str, str, str]] = []

    def walk(parent: int | None, depth: int) -> None:
        for r in sorted(children.get(parent, []), key=lambda r: (r.start, order[id(r)])):
            status = r.status.value
            if r.status is SpanStatus.ERROR and r.description:
                status = f"{status}: {r.description}"
            rows.append(
                (
                    "  " * depth + r.name,
                    "+" + _short_duration(r.start - first),
                    _short_duration(r.end - r.start),
                    status,
                )
            )
            walk(r.span_id, depth + 1)

    walk(None, 0)
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"trace {spans[0].trace_id_hex}  from {format_time(first)}"]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
        lines.append("  ".join([*cells, row[3]]))
    return lines


def _short_duration(delta: timedelta) -> str:
    """``0s``, ``45s``, ``4m``, ``4m 30s``, ``1h 14m``, ``2d 3h``: two units at most."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    lead = next((i for i, (n, _) in enumerate(parts) if n), len(parts) - 1)
    shown = [f"{n}{unit}" for n, unit in parts[lead : lead + 2] if n]
    return " ".join(shown) or "0s"
