"""Follow a change into every environment of its service: promote, sync, rollout.

Each environment is read concurrently (its cluster, then GitHub for ancestry); what is read
is turned into stages by the pure functions of :mod:`bot.trace.stages`. A cluster that cannot
be read makes only its own environment ``unknown``.

Every look-up starts as soon as its input is known: the clusters are read as soon as the
service is (:func:`start_reads`, before the change itself is resolved), the sync and the
rollout are judged at once (the rollout waits for the synced revision only when an image
names no commit), the workloads at once, and a look-up asked twice (the same compare for the
applied and the attempted revision, the same tag in two environments) is made once. An image
tag whose SHA prefix names a commit the environment already knows in full (the change, a
revision its GitOps object synced) needs no look-up.

*Contains*: a deployed commit contains the change when the change's commit is an ancestor
of, or equal to, the deployed commit (compare API: ``identical`` or ``ahead``).

*Rolled back*: when the applied revision does not contain the change, the GitOps object's
history is searched (newest first, at most :data:`MAX_HISTORY_CHECKS` revisions, none deployed
before the merge) for one that did.

*Which commit a workload runs*: the tag of its service image (``name:tag``, ``name:tag@digest``;
registry host not compared) through the service's tag pattern; when no tag names a commit
(``latest``, or pinned by digest only), the synced revision, and the detail says so.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.config import Environment, Service
from bot.errors import GitHubError, KubernetesError
from bot.gitops import TRAILERS
from bot.gitops.state import GitOpsState
from bot.gitops.tool import ObjectRef, observe
from bot.kube.kinds import VIA_REPLICASETS
from bot.kube.selectors import selector_string
from bot.kube.tags import parse_image
from bot.kube.workloads import WorkloadState, read_workload
from bot.model import Change, ChangeState, Item, SourceProblem, Stage, Status
from bot.sources.cluster import ClusterClient, Clusters, NotFound
from bot.sources.github import GitHubClient
from bot.store import Store
from bot.timefmt import format_time, parse_time
from bot.trace.stages import (
    pending_env_stages,
    rollout_item,
    rollout_stage,
    skipped_env_stages,
    sync_stage,
    unknown_env_stages,
)

# Trailers naming the app commit a config commit promotes ("<Trailer>: <sha>").
_TRAILER = re.compile(
    rf"^(?:{'|'.join(map(re.escape, TRAILERS))}):\s*([0-9a-fA-F]{{7,40}})\s*$", re.MULTILINE
)
MAX_PROMOTE_CANDIDATES = 20
MAX_HISTORY_CHECKS = 10  # GitOps tools keep about 10 history entries by default


@dataclass
class EnvContext:
    change: Change
    service: Service
    github: GitHubClient
    clusters: Clusters
    store: Store
    now: Callable[[], datetime]
    errors: list[SourceProblem] = field(default_factory=list)
    reads: Mapping[str, asyncio.Future[EnvRead]] = field(default_factory=dict)  # by env name
    _contains: dict[tuple[str, str], asyncio.Future[bool | None]] = field(default_factory=dict)
    _prefixes: dict[str, asyncio.Future[str | None]] = field(default_factory=dict)

    def problem(self, source: str, message: str, env: str | None) -> None:
        self.errors.append(SourceProblem(source, message, env))

    async def read(self, env: Environment) -> EnvRead:
        """The environment's cluster objects: read early by :func:`start_reads`, or now."""
        started = self.reads.get(env.name)
        if started is not None:
            return await started
        return await read_environment(self.clusters, self.service, env)

    async def contains(self, repo: str, commit: str | None, env: str | None) -> bool | None:
        """Does ``commit`` (in ``repo``) contain the change? None when it can't be told."""
        if commit is None:
            return None
        base = self.change.sha if repo.lower() == self.change.repo.lower() else None
        if base is None:
            return None
        if commit == base:
            return True
        key = (repo.lower(), commit)
        if key not in self._contains:  # asked once, however many ask at the same time
            self._contains[key] = asyncio.ensure_future(self._ask_contains(repo, base, commit, env))
        return await self._contains[key]

    async def _ask_contains(
        self, repo: str, base: str, commit: str, env: str | None
    ) -> bool | None:
        try:
            return await self.github.contains(repo, base, commit)
        except GitHubError as exc:
            self.problem("github", f"ancestry of {commit[:7]} in {repo}: {exc.message}", env)
            return None

    async def tag_commit(self, tag: str, env: str, known: Iterable[str] = ()) -> str | None:
        """The app commit an image tag names, through the service's tag pattern."""
        prefix = self.service.tag_pattern.sha_prefix(tag)
        return None if prefix is None else await self.resolve_prefix(prefix, env, known)

    async def resolve_prefix(self, prefix: str, env: str, known: Iterable[str] = ()) -> str | None:
        """A full app-repo SHA from an abbreviated one (a fact, cached forever). A prefix of
        the change or of a commit in ``known`` (full SHAs of the app repo) needs no look-up."""
        if len(prefix) == 40:
            return prefix
        for sha in (self.change.sha, self.change.head_sha or "", *known):
            if sha and sha.startswith(prefix):
                return sha
        if prefix not in self._prefixes:
            self._prefixes[prefix] = asyncio.ensure_future(self._ask_prefix(prefix, env))
        return await self._prefixes[prefix]

    async def _ask_prefix(self, prefix: str, env: str) -> str | None:
        try:
            commit = await self.github.commit(self.service.repo, prefix)
        except GitHubError as exc:
            self.problem("github", f"commit {prefix} of {self.service.repo}: {exc.message}", env)
            return None
        return str(commit["sha"])

    def first_seen(self, env: str, stage: str, status: Status) -> datetime:
        return self.store.first_seen(
            self.change.repo, self.change.sha, env, stage, status.value, self.now()
        )


