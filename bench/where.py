"""Benchmark: one ``/where`` answer per scenario kind, cold and warm, against GitHub at a
distance.

The GitHub emulator waits ``latency`` seconds before every response (on its own loop), the
clusters answer at once (they are near the bot). An answer is timed from the reference to the
trace, with the engine already open and used once for another change (as in ``serve``, whose
pools and cluster clients start with its first answer), so:

- *round trips* = the answer's wall time / the injected latency: how many GitHub requests had
  to wait for one another, plus shiptrace's own time in the same unit;
- *requests* = the GitHub requests the answer made (a 304 costs no rate limit).

*Cold* starts from an empty database; *warm* asks again with the same database and nothing
changed. The *baseline* is the same look-ups written the straightforward way with PyGithub's
defaults (lazy objects, 30 per page, no revalidation, one request after another; only its
throttle of 0.25 s between requests is turned off), measured in the same run on the same
emulators.

    .venv/bin/python -m bench.where [--latency S] [--runs N] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Settings, parse_service_map
from bot.engine import open_engine
from bot.sandbox.github import GitHubEmulator
from bot.sandbox.kube import KubeEmulator, write_kubeconfig
from tests.scenarios import kubeobjs as k
from tests.scenarios import shop
from tests.scenarios.fleet import TWO_ENVS, flux_prod, live_prod, live_staging, seed, tag

TOKEN = "ghp_bench"
CONFIG_REPO = "acme/shop-config"


@dataclass
class Scenario:
    kind: str  # the JSON key
    title: str
    build: Callable[[GitHubEmulator, dict[str, KubeEmulator]], str]  # returns the ref text


def _pr(gh: GitHubEmulator, kube: dict[str, KubeEmulator]) -> str:
    """The simplest change: a merged PR with green CI, live at its merge commit everywhere."""
    s = shop.build(gh)
    shop.green_ci(gh, s.merged)
    live_staging(kube["staging"], s.merged)
    live_prod(kube["prod"], s.merged)
    return "acme/shop#12"


def _sha(gh: GitHubEmulator, kube: dict[str, KubeEmulator]) -> str:
    """The same change, asked for by its short merge SHA (resolved against the configured repos)."""
    s = shop.build(gh)
    shop.green_ci(gh, s.merged)
    live_staging(kube["staging"], s.merged)
    live_prod(kube["prod"], s.merged)
    return s.merged[:7]


def _superseded(gh: GitHubEmulator, kube: dict[str, KubeEmulator]) -> str:
    """A newer commit on main runs everywhere: the change is live as part of it."""
    s = shop.build(gh)
    shop.green_ci(gh, s.merged)
    live_staging(kube["staging"], s.orphan)
    live_prod(kube["prod"], s.orphan)
    return "acme/shop#12"


def _two_envs(gh: GitHubEmulator, kube: dict[str, KubeEmulator]) -> str:
    """Staging runs a newer commit, production still the one before the change."""
    s = shop.build(gh)
    shop.green_ci(gh, s.merged)
    live_staging(kube["staging"], s.orphan)
    live_prod(kube["prod"], s.base)
    return "acme/shop#12"


def _flux_failed(gh: GitHubEmulator, kube: dict[str, KubeEmulator]) -> str:
    """Production's Kustomization failed to apply the change; it still runs the base."""
    s = shop.build(gh)
    shop.green_ci(gh, s.merged)
    live_staging(kube["staging"], s.merged)
    flux_prod(
        kube["prod"],
        f"main@sha1:{s.base}",
        artifact=f"main@sha1:{s.merged}",
        attempted=f"main@sha1:{s.merged}",
        ready="False",
        reason="ReconciliationFailed",
        message="Deployment/shop/shop dry-run failed: spec.replicas: Invalid value",
    )
    seed(kube["prod"], *k.rolled_out("shop", "shop", tag(s.base)))
    return "acme/shop#12"


def _config_repo(gh: GitHubEmulator, kube: dict[str, KubeEmulator]) -> str:
    """Staging's manifests live in a config repo: one commit promoted the change, a later one
    a newer commit, which runs; production (app repo) runs the change."""
    s = shop.build(gh)
    shop.green_ci(gh, s.merged)
    gh.add_repo(CONFIG_REPO)
    files = ["envs/staging/shop.yaml"]
    c0 = gh.add_commit(
        CONFIG_REPO, f"shop: sha-{s.base[:7]}", parents=[], branch="main",
        date="2026-11-26T08:00:00Z", files=files,
    )  # fmt: skip
    c1 = gh.add_commit(
        CONFIG_REPO, f"chore: update ghcr.io/acme/shop:sha-{s.merged[:7]}", parents=[c0],
        branch="main", date="2026-11-26T09:20:00Z", files=files,
    )  # fmt: skip
    c2 = gh.add_commit(
        CONFIG_REPO, f"chore: update ghcr.io/acme/shop:sha-{s.orphan[:7]}", parents=[c1],
        branch="main", date="2026-11-26T09:40:00Z", files=files,
    )  # fmt: skip
    seed(
        kube["staging"],
        k.argo_app(
            "shop-staging",
            repo_url="git@github.com:acme/shop-config.git",
            path="envs/staging",
            revision=c2,
            history=[c1, c2],
            images=[tag(s.orphan)],
        ),
        *k.rolled_out("shop", "shop", tag(s.orphan)),
    )
    live_prod(kube["prod"], s.merged)
    return "acme/shop#12"


