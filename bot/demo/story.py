"""The story the demo tells, as emulator state: acme/shop#412 from its merge to production.

Staging runs Argo CD, production Flux, one Deployment each. Every step changes what the
emulators serve, the way CI, the GitOps controllers and Kubernetes would; the bot only reads.
All times are minutes after the merge (``start``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.sandbox import kubeobjs as k
from bot.sandbox.github import GitHubEmulator, iso
from bot.sandbox.kube import KubeEmulator
from bot.sandbox.scenario import APP_URL, TWO_ENVS, seed, tag

REPO = "acme/shop"
PR = 412
REF = f"{REPO}#{PR}"
TITLE = "Add gift cards"
AUTHOR = "alice"
CHANNEL = "C0DEPLOYS"
CHANNEL_NAME = "#deploys"
OLD, NEW = "5c4b", "8e1a"  # the pod-template hashes of yesterday's release and #412's

CONFIG = (
    TWO_ENVS
    + f"""
slack:
  channels:
    {CHANNEL}: {{repos: ["{REPO}"], default_repo: {REPO}, drift: true, digest: true}}
"""
)


@dataclass(frozen=True)
class Step:
    """One moment of the delivery: what happens, ``at`` minutes after the merge."""

    at: float
    title: str
    apply: Callable[[], None]


class Story:
    """acme/shop on the emulators: the history on GitHub, then each step of the delivery."""

    def __init__(
        self,
        github: GitHubEmulator,
        clusters: dict[str, KubeEmulator],
        start: datetime,
    ) -> None:
        self.github = github
        self.staging = clusters["staging"]
        self.prod = clusters["prod"]
        self.start = start
        self.base = ""
        self.merged = ""
        self._test_run = 0

    def time(self, minutes: float) -> datetime:
        return self.start + timedelta(minutes=minutes)

    def at(self, minutes: float) -> str:
        return iso(self.time(minutes))

    # --- before the change -------------------------------------------------------------------

    def seed(self) -> None:
        """Yesterday's release runs everywhere; #412 has just been merged and CI started."""
        gh = self.github
        gh.add_repo(REPO)
        gh.add_commit(REPO, "Catalogue", parents=[], branch="main", date=self.at(-2880))
        self.base = gh.add_commit(
            REPO, "Search the catalogue (#411)", branch="main", date=self.at(-1500)
        )
        head = gh.add_commit(REPO, TITLE, parents=[self.base], date=self.at(-45), author=AUTHOR)
        self.merged = gh.add_commit(
            REPO,
            f"{TITLE} (#{PR})",
            parents=[self.base],
            branch="main",
            date=self.at(0),
            author=AUTHOR,
        )
        gh.add_pull(
            REPO,
            PR,
            head_sha=head,
            title=TITLE,
            head_ref="feature/gift-cards",
            merged=True,
            merge_commit_sha=self.merged,
            merged_at=self.at(0),
            created_at=self.at(-40),
            user=AUTHOR,
            commits=[head],
        )
        yesterday = self.at(-1440)
        seed(
            self.staging,
            self._argo(self.base, history=[(self.base, yesterday)]),
            *k.rolled_out("shop", "shop", tag(self.base), created=yesterday, pod_hash=OLD),
        )
        seed(
            self.prod,
            k.git_repository("shop", APP_URL, f"main@sha1:{self.base}", at=yesterday),
            k.kustomization("shop", source="shop", applied=f"main@sha1:{self.base}", at=yesterday),
            *k.rolled_out("shop", "shop", tag(self.base), created=yesterday, pod_hash=OLD),
        )
        gh.add_check_run(
            REPO,
            self.merged,
            name="lint",
            conclusion="success",
            started_at=self.at(0.5),
            completed_at=self.at(1.5),
        )
        self._test_run = gh.add_check_run(
            REPO,
            self.merged,
            name="test",
            status="in_progress",
            conclusion=None,
            started_at=self.at(0.5),
        )

    # --- the delivery ------------------------------------------------------------------------

    def delivery(self) -> list[Step]:
        """From CI running to live in production; the first step is the state after ``seed``."""
        return [
            Step(2, f"{REF} “{TITLE}” merged by {AUTHOR}; CI is running", lambda: None),
            Step(8, "CI passed; Argo CD is syncing staging", self._ci_green_staging_syncing),
            Step(10, "staging synced; its rollout is under way", self._staging_rolling),
            Step(17, "live in staging; Flux is applying production", self._prod_applying),
            Step(19, "production applied; its rollout is under way", self._prod_rolling),
            Step(22, "production rolled out", self._prod_rolled_out),
        ]

    def _ci_green_staging_syncing(self) -> None:
        self.github.complete_check_run(REPO, self._test_run, "success", completed_at=self.at(6))
        seed(
            self.staging,
            self._argo(
                self.merged,
                history=[(self.base, self.at(-1440))],
                images=[tag(self.base)],
                sync="OutOfSync",
                phase="Running",
                started_at=self.at(7.5),
                message="waiting for healthy state of apps/Deployment/shop",
            ),
        )

    def _staging_rolling(self) -> None:
        seed(
            self.staging,
            self._argo(
                self.merged,
                history=[(self.base, self.at(-1440)), (self.merged, self.at(8.5))],
                health="Progressing",
            ),
        )
        self._rolling(self.staging, at=self.at(8.5), updated=1)

    def _prod_applying(self) -> None:
        seed(
            self.staging,
            self._argo(
                self.merged, history=[(self.base, self.at(-1440)), (self.merged, self.at(8.5))]
            ),
        )
        self._rolled_out(self.staging, at=self.at(8.5))
        seed(
            self.prod,
            k.git_repository("shop", APP_URL, f"main@sha1:{self.merged}", at=self.at(16)),
            k.kustomization(
                "shop",
                source="shop",
                applied=f"main@sha1:{self.base}",
                attempted=f"main@sha1:{self.merged}",
                ready="Unknown",
                reason="Progressing",
                message="Reconciliation in progress",
                at=self.at(16.5),
            ),
        )

    def _prod_rolling(self) -> None:
        seed(
            self.prod,
            k.kustomization(
                "shop", source="shop", applied=f"main@sha1:{self.merged}", at=self.at(17.5)
            ),
        )
        self._rolling(self.prod, at=self.at(17.5), updated=2)

    def _prod_rolled_out(self) -> None:
        self._rolled_out(self.prod, at=self.at(17.5))

    # --- after it: a drift incident ----------------------------------------------------------

    def crash_loop(self) -> None:
        """One production pod of the new release starts crash-looping (a bad node, say)."""
        seed(self.prod, k.pod(self._new_rs(), 1, waiting="CrashLoopBackOff", restarts=4))

    def recover(self, at: float) -> None:
        """The pod runs again (since ``at``): what Git says and what runs agree once more."""
        seed(self.prod, k.pod(self._new_rs(), 1, started=self.at(at)))

    # --- objects -----------------------------------------------------------------------------

    def _argo(
        self,
        revision: str,
        *,
        history: list[tuple[str, str]],
        images: list[str] | None = None,
        started_at: str | None = None,
        **kw: Any,
    ) -> k.JSON:
        return k.argo_app(
            "shop-staging",
            repo_url=APP_URL,
            revision=revision,
            history=[sha for sha, _ in history],
            history_at=[at for _, at in history],
            images=images or [tag(revision)],
            started_at=started_at or history[-1][1],
            **kw,
        )

    def _new_rs(self) -> k.JSON:
        """The release's ReplicaSet in production, as :meth:`_rolled_out` made it."""
        d = k.deployment("shop", "shop", tag(self.merged))
        return k.replicaset(d, NEW, tag(self.merged), revision=3, replicas=3, created=self.at(17.5))

    def _rolling(self, emu: KubeEmulator, *, at: str, updated: int) -> None:
        """Mid-rollout: ``updated`` of 3 pods on the new release, the rest still on the old."""
        _clear_pods(emu)
        d = k.deployment(
            "shop",
            "shop",
            tag(self.merged),
            replicas=3,
            updated=updated,
            ready=3,
            available=3,
            generation=3,
            progressing=("True", "ReplicaSetUpdated"),
            message=f'ReplicaSet "shop-{NEW}" is progressing.',
        )
        new = k.replicaset(d, NEW, tag(self.merged), revision=3, replicas=updated, created=at)
        old = k.replicaset(
            d, OLD, tag(self.base), revision=2, replicas=3 - updated, created=self.at(-1440)
        )
        seed(
            emu,
            d,
            new,
            old,
            *(k.pod(new, i, started=at) for i in range(updated)),
            *(k.pod(old, i, started=self.at(-1440)) for i in range(3 - updated)),
        )

    def _rolled_out(self, emu: KubeEmulator, *, at: str) -> None:
        _clear_pods(emu)
        seed(
            emu,
            *k.rolled_out("shop", "shop", tag(self.merged), created=at, pod_hash=NEW, revision=3),
        )


def _clear_pods(emu: KubeEmulator) -> None:
    """Old ReplicaSets and pods go, as the Deployment controller scales them down."""
    for kind, version in (("Pod", "v1"), ("ReplicaSet", "apps/v1")):
        for obj in emu.list_objects(version, kind, "shop"):
            emu.delete(version, kind, "shop", obj["metadata"]["name"])
