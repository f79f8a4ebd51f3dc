"""acme/shop on two clusters: staging (Argo CD) and production (Flux), and a clock to move.

The scenario tests and the demo seed the Kubernetes emulators with these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.sandbox import kubeobjs as k
from bot.sandbox.kube import KubeEmulator

APP_URL = "https://github.com/acme/shop.git"
TWO_ENVS = """
services:
  - name: shop
    repo: acme/shop
    image: ghcr.io/acme/shop
    tag: "sha-{sha7}"
    environments:
      - name: staging
        cluster: staging
        argocd: {application: shop-staging, namespace: argocd}
        workloads: [{kind: Deployment, namespace: shop, name: shop}]
      - name: production
        cluster: prod
        flux: {kind: Kustomization, name: shop, namespace: flux-system}
        workloads: [{kind: Deployment, namespace: shop, name: shop}]
"""


@dataclass
class Clock:
    """The bot's clock, moved by the test or the demo instead of waiting."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 26, 10, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def tag(sha: str) -> str:
    return f"ghcr.io/acme/shop:sha-{sha[:7]}"


def seed(emu: KubeEmulator, *objs: dict[str, Any]) -> None:
    for obj in objs:
        emu.add(obj)


def live_staging(emu: KubeEmulator, sha: str, **app: Any) -> None:
    seed(
        emu,
        k.argo_app(
            "shop-staging", repo_url=APP_URL, revision=sha, history=[sha], images=[tag(sha)], **app
        ),
        *k.rolled_out("shop", "shop", tag(sha)),
    )


def flux_prod(emu: KubeEmulator, applied: str, **kw: Any) -> None:
    seed(
        emu,
        k.git_repository("shop", APP_URL, kw.pop("artifact", applied)),
        k.kustomization("shop", source="shop", applied=applied, **kw),
    )


def live_prod(emu: KubeEmulator, sha: str) -> None:
    """Production's Kustomization applied ``sha`` and its Deployment runs that commit's tag."""
    flux_prod(emu, f"main@sha1:{sha}")
    seed(emu, *k.rolled_out("shop", "shop", tag(sha)))
