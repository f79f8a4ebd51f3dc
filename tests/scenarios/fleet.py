"""Two clusters for the scenarios: staging (Argo CD) and production (Flux), one service."""

from __future__ import annotations

from typing import Any

from bot.sandbox.kube import KubeEmulator
from tests.scenarios import kubeobjs as k

# The ``clusters`` and ``fleet`` fixtures: cluster name ("staging", "prod") -> its emulator.
KubeEmulators = dict[str, KubeEmulator]

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


def fleet_config(n: int) -> str:
    """``n`` services, each with staging (Argo CD) and production (Flux) on the same clusters."""
    return "services:\n" + "".join(
        f"""
  - name: svc{i}
    repo: acme/svc{i}
    environments:
      - name: staging
        cluster: staging
        argocd: {{application: svc{i}-staging}}
        workloads: [{{kind: Deployment, namespace: svc{i}, name: svc{i}}}]
      - name: production
        cluster: prod
        flux: {{kind: Kustomization, name: svc{i}}}
        workloads: [{{kind: Deployment, namespace: svc{i}, name: svc{i}}}]
"""
        for i in range(n)
    )


def seed_fleet(clusters: dict[str, KubeEmulator], n: int, sha: str = "a" * 40) -> None:
    """``n`` healthy services (see ``fleet_config``) on the staging and prod emulators."""
    for i in range(n):
        url, image = f"https://github.com/acme/svc{i}.git", f"ghcr.io/acme/svc{i}:sha-{sha[:7]}"
        seed(
            clusters["staging"],
            k.argo_app(
                f"svc{i}-staging", repo_url=url, revision=sha, history=[sha], images=[image]
            ),
            *k.rolled_out(f"svc{i}", f"svc{i}", image),
        )
        seed(
            clusters["prod"],
            k.git_repository(f"svc{i}", url, f"main@sha1:{sha}"),
            k.kustomization(f"svc{i}", source=f"svc{i}", applied=f"main@sha1:{sha}"),
            *k.rolled_out(f"svc{i}", f"svc{i}", image),
        )
