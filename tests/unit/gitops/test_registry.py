"""The GitOps tool registry is the one place a tool is named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import parse_service_map
from bot.engine import CLUSTER_KINDS
from bot.errors import ConfigError
from bot.gitops import KINDS, TOOLS

ROOT = Path(__file__).resolve().parents[3]


def test_each_tool_is_a_config_key_of_an_environment() -> None:
    services = parse_service_map(
        """
services:
  - name: shop
    repo: acme/shop
    environments:
      - {name: staging, argocd: {application: shop-staging}}
      - {name: production, flux: {kind: Kustomization, name: shop}}
      - {name: edge}
"""
    )
    staging, production, edge = services.services[0].environments
    assert staging.gitops is not None and staging.gitops[0] is TOOLS["argocd"]
    assert production.gitops is not None and production.gitops[0] is TOOLS["flux"]
    assert edge.gitops is None
    assert set(TOOLS) == {"argocd", "flux"}


def test_two_tools_in_one_environment_are_refused() -> None:
    with pytest.raises(ConfigError, match="has both argocd and flux"):
        parse_service_map(
            """
services:
  - name: shop
    repo: acme/shop
    environments:
      - {name: x, argocd: {application: a}, flux: {kind: HelmRelease, name: b}}
"""
        )


@pytest.mark.parametrize("key", sorted(TOOLS))
def test_a_tool_reads_only_kinds_it_declares(key: str) -> None:
    tool = TOOLS[key]
    services = parse_service_map(
        f"""
services:
  - name: shop
    repo: acme/shop
    environments:
      - name: x
        {key}: {"{application: a}" if key == "argocd" else "{kind: HelmRelease, name: b}"}
"""
    )
    ref = services.services[0].environments[0].gitops
    assert ref is not None
    assert tool.scan_kinds(ref[1]) <= set(tool.kinds) <= set(KINDS) <= set(CLUSTER_KINDS)
    assert tool.target(ref[1]).kind in tool.kinds


# A tool's kinds, API groups and status fields belong to its module (and to the config, which
# holds the sections, and the sandbox, which emulates the tools).
NAMES = re.compile(
    r"\"(?:Application|Kustomization|HelmRelease|GitRepository|OCIRepository|HelmRepository)\""
    r"|fluxcd\.io|operationState|lastAppliedRevision|sourceRef"
)


def test_no_module_outside_the_registry_names_a_tool() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for top in ("bot", "handlers")
        for path in sorted((ROOT / top).rglob("*.py"))
        if not {"gitops", "sandbox"} & set(path.relative_to(ROOT).parts)
        and path.name != "config.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if NAMES.search(line)
    ]
    assert offenders == []