def _failed_ci(gh: GitHubEmulator, kube: dict[str, KubeEmulator]) -> str:
    """CI failed (an Actions job names the failing step); live everywhere regardless."""
    s = shop.build(gh)
    shop.failed_ci(gh, s.merged)
    live_staging(kube["staging"], s.merged)
    live_prod(kube["prod"], s.merged)
    return "acme/shop#12"


SCENARIOS = [
    Scenario("pr", "merged PR, live at its merge commit", _pr),
    Scenario("sha", "a SHA given instead of a PR", _sha),
    Scenario("superseded", "a superseded change", _superseded),
    Scenario("two_environments", "two environments on different versions", _two_envs),
    Scenario("flux_apply_failed", "Flux apply failed", _flux_failed),
    Scenario("config_repo", "config-repo promote", _config_repo),
    Scenario("failed_ci", "failed CI", _failed_ci),
]


@contextmanager
def emulators(latency: float) -> Iterator[tuple[GitHubEmulator, dict[str, KubeEmulator], Path]]:
    with (
        GitHubEmulator(token=TOKEN) as gh,
        KubeEmulator("staging") as staging,
        KubeEmulator("prod") as prod,
        tempfile.TemporaryDirectory() as tmp,
    ):
        kube = {"staging": staging, "prod": prod}
        write_kubeconfig(Path(tmp) / "kubeconfig", kube)
        gh.latency = latency
        yield gh, kube, Path(tmp)


def settings_for(gh: GitHubEmulator, tmp: Path, db: Path) -> Settings:
    os.environ["KUBECONFIG"] = str(tmp / "kubeconfig")
    return Settings(  # type: ignore[call-arg]
        github_api_url=gh.url, github_token=TOKEN, shiptrace_db=str(db)
    )


WARM_UP = "acme/shop#13"  # another change (an open PR): threads and connections start on it


async def answers(
    settings: Settings, config: str, ref: str, gh: GitHubEmulator
) -> list[tuple[float, int, int, dict[str, Any]]]:
    """One engine, as in ``serve``: another change first (not measured: the process's
    pools and clients start on first use), then ``ref`` on the empty cache (cold), then
    ``ref`` again (warm). Each answer is timed from the reference to the trace."""
    from bot.render.json import render_json

    services = parse_service_map(config)
    out = []
    async with open_engine(settings, services) as engine:
        for text in (WARM_UP, ref, ref):
            gh.clear_log()
            started = time.perf_counter()
            parsed = await engine.web.parse(text)
            trace = await engine.tracer.trace(parsed)
            elapsed = time.perf_counter() - started
            requests = [r for r in gh.requests if r.path != "/rate_limit"]
            not_modified = sum(1 for r in requests if r.status == 304)
            out.append((elapsed, len(requests), not_modified, json.loads(render_json(trace))))
    return out[1:]


@dataclass
class Measured:
    seconds: float
    requests: int
    not_modified: int  # of them, 304s

    def as_dict(self, latency: float) -> dict[str, Any]:
        return {
            "round_trips": round(self.seconds / latency, 2),
            "requests": self.requests,
            "not_modified": self.not_modified,
            "all_304": self.requests == self.not_modified,
            "seconds": round(self.seconds, 4),
        }


def measure_scenario(scenario: Scenario, latency: float, runs: int) -> dict[str, Any]:
    cold: list[Measured] = []
    warm: list[Measured] = []
    base: list[Measured] = []
    answer_json: dict[str, Any] = {}
    for run in range(runs):
        with emulators(latency) as (gh, kube, tmp):
            ref = scenario.build(gh, kube)
            settings = settings_for(gh, tmp, tmp / f"cold{run}.db")
            got = asyncio.run(answers(settings, TWO_ENVS, ref, gh))
            for target, (seconds, requests, not_modified, _) in zip((cold, warm), got, strict=True):
                target.append(Measured(seconds, requests, not_modified))
            answer_json = got[-1][3]
            gh.clear_log()
            started = time.perf_counter()
            baseline(gh, tmp, ref)
            base.append(_measured(gh, time.perf_counter() - started))
    if answer_json.get("errors"):
        raise SystemExit(f"{scenario.kind}: the answer has errors: {answer_json['errors']}")
    out = {
        "title": scenario.title,
        "cold": _median(cold).as_dict(latency),
        "warm": _median(warm).as_dict(latency),
        "baseline": _median(base).as_dict(latency),
        "where": answer_json.get("where"),
    }
    out["speedup"] = round(out["baseline"]["seconds"] / out["cold"]["seconds"], 1)
    return out


