"""The Slack surface: one module per command, action or posted message kind."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers import errors, gate
from handlers.actions import follow, refresh, share
from handlers.commands import where
from handlers.deps import Deps


def register(app: AsyncApp, deps: Deps) -> None:
    """Attach every listener; each receives ``deps`` instead of reaching for globals."""
    gate.register(app, deps.reply_origins)  # first: nothing runs for a request it refuses
    where.register(app, deps)
    refresh.register(app, deps)
    share.register(app, deps)
    follow.register(app, deps)
    errors.register(app)