@dataclass
class EnvRead:
    """What one environment's cluster says: its GitOps object (by its tool) and workloads."""

    state: GitOpsState | None
    workloads: list[ReadWorkload]
    problems: list[str]  # a related object (a Flux source) that could not be read


def start_reads(clusters: Clusters, service: Service) -> dict[str, asyncio.Future[EnvRead]]:
    """Read every environment's cluster objects now, before the change is known (the
    clusters are near and cost no rate limit); an environment that turns out not to need
    them (an open PR) just leaves its read unused."""
    reads: dict[str, asyncio.Future[EnvRead]] = {}
    for env in service.environments:
        if env.gitops is None and not env.workloads:
            continue
        read = asyncio.ensure_future(read_environment(clusters, service, env))
        read.add_done_callback(_retrieved)
        reads[env.name] = read
    return reads


def _retrieved(read: asyncio.Future[EnvRead]) -> None:
    if not read.cancelled():
        read.exception()  # raised again to the environment that awaits it, if one does


async def read_environment(clusters: Clusters, service: Service, env: Environment) -> EnvRead:
    cluster = clusters.client(env.cluster)
    (state, problems), workloads = await asyncio.gather(
        _gitops_state(cluster, env, service.repo), _workloads(cluster, env)
    )
    return EnvRead(state, workloads, problems)


def _known_commits(state: GitOpsState | None) -> tuple[str, ...]:
    """Full app-repo SHAs the environment's GitOps object names (manifests in the app repo)."""
    if state is None or not state.same_repo:
        return ()
    shas = (
        state.applied_commit,
        state.attempted_commit,
        state.desired_commit,
        *(commit for commit, _ in state.history),
    )
    return tuple(dict.fromkeys(s for s in shas if s and len(s) == 40))


async def environment_stages(ctx: EnvContext) -> list[Stage]:
    """Stages of every environment, in promotion order."""
    envs = ctx.service.environments
    results = await asyncio.gather(*(_environment(ctx, env) for env in envs))
    return [stage for stages in results for stage in stages]


