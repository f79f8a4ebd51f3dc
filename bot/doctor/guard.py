"""Every check within a timeout, and never a traceback: what a check raises becomes its row."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable

from bot.doctor.report import Check, failed
from bot.errors import ShiptraceError

log = logging.getLogger(__name__)

TIMEOUT = 20.0  # seconds per check: past every client's own timeouts and retries


async def guarded(name: str, check: Awaitable[Check], hint: str, per_check: float) -> Check:
    """``check``'s row; a shiptrace error is a failed row (its own fix, else ``hint``), so is no
    answer within ``per_check`` seconds, and so is a bug (with an id to find it in the log)."""
    try:
        async with asyncio.timeout(per_check):
            return await check
    except TimeoutError:
        return Check(name, False, f"no answer within {per_check:g} s", hint)
    except ShiptraceError as exc:
        return failed(name, exc.message, hint)
    except Exception:
        error_id = uuid.uuid4().hex[:8]
        log.debug("doctor check %s: unexpected error %s", name, error_id, exc_info=True)
        return Check(
            name,
            False,
            f"internal error {error_id}",
            "rerun with SHIPTRACE_LOG_LEVEL=DEBUG and report it",
        )
