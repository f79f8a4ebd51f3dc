"""Two clusters for the scenarios: staging (Argo CD) and production (Flux), one service."""

from __future__ import annotations

from typing import Any

from tests.emulators.kube import KubeEmulator
from tests.scenarios import kubeobjs as k

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


def env_stages(data: dict[str, Any], env: str) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in data["stages"] if s["environment"] == env}


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
