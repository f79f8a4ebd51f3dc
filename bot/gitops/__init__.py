"""The GitOps tools shiptrace follows, keyed by their config key (``argocd``, ``flux``).

Each tool is one module with one :class:`~bot.gitops.tool.GitOpsTool`; see
:mod:`bot.gitops.tool` for what a tool owns. To add one: write ``bot/gitops/<tool>.py`` and
list its ``TOOL`` here; the config, ``/where``, the drift scan and the cluster client's kinds all
read this registry.
"""

from __future__ import annotations

from bot.gitops import argocd, flux
from bot.gitops.tool import GitOpsTool
from bot.model import ApiKind

TOOLS: dict[str, GitOpsTool] = {tool.key: tool for tool in (argocd.TOOL, flux.TOOL)}

# Every kind any tool reads, in registry order.
KINDS: dict[str, ApiKind] = {
    kind: api for tool in TOOLS.values() for kind, api in tool.kinds.items()
}

# Commit-message trailers that name the app commit a config-repo commit promotes.
TRAILERS: tuple[str, ...] = tuple(t for tool in TOOLS.values() for t in tool.trailers)
