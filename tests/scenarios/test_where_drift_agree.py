"""`/where` and the drift scan read a GitOps object and a workload through the same code, so
they judge the same objects alike: here a Flux source in another namespace than the config's
and a Deployment whose selector has ``matchExpressions``."""

from __future__ import annotations

from typing import Any

from bot.sandbox.github import GitHubEmulator
from bot.sandbox.kube import KubeEmulator
from tests.scenarios import kubeobjs as k
from tests.scenarios import shop
from tests.scenarios.fleet import APP_URL, env_stages, live_staging, seed, tag


def _production(emu: KubeEmulator, sha: str) -> None:
    """Flux applied ``sha`` from a GitRepository kept in namespace ``sources``; the Deployment
    selects ``app=shop`` except the canary track, whose stray pod crash-loops."""
    source = k.git_repository("shop", APP_URL, f"main@sha1:{sha}")
    source["metadata"]["namespace"] = "sources"
    kust = k.kustomization("shop", source="shop", applied=f"main@sha1:{sha}")
    kust["spec"]["sourceRef"]["namespace"] = "sources"
    deploy, rs, *pods = k.rolled_out("shop", "shop", tag(sha))
    deploy["spec"]["selector"]["matchExpressions"] = [
        {"key": "track", "operator": "NotIn", "values": ["canary"]}
    ]
    canary: dict[str, Any] = k.pod(rs, 9, waiting="CrashLoopBackOff", restarts=7)
    canary["metadata"]["name"] = "shop-canary-0"
    canary["metadata"]["labels"] = {**rs["metadata"]["labels"], "track": "canary"}
    del canary["metadata"]["ownerReferences"]  # a hand-made pod: judged by its labels
    seed(emu, source, kust, deploy, rs, *pods, canary)


def test_where_and_the_scan_agree_on_the_same_objects(
    cli, github: GitHubEmulator, clusters: dict[str, KubeEmulator]
) -> None:  # type: ignore[no-untyped-def]
    s = shop.build(github)
    shop.green_ci(github, s.merged)
    live_staging(clusters["staging"], s.merged)
    _production(clusters["prod"], s.merged)

    prod = env_stages(cli("where", "acme/shop#12", "--json").json, "production")
    drift = cli("drift", "--json").json

    # The source in its own namespace is read by both: /where sees the sync, the scan no lag.
    assert prod["sync"]["status"] == "succeeded", prod["sync"]
    # The canary pod is not the Deployment's for either of them.
    assert prod["rollout"]["status"] == "succeeded", prod["rollout"]
    assert "canary" not in str(prod["rollout"])
    assert [f for f in drift if f["environment"] == "production"] == []