def _measured(gh: GitHubEmulator, seconds: float) -> Measured:
    requests = [r for r in gh.requests if r.path != "/rate_limit"]
    return Measured(seconds, len(requests), sum(1 for r in requests if r.status == 304))


def _median(values: list[Measured]) -> Measured:
    ordered = sorted(values, key=lambda m: m.seconds)
    return ordered[len(ordered) // 2]


# -- the baseline: the same look-ups, the straightforward way, with PyGithub's defaults --------


def baseline(gh: GitHubEmulator, tmp: Path, ref: str) -> None:
    """What a script written against the APIs' own clients does for the same answer: each
    look-up after the one before, PyGithub's lazy objects and defaults, the clusters read with
    the official client (near the bot, so nearly free)."""
    from github import Auth, Github
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    # PyGithub's defaults but its throttle (0.25 s between requests), which would only add
    # waiting: the comparison is of round trips.
    g = Github(base_url=gh.url, auth=Auth.Token(TOKEN), seconds_between_requests=None)
    try:
        if "#" in ref:
            repo_name, _, number = ref.partition("#")
            repo = g.get_repo(repo_name)
            pull = repo.get_pull(int(number))
            sha = pull.merge_commit_sha if pull.merged else pull.head.sha
            merged_at = pull.merged_at
        else:
            repo = g.get_repo("acme/shop")  # the one configured repo
            commit = repo.get_commit(ref)
            pulls = list(commit.get_pulls())
            sha = pulls[0].merge_commit_sha if pulls else commit.sha
            merged_at = pulls[0].merged_at if pulls else None
        commit = repo.get_commit(sha)
        list(commit.get_check_runs())
        commit.get_combined_status()
        for run in repo.get_workflow_runs(head_sha=sha):
            if run.conclusion == "failure":
                list(run.jobs())

        def contains(deployed: str) -> bool:
            if deployed.startswith(sha[: len(deployed)]) and len(deployed) >= 7:
                return True
            full = repo.get_commit(deployed).sha if len(deployed) < 40 else deployed
            return repo.compare(sha, full).status in ("identical", "ahead")

        for context in ("staging", "prod"):
            api = k8s_config.new_client_from_config(str(tmp / "kubeconfig"), context=context)
            custom = k8s.CustomObjectsApi(api)
            if context == "staging":
                app = custom.get_namespaced_custom_object(
                    "argoproj.io", "v1alpha1", "argocd", "applications", "shop-staging"
                )
                source = app["spec"]["source"]["repoURL"]
                revisions = [app["status"]["sync"]["revision"]]
                if "shop-config" in source:
                    config = g.get_repo(CONFIG_REPO)
                    for c in reversed(list(config.get_commits(since=merged_at))):
                        m = re.search(r"sha-([0-9a-f]{7})", c.commit.message)
                        if m and contains(m.group(1)):
                            break
                    config.compare(c.sha, revisions[0])
                    revisions = []
            else:
                kustomization = custom.get_namespaced_custom_object(
                    "kustomize.toolkit.fluxcd.io", "v1", "flux-system", "kustomizations", "shop"
                )
                status = kustomization["status"]
                revisions = list(
                    dict.fromkeys(
                        r.rsplit(":", 1)[-1]
                        for r in (status["lastAppliedRevision"], status["lastAttemptedRevision"])
                    )
                )
            for revision in revisions:
                contains(revision)
            deployment = k8s.AppsV1Api(api).read_namespaced_deployment("shop", "shop")
            image = deployment.spec.template.spec.containers[0].image
            contains(image.rsplit("sha-", 1)[-1])
            api.close()
    finally:
        g.close()


def table(results: dict[str, Any]) -> str:
    lines = [
        f"{'scenario':<40} {'cold rt':>8} {'req':>4} {'warm rt':>8} {'req':>4} {'304':>4}"
        f" {'baseline rt':>12} {'req':>4} {'x':>5}"
    ]
    for r in results.values():
        c, w, b = r["cold"], r["warm"], r["baseline"]
        lines.append(
            f"{r['title']:<40} {c['round_trips']:>8} {c['requests']:>4} {w['round_trips']:>8}"
            f" {w['requests']:>4} {'all' if w['all_304'] else w['not_modified']:>4}"
            f" {b['round_trips']:>12} {b['requests']:>4} {r['speedup']:>5}"
        )
    return "\n".join(lines)


def run(latency: float, runs: int, only: list[str] | None = None) -> dict[str, Any]:
    return {
        s.kind: measure_scenario(s, latency, runs) for s in SCENARIOS if not only or s.kind in only
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.where")
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("only", nargs="*")
    args = parser.parse_args(argv)
    results = run(args.latency, args.runs, args.only)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(f"latency {args.latency * 1000:.0f} ms, median of {args.runs}", file=sys.stderr)


if __name__ == "__main__":
    main()
