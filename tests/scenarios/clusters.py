"""What the `shiptrace where` cluster scenarios set up alike: staging's Argo CD app, the
config repo that promotes into it, and a production Flux apply that failed."""

from __future__ import annotations

from typing import Any

from bot.sandbox.github import GitHubEmulator
from bot.sandbox.kube import KubeEmulator
from tests.scenarios import kubeobjs as k
from tests.scenarios.command import Cli
from tests.scenarios.fleet import APP_URL, flux_prod, seed, tag
from tests.scenarios.shop import Shop

CONFIG_REPO = "acme/shop-config"
CONFIG_FILE = "envs/staging/shop.yaml"
FLUX_FAILURE = "kustomize build failed: missing resource"


def where_json(cli: Cli) -> Any:
    """``shiptrace where acme/shop#12 --json``, parsed."""
    return cli("where", "acme/shop#12", "--json").json


def staging_app(sha: str, **app: Any) -> dict[str, Any]:
    """Staging's Argo CD app, synced to ``sha`` of the app repo (history: that sync alone)."""
    app.setdefault("history", [sha])
    return k.argo_app("shop-staging", repo_url=APP_URL, revision=sha, **app)


def config_repo(github: GitHubEmulator, *commits: tuple[str, str]) -> list[str]:
    """acme/shop-config with ``(message, date)`` commits on main, each one after the last
    and each changing staging's file; returns their shas."""
    github.add_repo(CONFIG_REPO)
    shas: list[str] = []
    for message, date in commits:
        shas.append(
            github.add_commit(
                CONFIG_REPO,
                message,
                parents=shas[-1:],
                branch="main",
                date=date,
                files=[CONFIG_FILE],
            )
        )
    return shas


def config_app(
    revision: str, repo_url: str = "https://github.com/acme/shop-config", **app: Any
) -> dict[str, Any]:
    """Staging's Argo CD app, synced to ``revision`` of the config repo's envs/staging."""
    app.setdefault("history", [revision])
    return k.argo_app(
        "shop-staging", repo_url=repo_url, path="envs/staging", revision=revision, **app
    )


def prod_apply_failed(emu: KubeEmulator, s: Shop) -> None:
    """Production's Flux tried the merge and failed (Ready=False: FLUX_FAILURE); the base
    is still applied and running."""
    flux_prod(
        emu,
        f"main@sha1:{s.base}",
        attempted=f"main@sha1:{s.merged}",
        artifact=f"main@sha1:{s.merged}",
        ready="False",
        reason="ReconciliationFailed",
        message=FLUX_FAILURE,
    )
    seed(emu, *k.rolled_out("shop", "shop", tag(s.base)))
