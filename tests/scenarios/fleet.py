"""Two clusters for the scenarios: staging (Argo CD) and production (Flux); the shop on them
comes from bot/sandbox/scenario.py (the demo uses it too)."""

from __future__ import annotations

from typing import Any

from bot.sandbox import kubeobjs as k
from bot.sandbox.kube import KubeEmulator
from bot.sandbox.scenario import APP_URL, TWO_ENVS, flux_prod, live_prod, live_staging, seed, tag

# The ``clusters`` and ``fleet`` fixtures: cluster name ("staging", "prod") -> its emulator.
KubeEmulators = dict[str, KubeEmulator]

__all__ = [
    "APP_URL",
    "TWO_ENVS",
    "KubeEmulators",
    "env_stages",
    "fleet_config",
    "flux_prod",
    "live_prod",
    "live_staging",
    "seed",
    "seed_fleet",
    "tag",
]


def env_stages(data: dict[str, Any], env: str) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in data["stages"] if s["environment"] == env}


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