async def _environment(ctx: EnvContext, env: Environment) -> list[Stage]:
    has_sync = env.gitops is not None
    change = ctx.change
    if change.state is ChangeState.CLOSED:
        return skipped_env_stages(env.name, has_sync, False, "closed without merging")
    if change.state is ChangeState.OPEN:
        return pending_env_stages(env.name, has_sync, False, "waiting for the PR to be merged")
    if change.state is ChangeState.COMMIT and not change.on_default_branch:
        return pending_env_stages(env.name, has_sync, False, "not on the default branch")
    if not has_sync and not env.workloads:
        return [rollout_stage(env.name, [])]  # nothing configured to read there
    try:
        read = await ctx.read(env)
    except KubernetesError as exc:
        ctx.problem("kubernetes", exc.message, env.name)
        return unknown_env_stages(
            env.name, f"could not read the cluster: {exc.message}", has_sync=has_sync
        )
    state, workloads = read.state, read.workloads
    for message in read.problems:
        ctx.problem("kubernetes", message, env.name)
    for message in dict.fromkeys(w.error for w in workloads if w.problem and w.error):
        ctx.problem("kubernetes", message, env.name)
    known = _known_commits(state)

    if state is None:
        return [await _rollout(ctx, env, None, state, workloads, known)]
    config_repo = not state.same_repo and bool(state.source_repo)
    promoted = asyncio.ensure_future(_promote(ctx, env, state)) if config_repo else None
    checks: list[Contains] = []

    async def check(commit: str | None) -> bool | None:
        """Ancestry of a synced commit: in the app repo, or from the promote commit."""
        if not checks:
            if state.same_repo:
                checks.append(_shared(_in_app_repo(ctx, env)))
            else:  # no promote looked for (source unknown): nothing is claimed
                promote_sha, known_promote = None, False
                if promoted is not None:
                    promote, promote_sha = await promoted
                    known_promote = promote.status is not Status.UNKNOWN
                checks.append(_shared(_descends(ctx, env, state, promote_sha, known_promote)))
        return await checks[0](commit)

    async def synced() -> Synced | None:
        if not state.applied_commit:
            return None
        return Synced(state.applied_commit[:7], await check(state.applied_commit))

    # The rollout waits for the promote or the sync only when an image names no commit.
    sync, rollout = await asyncio.gather(
        _sync(ctx, env, state, check, known), _rollout(ctx, env, synced, state, workloads, known)
    )
    if promoted is None:
        return [sync, rollout]
    return [(await promoted)[0], sync, rollout]


def _shared(check: Contains) -> Contains:
    """``check`` asked once per commit, however many ask at the same time."""
    asked: dict[str | None, asyncio.Future[bool | None]] = {}

    async def shared(commit: str | None) -> bool | None:
        if commit not in asked:
            asked[commit] = asyncio.ensure_future(check(commit))
        return await asked[commit]

    return shared


async def _gitops_state(
    cluster: ClusterClient, env: Environment, app_repo: str
) -> tuple[GitOpsState | None, list[str]]:
    """The environment's GitOps object read by its tool; a related object (a Flux source)
    that cannot be read leaves what it decides unknown and is an ``errors`` entry."""
    if env.gitops is None:
        return None, []
    tool, ref = env.gitops

    async def get(target: ObjectRef) -> dict[str, Any]:
        return await cluster.get_object(target.kind, target.namespace, target.name)

    observed = await observe(tool, ref, get, app_repo)
    return observed.state, list(observed.problems)


@dataclass
class ReadWorkload:
    spec: Any
    state: WorkloadState | None
    error: str | None = None
    problem: bool = False  # the error is a read failure (not a missing object)


async def _workloads(cluster: ClusterClient, env: Environment) -> list[ReadWorkload]:
    return list(await asyncio.gather(*(_workload(cluster, w) for w in env.workloads)))


async def _workload(cluster: ClusterClient, w: Any) -> ReadWorkload:
    """One workload with its ReplicaSets and Pods; a read failure makes only this item
    unknown (the GitOps object of the environment may still be readable)."""
    try:
        obj = await cluster.get_object(w.kind, w.namespace, w.name)
        selector = selector_string((obj.get("spec") or {}).get("selector") or {})
        replicasets: list[dict[str, Any]] = []
        pods: list[dict[str, Any]] = []
        if selector:
            if w.kind in VIA_REPLICASETS:
                replicasets, pods = await asyncio.gather(
                    cluster.replicasets(w.namespace, selector),
                    cluster.pods(w.namespace, selector),
                )
            else:
                pods = await cluster.pods(w.namespace, selector)
    except NotFound as exc:
        return ReadWorkload(w, None, exc.message)
    except KubernetesError as exc:
        return ReadWorkload(w, None, exc.message, problem=True)
    return ReadWorkload(w, read_workload(obj, replicasets, pods))


