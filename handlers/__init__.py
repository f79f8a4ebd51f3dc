"""The Slack surface: one module per command, action or posted message kind."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers import errors, follow, refresh, share, where
from handlers.deps import Deps


def register(app: AsyncApp, deps: Deps) -> None:
    """Attach every listener; each receives ``deps`` instead of reaching for globals."""
    where.register(app, deps)
    refresh.register(app, deps)
    share.register(app, deps)
    follow.register(app, deps)
    errors.register(app)
