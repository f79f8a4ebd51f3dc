"""The Slack surface: one module per command, action or posted message kind."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers import errors, gate
from handlers.actions import follow, refresh, share
from handlers.commands import where
from handlers.deps import Deps


def register(app: AsyncApp, deps: Deps) -> None:
    """Attach every listener; each receives the groups of ``deps`` it uses, not globals."""
    gate.register(app, deps.reply_origins, deps.metrics)  # first: it refuses, or names, each
    where.register(app, deps.where)
    refresh.register(app, deps.trace, deps.follow)
    share.register(app, deps.trace)
    follow.register(app, deps.trace, deps.follow)
    errors.register(app, deps.metrics)