async def _promote(
    ctx: EnvContext, env: Environment, state: GitOpsState
) -> tuple[Stage, str | None]:
    """The first config-repo commit after the merge that carries a tag containing the change."""
    repo = str(state.source_repo)
    change = ctx.change
    since = format_time(change.merged_at) if change.merged_at else None
    try:
        commits = await ctx.github.commits(repo, since=since, path=state.source_path or None)
    except GitHubError as exc:
        ctx.problem("github", f"commits of {repo}: {exc.message}", env.name)
        return Stage(
            "promote", Status.UNKNOWN, f"could not read {repo}: {exc.message}", env.name
        ), None
    for commit in list(reversed(commits))[:MAX_PROMOTE_CANDIDATES]:
        app_commit = await _named_commit(ctx, commit["message"], env.name)
        if app_commit is None:
            continue
        if await ctx.contains(change.repo, app_commit, env.name):
            detail = (
                f"{repo}@{commit['sha'][:7]} promoted {ctx.service.tag_pattern.tag_for(app_commit)}"
            )
            return (
                Stage(
                    "promote",
                    Status.SUCCEEDED,
                    detail,
                    env.name,
                    finished_at=parse_time(commit.get("committed_at")),
                    url=commit.get("html_url"),
                ),
                str(commit["sha"]),
            )
    tag = ctx.service.tag_pattern.tag_for(change.sha)
    return Stage(
        "promote", Status.PENDING, f"no commit to {repo} carries {tag} or a later tag yet", env.name
    ), None


async def _named_commit(ctx: EnvContext, message: str, env: str) -> str | None:
    trailer = _TRAILER.search(message)
    if trailer:
        return await ctx.resolve_prefix(trailer.group(1).lower(), env)
    for token in re.findall(r"[A-Za-z0-9_.:/@-]+", message):
        prefix = ctx.service.tag_pattern.sha_prefix(token.rsplit(":", 1)[-1])
        if prefix:
            return await ctx.resolve_prefix(prefix, env)
    return None


@dataclass(frozen=True)
class Synced:
    """The revision the GitOps tool applied, for workloads whose image names no commit."""

    label: str  # "9c1e2f0"
    contains: bool | None


Contains = Callable[[str | None], Awaitable[bool | None]]


async def _sync(
    ctx: EnvContext, env: Environment, state: GitOpsState, check: Contains, known: Iterable[str]
) -> Stage:
    applied, attempted, desired = await asyncio.gather(
        check(state.applied_commit), check(state.attempted_commit), check(state.desired_commit)
    )
    if not state.same_repo and applied is not True and state.images:
        # Argo CD's summary.images answers for the applied state too.
        image_contains = await _images_contain(ctx, env.name, list(state.images), known)
        if image_contains is not None:
            applied = image_contains
    rolled_back_from = await _rolled_back_from(ctx, state, check) if applied is False else None
    stage = sync_stage(
        env.name,
        state,
        applied,
        attempted,
        desired,
        short_sha=ctx.change.sha[:7],
        rolled_back_from=rolled_back_from,
    )
    return _started_or_first_seen(ctx, stage)


def _in_app_repo(ctx: EnvContext, env: Environment) -> Contains:
    async def contains(commit: str | None) -> bool | None:
        return await ctx.contains(ctx.service.repo, commit, env.name)

    return contains


def _descends(
    ctx: EnvContext,
    env: Environment,
    state: GitOpsState,
    promote_sha: str | None,
    promote_known: bool,
) -> Contains:
    """With manifests in a config repo, a config commit contains the change when it descends
    from the promote commit. When the promote commit could not be looked for (config repo
    unreadable or not known), nothing is claimed: the answer is None, not False."""
    repo = str(state.source_repo)

    async def descends(commit: str | None) -> bool | None:
        if commit is None or not promote_known:
            return None
        if promote_sha is None:
            return False
        if commit == promote_sha:
            return True
        try:
            return await ctx.github.contains(repo, promote_sha, commit)
        except GitHubError as exc:
            ctx.problem("github", f"ancestry in {repo}: {exc.message}", env.name)
            return None

    return descends


