"""The one place unexpected errors end: logged with an id, answered with a short apology.

Only a request that passed ``handlers.gate`` is answered, so an apology goes to Slack only.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.error import BoltUnhandledRequestError

from bot.errors import ShiptraceError
from bot.observe.metrics import Metrics
from handlers.answers import outcome, problem
from handlers.gate import describe, may_reply

log = logging.getLogger("shiptrace")


def apology(error_id: str) -> str:
    return (
        f"Sorry, something went wrong on shiptrace's side (error {error_id}). Try again; "
        "if it keeps happening, give this id to whoever runs shiptrace."
    )


def register(app: AsyncApp, metrics: Metrics | None = None) -> None:
    @app.error
    async def on_error(
        error: Exception,
        body: dict[str, Any],
        respond: AsyncRespond | None,
        context: AsyncBoltContext,
    ) -> None:
        if isinstance(error, BoltUnhandledRequestError):  # signed, but nothing here handles it
            log.warning("ignored a signed %s that shiptrace does not handle", describe(body))
            return
        if isinstance(error, ShiptraceError):  # a domain error a listener did not answer
            log.info("unanswered %s: %s", type(error).__name__, error.message)
            reply = problem(error, _ref(body)).kwargs()
            result = outcome(error)
        else:
            error_id = uuid.uuid4().hex[:8]
            log.error("unexpected error %s", error_id, exc_info=error)
            reply = {"text": apology(error_id)}
            result = "error"
        if metrics is not None:
            metrics.answered(result)
        if respond is None or not may_reply(context):
            return
        try:
            await respond(response_type="ephemeral", replace_original=False, **reply)
        except Exception:
            log.warning("could not tell the user about error", exc_info=True)


def _ref(body: dict[str, Any]) -> str:
    actions = body.get("actions") or []
    if actions:
        return str(actions[0].get("value") or "")
    return str(body.get("text") or "")