async def _rolled_back_from(ctx: EnvContext, state: GitOpsState, check: Contains) -> str | None:
    """The newest earlier synced commit that contains the change, if the history has one.

    Revisions deployed before the merge cannot contain it, so most look-ups are skipped."""
    merged_at = ctx.change.merged_at
    candidates = [
        commit
        for commit, at in reversed(state.history)
        if commit != state.applied_commit and not (merged_at and at and at < merged_at)
    ]
    for commit in list(dict.fromkeys(candidates))[:MAX_HISTORY_CHECKS]:
        if await check(commit):
            return commit
    return None


async def _images_contain(
    ctx: EnvContext, env: str, images: list[str], known: Iterable[str]
) -> bool | None:
    for image in images:
        ref = parse_image(image)
        if ref.tag is None or not _is_service_image(ctx, image):
            continue
        commit = await ctx.tag_commit(ref.tag, env, known)
        if commit is not None:
            return await ctx.contains(ctx.service.repo, commit, env)
    return None


async def _rollout(
    ctx: EnvContext,
    env: Environment,
    synced: Callable[[], Awaitable[Synced | None]] | None,
    state: GitOpsState | None,
    workloads: list[ReadWorkload],
    known: Iterable[str],
) -> Stage:
    async def judged(w: ReadWorkload) -> tuple[Item, WorkloadState | None, str | None]:
        label = f"{w.spec.kind} {w.spec.namespace}/{w.spec.name}"
        if w.state is None:
            return Item(label, Status.UNKNOWN, w.error), None, None
        contains, running, note = await _workload_contains(ctx, env.name, w.state, synced, known)
        return rollout_item(w.state, contains, running), w.state, note

    judged_all = await asyncio.gather(*(judged(w) for w in workloads))
    notes = [note for _, _, note in judged_all if note]
    stage = rollout_stage(
        env.name,
        [(item, ws) for item, ws, _ in judged_all],
        app_health=state.health if state is not None else None,
        health_by=state.words.reporter if state is not None else "the GitOps tool",
        note=notes[0] if notes else None,
    )
    return _started_or_first_seen(ctx, stage)


async def _workload_contains(
    ctx: EnvContext,
    env: str,
    ws: WorkloadState,
    synced_by: Callable[[], Awaitable[Synced | None]] | None,
    known: Iterable[str],
) -> tuple[bool | None, str, str | None]:
    """Which commit the workload rolls out, and whether it contains the change."""
    for image in ws.images:
        if not _is_service_image(ctx, image):
            continue
        ref = parse_image(image)
        commit = await ctx.tag_commit(ref.tag, env, known) if ref.tag else None
        if commit is not None:
            return await ctx.contains(ctx.service.repo, commit, env), str(ref.tag), None
        # No tag names a commit (e.g. "latest", or pinned by digest): the synced revision.
        if ref.tag:
            what, label = f"tag '{ref.tag}' names no commit", ref.tag
        elif ref.digest:
            what, label = f"pinned by digest {ref.digest[:19]}, names no commit", ref.digest[:19]
        else:
            what, label = f"image {ref.name} has no tag", ref.name
        synced = await synced_by() if synced_by is not None else None
        if synced is not None:
            return (
                synced.contains,
                synced.label,
                f"{what}; following the synced revision {synced.label}",
            )
        return None, label, f"{what} and no synced revision says which"
    return (
        None,
        "an unknown version",
        f"no container runs {ctx.service.image or 'the service image'}",
    )


def _is_service_image(ctx: EnvContext, image: str) -> bool:
    # Without a configured image, every container is taken for the service's.
    service_image = ctx.service.image
    return not service_image or parse_image(service_image).same_repository(image)


# A continuous stage in these states has begun; when the API gives no start time, the first
# time shiptrace saw it in that state stands in (recorded for every state, for lead times).
_STARTED = (Status.RUNNING, Status.SUCCEEDED, Status.DRIFTED, Status.FAILED)


def _started_or_first_seen(ctx: EnvContext, stage: Stage) -> Stage:
    assert stage.environment is not None
    seen = ctx.first_seen(stage.environment, stage.id, stage.status)
    if stage.started_at is None and stage.status in _STARTED:
        return replace(stage, started_at=seen)
    return stage
